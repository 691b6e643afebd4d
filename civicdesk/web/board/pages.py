"""The inspectors' SLA board page: counts by bucket per organization or district, the
drill-down list, the review queue and the CSV export.

Everything is a GET with the filters in the URL, so a view can be bookmarked, shared and
reloaded; the page reloads itself (the ``Refresh`` header: no script, nothing for the CSP
to allow). The rules live in ``sla.board``; this module only reads the URL and renders.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache, partial
from typing import Annotated, Any, Final
from urllib.parse import quote_plus

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from appeals.lifecycle import status_label
from appeals.models import Channel
from civicdesk.web.board.texts import BOARD_TEXTS, bt
from civicdesk.web.lookups import (
    Option,
    OptionGroup,
    category_groups,
    category_names,
    district_names,
    district_options,
    organization_names,
    route_targets,
)
from civicdesk.web.rendering import almaty_time, page_language, render, secure, templates
from civicdesk.web.staff_auth import StaffUserDep
from civicdesk.web.staff_frame import staff_error_page, staff_frame
from core import stamps
from core.api_deps import DbSession
from core.clock import now
from core.errors import PermissionDenied, ValidationFailed
from core.models import Role, StaffUser
from core.settings import get_settings
from sla import board
from sla.board import BoardAppeal, BoardFilters, Bucket, GroupBy, SortBy
from sla.board_api import csv_response
from sla.board_csv import export_csv

router = APIRouter(include_in_schema=False)

BOARD_PATH: Final = "/staff/board"
REVIEW_PATH: Final = "/staff/board/review"
CSV_PATH: Final = "/staff/board.csv"
PAGE_SIZE: Final = 50
REVIEW_PREVIEW: Final = 10
MAX_PAGE: Final = 10_000
FILTER_NAMES: Final = (
    "organization",
    "district",
    "category",
    "channel",
    "received_from",
    "received_to",
)
#: Buckets in the order of the table's columns.
COLUMNS: Final = (Bucket.OVERDUE, Bucket.DUE_TODAY, Bucket.AT_RISK, Bucket.ON_TIME, Bucket.PAUSED)
ALL: Final = "all"
# The staff layout's menu links to the board in the page's language.
templates.env.globals["board_t"] = bt

REFERENCE_TTL_S: Final = 60.0
#: The summary (the board's one big aggregate) is shared for this long between everyone
#: asking for the same view: a drill-down, a page of the list, a colleague's reload.
SUMMARY_TTL_S: Final = 5.0
_SUMMARY_CACHE_MAX: Final = 512
# Codes repeat on every reload (organizations, districts, buckets): encode each once.
_quote = lru_cache(maxsize=4096)(quote_plus)

Text = Annotated[str, Query(max_length=100)]


@dataclass(frozen=True)
class Reference:
    """Names and filter options from the reference tables, in one language."""

    categories: dict[str, str]
    districts: dict[str, str]
    organizations: dict[int, str]
    organization_options: list[Option]
    district_options: list[Option]
    category_groups: list[OptionGroup]


_references: stamps.Stamped[Reference] = stamps.Stamped("labels", REFERENCE_TTL_S)


def reference(session: Session, language: str) -> Reference:
    """The reference labels, rebuilt when the ``labels`` stamp moves (an organization,
    district or category changed, in any process: ``core.stamps``, issue 20); on SQLite at
    most every minute. The board reloads all day long, and reading ~70 organizations and
    categories (with their keywords) on every reload cost more than the board's aggregate."""
    key = (str(session.get_bind().engine.url), language)

    def build() -> Reference:
        return Reference(
            categories=category_names(session, language),
            districts=district_names(session, language),
            organizations=organization_names(session, language),
            organization_options=route_targets(session, language, exclude_id=None),
            district_options=district_options(session, language),
            category_groups=category_groups(
                session, language, other_label=bt(language, "filter.other")
            ),
        )

    return _references.get(session, key, build)


_summary_lock = threading.Lock()
_summary_cache: dict[tuple[Any, ...], tuple[float, board.Summary]] = {}


def cached_summary(
    session: Session,
    *,
    user: StaffUser,
    filters: BoardFilters,
    group_by: GroupBy,
    sort: SortBy,
    language: str,
    unassigned_label: str,
) -> board.Summary:
    """``board.summary``, reused for up to ``SUMMARY_TTL_S`` seconds by the same view.

    The key is the view as scoped for this user (an executor's is pinned to their
    organization, so nothing crosses organizations), the language and the clock's
    ``SUMMARY_TTL_S`` window; the figures are at most that old, and the page says when
    they were taken (``boundaries.now``). The drill-down list is cut at the same moment.
    """
    scope = board.scoped(user, filters)
    moment = now()
    key = (
        str(session.get_bind().engine.url),
        scope,
        group_by,
        sort,
        language,
        unassigned_label,
        int(moment.timestamp() // SUMMARY_TTL_S),
    )
    started = time.monotonic()
    with _summary_lock:
        cached = _summary_cache.get(key)
    if cached is not None and started - cached[0] < SUMMARY_TTL_S:
        return cached[1]
    result = board.summary(
        session,
        user=user,
        filters=scope,
        group_by=group_by,
        sort=sort,
        language=language,
        unassigned_label=unassigned_label,
        moment=moment,
    )
    with _summary_lock:
        if len(_summary_cache) >= _SUMMARY_CACHE_MAX:
            for stale in [
                k for k, (at, _) in _summary_cache.items() if started - at >= SUMMARY_TTL_S
            ]:
                del _summary_cache[stale]
            if len(_summary_cache) >= _SUMMARY_CACHE_MAX:
                _summary_cache.clear()
        _summary_cache[key] = (started, result)
    return result


def clear_summary_cache() -> None:
    """Forget the shared summaries (the benchmark times a first look; tests start clean)."""
    with _summary_lock:
        _summary_cache.clear()


@dataclass(frozen=True)
class ListRow:
    id: int
    tracking_number: str
    bucket: str
    status: str
    status_label: str
    category: str
    organization: str
    district: str
    channel: str
    received_at: datetime
    due_at: datetime | None
    target_due_at: datetime | None
    answered_at: datetime | None
    late: bool
    escalated: bool
    returns_count: int


class _Url:
    """Links that keep the current filters, changing only what the link is about.

    A board has a few hundred links; the kept values are encoded once, not per link.
    """

    def __init__(self, path: str, params: dict[str, str]) -> None:
        self.path = path
        self._encoded = {name: _quote(value) for name, value in params.items() if value}

    def __call__(self, path: str | None = None, /, **changes: str | int | None) -> str:
        encoded = dict(self._encoded)
        for name, value in changes.items():
            if value is None or value == "":
                encoded.pop(name, None)
            else:
                encoded[name] = _quote(str(value))
        query = "&".join(f"{name}={value}" for name, value in encoded.items())
        return f"{path or self.path}?{query}" if query else (path or self.path)


def _frame(request: Request, session: Session, user: StaffUser, language: str) -> dict[str, Any]:
    return staff_frame(request, session, user, language)


def _page_number(value: str) -> int:
    value = value.strip()
    number = int(value) if value.isdigit() and len(value) < 7 else 1
    return min(max(number, 1), MAX_PAGE)


def _filters(session: Session, raw: dict[str, str]) -> BoardFilters:
    return board.parse_filters(session, **{name: raw.get(name) for name in FILTER_NAMES})


def _rows(session: Session, language: str, appeals: list[BoardAppeal]) -> list[ListRow]:
    labels = reference(session, language)
    categories, districts, organizations = (
        labels.categories,
        labels.districts,
        labels.organizations,
    )
    return [
        ListRow(
            id=appeal.id,
            tracking_number=appeal.tracking_number,
            bucket=appeal.bucket.value if appeal.bucket else "",
            status=appeal.status.value,
            status_label=status_label(appeal.status, language),
            category=categories.get(appeal.category_code or "", appeal.category_code or ""),
            organization=organizations.get(appeal.organization_id or 0, ""),
            district=districts.get(appeal.district_code or "", appeal.district_code or ""),
            channel=bt(language, f"channel.{appeal.channel.value}"),
            received_at=appeal.received_at,
            due_at=appeal.due_at,
            target_due_at=appeal.target_due_at,
            answered_at=appeal.answered_at,
            late=(
                appeal.answered_at is not None
                and appeal.due_at is not None
                and appeal.answered_at > appeal.due_at
            ),
            escalated=appeal.escalated,
            returns_count=appeal.returns_count,
        )
        for appeal in appeals
    ]


def _form_context(
    session: Session, user: StaffUser, language: str, raw: dict[str, str]
) -> dict[str, Any]:
    """The filter form's options; an executor's organization is fixed, so not offered."""
    labels = reference(session, language)
    return {
        "raw": raw,
        "shown_from": board.shown_day(raw.get("received_from", "")),
        "shown_to": board.shown_day(raw.get("received_to", "")),
        "organization_options": (
            labels.organization_options if user.role is not Role.EXECUTOR else []
        ),
        "district_options": labels.district_options,
        "category_groups": labels.category_groups,
        "channel_options": [
            (channel.value, bt(language, f"channel.{channel.value}")) for channel in Channel
        ],
    }


def _problem_page(
    request: Request,
    session: Session,
    user: StaffUser,
    *,
    language: str,
    raw: dict[str, str],
    error: ValidationFailed | PermissionDenied,
) -> Response:
    """The board with the filter form and what was wrong with it, and no figures; a refusal
    (this role has no board, another organization's figures) is no filter problem: the staff
    error page says what this person may see instead."""
    code = error.code
    if isinstance(error, PermissionDenied):
        return staff_error_page(
            request,
            session,
            user,
            language=language,
            status_code=403,
            message_key=(
                "staff_error.board_role" if code == "role_not_allowed" else "staff_error.board_own"
            ),
        )
    key = f"problem.{code}" if f"problem.{code}" in BOARD_TEXTS else "problem.bad_choice"
    return render(
        request,
        "sla_board.html",
        language=language,
        status_code=403 if isinstance(error, PermissionDenied) else 422,
        private=True,
        b=partial(bt, language),
        mode="problem",
        problem=key,
        url=_Url(BOARD_PATH, raw),
        **_form_context(session, user, language, raw),
        **_frame(request, session, user, language),
    )


def _raw(**values: str) -> dict[str, str]:
    return {name: value.strip() for name, value in values.items()}


def _filter_params(
    organization: Text = "",
    district: Text = "",
    category: Text = "",
    channel: Text = "",
    received_from: Text = "",
    received_to: Text = "",
) -> dict[str, str]:
    """The board's filters (``FILTER_NAMES``) from the URL, as typed: every page reads them."""
    return _raw(
        organization=organization,
        district=district,
        category=category,
        channel=channel,
        received_from=received_from,
        received_to=received_to,
    )


FilterParams = Annotated[dict[str, str], Depends(_filter_params)]


@router.get(BOARD_PATH, name="sla_board")
def board_page(
    request: Request,
    session: DbSession,
    user: StaffUserDep,
    filter_params: FilterParams,
    group_by: Text = "",
    sort: Text = "",
    bucket: Text = "",
    page: Text = "1",
) -> Response:
    language = page_language(request)
    raw = {**_raw(group_by=group_by, sort=sort), **filter_params, **_raw(bucket=bucket)}
    page_number = _page_number(page)
    try:
        filters = _filters(session, raw)
        grouping = board.enum_param(GroupBy, group_by, GroupBy.ORGANIZATION, "bad_choice")
        sort_by = board.enum_param(SortBy, sort, SortBy.OVERDUE, "bad_choice")
        listed = None if raw["bucket"] in ("", ALL) else board.bucket_param(raw["bucket"])
        result = cached_summary(
            session,
            user=user,
            filters=filters,
            group_by=grouping,
            sort=sort_by,
            language=language,
            unassigned_label=bt(
                language,
                "board.unassigned" if grouping is GroupBy.ORGANIZATION else "board.no_district",
            ),
        )
        appeals: list[BoardAppeal] = []
        listed_total = 0
        if raw["bucket"]:
            appeals, listed_total = board.list_appeals(
                session,
                user=user,
                filters=filters,
                bucket=listed,
                limit=PAGE_SIZE,
                offset=(page_number - 1) * PAGE_SIZE,
                moment=result.boundaries.now,
                # Counted by the summary at the same moment: not counted again.
                total=result.totals.total if listed is None else result.totals.get(listed),
            )
        review, _ = board.review_queue(
            session, user=user, filters=filters, limit=REVIEW_PREVIEW, with_total=False
        )
    except (ValidationFailed, PermissionDenied) as error:
        return _problem_page(request, session, user, language=language, raw=raw, error=error)
    refresh_s = get_settings().sla_board_refresh_s
    response = render(
        request,
        "sla_board.html",
        language=language,
        private=True,
        b=partial(bt, language),
        mode="board",
        url=_Url(BOARD_PATH, raw),
        summary=result,
        grouping=grouping.value,
        sort=sort_by.value,
        columns=[bucket.value for bucket in COLUMNS],
        executor_scope=user.role is Role.EXECUTOR,
        listed=raw["bucket"],
        list_rows=_rows(session, language, appeals),
        list_total=listed_total,
        page=page_number,
        last_page=max(1, -(-listed_total // PAGE_SIZE)),
        first_shown=(page_number - 1) * PAGE_SIZE + 1 if appeals else 0,
        last_shown=(page_number - 1) * PAGE_SIZE + len(appeals),
        review_rows=_rows(session, language, review),
        refresh_s=refresh_s,
        updated_at=almaty_time(result.boundaries.now),
        **_form_context(session, user, language, raw),
        **_frame(request, session, user, language),
    )
    response.headers["Refresh"] = str(refresh_s)
    return response


@router.get(REVIEW_PATH, name="sla_board_review")
def review_page(
    request: Request,
    session: DbSession,
    user: StaffUserDep,
    raw: FilterParams,
    page: Text = "1",
) -> Response:
    """The whole review queue, the oldest answer first, with the board's filters."""
    language = page_language(request)
    page_number = _page_number(page)
    try:
        rows, total = board.review_queue(
            session,
            user=user,
            filters=_filters(session, raw),
            limit=PAGE_SIZE,
            offset=(page_number - 1) * PAGE_SIZE,
        )
    except (ValidationFailed, PermissionDenied) as error:
        return _problem_page(request, session, user, language=language, raw=raw, error=error)
    return render(
        request,
        "sla_board_review.html",
        language=language,
        private=True,
        b=partial(bt, language),
        url=_Url(REVIEW_PATH, raw),
        board_url=_Url(BOARD_PATH, raw),
        review_rows=_rows(session, language, rows),
        review_total=total,
        page=page_number,
        last_page=max(1, -(-total // PAGE_SIZE)),
        **_frame(request, session, user, language),
    )


@router.get(CSV_PATH, name="sla_board_csv")
def board_csv(
    request: Request,
    session: DbSession,
    user: StaffUserDep,
    filter_params: FilterParams,
    bucket: Text = "",
) -> Response:
    """The drill-down list as CSV: what the page lists, without any personal data."""
    language = page_language(request)
    raw = {**filter_params, **_raw(bucket=bucket)}
    try:
        body = export_csv(
            session,
            user=user,
            filters=_filters(session, raw),
            bucket=None if raw["bucket"] in ("", ALL) else board.bucket_param(raw["bucket"]),
            language=language,
        )
    except (ValidationFailed, PermissionDenied) as error:
        return _problem_page(request, session, user, language=language, raw=raw, error=error)
    return secure(csv_response(body), private=True)

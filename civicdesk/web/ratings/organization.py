"""One organization's figures and where it loses points (an executor's own page; leadership
opens any organization's), and the appeals behind any figure of the ranking.

An executor sees only its own organization: its page, and the appeals behind its own
figures (another organization's answer 403 with the reason). No personal data: tracking
numbers, topics, statuses and dates; each number opens the appeal's own staff page.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals.lifecycle import Status, status_label
from civicdesk.web.lookups import category_names
from civicdesk.web.ratings.common import (
    Url,
    chosen_period,
    movement,
    name_of,
    period_params,
    reason_words,
)
from civicdesk.web.ratings.pages import (
    LEADERSHIP,
    RANKING_PATH,
    DateText,
    Text,
    page_context,
    problem_page,
    raw_params,
)
from civicdesk.web.rendering import page_language, render
from civicdesk.web.staff_auth import StaffUserDep
from civicdesk.web.staff_frame import staff_error_page, staff_frame
from core.api_deps import DbSession
from core.clock import now
from core.errors import ValidationFailed
from core.models import Role, StaffUser
from ratings import drilldown, ranking, snapshots
from ratings.drilldown import Which
from ratings.methodology import COMPONENTS
from routing.models import Organization
from routing.service import get_organization

router = APIRouter(include_in_schema=False)

MINE_PATH: Final = "/staff/ratings/mine"
ORGANIZATION_PATH: Final = "/staff/ratings/organization/{code}"
APPEALS_PATH: Final = "/staff/ratings/appeals"
PAGE_SIZE: Final = 50
WHICH: Final[dict[str, Which]] = {"bad": "bad", "good": "good", "all": "all"}


def _denied(
    request: Request, session: Session, user: StaffUser, language: str, key: str
) -> Response:
    return staff_error_page(
        request,
        session,
        user,
        language=language,
        status_code=403,
        message_key=f"rt.problem.{key}",
        active="ratings",
    )


def _organization(session: Session, code: str) -> Organization | None:
    return session.scalar(select(Organization).where(Organization.code == code))


def _may_see(user: StaffUser, organization: Organization) -> bool:
    if user.role in LEADERSHIP:
        return True
    return user.role is Role.EXECUTOR and user.organization_id == organization.id


def _organization_page(
    request: Request,
    session: Session,
    user: StaffUser,
    organization: Organization,
    raw: dict[str, str],
) -> Response:
    language = page_language(request)
    try:
        period = chosen_period(raw)
    except ValidationFailed as error:
        return problem_page(request, session, user, language, error)
    table = snapshots.ranking_view(session, period, kind=None)
    in_kind = snapshots.ranking_view(session, period, kind=organization.kind.value)
    row = ranking.row_for(table, organization.code)
    kind_row = ranking.row_for(in_kind, organization.code)
    ranked = sum(1 for r in table["rows"] if r["rank"] is not None)
    ranked_in_kind = sum(1 for r in in_kind["rows"] if r["rank"] is not None)
    if row is not None:
        row["display_name"] = name_of(row, language)
        row["move"] = movement(row, language)
        row["reason_words"] = reason_words(row, language)
        losses = sorted(COMPONENTS, key=lambda name: -row[name]["points_lost"])
    else:
        losses = list(COMPONENTS)
    context = page_context(period, None, language)
    path = (
        MINE_PATH
        if user.role is Role.EXECUTOR
        else ORGANIZATION_PATH.format(code=organization.code)
    )
    context["url"] = Url(path, period_params(period))
    context["drill"] = Url(
        APPEALS_PATH, period_params(period) | {"organization": organization.code}
    )
    return render(
        request,
        "ratings/organization.html",
        language=language,
        private=True,
        organization=organization,
        org_name=organization.name(language),
        table=table,
        row=row,
        kind_row=kind_row,
        ranked=ranked,
        ranked_in_kind=ranked_in_kind,
        losses=losses,
        method=ranking.methodology(),
        **context,
        **staff_frame(request, session, user, language, active="ratings"),
    )


@router.get(MINE_PATH, name="ratings_mine")
def mine_page(
    request: Request,
    session: DbSession,
    user: StaffUserDep,
    period: Text = "",
    at: Text = "",
    from_: DateText = "",
    to: Text = "",
) -> Response:
    """The executor's own organization: its place, its figures, where it loses points."""
    language = page_language(request)
    if user.organization_id is None:
        return staff_error_page(
            request,
            session,
            user,
            language=language,
            status_code=403,
            message_key="rt.no_org",
            active="ratings",
        )
    organization = get_organization(session, user.organization_id)
    return _organization_page(
        request, session, user, organization, raw_params(period, at, from_, to, "")
    )


@router.get(ORGANIZATION_PATH, name="ratings_organization")
def organization_page(
    request: Request,
    session: DbSession,
    user: StaffUserDep,
    code: str,
    period: Text = "",
    at: Text = "",
    from_: DateText = "",
    to: Text = "",
) -> Response:
    language = page_language(request)
    organization = _organization(session, code[:64])
    if organization is None:
        return staff_error_page(
            request,
            session,
            user,
            language=language,
            status_code=404,
            message_key="rt.problem.organization_not_found",
            active="ratings",
        )
    if not _may_see(user, organization):
        return _denied(request, session, user, language, "other_organization")
    return _organization_page(
        request, session, user, organization, raw_params(period, at, from_, to, "")
    )


def _page_number(value: str) -> int:
    value = value.strip()
    return min(max(int(value), 1), 100_000) if value.isdigit() and len(value) < 7 else 1


@router.get(APPEALS_PATH, name="ratings_appeals")
def appeals_page(
    request: Request,
    session: DbSession,
    user: StaffUserDep,
    organization: Text = "",
    component: Text = "",
    which: Text = "bad",
    period: Text = "",
    at: Text = "",
    from_: DateText = "",
    to: Text = "",
    page: Text = "1",
) -> Response:
    """The appeals behind one figure, the newest first, 50 to a page."""
    language = page_language(request)
    raw = raw_params(period, at, from_, to, "")
    found = _organization(session, organization.strip())
    try:
        if component not in COMPONENTS:
            raise ValidationFailed("unknown component", code="unknown_component")
        if found is None:
            raise ValidationFailed("unknown organization", code="organization_not_found")
        chosen = chosen_period(raw)
    except ValidationFailed as error:
        return problem_page(request, session, user, language, error)
    if not _may_see(user, found):
        return _denied(request, session, user, language, "other_organization")
    which_: Which = WHICH.get(which, "bad")
    number = _page_number(page)
    method = ranking.methodology()
    behind, total = drilldown.appeals_behind(
        session,
        organization_id=found.id,
        component=component,
        start=chosen.start_at,
        stop=min(chosen.end_at, now()),
        fcr_window_days=method.fcr_window_days,
        which=which_,
        limit=PAGE_SIZE,
        offset=(number - 1) * PAGE_SIZE,
    )
    categories = category_names(session, language)
    rows: list[dict[str, Any]] = [
        item.as_dict()
        | {
            "item": item,
            "category": categories.get(item.category_code or "", item.category_code or ""),
            "status_label": status_label(Status(item.status), language),
        }
        for item in behind
    ]
    params = period_params(chosen) | {"organization": found.code, "component": component}
    back = (
        Url(MINE_PATH, period_params(chosen))
        if user.role is Role.EXECUTOR
        else Url(RANKING_PATH, period_params(chosen))
    )
    return render(
        request,
        "ratings/appeals.html",
        language=language,
        private=True,
        organization=found,
        org_name=found.name(language),
        component=component,
        which=which_,
        whiches=tuple(WHICH),
        rows=rows,
        total=total,
        page=number,
        last_page=max(1, -(-total // PAGE_SIZE)),
        url=Url(APPEALS_PATH, params | {"which": which_}),
        back=back,
        period=chosen,
        **staff_frame(request, session, user, language, active="ratings"),
    )

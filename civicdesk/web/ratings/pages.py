"""The ranking pages for leadership and inspectors: the league table and the anti-ranking
of a week, month, quarter, year or custom period, by kind of organization, with arrows for
movement, every figure opening the appeals behind it, CSV/JSON export and a printable view;
and the public page with the methodology when the city turns it on.

Everything is a GET with the choice in the URL (bookmarkable, shareable). The rules live in
``ratings``; this module reads the URL and renders.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from civicdesk.web.ratings.common import (
    KINDS,
    PERIOD_KINDS,
    Url,
    chosen_kind,
    chosen_period,
    movement,
    name_of,
    period_params,
    reason_words,
)
from civicdesk.web.rendering import almaty_date, almaty_time, page_language, render, secure
from civicdesk.web.staff_auth import StaffUserDep
from civicdesk.web.staff_frame import staff_error_page, staff_frame
from core.api_deps import DbSession
from core.clock import local, now
from core.errors import NotFound, ValidationFailed
from core.models import Role, StaffUser
from core.settings import get_settings
from ratings import ranking, snapshots
from ratings.export import to_csv
from ratings.methodology import COMPONENTS
from ratings.periods import Period, PeriodKind

router = APIRouter(include_in_schema=False)

RANKING_PATH: Final = "/staff/ratings"
PRINT_PATH: Final = "/staff/ratings/print"
CSV_PATH: Final = "/staff/ratings.csv"
JSON_PATH: Final = "/staff/ratings.json"
METHODOLOGY_PATH: Final = "/staff/ratings/methodology"
PUBLIC_PATH: Final = "/ratings"
LEADERSHIP: Final = frozenset({Role.INSPECTOR, Role.ANALYST, Role.ADMIN})

Text = Annotated[str, Query(max_length=40)]
DateText = Annotated[str, Query(alias="from", max_length=40)]


def raw_params(
    period: Text = "",
    at: Text = "",
    from_: DateText = "",
    to: Text = "",
    kind: Text = "",
) -> dict[str, str]:
    return {"period": period, "at": at, "from": from_, "to": to, "kind": kind}


def problem_page(
    request: Request, session: Session, user: StaffUser, language: str, error: ValidationFailed
) -> Response:
    key = f"rt.problem.{error.code}"
    return staff_error_page(
        request,
        session,
        user,
        language=language,
        status_code=422,
        message_key=key,
        active="ratings",
    )


def present(table: dict[str, Any], language: str) -> dict[str, Any]:
    """What the templates need beside the table: names, arrows and reasons in words."""
    for row in table["rows"]:
        row["display_name"] = name_of(row, language)
        row["move"] = movement(row, language)
        row["reason_words"] = reason_words(row, language)
    table["shown"] = [name for name in COMPONENTS if table["weights"].get(name, 0) > 0]
    by_code = {row["organization_code"]: row for row in table["rows"]}
    table["top_rows"] = [by_code[code] for code in table["top"]]
    table["anti_rows"] = [by_code[code] for code in table["anti"]]
    return table


def page_context(period: Period, kind: str | None, language: str) -> dict[str, Any]:
    """The period switcher, the kinds, the links that keep them."""
    params = period_params(period) | {"kind": kind or ""}
    today = local(now()).date()
    following = period.following()
    return {
        "period": period,
        "period_kinds": PERIOD_KINDS,
        "kinds": KINDS,
        "kind": kind,
        "url": Url(RANKING_PATH, params),
        # Links that keep only the period: an organization's page, the appeals behind a figure.
        "period_url": Url(RANKING_PATH, period_params(period)),
        "drill": Url("/staff/ratings/appeals", period_params(period)),
        "prev_params": period_params(period.previous()),
        "next_params": period_params(following) if following.start <= today else None,
        "first_day": almaty_date(period.start),
        "last_day": almaty_date(period.last_day),
        "components": COMPONENTS,
    }


def _table(session: Session, raw: dict[str, str]) -> tuple[Period, str | None, dict[str, Any]]:
    period = chosen_period(raw)
    kind = chosen_kind(raw)
    return period, kind, snapshots.ranking_view(session, period, kind=kind)


def _stamp(table: dict[str, Any]) -> str:
    return almaty_time(datetime.fromisoformat(table["computed_at"]))


@router.get(RANKING_PATH, name="ratings_ranking")
def ranking_page(
    request: Request,
    session: DbSession,
    user: StaffUserDep,
    period: Text = "",
    at: Text = "",
    from_: DateText = "",
    to: Text = "",
    kind: Text = "",
) -> Response:
    language = page_language(request)
    if user.role is Role.EXECUTOR:
        return RedirectResponse(Url("/staff/ratings/mine", request.query_params)(), 303)
    if user.role is Role.OPERATOR:
        return RedirectResponse(Url("/staff/ratings/operators", request.query_params)(), 303)
    raw = raw_params(period, at, from_, to, kind)
    try:
        chosen, chosen_kind_, table = _table(session, raw)
    except ValidationFailed as error:
        return problem_page(request, session, user, language, error)
    return render(
        request,
        "ratings/ranking.html",
        language=language,
        private=True,
        table=present(table, language),
        stamp=_stamp(table),
        **page_context(chosen, chosen_kind_, language),
        **staff_frame(request, session, user, language, active="ratings"),
    )


def _leadership_only(user: StaffUser) -> bool:
    return user.role in LEADERSHIP


@router.get(PRINT_PATH, name="ratings_print")
def print_page(
    request: Request,
    session: DbSession,
    user: StaffUserDep,
    period: Text = "",
    at: Text = "",
    from_: DateText = "",
    to: Text = "",
    kind: Text = "",
) -> Response:
    """The table and the anti-ranking on one page for the weekly meeting (no menus)."""
    language = page_language(request)
    if not _leadership_only(user):
        return staff_error_page(
            request,
            session,
            user,
            language=language,
            status_code=403,
            message_key="rt.problem.role_not_allowed",
        )
    try:
        chosen, chosen_kind_, table = _table(session, raw_params(period, at, from_, to, kind))
    except ValidationFailed as error:
        return problem_page(request, session, user, language, error)
    return render(
        request,
        "ratings/print.html",
        language=language,
        private=True,
        table=present(table, language),
        stamp=_stamp(table),
        printed_at=almaty_time(now()),
        **page_context(chosen, chosen_kind_, language),
    )


@router.get(CSV_PATH, name="ratings_csv")
@router.get(JSON_PATH, name="ratings_json")
def export(
    request: Request,
    session: DbSession,
    user: StaffUserDep,
    period: Text = "",
    at: Text = "",
    from_: DateText = "",
    to: Text = "",
    kind: Text = "",
) -> Response:
    """The table as CSV (codes and figures) or JSON (the API's table); no personal data."""
    language = page_language(request)
    if not _leadership_only(user):
        return staff_error_page(
            request,
            session,
            user,
            language=language,
            status_code=403,
            message_key="rt.problem.role_not_allowed",
        )
    try:
        chosen, _, table = _table(session, raw_params(period, at, from_, to, kind))
    except ValidationFailed as error:
        return problem_page(request, session, user, language, error)
    name = f"ranking-{chosen.label}".replace("..", "_")
    if request.url.path.endswith(".csv"):
        body = "\ufeff" + to_csv(table, language=language)
        response = Response(body, media_type="text/csv; charset=utf-8")
        response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    else:
        response = Response(
            json.dumps(table, ensure_ascii=False, indent=1), media_type="application/json"
        )
        response.headers["Content-Disposition"] = f'attachment; filename="{name}.json"'
    return secure(response, private=True)


def methodology_context(language: str) -> dict[str, Any]:
    method = ranking.methodology()
    return {
        "method": method,
        "weights": [
            (name, method.weights[name], round(100 * method.share(name), 1)) for name in COMPONENTS
        ],
    }


@router.get(METHODOLOGY_PATH, name="ratings_methodology")
def methodology_page(request: Request, session: DbSession, user: StaffUserDep) -> Response:
    language = page_language(request)
    return render(
        request,
        "ratings/methodology.html",
        language=language,
        private=True,
        public=False,
        **methodology_context(language),
        **staff_frame(request, session, user, language, active="ratings"),
    )


@router.get(PUBLIC_PATH, name="ratings_public")
def public_page(
    request: Request,
    session: DbSession,
    period: Text = "",
    at: Text = "",
    kind: Text = "",
) -> Response:
    """The table of a closed period and the methodology, for everyone (when published)."""
    if not get_settings().ratings_public:
        raise NotFound("the ranking is not published", code="not_published")
    language = page_language(request)
    raw = raw_params(period or PeriodKind.MONTH.value, at, "", "", kind)
    if raw["period"] == PeriodKind.CUSTOM.value:
        raw["period"] = PeriodKind.MONTH.value
    try:
        chosen = chosen_period(raw)
        chosen_kind_ = chosen_kind(raw)
        if not chosen.is_closed(local(now()).date()):
            chosen = chosen.previous()
    except ValidationFailed:
        raise NotFound("no such period", code="bad_period") from None
    table = snapshots.ranking_view(session, chosen, kind=chosen_kind_)
    context = page_context(chosen, chosen_kind_, language)
    context["url"] = Url(PUBLIC_PATH, period_params(chosen) | {"kind": chosen_kind_ or ""})
    today = local(now()).date()
    following = chosen.following()
    context["next_params"] = period_params(following) if following.end <= today else None
    return render(
        request,
        "ratings/public.html",
        language=language,
        table=present(table, language),
        stamp=_stamp(table),
        **context,
        **methodology_context(language),
    )

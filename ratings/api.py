"""The ranking over HTTP: the table, the appeals behind a figure, stored snapshots, the
weights in force, and the public table when the city publishes it. Thin: the rules are in
``ratings.ranking`` and ``ratings.snapshots``.

Leadership (inspectors, analysts, admins) sees the whole table; an executor gets its own
organization's row (with its ranks) and the appeals behind its own figures only. The
satisfaction index and the operators' view are the shell's (``civicdesk.ratings_api``):
they need the call center's records.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from core.api_deps import CurrentUser, DbSession
from core.clock import local, now
from core.errors import NotFound, PermissionDenied, ValidationFailed
from core.models import Role, StaffUser
from core.settings import get_settings
from ratings import drilldown, ranking, snapshots
from ratings.methodology import COMPONENTS
from ratings.periods import Period, PeriodError, PeriodKind, resolve
from ratings.schemas import DrilldownOut, RankingOut, SnapshotOut
from routing.models import OrganizationKind
from routing.service import get_organization, organization_by_code

router = APIRouter(prefix="/api/v1/ratings", tags=["ratings"])
public_router = APIRouter(prefix="/api/v1/public/ratings", tags=["ratings"])

LEADERSHIP = frozenset({Role.INSPECTOR, Role.ANALYST, Role.ADMIN})
PeriodName = Literal["week", "month", "quarter", "year", "custom"]
Code = Annotated[str, Query(min_length=1, max_length=64)]


def period_from(
    period: str | None, start: date | None, last_day: date | None, at: date | None
) -> Period:
    """The period asked for (``ratings.periods.resolve``), or a 422 saying what is wrong."""
    try:
        return resolve(
            kind=period,
            start=start,
            last_day=last_day,
            at=at,
            today=local(now()).date(),
            default=PeriodKind.WEEK,
        )
    except PeriodError as error:
        raise ValidationFailed(str(error), code="bad_period") from None


def check_kind(kind: str | None) -> str | None:
    if kind is None:
        return None
    try:
        return OrganizationKind(kind).value
    except ValueError:
        known = ", ".join(k.value for k in OrganizationKind)
        raise ValidationFailed(
            f"unknown kind {kind!r}; one of {known}", code="unknown_organization_kind"
        ) from None


def own_organization(session: Session, user: StaffUser) -> str:
    """The executor's organization code (an executor is always bound to one)."""
    if user.organization_id is None:
        raise PermissionDenied("no organization is bound to this account", code="no_organization")
    return get_organization(session, user.organization_id).code


def scoped(session: Session, user: StaffUser, table: dict[str, Any]) -> dict[str, Any]:
    """Leadership sees every row; an executor its own; other roles nothing."""
    if user.role in LEADERSHIP:
        return table
    if user.role is Role.EXECUTOR:
        code = own_organization(session, user)
        table["rows"] = [row for row in table["rows"] if row["organization_code"] == code]
        return table
    raise PermissionDenied(
        "the ranking is for inspectors, analysts, admins and executors", code="role_not_allowed"
    )


@router.get("/ranking", response_model=RankingOut)
def get_ranking(
    session: DbSession,
    user: CurrentUser,
    period: PeriodName | None = None,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
    at: date | None = None,
    kind: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, Any]:
    """The league table of a period (default: the last closed week) with movements since
    the previous one; ``kind`` ranks one kind of organization among themselves."""
    chosen = period_from(period, from_, to, at)
    table = snapshots.ranking_view(session, chosen, kind=check_kind(kind))
    return scoped(session, user, table)


@router.get("/ranking/appeals", response_model=DrilldownOut)
def get_appeals_behind(
    session: DbSession,
    user: CurrentUser,
    organization: Code,
    component: Annotated[str, Query(max_length=32)],
    which: Literal["bad", "good", "all"] = "bad",
    period: PeriodName | None = None,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
    at: date | None = None,
    limit: Annotated[int, Query(ge=1, le=drilldown.MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """The appeals behind one figure: ``which=bad`` those that cost points."""
    if component not in COMPONENTS:
        raise ValidationFailed(
            f"unknown component {component!r}; one of {', '.join(COMPONENTS)}",
            code="unknown_component",
        )
    if user.role is Role.EXECUTOR:
        if organization != own_organization(session, user):
            raise PermissionDenied(
                "an executor sees only its own organization's appeals",
                code="other_organization",
            )
    elif user.role not in LEADERSHIP:
        raise PermissionDenied("not for this role", code="role_not_allowed")
    chosen = period_from(period, from_, to, at)
    try:
        found = organization_by_code(session, organization)
    except NotFound:
        raise NotFound(
            f"organization {organization!r} not found", code="organization_not_found"
        ) from None
    method = ranking.methodology()
    behind, total = drilldown.appeals_behind(
        session,
        organization_id=found.id,
        component=component,
        start=chosen.start_at,
        stop=min(chosen.end_at, now()),
        fcr_window_days=method.fcr_window_days,
        which=which,
        limit=limit,
        offset=offset,
    )
    return {
        "organization_code": found.code,
        "component": component,
        "which": which,
        "period": chosen.as_dict(),
        "total": total,
        "appeals": [item.as_dict() for item in behind],
    }


@router.get("/snapshots", response_model=list[SnapshotOut])
def get_snapshots(
    session: DbSession,
    user: CurrentUser,
    period: Literal["week", "month", "quarter", "year"] | None = None,
) -> list[dict[str, Any]]:
    """The stored tables of closed periods, newest first."""
    scoped(session, user, {"rows": []})
    return snapshots.listing(session, kind=PeriodKind(period) if period else None)


@router.get("/methodology")
def get_methodology(user: CurrentUser) -> dict[str, Any]:
    """The weights and knobs in force (data/ranking_weights.yaml)."""
    return ranking.methodology().as_dict()


@public_router.get("/ranking", response_model=RankingOut)
def get_public_ranking(
    session: DbSession,
    period: Literal["week", "month", "quarter", "year"] = "month",
    at: date | None = None,
    kind: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, Any]:
    """The table as the city publishes it (only closed periods; 404 until it is turned on)."""
    if not get_settings().ratings_public:
        raise NotFound("the ranking is not published", code="not_published")
    chosen = period_from(period, None, None, at)
    if not chosen.is_closed(local(now()).date()):
        raise ValidationFailed("only closed periods are published", code="period_not_closed")
    return snapshots.ranking_view(session, chosen, kind=check_kind(kind))

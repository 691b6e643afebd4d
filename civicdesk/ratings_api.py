"""The satisfaction index and the operators' view over HTTP (``/api/v1/ratings/…``).

In the shell because operators' ratings come from the call center (``channels.telephony``)
and the rest from ``ratings``; the ranking's own endpoints are in ``ratings.api``.
Leadership sees everything; an executor its own organization's index; an operator their
own row of the operators' view.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query
from sqlalchemy.orm import Session

from civicdesk import ratings_operators
from core.api_deps import CurrentUser, DbSession
from core.clock import now
from core.errors import PermissionDenied
from core.models import Role, StaffUser
from ratings import ranking
from ratings.api import LEADERSHIP, PeriodName, own_organization, period_from
from ratings.periods import Period
from ratings.satisfaction import SatisfactionBy, by_dimension, target_for

router = APIRouter(prefix="/api/v1/ratings", tags=["ratings"])


@router.get("/satisfaction")
def get_satisfaction(
    session: DbSession,
    user: CurrentUser,
    by: SatisfactionBy = SatisfactionBy.ORGANIZATION,
    period: PeriodName | None = None,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
    at: date | None = None,
) -> dict[str, Any]:
    """The satisfaction index (4–5 ÷ all ratings × 100) per organization, operator, channel
    or district, with Wilson 95 % intervals and the year's target."""
    chosen = period_from(period, from_, to, at)
    return satisfaction_report(session, user, chosen, by)


def satisfaction_report(
    session: Session, user: StaffUser | None, chosen: Period, by: SatisfactionBy
) -> dict[str, Any]:
    """The index by ``by`` as this user may see it (the API and the page); ``user`` None:
    everything (the CLI, run by whoever runs the server)."""
    stop = min(chosen.end_at, now())
    method = ranking.methodology()
    role = user.role if user is not None else Role.ADMIN
    if by is SatisfactionBy.OPERATOR:
        if role not in LEADERSHIP and role is not Role.OPERATOR:
            raise PermissionDenied(
                "operators' ratings are for the call center", code="role_not_allowed"
            )
        view = ratings_operators.supervisor_view(
            session,
            start=chosen.start_at,
            stop=stop,
            operator_id=user.id if user is not None and role is Role.OPERATOR else None,
        )
        rows = [
            {
                "key": row["username"],
                "name": row["full_name"],
                "name_kk": row["full_name"],
                **{k: row[k] for k in ("ratings", "satisfied", "index", "ci_low", "ci_high")},
            }
            for row in view["operators"]
            if row["ratings"]
        ]
        total = {
            k: view["total"][k] for k in ("ratings", "satisfied", "index", "ci_low", "ci_high")
        }
        return {
            "by": by.value,
            "period": chosen.as_dict(),
            "rows": rows,
            "total": total,
            "target": target_for(method, chosen),
        }
    if role not in LEADERSHIP and role is not Role.EXECUTOR:
        raise PermissionDenied("not for this role", code="role_not_allowed")
    report = by_dimension(session, period=chosen, stop=stop, by=by, method=method)
    if user is not None and role is Role.EXECUTOR:
        if by is not SatisfactionBy.ORGANIZATION:
            raise PermissionDenied(
                "an executor sees its own organization's index", code="other_organization"
            )
        code = own_organization(session, user)
        report["rows"] = [row for row in report["rows"] if row["key"] == code]
    return report


@router.get("/operators")
def get_operators(
    session: DbSession,
    user: CurrentUser,
    period: PeriodName | None = None,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
    at: date | None = None,
) -> dict[str, Any]:
    """Operators' IVR ratings, satisfaction index, calls handled, AHT and quick-answer share,
    and the same per queue, over the period (an operator sees their own row)."""
    if user.role not in LEADERSHIP and user.role is not Role.OPERATOR:
        raise PermissionDenied(
            "the operators' view is for the call center", code="role_not_allowed"
        )
    chosen = period_from(period, from_, to, at)
    view = ratings_operators.supervisor_view(
        session,
        start=chosen.start_at,
        stop=min(chosen.end_at, now()),
        operator_id=user.id if user.role is Role.OPERATOR else None,
    )
    return {"period": chosen.as_dict()} | view


def include_ratings_api(app: FastAPI) -> None:
    """Mount ``/api/v1/ratings/…`` (the ranking's and these) and the public table."""
    from ratings.api import public_router
    from ratings.api import router as ranking_router

    app.include_router(ranking_router)
    app.include_router(router)
    app.include_router(public_router)

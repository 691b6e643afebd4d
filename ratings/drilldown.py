"""The appeals behind a figure of the ranking: every count on the page opens to its list.

The same definitions as ``ratings.ranking_counts``, for one organization and one
component, as ``(appeal id, good)`` pairs: ``which="bad"`` lists what cost points (late,
returned, reopened, rated 1–3, repeated, bounced back), ``"good"`` the rest, ``"all"``
both. No personal data: tracking number, topic, status and dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, select, union_all
from sqlalchemy.orm import Session

from appeals.lifecycle import Status
from appeals.models import Appeal, Assignment, AssignmentRole
from ratings.methodology import COMPONENTS
from ratings.models import AnswerRating
from ratings.ranking_counts import (
    PASSED_ON,
    SATISFIED,
    answered_conditions,
    attributed,
    bounced_condition,
    latest_rating_conditions,
    passed_on_pairs,
    repeat_rows,
    resolved_conditions,
    within_window,
)
from routing.reorganization import ASSIGNMENT_KIND as REORGANIZATION_KIND
from sla.models import AnswerReview, ReviewOutcome

Which = Literal["bad", "good", "all"]
MAX_LIMIT = 500


class UnknownComponent(ValueError):
    pass


@dataclass(frozen=True)
class Behind:
    """One appeal behind a figure."""

    id: int
    tracking_number: str
    status: Status
    category_code: str | None
    district_code: str | None
    received_at: datetime
    due_at: datetime | None
    target_due_at: datetime | None
    answered_at: datetime | None
    good: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tracking_number": self.tracking_number,
            "status": self.status.value,
            "category_code": self.category_code,
            "district_code": self.district_code,
            "received_at": self.received_at.isoformat(),
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "target_due_at": self.target_due_at.isoformat() if self.target_due_at else None,
            "answered_at": self.answered_at.isoformat() if self.answered_at else None,
            "good": self.good,
        }


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def _by_org(select_: Select[*tuple[Any, ...]], organization_id: int) -> Select[*tuple[Any, ...]]:
    sub = select_.subquery()
    return select(sub.c.appeal_id, sub.c.good).where(sub.c.org == organization_id)


def _timeliness(
    organization_id: int, start: datetime, stop: datetime, target: bool
) -> Select[*tuple[Any, ...]]:
    deadline = func.coalesce(Appeal.target_due_at, Appeal.due_at) if target else Appeal.due_at
    good = _flag(and_(Appeal.answered_at.is_not(None), Appeal.answered_at <= deadline))
    answered_first = and_(Appeal.answered_at.is_not(None), Appeal.answered_at < Appeal.due_at)
    moment = case((answered_first, Appeal.answered_at), else_=Appeal.due_at)
    resolved = attributed(
        [Appeal.id.label("appeal_id"), good.label("good")],
        moment,
        resolved_conditions(start, stop),
    )
    passed = select(
        Assignment.organization_id.label("org"),
        Assignment.appeal_id.label("appeal_id"),
        _flag(Assignment.late.is_(False)).label("good"),
    ).where(
        Assignment.role == AssignmentRole.LEAD,
        Assignment.end_reason.in_(PASSED_ON),
        Assignment.ended_at >= start,
        Assignment.ended_at < stop,
    )
    items = union_all(resolved, passed).subquery()
    return select(items.c.appeal_id, items.c.good).where(items.c.org == organization_id)


def _answers(organization_id: int, start: datetime, stop: datetime) -> Select[*tuple[Any, ...]]:
    items = attributed(
        [Appeal.id.label("appeal_id"), literal(1).label("good")],
        Appeal.answered_at,
        answered_conditions(start, stop),
    ).subquery()
    return select(items.c.appeal_id, items.c.good).where(items.c.org == organization_id)


def pairs(
    session: Session,
    *,
    organization_id: int,
    component: str,
    start: datetime,
    stop: datetime,
    fcr_window_days: int,
) -> dict[int, bool]:
    """appeal id → good, for one organization's component (an appeal once: bad wins)."""
    if component not in COMPONENTS:
        raise UnknownComponent(component)
    found: dict[int, bool] = {}

    def put(appeal_id: int, good: bool) -> None:
        found[appeal_id] = found.get(appeal_id, True) and good

    if component in ("on_time", "on_target"):
        query = _timeliness(organization_id, start, stop, component == "on_target")
        for appeal_id, good in session.execute(query):
            put(appeal_id, bool(good))
    elif component == "returns":
        reviews = select(
            AnswerReview.appeal_id, AnswerReview.outcome == ReviewOutcome.ACCEPTED
        ).where(
            AnswerReview.organization_id == organization_id,
            AnswerReview.created_at >= start,
            AnswerReview.created_at < stop,
        )
        for appeal_id, accepted in session.execute(reviews):
            put(appeal_id, bool(accepted))
    elif component == "satisfaction":
        ratings = (
            select(AnswerRating.appeal_id, AnswerRating.score >= SATISFIED)
            .join(Appeal, Appeal.id == AnswerRating.appeal_id)
            .where(
                AnswerRating.organization_id == organization_id,
                Appeal.status != Status.QUICK_ANSWERED,
                *latest_rating_conditions(start, stop),
            )
        )
        for appeal_id, happy in session.execute(ratings):
            put(appeal_id, bool(happy))
    elif component == "reopened":
        for appeal_id, _ in session.execute(_answers(organization_id, start, stop)):
            put(appeal_id, True)
        reopened = select(AnswerRating.appeal_id).where(
            AnswerRating.organization_id == organization_id,
            AnswerRating.reopened_at >= start,
            AnswerRating.reopened_at < stop,
        )
        for (appeal_id,) in session.execute(reopened):
            put(appeal_id, False)
    elif component == "repeats":
        for appeal_id, _ in session.execute(_answers(organization_id, start, stop)):
            put(appeal_id, True)
        for org, earlier_id, answered_at, arrived_at, _newer in session.execute(
            repeat_rows(start, stop)
        ):
            if org == organization_id and within_window(answered_at, arrived_at, fcr_window_days):
                put(earlier_id, False)
    else:  # ping_pong
        passed = passed_on_pairs()
        received = (
            select(Assignment.appeal_id, bounced_condition(passed))
            .outerjoin(
                passed,
                and_(
                    passed.c.appeal_id == Assignment.appeal_id,
                    passed.c.org == Assignment.organization_id,
                ),
            )
            .where(
                Assignment.role == AssignmentRole.LEAD,
                Assignment.organization_id == organization_id,
                Assignment.started_at >= start,
                Assignment.started_at < stop,
                Assignment.kind != REORGANIZATION_KIND,
            )
        )
        for appeal_id, bounced in session.execute(received):
            put(appeal_id, not bounced)
    return found


def appeals_behind(
    session: Session,
    *,
    organization_id: int,
    component: str,
    start: datetime,
    stop: datetime,
    fcr_window_days: int,
    which: Which = "bad",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Behind], int]:
    """One page of the appeals behind a figure (the newest first) and their total."""
    found = pairs(
        session,
        organization_id=organization_id,
        component=component,
        start=start,
        stop=stop,
        fcr_window_days=fcr_window_days,
    )
    chosen = {
        appeal_id: good
        for appeal_id, good in found.items()
        if which == "all" or good is (which == "good")
    }
    total = len(chosen)
    if not chosen:
        return [], 0
    page = sorted(chosen, reverse=True)[max(0, offset) :][: max(1, min(limit, MAX_LIMIT))]
    if not page:
        return [], total
    rows = session.execute(
        select(
            Appeal.id,
            Appeal.tracking_number,
            Appeal.status,
            Appeal.category_code,
            Appeal.district_code,
            Appeal.received_at,
            Appeal.due_at,
            Appeal.target_due_at,
            Appeal.answered_at,
        )
        .where(Appeal.id.in_(page))
        .order_by(Appeal.id.desc())
    ).all()
    return [Behind(*row, good=chosen[row[0]]) for row in rows], total

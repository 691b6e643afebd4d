"""The counts behind the ranking, per organization, for one period: a few grouped queries.

Each component counts the events of the period, so a closed period's figures are final:
- **timeliness**: appeals *resolved* in the period, the moment being the answer when it
  came by the deadline, else the deadline itself (``least(answered_at, due_at)``): every
  appeal counts once, and its outcome is known at that moment. It counts for the lead whose
  stint covered that moment (the assignment history; reorganized bodies keep theirs; where
  no stint covers it, the appeal's organization).
  Each lead stint that ended in the period by forwarding or sending back counts for its
  holder too: on time unless it was held past the forwarding term (``late``).
- **returns**: the inspectors' reviews made in the period, against the answering body.
- **reopened**, **repeats**: per answer given in the period (attributed as above);
  reopenings after a low rating made in the period, and repeats (the citizen's new appeal
  on the same issue, from ``appeal_links``) that arrived in the period within the FCR
  window after the answer.
- **satisfaction**: ratings given in the period, one per appeal (its latest answer's).
- **ping-pong**: lead stints that began in the period (not by a reorganization) at a body
  which had already passed the same appeal on.
Quick answers (the call center's, not an organization's) and rejected appeals stay out.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    distinct,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from appeals.lifecycle import Status
from appeals.models import Appeal, AppealLink, Assignment, AssignmentRole, LinkKind, LinkStatus
from ratings.models import AnswerRating
from routing.reorganization import ASSIGNMENT_KIND as REORGANIZATION_KIND
from sla.models import AnswerReview, ReviewOutcome

#: How a lead's stint ends when the appeal was passed on (routing.forwarding).
PASSED_ON = ("forwarded", "sent_back")
#: Never an organization's own answer or failure.
NOT_COUNTED = (Status.REJECTED, Status.QUICK_ANSWERED)
SATISFIED = 4  # ratings of 4 and 5


@dataclass
class Tally:
    """Good outcomes of all, for one component of one organization."""

    good: int = 0
    n: int = 0

    def add(self, good: int, n: int) -> None:
        self.good += good
        self.n += n


@dataclass
class OrgCounts:
    """Everything counted for one organization in one period."""

    #: category → (items, on time, within the internal target), answers and deadlines.
    resolved: dict[str | None, tuple[int, int, int]] = field(default_factory=dict)
    #: Stints passed on in the period: (stints, not late).
    forwarded: tuple[int, int] = (0, 0)
    #: Appeals behind the timeliness items (one passed on and then answered by the same body
    #: in the period counts in both roles).
    appeals: int = 0
    reviews: Tally = field(default_factory=Tally)  # good: accepted
    answers: int = 0
    reopened: int = 0
    repeats: int = 0
    ratings: Tally = field(default_factory=Tally)  # good: 4 and 5
    received: Tally = field(default_factory=Tally)  # good: not a bounce back


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def _resolved_at() -> ColumnElement[datetime]:
    """The answer when it came by the deadline, else the deadline (portable ``least``)."""
    answered_first = and_(Appeal.answered_at.is_not(None), Appeal.answered_at < Appeal.due_at)
    return case((answered_first, Appeal.answered_at), else_=Appeal.due_at)


def resolved_conditions(start: datetime, stop: datetime) -> list[ColumnElement[bool]]:
    """Appeals resolved in ``[start, stop)``. The two redundant bounds (a deadline is never
    before the resolution, a receipt never after it) let an index narrow the scan."""
    moment = _resolved_at()
    return [
        Appeal.due_at.is_not(None),
        Appeal.status.not_in(NOT_COUNTED),
        moment >= start,
        moment < stop,
        Appeal.due_at >= start,
        Appeal.received_at < stop,
        # A paused clock's deadline moves on when it resumes: not late while paused.
        or_(Appeal.answered_at.is_not(None), Appeal.paused_at.is_(None)),
    ]


def answered_conditions(start: datetime, stop: datetime) -> list[ColumnElement[bool]]:
    return [
        Appeal.answered_at >= start,
        Appeal.answered_at < stop,
        Appeal.status.not_in(NOT_COUNTED),
    ]


def attributed(
    columns: list[Any], moment: Any, conditions: list[ColumnElement[bool]]
) -> Select[*tuple[Any, ...]]:
    """``(organization id, *columns)`` of the appeals matching ``conditions``: the lead whose
    stint covered ``moment`` (the assignment history, so forwarding and reorganizations
    leave each body its own); where no stint covers it (appeals from before assignment rows
    existed, a deadline that passed before anyone held it), the appeal's organization now.
    """
    stint = aliased(Assignment)
    return (
        select(func.coalesce(stint.organization_id, Appeal.organization_id).label("org"), *columns)
        .select_from(Appeal)
        .outerjoin(
            stint,
            and_(
                stint.appeal_id == Appeal.id,
                stint.role == AssignmentRole.LEAD,
                stint.started_at <= moment,
                or_(stint.ended_at.is_(None), stint.ended_at > moment),
            ),
        )
        .where(*conditions)
    )


def _timeliness_items(start: datetime, stop: datetime) -> Any:
    columns = [
        Appeal.id.label("appeal_id"),
        Appeal.category_code.label("category"),
        literal("resolved").label("item"),
        _flag(and_(Appeal.answered_at.is_not(None), Appeal.answered_at <= Appeal.due_at)).label(
            "on_time"
        ),
        _flag(
            and_(
                Appeal.answered_at.is_not(None),
                Appeal.answered_at <= func.coalesce(Appeal.target_due_at, Appeal.due_at),
            )
        ).label("on_target"),
    ]
    resolved = attributed(columns, _resolved_at(), resolved_conditions(start, stop))
    timely = _flag(Assignment.late.is_(False))
    passed_on = select(
        Assignment.organization_id.label("org"),
        Assignment.appeal_id.label("appeal_id"),
        literal(None).label("category"),
        literal("forwarded").label("item"),
        timely.label("on_time"),
        timely.label("on_target"),
    ).where(
        Assignment.role == AssignmentRole.LEAD,
        Assignment.end_reason.in_(PASSED_ON),
        Assignment.ended_at >= start,
        Assignment.ended_at < stop,
    )
    return union_all(resolved, passed_on).subquery("items")


def count_period(
    session: Session, *, start: datetime, stop: datetime, fcr_window_days: int
) -> dict[int, OrgCounts]:
    """Every organization's counts for ``[start, stop)`` (``stop`` is at most now: what has
    not happened yet is not known)."""
    counts: dict[int, OrgCounts] = defaultdict(OrgCounts)

    items = _timeliness_items(start, stop)
    grouped = select(
        items.c.org,
        items.c.item,
        items.c.category,
        func.count(),
        func.sum(items.c.on_time),
        func.sum(items.c.on_target),
        # One appeal resolves once; one passed on twice by the same body is one appeal.
        func.count(distinct(items.c.appeal_id)),
    ).group_by(items.c.org, items.c.item, items.c.category)
    for org, item, category, n, on_time, on_target, appeals in session.execute(grouped):
        if org is None:
            continue
        counts[org].appeals += int(appeals)
        if item == "forwarded":
            done, timely = counts[org].forwarded
            counts[org].forwarded = (done + int(n), timely + int(on_time or 0))
        else:
            counts[org].resolved[category] = (int(n), int(on_time or 0), int(on_target or 0))

    reviews = (
        select(
            AnswerReview.organization_id,
            func.count(),
            func.sum(_flag(AnswerReview.outcome == ReviewOutcome.ACCEPTED)),
        )
        .where(AnswerReview.created_at >= start, AnswerReview.created_at < stop)
        .group_by(AnswerReview.organization_id)
    )
    for org, n, accepted in session.execute(reviews):
        if org is not None:
            counts[org].reviews.add(int(accepted or 0), int(n))

    answers = attributed(
        [Appeal.id.label("appeal_id")], Appeal.answered_at, answered_conditions(start, stop)
    ).subquery("answers")
    for org, n in session.execute(select(answers.c.org, func.count()).group_by(answers.c.org)):
        if org is not None:
            counts[org].answers = int(n)

    reopened = (
        select(AnswerRating.organization_id, func.count())
        .where(AnswerRating.reopened_at >= start, AnswerRating.reopened_at < stop)
        .group_by(AnswerRating.organization_id)
    )
    for org, n in session.execute(reopened):
        if org is not None:
            counts[org].reopened = int(n)

    for org, n, happy in session.execute(_satisfaction_by_organization(start, stop)):
        if org is not None:
            counts[org].ratings.add(int(happy or 0), int(n))

    for org, n in _repeats(session, start=start, stop=stop, window_days=fcr_window_days).items():
        counts[org].repeats = n

    for org, n, bounced in session.execute(_received_stints(start, stop)):
        if org is not None:
            counts[org].received.add(int(n) - int(bounced or 0), int(n))
    return dict(counts)


def latest_rating_conditions(start: datetime, stop: datetime) -> list[ColumnElement[bool]]:
    """Ratings given in the period, one per appeal: the rating of its latest answer (a
    reopened appeal answered and rated again counts once)."""
    later = aliased(AnswerRating)
    return [
        AnswerRating.rated_at >= start,
        AnswerRating.rated_at < stop,
        ~exists().where(
            later.appeal_id == AnswerRating.appeal_id,
            later.answered_at > AnswerRating.answered_at,
            later.rated_at >= start,
            later.rated_at < stop,
        ),
    ]


def _satisfaction_by_organization(start: datetime, stop: datetime) -> Select[*tuple[Any, ...]]:
    return (
        select(
            AnswerRating.organization_id,
            func.count(),
            func.sum(_flag(AnswerRating.score >= SATISFIED)),
        )
        .join(Appeal, Appeal.id == AnswerRating.appeal_id)
        .where(
            *latest_rating_conditions(start, stop),
            Appeal.status != Status.QUICK_ANSWERED,
        )
        .group_by(AnswerRating.organization_id)
    )


def repeat_rows(start: datetime, stop: datetime) -> Select[*tuple[Any, ...]]:
    """(organization, earlier appeal, its answer, the repeat's arrival, repeat id) for each
    repeat link whose newer appeal arrived in the period after the earlier one's answer."""
    newer, earlier = aliased(Appeal), aliased(Appeal)
    stint = aliased(Assignment)
    return (
        select(
            func.coalesce(stint.organization_id, earlier.organization_id),
            earlier.id,
            earlier.answered_at,
            newer.received_at,
            newer.id,
        )
        .select_from(AppealLink)
        .join(newer, newer.id == AppealLink.appeal_id)
        .join(earlier, earlier.id == AppealLink.other_id)
        .outerjoin(
            stint,
            and_(
                stint.appeal_id == earlier.id,
                stint.role == AssignmentRole.LEAD,
                stint.started_at <= earlier.answered_at,
                or_(stint.ended_at.is_(None), stint.ended_at > earlier.answered_at),
            ),
        )
        .where(
            AppealLink.kind == LinkKind.REPEAT,
            AppealLink.status != LinkStatus.BROKEN,
            newer.received_at >= start,
            newer.received_at < stop,
            earlier.answered_at.is_not(None),
            earlier.answered_at <= newer.received_at,
            earlier.status.not_in(NOT_COUNTED),
        )
    )


def within_window(answered_at: datetime, arrived_at: datetime, window_days: int) -> bool:
    return arrived_at - answered_at <= timedelta(days=window_days)


def _repeats(
    session: Session, *, start: datetime, stop: datetime, window_days: int
) -> dict[int, int]:
    """Answers the citizen came back about, per organization (each earlier appeal once)."""
    seen: dict[int, set[int]] = defaultdict(set)
    for org, earlier_id, answered_at, arrived_at, _newer in session.execute(
        repeat_rows(start, stop)
    ):
        if org is not None and within_window(answered_at, arrived_at, window_days):
            seen[org].add(earlier_id)
    return {org: len(ids) for org, ids in seen.items()}


def passed_on_pairs() -> Any:
    """(appeal, organization, first time it passed the appeal on)."""
    return (
        select(
            Assignment.appeal_id.label("appeal_id"),
            Assignment.organization_id.label("org"),
            func.min(Assignment.ended_at).label("passed_at"),
        )
        .where(Assignment.role == AssignmentRole.LEAD, Assignment.end_reason.in_(PASSED_ON))
        .group_by(Assignment.appeal_id, Assignment.organization_id)
        .subquery("passed")
    )


def bounced_condition(passed: Any) -> ColumnElement[bool]:
    return and_(passed.c.passed_at.is_not(None), passed.c.passed_at <= Assignment.started_at)


def _received_stints(start: datetime, stop: datetime) -> Select[*tuple[Any, ...]]:
    passed = passed_on_pairs()
    return (
        select(
            Assignment.organization_id,
            func.count(),
            func.sum(_flag(bounced_condition(passed))),
        )
        .outerjoin(
            passed,
            and_(
                passed.c.appeal_id == Assignment.appeal_id,
                passed.c.org == Assignment.organization_id,
            ),
        )
        .where(
            Assignment.role == AssignmentRole.LEAD,
            Assignment.started_at >= start,
            Assignment.started_at < stop,
            # A reorganization hands work over; nobody received it from a citizen or a peer.
            Assignment.kind != REORGANIZATION_KIND,
        )
        .group_by(Assignment.organization_id)
    )

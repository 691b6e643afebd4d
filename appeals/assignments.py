"""Who holds an appeal: the lead organization's stints and the co-executors' parts.

``appeal.organization_id`` is the current lead, for fast queries; the
assignment rows are the history behind it (and the co-executors), written
only through these functions.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals.models import Appeal, Assignment, AssignmentRole
from core.clock import now
from core.errors import Conflict
from core.models import StaffUser


def current_lead(session: Session, appeal_id: int) -> Assignment | None:
    return session.scalar(
        select(Assignment)
        .where(
            Assignment.appeal_id == appeal_id,
            Assignment.role == AssignmentRole.LEAD,
            Assignment.ended_at.is_(None),
        )
        .order_by(Assignment.id.desc())
        .limit(1)
    )


def lead_history(session: Session, appeal_id: int) -> list[Assignment]:
    return list(
        session.scalars(
            select(Assignment)
            .where(Assignment.appeal_id == appeal_id, Assignment.role == AssignmentRole.LEAD)
            .order_by(Assignment.id)
        )
    )


def open_co_executors(session: Session, appeal_id: int) -> list[Assignment]:
    return list(
        session.scalars(
            select(Assignment)
            .where(
                Assignment.appeal_id == appeal_id,
                Assignment.role == AssignmentRole.CO_EXECUTOR,
                Assignment.ended_at.is_(None),
            )
            .order_by(Assignment.id)
        )
    )


def close_lead(
    session: Session,
    appeal: Appeal,
    *,
    end_reason: str,
    late: bool = False,
    at: datetime | None = None,
) -> Assignment | None:
    """End the current lead's stint (forwarded, sent back, reorganized)."""
    lead = current_lead(session, appeal.id)
    if lead is not None:
        lead.ended_at = at or now()
        lead.end_reason = end_reason
        lead.late = late
    return lead


def open_lead(
    session: Session,
    appeal: Appeal,
    organization_id: int,
    *,
    kind: str,
    reason: str = "",
    rule_id: int | None = None,
    by: StaffUser | None = None,
    at: datetime | None = None,
) -> Assignment:
    """Make ``organization_id`` the lead (the caller closed the previous stint)."""
    assignment = Assignment(
        appeal_id=appeal.id,
        organization_id=organization_id,
        role=AssignmentRole.LEAD,
        kind=kind,
        rule_id=rule_id,
        reason=reason,
        assigned_by_id=by.id if by else None,
        started_at=at or now(),
        late=False,
    )
    session.add(assignment)
    appeal.organization_id = organization_id
    return assignment


def pending_parts(session: Session, appeal_id: int) -> list[Assignment]:
    """Open co-executor parts without an answer: the lead's answer waits for these."""
    return [part for part in open_co_executors(session, appeal_id) if part.answer_text is None]


def require_parts_answered(session: Session, appeal_id: int) -> None:
    """Refuse the lead's answer while a co-executor's part is still unanswered."""
    pending = pending_parts(session, appeal_id)
    if pending:
        raise Conflict(
            f"{len(pending)} co-executor part(s) still wait for an answer",
            code="co_executor_parts_pending",
            organization_ids=[part.organization_id for part in pending],
        )

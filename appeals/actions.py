"""The appeal's own actions: accept, answer, reject, answer on the spot, reopen.

Each checks the role (and, for executors, the organization), then goes through
``appeals.transitions.transition``. Actions that belong to another capability live in
its room: routing and forwarding in ``routing.forwarding``, the review and the extension
in ``sla.actions``.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals import assignments
from appeals.lifecycle import REJECTION_REASONS, Status
from appeals.models import Appeal
from appeals.reasons import Reason
from appeals.transitions import authorize, transition
from core.clock import now
from core.errors import ValidationFailed
from core.models import StaffUser


def accept(session: Session, appeal: Appeal, *, user: StaffUser) -> None:
    authorize("accept", user, appeal, None)
    transition(session, appeal, Status.IN_PROGRESS, actor=user, reason=Reason("accepted"))


def answer(session: Session, appeal: Appeal, *, user: StaffUser, text: str) -> None:
    """The lead's answer; refused while a co-executor's part is still missing."""
    authorize("answer", user, appeal, None)
    if session.get_bind().dialect.name == "postgresql":
        # Lock the appeal: a co-executor added at this moment waits for the answer, or fails.
        session.execute(select(Appeal.id).where(Appeal.id == appeal.id).with_for_update())
    assignments.require_parts_answered(session, appeal.id)
    text = (text or "").strip()
    if len(text) < 10:
        raise ValidationFailed(
            "the answer must say something (10 characters at least)", code="answer_too_short"
        )
    appeal.answer_text = text
    appeal.answered_at = now()
    appeal.answered_by_id = user.id
    transition(session, appeal, Status.ANSWERED, actor=user, reason=Reason("answer_submitted"))


def reject(
    session: Session, appeal: Appeal, *, user: StaffUser, reason_code: str, note: str | None
) -> None:
    authorize("reject", user, appeal, reason_code)
    if reason_code not in REJECTION_REASONS:
        raise ValidationFailed(
            f"rejection reason must be one of {', '.join(REJECTION_REASONS)}",
            code="unknown_rejection_reason",
        )
    appeal.rejection_reason = reason_code
    transition(
        session,
        appeal,
        Status.REJECTED,
        actor=user,
        reason=Reason("rejected", {"rejection": reason_code, "note": (note or "").strip()}),
    )


def quick_answer(session: Session, appeal: Appeal, *, user: StaffUser, text: str) -> None:
    """Answered on the spot (the knowledge base or the operator); closes the contact."""
    authorize("quick_answer", user, appeal, None)
    text = (text or "").strip()
    if len(text) < 10:
        raise ValidationFailed(
            "the answer must say something (10 characters at least)", code="answer_too_short"
        )
    appeal.answer_text = text
    appeal.answered_at = now()
    appeal.answered_by_id = user.id
    appeal.closed_at = now()
    transition(session, appeal, Status.QUICK_ANSWERED, actor=user, reason=Reason("quick_answered"))


def reopen(session: Session, appeal: Appeal, *, user: StaffUser, reason: str) -> None:
    why = authorize("reopen", user, appeal, reason)
    appeal.closed_at = None
    reopened = Reason("reopened", {"note": why})
    transition(session, appeal, Status.REOPENED, actor=user, reason=reopened)


def reopen_on_low_rating(session: Session, appeal: Appeal, *, reason: Reason | str) -> None:
    """The citizen's low rating of the answer reopens it (``ratings.answers.should_reopen``
    decides; the channels' event handler calls this): no staff actor, the citizen's act.
    ``reason``: ``Reason("low_rating", {"score": …, "comment": …})``."""
    appeal.closed_at = None
    transition(session, appeal, Status.REOPENED, actor=None, actor_kind="citizen", reason=reason)

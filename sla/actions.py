"""Named SLA actions on an appeal: pause and resume the clock, request and decide an
extension, accept or return an answer at review.

Status changes go through ``appeals.transitions`` (extend, close, return_for_rework and
the end of a pause are here); the sla records (pauses, requests, reviews, the inbox) are kept by
``sla.workflow``. The entry point commits; notifications are inbox rows in the same
transaction, so they exist exactly when the change does.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals.lifecycle import OPEN_STATUSES, Status, check_transition
from appeals.models import Appeal
from appeals.reasons import Reason
from appeals.transitions import authorize, note_clock, transition
from core.clock import now
from core.errors import Conflict, PermissionDenied, ValidationFailed
from core.models import Role, StaffUser
from sla import texts, workflow
from sla.clocks import shift_by_working_days
from sla.models import AppealPause, ExtensionRequest, ReviewOutcome
from sla.service import deadline_policy
from sla.sweep import OVERDUE_REASON

#: Who may pause the clock: the executor (own organization), the inspectors, the admin.
_CLOCK_ROLES = (Role.EXECUTOR, Role.INSPECTOR, Role.ADMIN)


def _own_organization(user: StaffUser, appeal: Appeal) -> None:
    if user.role is Role.EXECUTOR and (
        appeal.organization_id is None or appeal.organization_id != user.organization_id
    ):
        raise PermissionDenied(
            "this appeal belongs to another organization", code="other_organization"
        )


def _text(
    session: Session, key: str, appeal: Appeal, due: datetime | None, **kw: str
) -> tuple[str, str]:
    return texts.render(
        key,
        tracking_number=appeal.tracking_number,
        category=workflow.category_names(session, appeal.category_code),
        due=due,
        reason_code=kw.get("reason_code"),
    )


# --- the clock ---------------------------------------------------------------------------


def pause_clock(
    session: Session, appeal: Appeal, *, user: StaffUser, reason_code: str, comment: str
) -> AppealPause:
    """Stop the clock (e.g. waiting for the citizen's clarification), with the reason."""
    if user.role not in _CLOCK_ROLES:
        raise PermissionDenied(
            f"a {user.role.value} may not pause the clock", code="role_not_allowed"
        )
    _own_organization(user, appeal)
    if appeal.status not in OPEN_STATUSES or appeal.due_at is None:
        raise Conflict(
            "only an open appeal with a deadline has a clock to pause",
            code="clock_not_running",
            status=appeal.status.value,
        )
    moment = now()
    if appeal.due_at <= moment:
        # A pause would hide a breach from the sweep and the board: once late, the way on
        # is an answer or an extension request, not a stopped clock.
        raise Conflict(
            "the deadline has passed: an overdue appeal's clock is not paused",
            code="clock_overdue",
            due_at=appeal.due_at.isoformat(),
        )
    pause = workflow.start_pause(
        session,
        appeal_id=appeal.id,
        reason_code=reason_code,
        comment=comment,
        by=user,
        at=moment,
    )
    appeal.paused_at = moment
    appeal.updated_at = moment
    note_clock(
        session,
        appeal,
        actor=user,
        reason=Reason(
            "clock_paused",
            {"pause_reason": pause.reason_code.value, "note": pause.comment or ""},
        ),
    )
    session.flush()
    return pause


def resume_clock(session: Session, appeal: Appeal, *, user: StaffUser | None) -> int:
    """Start the clock again; the deadline and the target move by the working days paused,
    never past two months from registration (``intake.actions.end_pause``).

    Returns that number of working days. ``user`` None: the system resumed it (e.g. the
    citizen's clarification arrived). A finished appeal has no clock to resume: its pause
    ended with the status change.
    """
    if user is not None:
        if user.role not in _CLOCK_ROLES:
            raise PermissionDenied(
                f"a {user.role.value} may not resume the clock", code="role_not_allowed"
            )
        _own_organization(user, appeal)
    if appeal.status not in OPEN_STATUSES:
        raise Conflict(
            "only an open appeal has a clock to resume",
            code="clock_not_running",
            status=appeal.status.value,
        )
    if appeal.paused_at is None and workflow.open_pause(session, appeal_id=appeal.id) is None:
        raise Conflict("the clock is not paused", code="not_paused")
    days = end_pause(session, appeal, by=user, why="resumed")
    session.flush()
    return days


# --- extensions --------------------------------------------------------------------------


def request_extension(
    session: Session, appeal: Appeal, *, user: StaffUser, until: datetime, reason: str
) -> ExtensionRequest:
    """An executor asks for more time: a reason, at most two months from registration."""
    if user.role not in (Role.EXECUTOR, Role.INSPECTOR, Role.ADMIN):
        raise PermissionDenied(
            f"a {user.role.value} may not request an extension", code="role_not_allowed"
        )
    _own_organization(user, appeal)
    if until.tzinfo is None:
        raise ValidationFailed("until must carry a timezone", code="naive_datetime")
    if appeal.due_at is None:
        raise ValidationFailed("the appeal has no deadline yet", code="not_registered")
    check_transition(appeal.status, Status.EXTENDED)
    request = workflow.request_extension(
        session,
        appeal_id=appeal.id,
        organization_id=appeal.organization_id,
        user=user,
        reason=reason,
        requested_until=until,
        received_at=appeal.received_at,
        current_due=appeal.due_at,
    )
    workflow.notify(
        session,
        kind="extension_requested",
        appeal_id=appeal.id,
        text=_text(session, "extension_requested", appeal, until),
        organization_id=appeal.organization_id,
        role="inspector",
    )
    return request


def _request_and_appeal(
    session: Session, request_id: int, user: StaffUser
) -> tuple[ExtensionRequest, Appeal]:
    request = workflow.get_extension_request(session, request_id, lock=True)
    workflow.check_can_decide(request, user)
    appeal = session.scalar(select(Appeal).where(Appeal.id == request.appeal_id))
    assert appeal is not None  # the foreign key cascades
    return request, appeal


def approve_extension(
    session: Session, request_id: int, *, user: StaffUser, comment: str | None = None
) -> Appeal:
    """An inspector approves: the appeal becomes EXTENDED with the new deadline, and the
    citizen must be told within 3 working days (``extension_notice_due_at``)."""
    request, appeal = _request_and_appeal(session, request_id, user)
    # The request's reason is what the citizen is told; the inspector's comment is an
    # internal remark and stays on the request (``decision_comment``).
    extend(session, appeal, user=user, new_due=request.requested_until, reason=request.reason)
    workflow.mark_decided(session, request, user=user, approved=True, comment=comment)
    workflow.notify(
        session,
        kind="extension_approved",
        appeal_id=appeal.id,
        text=_text(session, "extension_approved", appeal, appeal.due_at),
        staff_user_id=request.requested_by_id,
        organization_id=appeal.organization_id,
    )
    return appeal


def refuse_extension(session: Session, request_id: int, *, user: StaffUser, comment: str) -> Appeal:
    """An inspector refuses, saying why; the deadline stays."""
    request, appeal = _request_and_appeal(session, request_id, user)
    workflow.mark_decided(session, request, user=user, approved=False, comment=comment)
    workflow.notify(
        session,
        kind="extension_refused",
        appeal_id=appeal.id,
        text=_text(session, "extension_refused", appeal, appeal.due_at),
        staff_user_id=request.requested_by_id,
        organization_id=appeal.organization_id,
    )
    return appeal


# --- review ------------------------------------------------------------------------------


def accept_answer(
    session: Session, appeal: Appeal, *, user: StaffUser, comment: str | None = None
) -> None:
    """The inspector accepts the answer: the appeal is closed and the citizen sees it."""
    check_transition(appeal.status, Status.CLOSED)
    organization_id = appeal.organization_id
    close(session, appeal, user=user, reason=(comment or "").strip() or None)
    workflow.record_review(
        session,
        appeal_id=appeal.id,
        organization_id=organization_id,
        reviewer=user,
        outcome=ReviewOutcome.ACCEPTED,
        reason=None,
        comment=comment,
    )


def return_answer(
    session: Session,
    appeal: Appeal,
    *,
    user: StaffUser,
    reason_code: str,
    comment: str | None = None,
) -> None:
    """The inspector returns the answer for rework with a checklist reason; the return
    counts against the organization whose answer it was."""
    reason = workflow.parse_return_reason(reason_code, comment)
    check_transition(appeal.status, Status.RETURNED)
    note = (comment or "").strip()
    return_for_rework(
        session,
        appeal,
        user=user,
        reason=Reason("answer_returned", {"return_reason": reason.value, "note": note}),
    )
    workflow.record_review(
        session,
        appeal_id=appeal.id,
        organization_id=appeal.organization_id,
        reviewer=user,
        outcome=ReviewOutcome.RETURNED,
        reason=reason,
        comment=note,
    )
    appeal.returns_count = (appeal.returns_count or 0) + 1
    workflow.notify(
        session,
        kind="answer_returned",
        appeal_id=appeal.id,
        text=_text(session, "answer_returned", appeal, appeal.due_at, reason_code=reason.value),
        staff_user_id=appeal.answered_by_id,
        organization_id=appeal.organization_id,
        role=None if appeal.answered_by_id else "executor",
    )
    session.flush()


def review_queue(
    session: Session,
    *,
    user: StaffUser,
    organization_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Appeal]:
    """Answers waiting for an inspector, oldest answer first."""
    if user.role not in (Role.INSPECTOR, Role.ADMIN, Role.ANALYST):
        raise PermissionDenied("the review queue is for inspectors", code="role_not_allowed")
    query = (
        select(Appeal)
        .where(Appeal.status == Status.ANSWERED)
        .order_by(Appeal.answered_at, Appeal.id)
        .limit(limit)
        .offset(offset)
    )
    if organization_id is not None:
        query = query.where(Appeal.organization_id == organization_id)
    return list(session.scalars(query))


# --- the status steps of the review and the extension, and the clock's end ----------------


def clear_overdue_marker(appeal: Appeal, moment: datetime) -> None:
    """The sweep's "overdue" marker goes once the deadline is in the future again (an
    extension, a pause given back); an escalation for another reason (ping-pong) stays."""
    if (
        appeal.escalation_reason == OVERDUE_REASON
        and appeal.due_at is not None
        and appeal.due_at > moment
    ):
        appeal.escalated_at = None
        appeal.escalation_reason = None


def end_pause(session: Session, appeal: Appeal, *, by: StaffUser | None, why: str) -> int:
    """Close the appeal's open pause: the legal deadline and the internal target move by the
    working days it covered, returned as the result.

    The deadline never moves past the law's outer limit, two calendar months from
    registration (what the pause would add beyond it is lost, and said so in the history),
    nor earlier than it was; the internal target never past the deadline.
    """
    moment = now()
    pause = workflow.open_pause(session, appeal_id=appeal.id)
    if pause is None:  # a marker without its record (data from before pauses were closed)
        appeal.paused_at = None
        return 0
    _pause, days = workflow.end_pause(session, appeal_id=appeal.id, by=by, at=moment)
    policy = deadline_policy()
    capped = False
    if appeal.due_at is not None and days:
        shifted = shift_by_working_days(policy, appeal.due_at, days)
        limit = max(policy.max_extended_due(appeal.received_at), appeal.due_at)
        capped = shifted > limit
        appeal.due_at = min(shifted, limit)
    if appeal.target_due_at is not None and days:
        target = shift_by_working_days(policy, appeal.target_due_at, days)
        appeal.target_due_at = min(target, appeal.due_at) if appeal.due_at else target
    appeal.paused_at = None
    appeal.updated_at = moment
    clear_overdue_marker(appeal, moment)
    note_clock(
        session,
        appeal,
        actor=by,
        reason=Reason("clock_resumed", {"why": why, "days": days, "capped": capped}),
    )
    return days


def close(session: Session, appeal: Appeal, *, user: StaffUser, reason: str | None = None) -> None:
    """The inspector accepts the answer; the citizen can now see it.

    The status step of ``sla.actions.accept_answer``, which also records the review;
    ``perform`` does not offer it (see ``Action.dedicated``)."""
    authorize("close", user, appeal, reason)
    appeal.closed_at = now()
    transition(
        session,
        appeal,
        Status.CLOSED,
        actor=user,
        reason=Reason("answer_accepted", {"note": (reason or "").strip()}),
    )


def return_for_rework(
    session: Session, appeal: Appeal, *, user: StaffUser, reason: Reason | str
) -> None:
    """The status step of ``sla.actions.return_answer`` (checklist reason, review
    record, returns count); ``perform`` does not offer it."""
    coded = isinstance(reason, Reason)
    english = reason.english() if isinstance(reason, Reason) else reason
    why = authorize("return", user, appeal, english)
    transition(session, appeal, Status.RETURNED, actor=user, reason=reason if coded else why)


def extend(
    session: Session, appeal: Appeal, *, user: StaffUser, new_due: datetime, reason: str
) -> None:
    """The status step of ``sla.actions.approve_extension`` (an executor's request,
    decided by someone else); ``perform`` does not offer it. ``reason`` is what the citizen
    is told."""
    why = authorize("extend", user, appeal, reason)
    if appeal.due_at is None:
        raise ValidationFailed("the appeal has no deadline yet", code="not_registered")
    check_transition(appeal.status, Status.EXTENDED)
    if appeal.paused_at is not None:
        # The pause is given back first: the new deadline must be later than that.
        end_pause(session, appeal, by=user, why=f"status {Status.EXTENDED.value}")
    assert appeal.due_at is not None  # a pause only moves a deadline later
    policy = deadline_policy()
    policy.validate_extension(
        received_at=appeal.received_at, current_due=appeal.due_at, new_due=new_due, reason=why
    )
    appeal.due_at = new_due
    appeal.extension_reason = why
    appeal.extension_notice_due_at = policy.extension_notice_due(now())
    clear_overdue_marker(appeal, now())
    transition(
        session,
        appeal,
        Status.EXTENDED,
        actor=user,
        reason=Reason("extended", {"until": f"{new_due:%Y-%m-%d}", "note": why}),
    )

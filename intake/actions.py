"""Named appeal actions: the only code that changes an appeal's status.

Staff actions check the role and, for executors, the organization, then the
lifecycle table, and go through ``_transition``, which writes the history row.
The pipeline's batch goes through ``apply_system_outcomes``: the same lifecycle
check and history rows, written in bulk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from core import events
from core.clock import local, now
from core.db import table_of
from core.errors import PermissionDenied, ValidationFailed
from core.models import Role, StaffUser
from core.settings import get_settings
from intake import assignments, coexecutors
from intake.lifecycle import ACTIONS, REJECTION_REASONS, Status, check_transition
from intake.models import Appeal, AppealStatusChange, Assignment, AssignmentRole
from routing.models import Organization
from routing.service import get_organization
from sla import workflow
from sla.clocks import shift_by_working_days
from sla.service import deadline_policy, internal_target_due
from sla.sweep import OVERDUE_REASON


def _transition(
    session: Session,
    appeal: Appeal,
    target: Status,
    *,
    actor: StaffUser | None,
    reason: str = "",
    actor_kind: str | None = None,
) -> None:
    check_transition(appeal.status, target)
    if appeal.paused_at is not None:
        # A status change ends a pause: an answered, forwarded or closed appeal is no
        # longer waiting for the citizen, and a pause left open would hide it for good.
        end_pause(session, appeal, by=actor, why=f"status {target.value}")
    session.add(
        AppealStatusChange(
            appeal_id=appeal.id,
            from_status=appeal.status,
            to_status=target,
            actor_id=actor.id if actor else None,
            actor_kind=actor_kind or ("staff" if actor else "system"),
            reason=reason,
            organization_id=appeal.organization_id,
            at=now(),
        )
    )
    events.record_status_change(session, appeal.id, appeal.status.value, target.value)
    appeal.status = target
    appeal.updated_at = now()


# --- the clock: pauses and the history rows they leave --------------------------------


def note_clock(session: Session, appeal: Appeal, *, actor: StaffUser | None, reason: str) -> None:
    """A history row for a clock event (paused, resumed): the status stays, so ``from`` and
    ``to`` are the same, and no status-change event is emitted (the citizen hears nothing)."""
    session.add(
        AppealStatusChange(
            appeal_id=appeal.id,
            from_status=appeal.status,
            to_status=appeal.status,
            actor_id=actor.id if actor else None,
            actor_kind="staff" if actor else "system",
            reason=reason,
            organization_id=appeal.organization_id,
            at=now(),
        )
    )


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
    limit_note = "; capped at two months from registration" if capped else ""
    note_clock(
        session,
        appeal,
        actor=by,
        reason=f"clock resumed ({why}): +{days} working day(s){limit_note}",
    )
    return days


def _check_role(action_name: str, user: StaffUser, appeal: Appeal) -> None:
    """Who may act comes before what they sent: a refused role learns nothing about inputs."""
    action = ACTIONS[action_name]
    if user.role.value not in action.roles:
        raise PermissionDenied(
            f"a {user.role.value} may not {action_name} an appeal", code="role_not_allowed"
        )
    if (
        action.own_organization
        and user.role is Role.EXECUTOR
        and (appeal.organization_id is None or appeal.organization_id != user.organization_id)
    ):
        raise PermissionDenied(
            "this appeal belongs to another organization", code="other_organization"
        )


def _authorize(action_name: str, user: StaffUser, appeal: Appeal, reason: str | None) -> str:
    _check_role(action_name, user, appeal)
    if ACTIONS[action_name].needs_reason and not (reason or "").strip():
        raise ValidationFailed(f"{action_name} needs a reason", code="reason_required")
    return (reason or "").strip()


# --- system steps (the pipeline) ------------------------------------------------------


@dataclass
class SystemOutcome:
    """What the pipeline decided for one appeal: new field values and the status steps taken."""

    appeal_id: int
    current: Status
    fields: dict[str, Any]
    steps: list[tuple[Status, str, int | None]] = field(default_factory=list)  # to, why, org


#: Every column the pipeline writes; each row of a batch sets all of them, so one
#: executemany UPDATE serves the whole batch.
SYSTEM_FIELDS = (
    "language",
    "category_code",
    "category_confidence",
    "district_code",
    "urgency",
    "urgency_triggers",
    "appeal_type",
    "registered_on",
    "due_at",
    "target_due_at",
    "forward_due_at",
    "organization_id",
    "routing_rule_id",
    "routing_reason",
    "triage_reason",
    "rejection_reason",
    "match_text",
    "place_keys",
    "street_key",
)


def apply_system_outcomes(session: Session, outcomes: list[SystemOutcome]) -> None:
    """The pipeline's status changes for a whole batch: the same lifecycle checks and
    history rows as ``_transition``, written with one UPDATE and one INSERT."""
    if not outcomes:
        return
    moment = now()
    updates: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    for outcome in outcomes:
        status = outcome.current
        for target, reason, organization_id in outcome.steps:
            check_transition(status, target)
            history.append(
                {
                    "appeal_id": outcome.appeal_id,
                    "from_status": status,
                    "to_status": target,
                    "actor_id": None,
                    "actor_kind": "system",
                    "reason": reason,
                    "organization_id": organization_id,
                    "at": moment,
                }
            )
            status = target
        row = {name: outcome.fields.get(name) for name in SYSTEM_FIELDS}
        row.update(b_id=outcome.appeal_id, status=status, updated_at=moment)
        updates.append(row)
    appeals = table_of(Appeal)
    session.execute(
        update(appeals)
        .where(appeals.c.id == bindparam("b_id"))
        .values({name: bindparam(name) for name in (*SYSTEM_FIELDS, "status", "updated_at")}),
        updates,
    )
    if history:
        session.execute(insert(table_of(AppealStatusChange)), history)
    leads = [
        {
            "appeal_id": outcome.appeal_id,
            "organization_id": outcome.fields["organization_id"],
            "role": AssignmentRole.LEAD,
            "kind": "rule",
            "rule_id": outcome.fields.get("routing_rule_id"),
            "reason": outcome.fields.get("routing_reason") or "",
            "started_at": moment,
            "late": False,
        }
        for outcome in outcomes
        if outcome.fields.get("organization_id")
    ]
    if leads:
        session.execute(insert(table_of(Assignment)), leads)
    events.record_many(
        session,
        [
            events.status_changed(outcome.appeal_id, outcome.current.value, row["status"].value)
            for outcome, row in zip(outcomes, updates, strict=True)
            if outcome.steps
        ],
    )


# --- staff actions ---------------------------------------------------------------------


def accept(session: Session, appeal: Appeal, *, user: StaffUser) -> None:
    _authorize("accept", user, appeal, None)
    _transition(session, appeal, Status.IN_PROGRESS, actor=user, reason="accepted by executor")


def answer(session: Session, appeal: Appeal, *, user: StaffUser, text: str) -> None:
    """The lead's answer; refused while a co-executor's part is still missing."""
    _authorize("answer", user, appeal, None)
    if session.get_bind().dialect.name == "postgresql":
        # Lock the appeal: a co-executor added at this moment waits for the answer, or fails.
        session.execute(select(Appeal.id).where(Appeal.id == appeal.id).with_for_update())
    coexecutors.require_parts_answered(session, appeal.id)
    text = (text or "").strip()
    if len(text) < 10:
        raise ValidationFailed(
            "the answer must say something (10 characters at least)", code="answer_too_short"
        )
    appeal.answer_text = text
    appeal.answered_at = now()
    appeal.answered_by_id = user.id
    _transition(session, appeal, Status.ANSWERED, actor=user, reason="answer submitted for review")


def _leave_lead(session: Session, appeal: Appeal, *, end_reason: str) -> None:
    """End the current organization's stint, marked late if it held the appeal past the
    forwarding term (counted from when it received it)."""
    lead = assignments.current_lead(session, appeal.id)
    if lead is None:
        return
    late = now() > deadline_policy().forward_due(lead.started_at)
    assignments.close_lead(session, appeal, end_reason=end_reason, late=late)


def _escalate_ping_pong(session: Session, appeal: Appeal, organization_id: int) -> None:
    """An appeal returning to an organization that already passed it on, or moved too
    often, goes to the inspectors' queue instead of bouncing on."""
    history = assignments.lead_history(session, appeal.id)
    bounced_back = any(
        stint.organization_id == organization_id and stint.end_reason in ("forwarded", "sent_back")
        for stint in history
    )
    moves = sum(1 for stint in history if stint.end_reason in ("forwarded", "sent_back"))
    if not bounced_back and moves < get_settings().escalate_after_moves:
        return
    rows = session.execute(select(Organization.id, Organization.code)).all()
    codes = {row[0]: row[1] for row in rows}
    path = " → ".join(codes.get(stint.organization_id, "?") for stint in history)
    appeal.escalated_at = now()
    appeal.escalation_reason = (
        f"ping_pong: {path} → {codes.get(organization_id, '?')}"
        if bounced_back
        else f"moved {moves} times: {path}"
    )


def send_back(session: Session, appeal: Appeal, *, user: StaffUser, reason: str) -> None:
    """A misrouted appeal goes back to the triage queue with the executor's reason."""
    why = _authorize("send_back", user, appeal, reason)
    _transition(session, appeal, Status.REGISTERED, actor=user, reason=f"sent back: {why}")
    _leave_lead(session, appeal, end_reason="sent_back")
    appeal.organization_id = None
    appeal.triage_reason = "sent_back"
    session.flush()


def route(
    session: Session, appeal: Appeal, *, user: StaffUser, organization_id: int, reason: str | None
) -> None:
    """Manual routing by an operator or inspector: first assignment, or forwarding elsewhere.

    Forwarding restarts the term at the receiving organization (АППК; the rule is in
    data/appeal_rules.yaml); a return to an organization that passed the appeal on is
    escalated to the inspectors as ping-pong.
    """
    why = _authorize("route", user, appeal, reason)
    organization = get_organization(session, organization_id)
    if not organization.is_active_on(local(now()).date()):
        raise ValidationFailed(f"{organization.code} is retired", code="organization_retired")
    if organization_id == appeal.organization_id:
        raise ValidationFailed(
            "the appeal is already with this organization", code="same_organization"
        )
    first_time = (
        appeal.status in (Status.REGISTERED, Status.REOPENED) and appeal.organization_id is None
    )
    target = Status.ASSIGNED if first_time else Status.FORWARDED
    if target is Status.FORWARDED and not why:
        raise ValidationFailed("forwarding needs a reason", code="reason_required")
    check_transition(appeal.status, target)
    if appeal.paused_at is not None:
        # Before the term restarts below: the pause belongs to the organization passing it on.
        end_pause(session, appeal, by=user, why=f"status {target.value}")
    # Held by an organization before (even one that sent it back): this is a forwarding.
    forwarded = bool(assignments.lead_history(session, appeal.id))
    if appeal.organization_id is not None:
        _leave_lead(session, appeal, end_reason="forwarded")
    _escalate_ping_pong(session, appeal, organization.id)
    for part in assignments.open_co_executors(session, appeal.id):
        if part.organization_id == organization.id:
            # The co-executor becomes the lead: its part is now the whole answer.
            part.ended_at, part.end_reason = now(), "became_lead"
    assignments.open_lead(
        session,
        appeal,
        organization.id,
        kind="forward" if forwarded else "manual",
        reason=why or "manual",
        by=user,
    )
    policy = deadline_policy()
    if forwarded and policy.rules.forward_restarts_term:
        moment = now()
        appeal.registered_on = policy.registration_date(moment)
        appeal.due_at = policy.due_at(moment, appeal.appeal_type or "application")
        appeal.forward_due_at = policy.forward_due(moment)
        appeal.target_due_at = internal_target_due(
            received_at=moment,
            category_code=appeal.category_code,
            urgency=appeal.urgency,
            legal_due=appeal.due_at,
            policy=policy,
        )
    appeal.triage_reason = None
    appeal.routing_rule_id = None
    appeal.routing_reason = f"routed by {user.role.value} {user.username}: {why or 'manual'}"
    _transition(session, appeal, target, actor=user, reason=f"to {organization.code}: {why}")


def close(session: Session, appeal: Appeal, *, user: StaffUser, reason: str | None = None) -> None:
    """The inspector accepts the answer; the citizen can now see it.

    The status step of ``intake.sla_actions.accept_answer``, which also records the review;
    ``perform`` does not offer it (see ``Action.dedicated``)."""
    _authorize("close", user, appeal, reason)
    appeal.closed_at = now()
    _transition(session, appeal, Status.CLOSED, actor=user, reason=(reason or "answer accepted"))


def return_for_rework(session: Session, appeal: Appeal, *, user: StaffUser, reason: str) -> None:
    """The status step of ``intake.sla_actions.return_answer`` (checklist reason, review
    record, returns count); ``perform`` does not offer it."""
    why = _authorize("return", user, appeal, reason)
    _transition(session, appeal, Status.RETURNED, actor=user, reason=why)


def extend(
    session: Session, appeal: Appeal, *, user: StaffUser, new_due: datetime, reason: str
) -> None:
    """The status step of ``intake.sla_actions.approve_extension`` (an executor's request,
    decided by someone else); ``perform`` does not offer it. ``reason`` is what the citizen
    is told."""
    why = _authorize("extend", user, appeal, reason)
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
    _transition(
        session, appeal, Status.EXTENDED, actor=user, reason=f"until {new_due:%Y-%m-%d}: {why}"
    )


def reject(
    session: Session, appeal: Appeal, *, user: StaffUser, reason_code: str, note: str | None
) -> None:
    _authorize("reject", user, appeal, reason_code)
    if reason_code not in REJECTION_REASONS:
        raise ValidationFailed(
            f"rejection reason must be one of {', '.join(REJECTION_REASONS)}",
            code="unknown_rejection_reason",
        )
    appeal.rejection_reason = reason_code
    _transition(
        session,
        appeal,
        Status.REJECTED,
        actor=user,
        reason=f"{reason_code}: {(note or '').strip()}",
    )


def quick_answer(session: Session, appeal: Appeal, *, user: StaffUser, text: str) -> None:
    """Answered on the spot (the knowledge base or the operator); closes the contact."""
    _authorize("quick_answer", user, appeal, None)
    text = (text or "").strip()
    if len(text) < 10:
        raise ValidationFailed(
            "the answer must say something (10 characters at least)", code="answer_too_short"
        )
    appeal.answer_text = text
    appeal.answered_at = now()
    appeal.answered_by_id = user.id
    appeal.closed_at = now()
    _transition(session, appeal, Status.QUICK_ANSWERED, actor=user, reason="answered on the spot")


def reopen(session: Session, appeal: Appeal, *, user: StaffUser, reason: str) -> None:
    why = _authorize("reopen", user, appeal, reason)
    appeal.closed_at = None
    _transition(session, appeal, Status.REOPENED, actor=user, reason=why)


def reopen_on_low_rating(session: Session, appeal: Appeal, *, reason: str) -> None:
    """The citizen's low rating of the answer reopens it (``ratings.answers.should_reopen``
    decides; the channels' event handler calls this): no staff actor, the citizen's act."""
    appeal.closed_at = None
    _transition(session, appeal, Status.REOPENED, actor=None, actor_kind="citizen", reason=reason)


def perform(
    session: Session,
    appeal: Appeal,
    *,
    user: StaffUser,
    action: str,
    reason: str | None = None,
    text: str | None = None,
    organization_code: str | None = None,
    new_due: datetime | None = None,
    rejection_reason: str | None = None,
) -> None:
    """One entry for the API and the staff pages: the named action with its inputs.

    The review (close, return) and the extension have their own paths (``Action.dedicated``)
    and are refused here, so there is one way to take them; ``new_due`` is accepted for the
    callers' sake and ignored (no action left here takes a date).
    """
    from routing.service import organization_by_code

    if action not in ACTIONS:
        raise ValidationFailed(f"unknown action {action!r}", code="unknown_action")
    _check_role(action, user, appeal)
    dedicated = ACTIONS[action].dedicated
    if dedicated == "review":
        raise ValidationFailed(
            "an answer is accepted or returned (with a checklist reason) at review: "
            f"POST /api/v1/sla/appeals/{appeal.id}/review, or the appeal's SLA page",
            code="use_review",
        )
    if dedicated is not None:
        raise ValidationFailed(
            "an extension is requested by the executor and approved by someone else: "
            f"POST /api/v1/sla/appeals/{appeal.id}/extension-requests, then "
            "POST /api/v1/sla/extension-requests/{id}/approve",
            code="use_extension_request",
        )
    if action == "accept":
        accept(session, appeal, user=user)
    elif action == "answer":
        answer(session, appeal, user=user, text=text or "")
    elif action == "send_back":
        send_back(session, appeal, user=user, reason=reason or "")
    elif action == "route":
        if not organization_code:
            raise ValidationFailed(
                "name the organization to route to", code="organization_required"
            )
        target = organization_by_code(session, organization_code)
        route(session, appeal, user=user, organization_id=target.id, reason=reason)
    elif action == "reject":
        reject(session, appeal, user=user, reason_code=rejection_reason or "", note=reason)
    elif action == "quick_answer":
        quick_answer(session, appeal, user=user, text=text or "")
    elif action == "reopen":
        reopen(session, appeal, user=user, reason=reason or "")

"""Routing an appeal by hand, forwarding it, and sending it back to triage.

Forwarding restarts the term at the receiving organization (АППК), and a stint that ends
is judged late against the forwarding term; the clocks belong to ``sla``, a floor above,
so both are hooks (``core.hooks``) that ``sla.hooks`` provides.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals import assignments
from appeals.lifecycle import Status, check_transition
from appeals.models import Appeal
from appeals.reasons import Reason
from appeals.transitions import authorize, end_pause, set_routing_reason, transition
from core import hooks
from core.clock import local, now
from core.errors import ValidationFailed
from core.models import StaffUser
from core.settings import get_settings
from routing.models import Organization
from routing.service import get_organization


def _leave_lead(session: Session, appeal: Appeal, *, end_reason: str) -> None:
    """End the current organization's stint, marked late if it held the appeal past the
    forwarding term (counted from when it received it)."""
    lead = assignments.current_lead(session, appeal.id)
    if lead is None:
        return
    late = bool(hooks.call(hooks.STINT_LATE, lead.started_at))
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
    hops = [codes.get(stint.organization_id, "?") for stint in history]
    appeal.escalated_at = now()
    appeal.escalation_reason = (
        _escalation("ping_pong", [*hops, codes.get(organization_id, "?")])
        if bounced_back
        else _escalation(f"moved {moves} times", hops)
    )


def _escalation(head: str, hops: list[str]) -> str:
    """``head: a → b → c`` within the column (64 characters): the earliest hops give way
    to "…" (organization codes are long; a longer value failed on PostgreSQL)."""
    limit = int(getattr(Appeal.__table__.c.escalation_reason.type, "length", None) or 64)
    text = f"{head}: {' → '.join(hops)}"
    for start in range(1, len(hops)):
        if len(text) <= limit:
            break
        text = f"{head}: {' → '.join(['…', *hops[start:]])}"
    return text[:limit]


def send_back(session: Session, appeal: Appeal, *, user: StaffUser, reason: str) -> None:
    """A misrouted appeal goes back to the triage queue with the executor's reason."""
    why = authorize("send_back", user, appeal, reason)
    transition(
        session, appeal, Status.REGISTERED, actor=user, reason=Reason("sent_back", {"note": why})
    )
    _leave_lead(session, appeal, end_reason="sent_back")
    appeal.organization_id = None
    appeal.triage_reason = "sent_back"
    session.flush()


def route(
    session: Session,
    appeal: Appeal,
    *,
    user: StaffUser,
    organization_id: int,
    reason: str | None,
    because: Reason | None = None,
) -> None:
    """Manual routing by an operator or inspector: first assignment, or forwarding elsewhere.

    Forwarding restarts the term at the receiving organization (АППК; the rule is in
    data/appeal_rules.yaml); a return to an organization that passed the appeal on is
    escalated to the inspectors as ping-pong. ``because``: what the system did for the
    person (a category correction and its rule, the operator's call), rendered in the
    reader's language instead of ``reason``'s English.
    """
    why = authorize("route", user, appeal, reason)
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
    if forwarded:
        hooks.call(hooks.RESTART_TERM, appeal)
    appeal.triage_reason = None
    appeal.routing_rule_id = None
    cause = because.as_dict() if because is not None else None
    set_routing_reason(
        appeal,
        Reason(
            "routed_by",
            {"role": user.role.value, "username": user.username, "note": why, "cause": cause},
        ),
    )
    transition(
        session,
        appeal,
        target,
        actor=user,
        reason=Reason("routed", {"organization": organization.code, "note": why, "cause": cause}),
    )

"""The clock steps that lower rooms take through ``core.hooks``: ending a pause at a status
change (``appeals.transitions``), judging a stint late and restarting the term at a
forwarding (``routing.forwarding``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from appeals.models import Appeal
from core import hooks
from core.clock import now
from core.models import StaffUser
from sla import actions
from sla.service import deadline_policy, internal_target_due


@hooks.provide(hooks.END_PAUSE)
def end_pause(session: Session, appeal: Appeal, *, by: StaffUser | None, why: str) -> int:
    return actions.end_pause(session, appeal, by=by, why=why)


@hooks.provide(hooks.STINT_LATE)
def stint_late(started_at: datetime) -> bool:
    """Late when the organization held the appeal past the forwarding term, counted from
    when it received it."""
    return now() > deadline_policy().forward_due(started_at)


@hooks.provide(hooks.RESTART_TERM)
def restart_term(appeal: Appeal) -> None:
    """Forwarding restarts the term at the receiving organization (АППК; the rule is in
    data/appeal_rules.yaml)."""
    policy = deadline_policy()
    if not policy.rules.forward_restarts_term:
        return
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

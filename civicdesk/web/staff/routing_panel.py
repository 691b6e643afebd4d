"""Panels of the staff appeal page: the routing suggestion, escalation, repeat and incident."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from appeals.models import Appeal, Incident
from appeals.reasons import Reason
from civicdesk.web.staff.reasons import Labels, render, render_escalation
from routing.advice import advise_for_appeal


def routing_panel(
    session: Session, appeal: Appeal, *, language: str, actions: list[str]
) -> dict[str, Any]:
    """Template context: the dry run beside the route form, and any escalation."""
    advice = advise_for_appeal(session, appeal, language=language) if "route" in actions else None
    earlier = session.get(Appeal, appeal.earlier_appeal_id) if appeal.earlier_appeal_id else None
    incident = session.get(Incident, appeal.incident_id) if appeal.incident_id else None
    labels = Labels.load(session, language) if advice or appeal.escalated_at else None
    rule = Reason.of((advice or {}).get("rule_reason"))
    return {
        "routing_advice": advice,
        "routing_rule": render(rule, labels) if rule and labels else (advice or {}).get("rule"),
        # The rules' organization; where they route nothing, the city history's guess.
        "suggested_organization": (advice or {}).get("organization_code")
        or ((advice or {}).get("learned_executor") or {}).get("organization_code"),
        "escalation": (
            render_escalation(appeal.escalation_reason, labels)
            if appeal.escalated_at and labels
            else None
        ),
        # The repeat-applicant warning: the operator sees at once what happened last time.
        "earlier": earlier if appeal.is_repeat else None,
        "incident": incident,
    }

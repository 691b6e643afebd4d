"""Panels of the staff appeal page: the routing suggestion, escalation, repeat and incident."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from appeals.models import Appeal, Incident
from routing.advice import advise_for_appeal


def routing_panel(
    session: Session, appeal: Appeal, *, language: str, actions: list[str]
) -> dict[str, Any]:
    """Template context: the dry run beside the route form, and any escalation."""
    advice = advise_for_appeal(session, appeal, language=language) if "route" in actions else None
    earlier = session.get(Appeal, appeal.earlier_appeal_id) if appeal.earlier_appeal_id else None
    incident = session.get(Incident, appeal.incident_id) if appeal.incident_id else None
    return {
        "routing_advice": advice,
        "suggested_organization": (advice or {}).get("organization_code"),
        "escalation": appeal.escalation_reason if appeal.escalated_at else None,
        # The repeat-applicant warning: the operator sees at once what happened last time.
        "earlier": earlier if appeal.is_repeat else None,
        "incident": incident,
    }

"""The routing panel of the staff appeal page: the classifier's suggestion and the rule."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from intake.models import Appeal
from intake.routing_advice import advise_for_appeal


def routing_panel(
    session: Session, appeal: Appeal, *, language: str, actions: list[str]
) -> dict[str, Any]:
    """Template context: the dry run beside the route form, and any escalation."""
    advice = advise_for_appeal(session, appeal, language=language) if "route" in actions else None
    return {
        "routing_advice": advice,
        "suggested_organization": (advice or {}).get("organization_code"),
        "escalation": appeal.escalation_reason if appeal.escalated_at else None,
    }

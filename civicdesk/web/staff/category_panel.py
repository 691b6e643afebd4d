"""The category form's context on the staff appeal page (the form posts to
``civicdesk.web.staff.corrections``): who may change or confirm the topic, the choices, and
whether the current topic is still the machine's guess."""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy.orm import Session

from appeals.lifecycle import OPEN_STATUSES
from appeals.models import Appeal
from civicdesk.web.confidence import confidence_level
from civicdesk.web.lookups import category_names
from core.models import StaffUser
from intake import corrections

#: The flash keys after a post (``done.<name>`` texts).
CATEGORY_FORMS: Final = ("category_correct", "category_confirm")


def category_panel(
    session: Session, user: StaffUser, appeal: Appeal, *, language: str
) -> dict[str, Any]:
    """Template context: may this user change the topic, the choices, and whether the
    current topic is still the machine's guess (then a "confirm" button is offered)."""
    allowed = user.role in corrections.CORRECTING_ROLES and appeal.status in OPEN_STATUSES
    if not allowed:
        return {"category_form": None}
    names = category_names(session, language)
    decided = corrections.decided_by_person(session, appeal)
    confidence = appeal.category_confidence
    # the pipeline's guess carries its confidence; a citizen's choice has none
    guessed = appeal.category_code is not None and not decided and confidence is not None
    return {
        "category_form": {
            "options": sorted(names.items(), key=lambda item: item[1]),
            # the current topic may be confirmed unless a person already set it
            "confirmable": appeal.category_code is not None and not decided,
            "guessed": guessed,
            "decided": decided,
            "confidence": round((confidence or 0.0) * 100) if guessed else None,
            "level": confidence_level(confidence) if guessed else None,
        }
    }

"""HTTP API of category corrections: an operator changes an appeal's topic (issue 4).

Thin: ``intake.corrections`` decides. Whoever cannot see the appeal gets 404.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from appeals import access
from core.api_deps import CurrentUser, DbSession
from intake import corrections

router = APIRouter(prefix="/api/v1/appeals/{appeal_id}/category", tags=["nlp"])


class CategoryChange(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    category: str = Field(min_length=1, max_length=96)
    reason: str | None = Field(default=None, max_length=1000)
    route: bool = Field(default=True, description="route an appeal waiting in triage")


@router.post("")
def change_category(
    appeal_id: int, body: CategoryChange, session: DbSession, user: CurrentUser
) -> dict[str, Any]:
    """Change the category, or confirm the guessed one (the same code); either is kept as
    training data for the next model."""
    appeal = access.get_for_staff(session, user=user, appeal_id=appeal_id)
    correction = corrections.correct_category(
        session,
        appeal,
        user=user,
        category_code=body.category,
        reason=body.reason,
        route=body.route,
    )
    return {
        "appeal_id": appeal.id,
        "from_category": correction.from_category,
        "category": appeal.category_code,
        "confirmed": correction.confirms,
        "status": appeal.status.value,
        "organization_id": appeal.organization_id,
        "triage_reason": appeal.triage_reason,
        "correction_id": correction.id,
    }


@router.get("/corrections")
def list_corrections(appeal_id: int, session: DbSession, user: CurrentUser) -> list[dict[str, Any]]:
    """Who changed this appeal's category, when, from what to what (no text: it is personal)."""
    access.get_for_staff(session, user=user, appeal_id=appeal_id)
    return [
        {
            "from_category": row.from_category,
            "to_category": row.to_category,
            "kind": "confirmation" if row.confirms else "correction",
            "confidence": row.confidence,
            "reason": row.reason,
            "corrected_by_id": row.corrected_by_id,
            "at": row.at.isoformat(),
        }
        for row in corrections.corrections_of(session, appeal_id)
    ]

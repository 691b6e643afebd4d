"""HTTP API of district confirmations and corrections (issue 19).

Thin: ``intake.place_corrections`` decides. Whoever cannot see the appeal gets 404.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from appeals import access
from core.api_deps import CurrentUser, DbSession
from intake import place_corrections

router = APIRouter(prefix="/api/v1/appeals/{appeal_id}/district", tags=["nlp"])


class DistrictChange(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    district: str = Field(min_length=1, max_length=32)
    reason: str | None = Field(default=None, max_length=1000)
    route: bool = Field(default=True, description="route an appeal waiting in triage")


@router.post("")
def change_district(
    appeal_id: int, body: DistrictChange, session: DbSession, user: CurrentUser
) -> dict[str, Any]:
    """Set the appeal's district, or confirm the one it has; either teaches the city where
    the places the appeal names are (``civicdesk nlp places``)."""
    appeal = access.get_for_staff(session, user=user, appeal_id=appeal_id)
    correction = place_corrections.correct_district(
        session,
        appeal,
        user=user,
        district_code=body.district,
        reason=body.reason,
        route=body.route,
    )
    return {
        "appeal_id": appeal.id,
        "from_district": correction.from_district,
        "district": appeal.district_code,
        "confirmed": correction.confirms,
        "status": appeal.status.value,
        "organization_id": appeal.organization_id,
        "triage_reason": appeal.triage_reason,
        "correction_id": correction.id,
    }


@router.get("/corrections")
def list_district_corrections(
    appeal_id: int, session: DbSession, user: CurrentUser
) -> list[dict[str, Any]]:
    """Who set this appeal's district, when, from what to what."""
    access.get_for_staff(session, user=user, appeal_id=appeal_id)
    return [
        {
            "from_district": row.from_district,
            "to_district": row.to_district,
            "kind": "confirmation" if row.confirms else "correction",
            "source": row.source,
            "reason": row.reason,
            "corrected_by_id": row.corrected_by_id,
            "at": row.at.isoformat(),
        }
        for row in place_corrections.district_corrections_of(session, appeal_id)
    ]

"""HTTP API of citizens' identities: a person's profile, merging two records, undoing a merge.

Thin: ``intake.repeats.identity`` decides. Personal data: only operators, inspectors and
admins may call it (executors and analysts get 403), and phones are masked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from core.api_deps import DbSession, role_guard
from core.errors import NotFound, ValidationFailed
from core.models import Role, StaffUser
from intake.repeats import identity

router = APIRouter(prefix="/api/v1/citizens", tags=["citizens"])

#: Who may see and merge citizens' personal data.
IdentityStaff = Annotated[StaffUser, Depends(role_guard(Role.OPERATOR, Role.INSPECTOR, Role.ADMIN))]
MAX_NOTE_CHARS = 500


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kept_id: int = Field(gt=0, description="The record (its group's root) that stays the root.")
    merged_id: int = Field(gt=0, description="A record of the group that joins it.")
    reason: str = Field(
        min_length=1,
        max_length=MAX_NOTE_CHARS,
        description="Why these are one person (stored as the merge's evidence).",
    )


class MergeView(BaseModel):
    id: int
    kept_id: int
    merged_id: int
    reason: str
    evidence: dict[str, Any]
    by_id: int | None
    at: datetime
    undone: bool
    undone_at: datetime | None
    undone_by_id: int | None


class CitizenRecordView(BaseModel):
    id: int
    root: bool
    merged_into_id: int | None
    full_name: str | None
    phone: str | None = Field(description="Masked: +7701***4567")
    telegram_user_id: str | None
    email: str | None = Field(description="Partly masked: a***@mail.kz")
    preferred_language: str
    created_at: datetime


class CitizenAppealView(BaseModel):
    id: int
    tracking_number: str
    status: str
    channel: str
    category_code: str | None
    received_at: datetime
    citizen_id: int | None


class CitizenProfile(BaseModel):
    citizen_id: int
    root_id: int
    records: list[CitizenRecordView]
    merges: list[MergeView]
    appeals: list[CitizenAppealView] = Field(description="Newest first, at most 200.")
    appeals_total: int


@router.get("/{citizen_id}", response_model=CitizenProfile)
def get_profile(citizen_id: int, session: DbSession, user: IdentityStaff) -> CitizenProfile:
    """One person across channels: their records, merges and appeals (phones masked)."""
    return CitizenProfile.model_validate(identity.profile(session, citizen_id))


@router.post("/merges", response_model=MergeView, status_code=201)
def create_merge(body: MergeRequest, session: DbSession, user: IdentityStaff) -> MergeView:
    """Merge two people an operator found to be one (409 ``already_one_person`` if they are)."""
    try:
        row = identity.merge(
            session,
            kept_id=body.kept_id,
            merged_id=body.merged_id,
            reason=identity.OPERATOR,
            evidence={"note": body.reason},
            by=user,
        )
    except NotFound as error:
        # An unknown id sent in a body is bad input (422), not a missing resource.
        raise ValidationFailed(error.message, code="unknown_citizen") from None
    return MergeView.model_validate(identity.merge_view(row))


@router.post("/merges/{merge_id}/undo", response_model=MergeView)
def undo_merge(merge_id: int, session: DbSession, user: IdentityStaff) -> MergeView:
    """Undo a wrong merge (409 ``merge_already_undone`` the second time)."""
    row = identity.undo_merge(session, merge_id=merge_id, by=user)
    return MergeView.model_validate(identity.merge_view(row))

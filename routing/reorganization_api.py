"""HTTP API of reorganizations (admins only): new organizations, changes, applying them.

Thin: ``routing.reorganization`` decides.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from core.api_deps import DbSession, require_roles
from core.clock import local, now
from core.models import Role, StaffUser
from routing import reorganization, reorganization_apply
from routing.models import ChangeKind, OrganizationKind
from routing.service import organization_by_code

router = APIRouter(prefix="/api/v1/organizations", tags=["organizations"])
AdminUser = Annotated[StaffUser, require_roles(Role.ADMIN)]


class OrganizationIn(BaseModel):
    code: str = Field(min_length=2, max_length=64, examples=["passenger-transport"])
    name_ru: str = Field(min_length=1, max_length=300)
    name_kk: str = Field(min_length=1, max_length=300)
    kind: OrganizationKind
    district_code: str | None = None
    active_from: date


class OrganizationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name_ru: str
    name_kk: str
    kind: OrganizationKind
    district_code: str | None
    active_from: date | None
    retired_on: date | None


class ChangeIn(BaseModel):
    kind: ChangeKind
    effective_on: date
    predecessor_codes: list[str] = Field(min_length=1, max_length=20)
    successor_codes: list[str] = Field(default_factory=list, max_length=20)
    category_map: dict[str, str] = Field(
        default_factory=dict,
        description='split only: {category code: successor code}; "*" names the fallback',
    )
    note: str = Field(default="", max_length=4000)


class ChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: ChangeKind
    effective_on: date
    note: str
    predecessor_codes: list[str]
    successor_codes: list[str]
    category_map: dict[str, str]
    applied_at: datetime | None
    moved_appeals: int


def _today() -> date:
    return local(now()).date()


@router.post("", response_model=OrganizationOut, status_code=201)
def create_organization(
    body: OrganizationIn, session: DbSession, user: AdminUser
) -> OrganizationOut:
    """A new organization (a successor is created before the change that names it)."""
    organization = reorganization.create_organization(session, **body.model_dump())
    return OrganizationOut.model_validate(organization)


@router.post("/changes", response_model=ChangeOut, status_code=201)
def record_change(body: ChangeIn, session: DbSession, user: AdminUser) -> ChangeOut:
    """Record a rename, merge, split or retirement; one effective today or earlier applies now."""
    change = reorganization.record_change(session, **body.model_dump(), by=user)
    today = _today()
    if change.effective_on <= today:
        change = reorganization_apply.apply_change(session, change, by=user, today=today)
    return ChangeOut.model_validate(change)


@router.get("/changes", response_model=list[ChangeOut])
def list_changes(
    session: DbSession,
    user: AdminUser,
    pending: Annotated[bool | None, Query(description="only unapplied (true) or applied")] = None,
) -> list[ChangeOut]:
    return [
        ChangeOut.model_validate(change)
        for change in reorganization_apply.list_changes(session, pending=pending)
    ]


@router.get("/changes/{change_id}", response_model=ChangeOut)
def get_change(change_id: int, session: DbSession, user: AdminUser) -> ChangeOut:
    return ChangeOut.model_validate(reorganization_apply.get_change(session, change_id))


@router.post("/changes/{change_id}/apply", response_model=ChangeOut)
def apply_change(change_id: int, session: DbSession, user: AdminUser) -> ChangeOut:
    """Apply a due change now (409 ``change_not_due`` before its date); again is a no-op."""
    change = reorganization_apply.get_change(session, change_id)
    applied = reorganization_apply.apply_change(session, change, by=user, today=_today())
    return ChangeOut.model_validate(applied)


@router.get("/{code}/attribution", response_model=dict[str, int])
def attribution(code: str, session: DbSession, user: AdminUser) -> dict[str, int]:
    """What the organization led, answered and passed on: the assignment rows' account."""
    organization = organization_by_code(session, code)
    return reorganization_apply.attributable_counts(session, organization.id)

"""Staff accounts for admins: list them, move an executor to another organization, disable."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from core.api_deps import AdminUser, DbSession
from core.errors import NotFound
from core.models import Role, StaffUser
from core.security import update_staff_user
from routing.models import Organization
from routing.service import organization_by_code

router = APIRouter(prefix="/api/v1/staff", tags=["staff"])


class StaffOut(BaseModel):
    username: str
    full_name: str
    role: Role
    organization: str | None
    is_active: bool


class StaffChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    organization: str | None = None
    is_active: bool | None = None


def _out(session: DbSession, user: StaffUser) -> StaffOut:
    organization = session.get(Organization, user.organization_id) if user.organization_id else None
    return StaffOut(
        username=user.username,
        full_name=user.full_name,
        role=user.role,
        organization=organization.code if organization else None,
        is_active=user.is_active,
    )


@router.get("", response_model=list[StaffOut])
def list_staff(
    session: DbSession, admin: AdminUser, organization: str | None = None
) -> list[StaffOut]:
    query = select(StaffUser).order_by(StaffUser.username)
    if organization:
        query = query.where(
            StaffUser.organization_id == organization_by_code(session, organization).id
        )
    return [_out(session, user) for user in session.scalars(query)]


@router.patch("/{username}", response_model=StaffOut)
def change_staff(
    username: str, body: StaffChange, session: DbSession, admin: AdminUser
) -> StaffOut:
    """E.g. after a split, move each executor of the old organization to their successor."""
    user = session.scalar(select(StaffUser).where(StaffUser.username == username))
    if user is None:
        raise NotFound(f"no staff account {username!r}", code="staff_not_found")
    target = organization_by_code(session, body.organization) if body.organization else None
    update_staff_user(
        session,
        user,
        role=body.role,
        organization_id=target.id if target else None,
        is_active=body.is_active,
    )
    return _out(session, user)

"""Links (repeats, duplicates) and incidents over HTTP. Thin: intake.repeats.links decides."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from appeals import access
from appeals.models import AppealLink, Incident
from core.api_deps import CurrentUser, DbSession
from core.errors import PermissionDenied
from core.models import Role
from intake.repeats import links

router = APIRouter(tags=["repeats and incidents"])


class LinkOut(BaseModel):
    id: int
    appeal_id: int
    other_id: int
    kind: str
    score: float
    evidence: dict[str, Any]
    status: str
    decided_at: datetime | None


class IncidentOut(BaseModel):
    id: int
    category: str
    district: str | None
    place: str
    organization_id: int | None
    appeals_count: int
    first_at: datetime
    last_at: datetime
    status: str
    answer_text: str | None
    appeal_ids: list[int] = Field(default_factory=list)


class IncidentAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str = Field(max_length=10000)


def _link(link: AppealLink) -> LinkOut:
    return LinkOut(
        id=link.id,
        appeal_id=link.appeal_id,
        other_id=link.other_id,
        kind=link.kind.value,
        score=link.score,
        evidence=link.evidence,
        status=link.status.value,
        decided_at=link.decided_at,
    )


def _incident(incident: Incident, appeal_ids: list[int]) -> IncidentOut:
    return IncidentOut(
        id=incident.id,
        category=incident.category_code,
        district=incident.district_code,
        place=incident.place,
        organization_id=incident.organization_id,
        appeals_count=incident.appeals_count,
        first_at=incident.first_at,
        last_at=incident.last_at,
        status=incident.state,
        answer_text=incident.answer_text,
        appeal_ids=appeal_ids,
    )


@router.get("/api/v1/appeals/{appeal_id}/links", response_model=list[LinkOut])
def appeal_links(appeal_id: int, session: DbSession, user: CurrentUser) -> list[LinkOut]:
    """Why this appeal is a repeat or a duplicate (and what repeats it), with the evidence."""
    access.get_for_staff(session, user=user, appeal_id=appeal_id)
    return [_link(link) for link in links.links_of(session, appeal_id)]


@router.post("/api/v1/appeals/{appeal_id}/links/{link_id}/confirm", response_model=LinkOut)
def confirm(appeal_id: int, link_id: int, session: DbSession, user: CurrentUser) -> LinkOut:
    access.get_for_staff(session, user=user, appeal_id=appeal_id)
    return _link(links.confirm_link(session, user=user, appeal_id=appeal_id, link_id=link_id))


@router.post("/api/v1/appeals/{appeal_id}/links/{link_id}/break", response_model=LinkOut)
def break_(appeal_id: int, link_id: int, session: DbSession, user: CurrentUser) -> LinkOut:
    access.get_for_staff(session, user=user, appeal_id=appeal_id)
    return _link(links.break_link(session, user=user, appeal_id=appeal_id, link_id=link_id))


@router.get("/api/v1/incidents", response_model=list[IncidentOut])
def incidents(session: DbSession, user: CurrentUser) -> list[IncidentOut]:
    """Open incidents, the largest first (the Situation Center's view of hot spots)."""
    if user.role is Role.EXECUTOR:
        raise PermissionDenied(
            "executors see incidents through their appeals", code="role_not_allowed"
        )
    return [
        _incident(incident, [appeal.id for appeal in links.incident_appeals(session, incident.id)])
        for incident in links.open_incidents(session)
    ]


@router.get("/api/v1/incidents/{incident_id}", response_model=IncidentOut)
def incident(incident_id: int, session: DbSession, user: CurrentUser) -> IncidentOut:
    found = links.get_incident(session, incident_id)
    appeals = links.incident_appeals(session, incident_id)
    visible = [appeal.id for appeal in appeals if access.can_view(user, appeal)]
    if user.role is Role.EXECUTOR and not visible:
        raise PermissionDenied(
            "none of this incident's appeals is yours", code="other_organization"
        )
    return _incident(found, visible)


@router.post("/api/v1/incidents/{incident_id}/answer", response_model=IncidentOut)
def answer(
    incident_id: int, body: IncidentAnswer, session: DbSession, user: CurrentUser
) -> IncidentOut:
    """Answer once: every open appeal of the incident that you lead gets this answer."""
    links.answer_incident(session, user=user, incident_id=incident_id, text=body.text)
    found = links.get_incident(session, incident_id)
    return _incident(found, [a.id for a in links.incident_appeals(session, incident_id)])

"""Operators' decisions on links, and incidents answered once for every citizen.

A confirmed link stays and becomes evaluation data; a broken one is undone (the
repeat flag, the earlier-appeal pointer, the incident membership). An incident's
organization answers once: every open appeal of the incident it leads gets the
same answer through the ordinary actions, so each has its own history.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from appeals import actions
from appeals.lifecycle import OPEN_STATUSES, Status
from appeals.models import Appeal, AppealLink, Incident, LinkKind, LinkStatus
from core.clock import now
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.models import Role, StaffUser

DECIDERS = frozenset({Role.OPERATOR, Role.INSPECTOR, Role.ADMIN})


def links_of(session: Session, appeal_id: int) -> list[AppealLink]:
    """Links in both directions: what this appeal repeats or duplicates, and what repeats it."""
    return list(
        session.scalars(
            select(AppealLink)
            .where(or_(AppealLink.appeal_id == appeal_id, AppealLink.other_id == appeal_id))
            .order_by(AppealLink.id)
        )
    )


def _decidable(session: Session, user: StaffUser, appeal_id: int, link_id: int) -> AppealLink:
    if user.role not in DECIDERS:
        raise PermissionDenied("operators and inspectors decide on links", code="role_not_allowed")
    link = session.get(AppealLink, link_id)
    if link is None or appeal_id not in (link.appeal_id, link.other_id):
        raise NotFound(f"no link {link_id} on appeal {appeal_id}", code="link_not_found")
    if link.status is not LinkStatus.SUGGESTED:
        raise Conflict(f"the link is already {link.status.value}", code="link_decided")
    return link


def confirm_link(session: Session, *, user: StaffUser, appeal_id: int, link_id: int) -> AppealLink:
    link = _decidable(session, user, appeal_id, link_id)
    link.status, link.decided_by_id, link.decided_at = LinkStatus.CONFIRMED, user.id, now()
    session.flush()
    return link


def break_link(session: Session, *, user: StaffUser, appeal_id: int, link_id: int) -> AppealLink:
    """A wrong link is undone: the repeat flag and pointer, or the incident membership."""
    link = _decidable(session, user, appeal_id, link_id)
    link.status, link.decided_by_id, link.decided_at = LinkStatus.BROKEN, user.id, now()
    appeal = session.get(Appeal, link.appeal_id)
    assert appeal is not None
    if link.kind is LinkKind.REPEAT and appeal.earlier_appeal_id == link.other_id:
        appeal.earlier_appeal_id = None
        appeal.is_repeat = False
    if link.kind is LinkKind.DUPLICATE and appeal.incident_id is not None:
        incident = session.get(Incident, appeal.incident_id)
        appeal.incident_id = None
        if incident is not None:
            incident.appeals_count = max(incident.appeals_count - 1, 0)
    session.flush()
    return link


def incident_appeals(session: Session, incident_id: int) -> list[Appeal]:
    return list(
        session.scalars(select(Appeal).where(Appeal.incident_id == incident_id).order_by(Appeal.id))
    )


def get_incident(session: Session, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"no incident {incident_id}", code="incident_not_found")
    return incident


def answer_incident(
    session: Session, *, user: StaffUser, incident_id: int, text: str
) -> list[Appeal]:
    """One answer for every open appeal of the incident that the user's organization leads."""
    incident = get_incident(session, incident_id)
    if len((text or "").strip()) < 10:
        raise ValidationFailed(
            "the answer must say something (10 characters at least)", code="answer_too_short"
        )
    if user.role is not Role.ADMIN and user.role is not Role.EXECUTOR:
        raise PermissionDenied("the executor answers an incident", code="role_not_allowed")
    answered: list[Appeal] = []
    for appeal in incident_appeals(session, incident.id):
        if appeal.status not in OPEN_STATUSES or appeal.status is Status.RECEIVED:
            continue
        if user.role is Role.EXECUTOR and appeal.organization_id != user.organization_id:
            continue
        if appeal.status in (Status.ASSIGNED, Status.FORWARDED, Status.REOPENED):
            actions.accept(session, appeal, user=user)
        if appeal.status in (Status.IN_PROGRESS, Status.EXTENDED, Status.RETURNED):
            actions.answer(session, appeal, user=user, text=text)
            answered.append(appeal)
    if not answered:
        raise Conflict(
            "no open appeal of this incident is yours to answer", code="nothing_to_answer"
        )
    incident.state = "answered"
    incident.answer_text = text.strip()
    incident.answered_at = now()
    incident.answered_by_id = user.id
    session.flush()
    return answered


def open_incidents(session: Session, *, limit: int = 100) -> list[Incident]:
    return list(
        session.scalars(
            select(Incident)
            .where(Incident.state == "open")
            .order_by(Incident.appeals_count.desc(), Incident.last_at.desc())
            .limit(limit)
        )
    )

"""Turning appeals into what each audience may see."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.phones import mask_phone
from intake.lifecycle import ANSWER_VISIBLE, status_label
from intake.models import Appeal
from intake.schemas import HistoryEntry, PublicAppealView, StaffAppealView
from routing.models import Category, Organization


def public_view(session: Session, appeal: Appeal, language: str) -> PublicAppealView:
    """Status, dates, organization and the approved answer: no contact data, no text."""
    organization = (
        session.get(Organization, appeal.organization_id) if appeal.organization_id else None
    )
    category = session.get(Category, appeal.category_code) if appeal.category_code else None
    visible = appeal.status in ANSWER_VISIBLE
    return PublicAppealView(
        tracking_number=appeal.tracking_number,
        status=appeal.status,
        status_label=status_label(appeal.status, language),
        received_at=appeal.received_at,
        registered_on=appeal.registered_on,
        due_at=appeal.due_at,
        category=category.name(language) if category else None,
        organization=organization.name(language) if organization else None,
        answer=appeal.answer_text if visible else None,
        answered_at=appeal.answered_at if visible else None,
    )


def staff_view(appeal: Appeal, *, show_full_phone: bool) -> StaffAppealView:
    """The citizen's phone is masked for executors; operators calling back see it whole."""
    citizen = appeal.citizen
    phone = citizen.phone_e164 if citizen else None
    return StaffAppealView(
        id=appeal.id,
        tracking_number=appeal.tracking_number,
        channel=appeal.channel,
        status=appeal.status,
        text=appeal.text,
        language=appeal.language,
        appeal_type=appeal.appeal_type,
        category_code=appeal.category_code,
        category_confidence=appeal.category_confidence,
        district_code=appeal.district_code,
        address=appeal.address,
        urgency=appeal.urgency,
        organization_id=appeal.organization_id,
        routing_reason=appeal.routing_reason,
        triage_reason=appeal.triage_reason,
        received_at=appeal.received_at,
        registered_on=appeal.registered_on,
        due_at=appeal.due_at,
        answer_text=appeal.answer_text,
        citizen_name=citizen.full_name if citizen else None,
        citizen_phone=(phone if show_full_phone else mask_phone(phone)) if phone else None,
        is_repeat=appeal.is_repeat,
        earlier_appeal_id=appeal.earlier_appeal_id,
        incident_id=appeal.incident_id,
        escalation_reason=appeal.escalation_reason if appeal.escalated_at else None,
        history=[
            HistoryEntry(
                at=change.at,
                from_status=change.from_status,
                to_status=change.to_status,
                actor_kind=change.actor_kind,
                reason=change.reason,
            )
            for change in appeal.history
        ],
    )

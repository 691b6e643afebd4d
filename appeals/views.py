"""The staff's view of an appeal: its text, contact and history, the phone masked where the
role says so."""

from __future__ import annotations

from appeals.models import Appeal
from appeals.schemas import HistoryEntry, StaffAppealView
from core.phones import mask_phone


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

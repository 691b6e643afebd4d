"""The staff's view of an appeal: its text, contact and history, as much of the citizen's
personal data as the role needs (docs/web.md has the matrix).

- admin, operator: everything (operators call citizens back).
- executor, inspector: the name, the phone masked, and personal data typed inside the text
  and the answer masked (ИИН, phones, e-mails, cards, accounts); whoever must reach the
  citizen asks for the contact (``revealed=True``), and that request is logged
  (``civicdesk.audit``) by the entry point.
- analyst: statistics, not people: no name, no phone, and names too masked in the texts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final, Literal

from appeals.models import Appeal
from appeals.schemas import HistoryEntry, StaffAppealView
from core.models import Role, StaffUser
from core.phones import mask_phone
from core.pii import mask_text

CONTACT_KINDS: Final = frozenset({"IIN", "BIN", "PHONE", "EMAIL", "CARD", "KZ_IBAN"})
ALL_KINDS: Final = CONTACT_KINDS | {"PERSON"}


@dataclass(frozen=True)
class PersonalData:
    """What a role sees of the citizen."""

    name: bool
    phone: Literal["full", "masked", "none"]
    text_masks: frozenset[str]  # kinds of personal data masked inside texts (empty: none)
    may_reveal: bool  # may ask for the full contact (logged)


POLICIES: Final[dict[Role, PersonalData]] = {
    Role.ADMIN: PersonalData(True, "full", frozenset(), True),
    Role.OPERATOR: PersonalData(True, "full", frozenset(), True),
    Role.INSPECTOR: PersonalData(True, "masked", CONTACT_KINDS, True),
    Role.EXECUTOR: PersonalData(True, "masked", CONTACT_KINDS, True),
    Role.ANALYST: PersonalData(False, "none", ALL_KINDS, False),
}
REVEALED: Final = PersonalData(True, "full", frozenset(), True)
audit_log = logging.getLogger("civicdesk.audit")


def audit_contact_revealed(user: StaffUser, appeal_id: int) -> None:
    """Who asked for which citizen's contact, never the contact itself."""
    audit_log.warning(
        "contact revealed: user=%s role=%s appeal=%d", user.username, user.role.value, appeal_id
    )


def policy_for(role: Role) -> PersonalData:
    return POLICIES[role]


def masked(text: str | None, policy: PersonalData) -> str | None:
    """``text`` as this policy shows it."""
    if not policy.text_masks or not text:
        return text
    return mask_text(text, kinds=policy.text_masks)


def staff_view(
    appeal: Appeal,
    *,
    role: Role | None = None,
    revealed: bool = False,
    show_full_phone: bool | None = None,
) -> StaffAppealView:
    """The appeal for a member of staff with ``role``; ``revealed`` (only for roles that may)
    shows the contact and the texts unmasked. ``show_full_phone`` is the older switch
    (phone only), kept for callers that have no role at hand."""
    if role is not None:
        policy = policy_for(role)
        if revealed and policy.may_reveal:
            policy = REVEALED
    else:
        policy = PersonalData(True, "full" if show_full_phone else "masked", frozenset(), False)
    citizen = appeal.citizen
    phone = citizen.phone_e164 if citizen else None
    shown_phone = None
    if phone and policy.phone == "full":
        shown_phone = phone
    elif phone and policy.phone == "masked":
        shown_phone = mask_phone(phone)
    return StaffAppealView(
        id=appeal.id,
        tracking_number=appeal.tracking_number,
        channel=appeal.channel,
        status=appeal.status,
        text=masked(appeal.text, policy) or "",
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
        answer_text=masked(appeal.answer_text, policy),
        citizen_name=(citizen.full_name if citizen and policy.name else None),
        citizen_phone=shown_phone,
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

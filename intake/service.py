"""``submit()``: the one door every channel uses, and the appeal look-ups with access rules.

``submit()`` stores the appeal, its first history row and its pipeline job in
the caller's transaction; the caller commits before answering, so an accepted
appeal is durable before the citizen sees a tracking number.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from appeals.lifecycle import Status
from appeals.models import Appeal, Channel, Citizen
from appeals.reasons import Reason
from appeals.transitions import reason_columns
from core import jobs
from core.clock import local, now
from core.errors import Conflict, ValidationFailed
from core.models import StaffUser
from core.phones import mask_phone, normalize_phone
from core.settings import get_settings
from intake import writes
from intake.repeats import identity
from intake.schemas import CitizenContact, IncomingContact
from intake.writes import CitizenKey
from routing.models import Category, District

PIPELINE_JOB = "intake.jobs.process_pending"  # intake.jobs imports this module
# Crockford's base32 without look-alikes (0/O, 1/I/L): read aloud on the phone without mistakes.
_TRACKING_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True)
class SubmitResult:
    appeal_id: int
    tracking_number: str
    status: Status
    created: bool


def new_tracking_number() -> str:
    """'2611-7KQ3M9XA': month of receipt and 8 random characters, so numbers are unguessable."""
    suffix = "".join(secrets.choice(_TRACKING_ALPHABET) for _ in range(8))
    return f"{local(now()):%y%m}-{suffix}"


def validate_contact(session: Session, contact: IncomingContact) -> None:
    """Refuse bad input before anything is written."""
    settings = get_settings()
    text = contact.text.strip()
    if len(text) < settings.min_appeal_chars:
        raise ValidationFailed(
            f"the text must have at least {settings.min_appeal_chars} characters",
            code="text_too_short",
        )
    if len(text) > settings.max_appeal_chars:
        raise ValidationFailed(
            f"the text must have at most {settings.max_appeal_chars} characters",
            code="text_too_long",
        )
    if contact.category_code and session.get(Category, contact.category_code) is None:
        raise ValidationFailed(
            f"unknown category {contact.category_code!r}", code="unknown_category"
        )
    if contact.district_code and session.get(District, contact.district_code) is None:
        raise ValidationFailed(
            f"unknown district {contact.district_code!r}", code="unknown_district"
        )
    if contact.appeal_type:
        from sla.service import deadline_policy

        if contact.appeal_type not in deadline_policy().rules.appeal_types:
            raise ValidationFailed(
                f"unknown appeal type {contact.appeal_type!r}", code="unknown_appeal_type"
            )


def _citizen_parameters(
    contact: CitizenContact, language: str | None
) -> tuple[CitizenKey | None, dict[str, Any]]:
    """How to find the citizen (phone, Telegram id, or a new record) and the row's values."""
    if contact.is_empty():
        return None, {}
    phone = normalize_phone(contact.phone) if contact.phone else None
    key: CitizenKey = "phone" if phone else ("telegram" if contact.telegram_user_id else "new")
    return key, {
        "c_phone_e164": phone,
        "c_telegram_user_id": None if phone else contact.telegram_user_id,
        "c_full_name": contact.full_name,
        "c_email": contact.email,
        "c_preferred_language": language or "ru",
        "c_created_at": now(),
    }


def _link_telegram(session: Session, citizen_id: int, telegram_user_id: str) -> None:
    """A Telegram user shared their contact: the phone and the Telegram account are one person.

    The account is added to the phone's record when no record has it yet. When another
    record has it (an earlier Telegram appeal), that is evidence for a merge: the other
    record's group joins the phone record's group (``intake.repeats.identity``), unless staff
    split these two people before.
    """
    taken = select(Citizen.id).where(Citizen.telegram_user_id == telegram_user_id)
    session.execute(
        update(Citizen)
        .where(Citizen.id == citizen_id, Citizen.telegram_user_id.is_(None), ~taken.exists())
        .values(telegram_user_id=telegram_user_id)
    )
    holder = session.scalar(taken)
    if holder is None or holder == citizen_id:
        return
    phone = session.scalar(select(Citizen.phone_e164).where(Citizen.id == citizen_id))
    identity.merge_on_evidence(
        session,
        kept_id=citizen_id,
        merged_id=holder,
        reason=identity.SHARED_CONTACT,
        evidence={
            "telegram_user_id": telegram_user_id,
            "phone": mask_phone(phone) if phone else None,
        },
    )


def _existing(session: Session, channel: Channel, external_id: str) -> SubmitResult | None:
    row = session.execute(
        select(Appeal.id, Appeal.tracking_number, Appeal.status).where(
            Appeal.channel == channel, Appeal.external_id == external_id
        )
    ).first()
    return None if row is None else SubmitResult(row[0], row[1], row[2], created=False)


def submit(
    session: Session, contact: IncomingContact, *, submitted_by: StaffUser | None = None
) -> SubmitResult:
    """Accept one appeal; the same (channel, external id) twice returns the first appeal.

    One statement on PostgreSQL (three on SQLite), no savepoints: ``INSERT ... ON
    CONFLICT DO NOTHING`` makes a repeated or concurrent delivery return the first
    appeal, and the pipeline is triggered after commit (the ``received`` status is
    its durable record).
    """
    external_id = contact.external_id or f"auto-{uuid4().hex}"
    validate_contact(session, contact)
    key, parameters = _citizen_parameters(contact.citizen, contact.language)
    received_at = contact.received_at or now()
    parameters.update(
        {
            "a_channel": contact.channel,
            "a_external_id": external_id,
            "a_submitted_by_id": submitted_by.id if submitted_by else None,
            "a_text": contact.text.strip(),
            "a_language": contact.language,
            "a_appeal_type": contact.appeal_type or "",
            "a_category_code": contact.category_code,
            "a_district_code": contact.district_code,
            "a_address": contact.address,
            "a_latitude": contact.latitude,
            "a_longitude": contact.longitude,
            "a_anonymous": key is None,
            "a_status": Status.RECEIVED,
            "a_received_at": received_at,
            "a_urgency": "normal",
            "a_updated_at": received_at,
            "a_is_repeat": False,
            "a_citizen_id": None,
            "h_from_status": None,
            "h_to_status": Status.RECEIVED,
            "h_actor_id": submitted_by.id if submitted_by else None,
            "h_actor_kind": "staff" if submitted_by else "citizen",
            **{
                f"h_{name}": value
                for name, value in reason_columns(
                    Reason("received", {"channel": contact.channel.value})
                ).items()
            },
            "h_at": received_at,
        }
    )
    dialect_name = session.get_bind().dialect.name
    one_statement = dialect_name == "postgresql"
    with_language = bool(contact.language)
    citizen_id: int | None = None
    if key is not None and not one_statement:
        statement = writes.citizen_statement(dialect_name, key, with_language)
        citizen_id = int(session.execute(statement, parameters).scalar_one())
        parameters["a_citizen_id"] = citizen_id
    appeal_id: int | None = None
    for _attempt in range(5):
        parameters["a_tracking_number"] = new_tracking_number()
        if one_statement:
            row = session.execute(
                writes.combined_postgresql(key, with_language), parameters
            ).first()
            if row is not None:
                appeal_id, citizen_id = row[0], row[1]
        else:
            appeal_id = session.execute(writes.appeal_statement(dialect_name), parameters).scalar()
            if appeal_id is not None:
                session.execute(
                    writes.history_statement(), {**parameters, "h_appeal_id": appeal_id}
                )
        if appeal_id is not None:
            break
        earlier = _existing(session, contact.channel, external_id)
        if earlier is not None:
            return earlier
        # Otherwise the random tracking number collided (about 1 in 10^11): draw again.
    else:
        raise Conflict("could not allocate a tracking number", code="tracking_number_exhausted")
    if key == "phone" and contact.citizen.telegram_user_id and citizen_id is not None:
        _link_telegram(session, citizen_id, contact.citizen.telegram_user_id)
    jobs.defer_coalesced(session, PIPELINE_JOB)
    return SubmitResult(int(appeal_id), parameters["a_tracking_number"], Status.RECEIVED, True)

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

from sqlalchemy import Select, func, insert, select, update
from sqlalchemy.orm import Session, selectinload

from core import jobs
from core.clock import local, now
from core.db import dialect_insert, table_of
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.models import Role, StaffUser
from core.phones import normalize_phone
from core.settings import get_settings
from intake.lifecycle import Status
from intake.models import Appeal, AppealStatusChange, Channel, Citizen
from intake.schemas import CitizenContact, IncomingContact
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


@dataclass(frozen=True)
class _SubmitStatements:
    """The statements of the hot path, built once per backend and executed with parameters.

    Building an INSERT costs more than running it; prebuilt statements hit
    SQLAlchemy's compiled cache directly.
    """

    new_citizen: Any
    citizen_by_phone: Any
    citizen_by_phone_language: Any
    citizen_by_telegram: Any
    citizen_by_telegram_language: Any
    appeal: Any
    history: Any

    @classmethod
    def build(cls, dialect_name: str) -> _SubmitStatements:
        citizens = table_of(Citizen)
        base = dialect_insert(dialect_name, citizens)

        def upsert(key: Any, with_language: bool) -> Any:
            keep_known = {
                "full_name": func.coalesce(citizens.c.full_name, base.excluded.full_name),
                "email": func.coalesce(citizens.c.email, base.excluded.email),
            }
            if with_language:
                keep_known["preferred_language"] = base.excluded.preferred_language
            return base.on_conflict_do_update(index_elements=[key], set_=keep_known).returning(
                citizens.c.id
            )

        phone, telegram = citizens.c.phone_e164, citizens.c.telegram_user_id
        appeals = table_of(Appeal)
        return cls(
            new_citizen=base.returning(citizens.c.id),
            citizen_by_phone=upsert(phone, False),
            citizen_by_phone_language=upsert(phone, True),
            citizen_by_telegram=upsert(telegram, False),
            citizen_by_telegram_language=upsert(telegram, True),
            appeal=dialect_insert(dialect_name, appeals)
            .on_conflict_do_nothing()
            .returning(appeals.c.id),
            history=insert(table_of(AppealStatusChange)),
        )


_statements_by_dialect: dict[str, _SubmitStatements] = {}


def _statements(session: Session) -> _SubmitStatements:
    dialect_name = session.get_bind().dialect.name
    if dialect_name not in _statements_by_dialect:
        _statements_by_dialect[dialect_name] = _SubmitStatements.build(dialect_name)
    return _statements_by_dialect[dialect_name]


def _upsert_citizen(session: Session, contact: CitizenContact, language: str | None) -> int | None:
    """The citizen behind a contact, found by phone (E.164) or Telegram id, in one statement."""
    if contact.is_empty():
        return None
    phone = normalize_phone(contact.phone) if contact.phone else None
    values: dict[str, Any] = {
        "phone_e164": phone,
        "telegram_user_id": None if phone else contact.telegram_user_id,
        "full_name": contact.full_name,
        "email": contact.email,
        "preferred_language": language or "ru",
        "created_at": now(),
    }
    statements = _statements(session)
    if phone:
        statement = (
            statements.citizen_by_phone_language if language else statements.citizen_by_phone
        )
    elif contact.telegram_user_id:
        statement = (
            statements.citizen_by_telegram_language if language else statements.citizen_by_telegram
        )
    else:
        statement = statements.new_citizen
    citizen_id = int(session.execute(statement, values).scalar_one())
    if phone and contact.telegram_user_id:
        # Link the Telegram account too, unless another citizen record already has it
        # (merging identities is the repeat-applicant issue's job, with an undo).
        taken = select(Citizen.id).where(Citizen.telegram_user_id == contact.telegram_user_id)
        session.execute(
            update(Citizen)
            .where(Citizen.id == citizen_id, Citizen.telegram_user_id.is_(None), ~taken.exists())
            .values(telegram_user_id=contact.telegram_user_id)
        )
    return citizen_id


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

    A few statements and no savepoints: ``INSERT ... ON CONFLICT DO NOTHING`` makes
    a repeated or concurrent delivery return the first appeal, and the pipeline
    is triggered after commit (the ``received`` status is its durable record).
    """
    external_id = contact.external_id or f"auto-{uuid4().hex}"
    validate_contact(session, contact)
    citizen_id = _upsert_citizen(session, contact.citizen, contact.language)
    received_at = contact.received_at or now()
    values: dict[str, Any] = {
        "channel": contact.channel,
        "external_id": external_id,
        "citizen_id": citizen_id,
        "submitted_by_id": submitted_by.id if submitted_by else None,
        "text": contact.text.strip(),
        "language": contact.language,
        "appeal_type": contact.appeal_type or "",
        "category_code": contact.category_code,
        "district_code": contact.district_code,
        "address": contact.address,
        "latitude": contact.latitude,
        "longitude": contact.longitude,
        "anonymous": citizen_id is None,
        "status": Status.RECEIVED,
        "received_at": received_at,
        "urgency": "normal",
        "updated_at": received_at,
    }
    statements = _statements(session)
    for _attempt in range(5):
        tracking_number = new_tracking_number()
        values["tracking_number"] = tracking_number
        appeal_id = session.execute(statements.appeal, values).scalar()
        if appeal_id is not None:
            break
        earlier = _existing(session, contact.channel, external_id)
        if earlier is not None:
            return earlier
        # Otherwise the random tracking number collided (about 1 in 10^11): draw again.
    else:
        raise Conflict("could not allocate a tracking number", code="tracking_number_exhausted")
    session.execute(
        statements.history,
        {
            "appeal_id": appeal_id,
            "from_status": None,
            "to_status": Status.RECEIVED,
            "actor_id": submitted_by.id if submitted_by else None,
            "actor_kind": "staff" if submitted_by else "citizen",
            "reason": f"received via {contact.channel.value}",
            "organization_id": None,
            "at": received_at,
        },
    )
    jobs.defer_coalesced(session, PIPELINE_JOB)
    return SubmitResult(int(appeal_id), tracking_number, Status.RECEIVED, created=True)


# --- look-ups and access -------------------------------------------------------------


def can_view(user: StaffUser, appeal: Appeal) -> bool:
    """Executors see only their organization's appeals; other staff see all."""
    if user.role is Role.EXECUTOR:
        return appeal.organization_id is not None and appeal.organization_id == user.organization_id
    return True


def get_for_staff(session: Session, *, user: StaffUser, appeal_id: int) -> Appeal:
    appeal = session.get(
        Appeal, appeal_id, options=[selectinload(Appeal.history), selectinload(Appeal.citizen)]
    )
    # An executor probing another organization's id learns nothing: the same 404.
    if appeal is None or not can_view(user, appeal):
        raise NotFound(f"appeal {appeal_id} not found", code="appeal_not_found")
    return appeal


def get_by_tracking_number(session: Session, tracking_number: str) -> Appeal:
    appeal = session.scalar(
        select(Appeal).where(Appeal.tracking_number == tracking_number.strip().upper())
    )
    if appeal is None:
        raise NotFound("no appeal with this tracking number", code="tracking_number_not_found")
    return appeal


def staff_query(
    user: StaffUser,
    *,
    statuses: list[Status] | None = None,
    organization_id: int | None = None,
    triage: bool = False,
) -> Select[Appeal]:
    """Appeals the user may see, newest first; the executor filter is not optional."""
    query = select(Appeal).order_by(Appeal.received_at.desc(), Appeal.id.desc())
    if user.role is Role.EXECUTOR:
        if organization_id is not None and organization_id != user.organization_id:
            raise PermissionDenied(
                "an executor sees only their own organization's appeals", code="other_organization"
            )
        query = query.where(Appeal.organization_id == user.organization_id)
    elif organization_id is not None:
        query = query.where(Appeal.organization_id == organization_id)
    if statuses:
        query = query.where(Appeal.status.in_(statuses))
    if triage:
        query = query.where(Appeal.status == Status.REGISTERED, Appeal.organization_id.is_(None))
    return query


def list_for_staff(
    session: Session,
    *,
    user: StaffUser,
    statuses: list[Status] | None = None,
    organization_id: int | None = None,
    triage: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Appeal], int]:
    query = staff_query(user, statuses=statuses, organization_id=organization_id, triage=triage)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = session.scalars(
        query.options(selectinload(Appeal.history), selectinload(Appeal.citizen))
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), int(total)


def counts_by_status(session: Session) -> dict[str, int]:
    rows = session.execute(select(Appeal.status, func.count()).group_by(Appeal.status)).all()
    return {status.value: int(count) for status, count in rows}

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

from sqlalchemy import Boolean, Select, false, func, or_, select, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, object_session, selectinload
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from core import jobs
from core.clock import local, now
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.models import Role, StaffUser
from core.phones import mask_phone, normalize_phone
from core.settings import get_settings
from intake import identity, writes
from intake.lifecycle import OPEN_STATUSES, Status
from intake.models import Appeal, Assignment, AssignmentRole, Channel, Citizen
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
    record's group joins the phone record's group (``intake.identity``), unless staff
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
            "h_reason": f"received via {contact.channel.value}",
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


# --- look-ups and access -------------------------------------------------------------


class _InIds(FunctionElement[bool]):
    """``column IN (subquery)``; on PostgreSQL ``column = ANY(ARRAY(subquery))``.

    PostgreSQL cannot combine ``a = 1 OR id IN (subquery)`` from indexes and scans the
    whole table; the array form is computed once (an InitPlan), so the OR becomes a
    BitmapOr of two index scans: as fast as the organization filter alone.
    """

    type = Boolean()
    name = "in_ids"
    inherit_cache = True


@compiles(_InIds)
def _in_ids(element: _InIds, compiler: SQLCompiler, **kw: Any) -> str:
    column, ids = list(element.clauses)
    return f"({compiler.process(column, **kw)} IN {compiler.process(ids, **kw)})"


@compiles(_InIds, "postgresql")
def _in_ids_postgresql(element: _InIds, compiler: SQLCompiler, **kw: Any) -> str:
    column, ids = list(element.clauses)
    return f"{compiler.process(column, **kw)} = ANY(ARRAY{compiler.process(ids, **kw)})"


def _open_co_executor_of(organization_id: int | None) -> Select[int]:
    """Ids of the appeals where ``organization_id`` is an open (not removed) co-executor."""
    return select(Assignment.appeal_id).where(
        Assignment.organization_id == organization_id,
        Assignment.role == AssignmentRole.CO_EXECUTOR,
        Assignment.ended_at.is_(None),
    )


def can_view(user: StaffUser, appeal: Appeal) -> bool:
    """Executors see their organization's appeals, as lead or as an open co-executor;
    other staff see all."""
    if user.role is not Role.EXECUTOR:
        return True
    if user.organization_id is None:
        return False
    if appeal.organization_id == user.organization_id:
        return True
    session = object_session(appeal)
    if session is None:
        return False
    co_executor = _open_co_executor_of(user.organization_id).where(
        Assignment.appeal_id == appeal.id
    )
    return bool(session.scalar(select(co_executor.exists())))


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
    escalated: bool = False,
) -> Select[Appeal]:
    """Appeals the user may see, newest first; the executor filter is not optional.

    An executor sees the appeals their organization leads and those where it is an
    open co-executor; ``organization_id`` filters by the lead for everyone else.
    """
    query = select(Appeal).order_by(Appeal.received_at.desc(), Appeal.id.desc())
    if user.role is Role.EXECUTOR:
        if organization_id is not None and organization_id != user.organization_id:
            raise PermissionDenied(
                "an executor sees only their own organization's appeals", code="other_organization"
            )
        if user.organization_id is None:
            # Cannot happen (create_staff_user binds every executor), and ``== None`` would
            # read as ``IS NULL``: the unrouted appeals. Show nothing instead.
            return query.where(false())
        co_executor = _open_co_executor_of(user.organization_id).scalar_subquery()
        query = query.where(
            or_(Appeal.organization_id == user.organization_id, _InIds(Appeal.id, co_executor))
        )
    elif organization_id is not None:
        query = query.where(Appeal.organization_id == organization_id)
    if statuses:
        query = query.where(Appeal.status.in_(statuses))
    if triage:
        query = query.where(Appeal.status == Status.REGISTERED, Appeal.organization_id.is_(None))
    if escalated:
        # The inspectors' queue: ping-pong and much-moved appeals still waiting for an answer.
        query = query.where(Appeal.escalated_at.is_not(None), Appeal.status.in_(OPEN_STATUSES))
    return query


def list_for_staff(
    session: Session,
    *,
    user: StaffUser,
    statuses: list[Status] | None = None,
    organization_id: int | None = None,
    triage: bool = False,
    escalated: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Appeal], int]:
    query = staff_query(
        user, statuses=statuses, organization_id=organization_id, triage=triage, escalated=escalated
    )
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

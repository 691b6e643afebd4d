"""``submit()``: the one door every channel uses, and the appeal look-ups with access rules.

``submit()`` stores the appeal, its first history row and its pipeline job in
the caller's transaction; the caller commits before answering, so an accepted
appeal is durable before the citizen sees a tracking number.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from uuid import uuid4

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from core import jobs
from core.clock import local, now
from core.errors import NotFound, PermissionDenied, ValidationFailed
from core.models import Role, StaffUser
from core.phones import normalize_phone
from core.settings import get_settings
from intake.lifecycle import Status
from intake.models import Appeal, AppealStatusChange, Citizen
from intake.schemas import CitizenContact, IncomingContact
from routing.models import Category, District

PIPELINE_JOB = "intake.jobs.process_appeal"
# Crockford's base32 without look-alikes (0/O, 1/I/L): read aloud on the phone without mistakes.
_TRACKING_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True)
class SubmitResult:
    appeal: Appeal
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


def _find_or_create_citizen(session: Session, contact: CitizenContact) -> Citizen | None:
    if contact.is_empty():
        return None
    phone = normalize_phone(contact.phone) if contact.phone else None
    citizen: Citizen | None = None
    if phone:
        citizen = session.scalar(select(Citizen).where(Citizen.phone_e164 == phone))
    if citizen is None and contact.telegram_user_id:
        citizen = session.scalar(
            select(Citizen).where(Citizen.telegram_user_id == contact.telegram_user_id)
        )
    if citizen is None:
        citizen = Citizen(
            phone_e164=phone,
            telegram_user_id=contact.telegram_user_id,
        )
        try:
            with session.begin_nested():
                session.add(citizen)
                session.flush()
        except IntegrityError:
            # Another request created this citizen at the same moment: use theirs.
            citizen = session.scalar(
                select(Citizen).where(
                    (Citizen.phone_e164 == phone)
                    | (Citizen.telegram_user_id == contact.telegram_user_id)
                )
            )
            assert citizen is not None
    if contact.full_name and not citizen.full_name:
        citizen.full_name = contact.full_name
    if contact.email and not citizen.email:
        citizen.email = contact.email
    if phone and not citizen.phone_e164:
        citizen.phone_e164 = phone
    return citizen


def _existing(session: Session, contact: IncomingContact, external_id: str) -> Appeal | None:
    return session.scalar(
        select(Appeal).where(Appeal.channel == contact.channel, Appeal.external_id == external_id)
    )


def submit(
    session: Session, contact: IncomingContact, *, submitted_by: StaffUser | None = None
) -> SubmitResult:
    """Accept one appeal; the same (channel, external id) twice returns the first appeal."""
    external_id = contact.external_id or f"auto-{uuid4().hex}"
    already = _existing(session, contact, external_id)
    if already is not None:
        return SubmitResult(already, created=False)
    validate_contact(session, contact)
    citizen = _find_or_create_citizen(session, contact.citizen)
    if citizen is not None and contact.language:
        citizen.preferred_language = contact.language
    received_at = contact.received_at or now()
    appeal = Appeal(
        channel=contact.channel,
        external_id=external_id,
        citizen_id=citizen.id if citizen else None,
        submitted_by_id=submitted_by.id if submitted_by else None,
        text=contact.text.strip(),
        language=contact.language,
        appeal_type=contact.appeal_type or "",
        category_code=contact.category_code,
        district_code=contact.district_code,
        address=contact.address,
        latitude=contact.latitude,
        longitude=contact.longitude,
        anonymous=citizen is None,
        status=Status.RECEIVED,
        received_at=received_at,
    )
    try:
        with session.begin_nested():
            for _attempt in range(5):
                appeal.tracking_number = new_tracking_number()
                if (
                    session.scalar(
                        select(Appeal.id).where(Appeal.tracking_number == appeal.tracking_number)
                    )
                    is None
                ):
                    break
            session.add(appeal)
            session.flush()
    except IntegrityError:
        # A concurrent delivery of the same external id won the race: answer with its appeal.
        winner = _existing(session, contact, external_id)
        if winner is None:
            raise
        return SubmitResult(winner, created=False)
    session.add(
        AppealStatusChange(
            appeal_id=appeal.id,
            from_status=None,
            to_status=Status.RECEIVED,
            actor_id=submitted_by.id if submitted_by else None,
            actor_kind="staff" if submitted_by else "citizen",
            reason=f"received via {contact.channel.value}",
            at=received_at,
        )
    )
    jobs.defer(session, PIPELINE_JOB, appeal.id)
    session.flush()
    return SubmitResult(appeal, created=True)


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

"""A social handle and the citizen it is: one person across comments, then across channels.

The first appeal of an author makes a citizen (named by their public handle); each later
appeal's record joins that citizen's group through ``intake.repeats.identity`` (a merge with
its reason and evidence, undoable by staff), so repeats and "my appeals" see all of them.
When the author gives a phone (a private reply, or an operator types it in), the handle's
citizen joins the phone's citizen, the one the call center and the bots know.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals.models import Appeal
from channels.social.models import Platform, SocialHandle
from core.clock import now
from core.db import dialect_insert, table_of
from core.errors import ValidationFailed
from core.phones import mask_phone, normalize_phone
from intake import writes
from intake.repeats import identity

SAME_HANDLE = "social_handle"
HANDLE_PHONE = "social_phone"


def remember(session: Session, platform: Platform, author_id: str, handle: str | None) -> int:
    """The handle's row (made on first sight; the public name follows renames)."""
    dialect = session.get_bind().dialect.name
    session.execute(
        dialect_insert(dialect, table_of(SocialHandle))
        .values(platform=platform, author_id=author_id, handle=handle, created_at=now())
        .on_conflict_do_nothing(index_elements=["platform", "author_id"])
    )
    row = _handle(session, platform, author_id)
    assert row is not None
    if handle and row.handle != handle:
        row.handle = handle
    return row.id


def _handle(session: Session, platform: Platform, author_id: str) -> SocialHandle | None:
    return session.scalar(
        select(SocialHandle).where(
            SocialHandle.platform == platform, SocialHandle.author_id == author_id
        )
    )


def attach_appeal(session: Session, platform: Platform, author_id: str, appeal_id: int) -> None:
    """The appeal's citizen becomes, or joins, the handle's citizen."""
    row = _handle(session, platform, author_id)
    citizen_id = session.scalar(select(Appeal.citizen_id).where(Appeal.id == appeal_id))
    if row is None or citizen_id is None:
        return
    if row.citizen_id is None:
        row.citizen_id = citizen_id
        session.flush()
        return
    identity.merge_on_evidence(
        session,
        kept_id=row.citizen_id,
        merged_id=citizen_id,
        reason=SAME_HANDLE,
        evidence={"platform": platform.value, "handle": row.handle},
    )


def has_phone(session: Session, platform: Platform, author_id: str) -> bool:
    row = _handle(session, platform, author_id)
    return row is not None and row.phone_linked_at is not None


def link_phone(session: Session, platform: Platform, author_id: str, phone: str) -> int:
    """The author gave a phone: the phone's citizen (found or made) and the handle's are one
    person. Returns the phone citizen's id; ``ValidationFailed`` for a number that is none."""
    e164 = normalize_phone(phone)
    if not e164:
        raise ValidationFailed("not a phone number", code="invalid_phone")
    remember(session, platform, author_id, None)
    row = _handle(session, platform, author_id)
    assert row is not None
    dialect = session.get_bind().dialect.name
    statement = writes.citizen_statement(dialect, "phone", False)
    phone_citizen = int(
        session.execute(
            statement,
            {
                "c_phone_e164": e164,
                "c_telegram_user_id": None,
                "c_full_name": None,
                "c_email": None,
                "c_preferred_language": "ru",
                "c_created_at": now(),
            },
        ).scalar_one()
    )
    if row.citizen_id is not None and row.citizen_id != phone_citizen:
        identity.merge_on_evidence(
            session,
            kept_id=phone_citizen,
            merged_id=row.citizen_id,
            reason=HANDLE_PHONE,
            evidence={"platform": platform.value, "handle": row.handle, "phone": mask_phone(e164)},
        )
    row.citizen_id = phone_citizen
    row.phone_linked_at = now()
    session.flush()
    return phone_citizen

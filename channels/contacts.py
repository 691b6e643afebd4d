"""Bot contacts and the processed-inbound record (idempotency), and the WhatsApp window.

Services flush, never commit: the webhook request or the polling handler owns the
transaction, so the processed-inbound row commits together with its effect.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.models import BotContact, BotInbound
from core import db
from core.clock import now
from core.db import dialect_insert, table_of

SERVICE_WINDOW = timedelta(hours=24)


def _insert(session: Session, table: Any) -> Any:
    """An INSERT that can say ON CONFLICT DO NOTHING on either database."""
    return dialect_insert(session.get_bind().dialect.name, table)


def contact_for(
    session: Session, *, channel: str, address: str, user_id: str | None = None
) -> BotContact:
    """The contact for this chat, created on first sight (concurrent first messages agree)."""
    contact = session.scalar(
        select(BotContact).where(BotContact.channel == channel, BotContact.address == address)
    )
    if contact is not None:
        if user_id and contact.user_id != user_id:
            contact.user_id = user_id
        return contact
    session.execute(
        _insert(session, table_of(BotContact))
        .values(channel=channel, address=address, user_id=user_id, created_at=now())
        .on_conflict_do_nothing(index_elements=["channel", "address"])
    )
    contact = session.scalar(
        select(BotContact).where(BotContact.channel == channel, BotContact.address == address)
    )
    assert contact is not None
    return contact


def mark_processed(
    session: Session, *, channel: str, external_id: str, kind: str, contact_id: int | None
) -> bool:
    """Record an inbound update as handled; False when it already was (a re-delivery).

    On PostgreSQL a concurrent copy waits on the unique index until the first commits,
    then finds the row: one effect, one reply.
    """
    inserted = session.execute(
        _insert(session, table_of(BotInbound))
        .values(
            channel=channel,
            external_id=external_id,
            kind=kind,
            contact_id=contact_id,
            processed_at=now(),
        )
        .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        .returning(table_of(BotInbound).c.id)
    ).first()
    return inserted is not None


def already_processed(session: Session, *, channel: str, external_id: str) -> bool:
    return (
        session.scalar(
            select(BotInbound.id).where(
                BotInbound.channel == channel, BotInbound.external_id == external_id
            )
        )
        is not None
    )


def window_open(last_inbound_at: datetime | None, *, at: datetime | None = None) -> bool:
    """WhatsApp's customer service window: 24 hours from the citizen's last message."""
    if last_inbound_at is None:
        return False
    return (at or now()) - last_inbound_at < SERVICE_WINDOW


def whatsapp_window_open(address: str) -> bool:
    """For the sender outside a request: is free-form messaging allowed to this wa_id now?"""
    with db.transaction() as session:
        last = session.scalar(
            select(BotContact.last_inbound_at).where(
                BotContact.channel == "whatsapp", BotContact.address == address
            )
        )
    return window_open(last)


def address_for_citizen(session: Session, *, channel: str, citizen_id: int) -> BotContact | None:
    """The chat to reach a citizen on (for notifications): the most recent contact."""
    return session.scalar(
        select(BotContact)
        .where(BotContact.channel == channel, BotContact.citizen_id == citizen_id)
        .order_by(BotContact.last_inbound_at.desc().nulls_last(), BotContact.id.desc())
        .limit(1)
    )

"""Bot contacts, processed inbound messages and media references (issue 7, bots)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import now
from core.db import Base


class BotContact(Base):
    """One chat on one messenger: its language, its phone once shared, its citizen.

    ``last_inbound_at`` opens WhatsApp's 24-hour customer service window.
    """

    __tablename__ = "bot_contacts"
    __table_args__ = (
        UniqueConstraint("channel", "address", name="uq_bot_contacts_channel_address"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(64))  # Telegram chat id, WhatsApp wa_id
    user_id: Mapped[str | None] = mapped_column(String(32))  # Telegram user id
    language: Mapped[str | None] = mapped_column(String(2))
    phone_e164: Mapped[str | None] = mapped_column(String(20))
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizens.id"), index=True)
    last_inbound_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=now)


class BotInbound(Base):
    """An inbound update already handled: inserted in the same transaction as its effect,
    so a re-delivered webhook makes neither a second appeal nor a second reply."""

    __tablename__ = "bot_inbound"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_bot_inbound_channel_external_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("bot_contacts.id", ondelete="CASCADE"), index=True
    )
    processed_at: Mapped[datetime] = mapped_column(default=now)


class BotMedia(Base):
    """A photo the citizen sent with an appeal, as the messenger's own reference
    (Telegram file_id, WhatsApp media id); fetching and storing the file is the
    attachments service's job."""

    __tablename__ = "bot_media"

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(default=now)

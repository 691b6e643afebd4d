"""Outbound notifications: one row per (appeal, kind, key), so nothing is sent twice."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import now
from core.db import Base, str_enum


class NotificationKind(enum.StrEnum):
    RECEIPT = "receipt"  # registered: tracking number, registration date, due date
    STATUS_CHANGED = "status_changed"
    EXTENSION_NOTICE = "extension_notice"  # the law requires telling the citizen
    ANSWER = "answer"  # the approved answer (closed / quick_answered)
    RATING_REQUEST = "rating_request"  # buttons 1–5, payload rate:<tracking>:<score>


class DeliveryState(enum.StrEnum):
    PENDING = "pending"  # waiting for its (next) attempt
    SENDING = "sending"  # claimed by a worker; the provider call is in flight
    SENT = "sent"
    FAILED = "failed"  # gave up: non-retryable error, attempts exhausted, or interrupted
    UNDELIVERABLE = "undeliverable"  # no push transport or no address on this channel


class Notification(Base):
    """A message owed to a citizen and what became of it.

    ``key`` tells apart notifications of one kind (the status change's moment),
    and the UNIQUE (appeal, kind, key) makes a re-triggered event a no-op. No
    personal data is stored: the text is rendered at send time.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("appeal_id", "kind", "key", name="uq_notifications_appeal_kind_key"),
        Index("ix_notifications_state_next", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"), index=True)
    kind: Mapped[NotificationKind] = mapped_column(str_enum(NotificationKind, 24))
    key: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(2))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[DeliveryState] = mapped_column(str_enum(DeliveryState, 16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=now)
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    # WhatsApp delivery statuses find their notification by the provider's message id.
    provider_message_id: Mapped[str | None] = mapped_column(String(128), index=True)
    last_error: Mapped[str | None] = mapped_column(String(300))

"""Core tables: staff users and their API tokens, the calendar override table, the outbox."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import now
from core.db import Base, str_enum


class Role(enum.StrEnum):
    OPERATOR = "operator"
    EXECUTOR = "executor"
    INSPECTOR = "inspector"
    ANALYST = "analyst"
    ADMIN = "admin"


class StaffUser(Base):
    """A person working in CivicDesk; an executor is bound to exactly one organization."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(str_enum(Role, 16))
    # Organizations live in `routing`; core refers to the table by name only.
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    password_hash: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The operator's phone as an Asterisk queue member ("PJSIP/1001"), for screen-pops (issue 8).
    sip_interface: Mapped[str | None] = mapped_column(String(80), unique=True, index=True)
    # The head of the user's organization: SLA escalations at breach land in their inbox.
    is_head: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=now)


class ApiToken(Base):
    """An opaque bearer token; only its SHA-256 is stored, so a leaked table grants nothing."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=now)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class CalendarOverride(Base):
    """A day the `holidays` package gets wrong: decree transfers, working Saturdays."""

    __tablename__ = "calendar_overrides"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    working: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)


class OutboxMessage(Base):
    """A job recorded in the same transaction as the change that needs it.

    It is enqueued after commit; a relay re-enqueues any that were not, so a
    crash between commit and enqueue never loses work.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "done_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(200))
    args: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=now)
    done_at: Mapped[datetime | None]
    relayed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)

"""Calls of the 1308 call center, what the queues look like now, and callers' operator ratings.

A ``calls`` row is one caller channel in Asterisk, keyed by its Uniqueid, so applying
the same AMI event twice finds the same row (replays and reconnects make no
duplicates). The citizen's number is kept in E.164 and never logged.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from channels.telephony.events import (
    ID_LENGTH,
    INTERFACE_LENGTH,
    QUEUE_LENGTH,
    TEXT_LENGTH,
    CallState,
)
from core.clock import now
from core.db import Base, str_enum

__all__ = [
    "Call",
    "CallAppeal",
    "CallDirection",
    "CallState",
    "MissedRing",
    "OperatorRating",
    "QueueMember",
    "QueueSnapshot",
]


class CallDirection(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"  # a callback


class Call(Base):
    """One call: the caller's channel for inbound calls, the operator's leg for callbacks."""

    __tablename__ = "calls"
    __table_args__ = (
        Index("ix_calls_queued_at", "queued_at"),
        Index("ix_calls_started_at", "started_at"),
        Index("ix_calls_state", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uniqueid: Mapped[str] = mapped_column(String(ID_LENGTH), unique=True)
    linkedid: Mapped[str | None] = mapped_column(String(ID_LENGTH), index=True)
    direction: Mapped[CallDirection] = mapped_column(
        str_enum(CallDirection, 8), default=CallDirection.INBOUND
    )
    # The citizen's number (the caller, or whom a callback dials), E.164; None if withheld.
    caller_e164: Mapped[str | None] = mapped_column(String(20), index=True)
    queue: Mapped[str | None] = mapped_column(String(QUEUE_LENGTH), index=True)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    # The queue member's interface as Asterisk named it ("PJSIP/1001"), kept when no staff
    # user has it yet so the call can still be attributed later.
    operator_interface: Mapped[str | None] = mapped_column(String(INTERFACE_LENGTH))
    state: Mapped[CallState] = mapped_column(str_enum(CallState, 16))
    started_at: Mapped[datetime] = mapped_column(default=now)
    queued_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    wait_s: Mapped[int | None] = mapped_column(Integer)
    talk_s: Mapped[int | None] = mapped_column(Integer)
    abandoned: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    hangup_cause: Mapped[int | None] = mapped_column(Integer)
    hangup_cause_txt: Mapped[str | None] = mapped_column(String(TEXT_LENGTH))
    transferred_to: Mapped[str | None] = mapped_column(String(TEXT_LENGTH))
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizens.id"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    # A callback: the call the operator was on when they asked for it (if any).
    origin_call_id: Mapped[int | None] = mapped_column(
        ForeignKey("calls.id", ondelete="SET NULL"), index=True
    )
    failure_reason: Mapped[str | None] = mapped_column(String(120))
    updated_at: Mapped[datetime] = mapped_column(default=now, onupdate=now)


class CallAppeal(Base):
    """An appeal the operator filed during or after a call (or the call a callback was for)."""

    __tablename__ = "call_appeals"
    __table_args__ = (UniqueConstraint("call_id", "appeal_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"), index=True)
    linked_at: Mapped[datetime] = mapped_column(default=now)


class QueueMember(Base):
    """A queue member as the last QueueMember* event described it."""

    __tablename__ = "queue_members"
    __table_args__ = (UniqueConstraint("queue", "interface"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    queue: Mapped[str] = mapped_column(String(QUEUE_LENGTH))
    interface: Mapped[str] = mapped_column(String(INTERFACE_LENGTH))
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    # Asterisk's device state: 1 not in use, 2 in use, 5 unavailable, 6 ringing, …
    status: Mapped[int] = mapped_column(Integer, default=0)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    in_call: Mapped[bool] = mapped_column(Boolean, default=False)
    logged_in: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(default=now)


class QueueSnapshot(Base):
    """The last QueueSummary Asterisk gave for a queue (polled by the listener)."""

    __tablename__ = "queue_snapshots"

    queue: Mapped[str] = mapped_column(String(QUEUE_LENGTH), primary_key=True)
    logged_in: Mapped[int] = mapped_column(Integer)
    available: Mapped[int] = mapped_column(Integer)
    callers: Mapped[int] = mapped_column(Integer)
    hold_time_s: Mapped[int] = mapped_column(Integer)
    talk_time_s: Mapped[int] = mapped_column(Integer)
    longest_hold_time_s: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]


class OperatorRating(Base):
    """The caller's 1–5 for the operator, keyed in the IVR after the call (UserEvent)."""

    __tablename__ = "operator_ratings"
    __table_args__ = (
        UniqueConstraint("call_id", "operator_id"),
        CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    operator_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    score: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(default=now)


class MissedRing(Base):
    """The queue rang an operator for a call and they did not answer (AgentRingNoAnswer).

    One row per ring, keyed by (call, interface, moment), so a replayed log adds none.
    """

    __tablename__ = "missed_rings"
    __table_args__ = (
        UniqueConstraint("call_id", "interface", "at"),
        Index("ix_missed_rings_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    queue: Mapped[str | None] = mapped_column(String(QUEUE_LENGTH))
    interface: Mapped[str] = mapped_column(String(INTERFACE_LENGTH))
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    ring_s: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime]


class ScreenPopRow(Base):
    """A screen-pop on its way from the AMI listener to the consoles where there is no Redis
    (``channels.telephony.screen_pop.DatabaseScreenPopBus``): the listener and the web
    server are different processes even in ``make run``. Kept a few minutes, ids only."""

    __tablename__ = "screen_pops"
    __table_args__ = (Index("ix_screen_pops_operator_id_id", "operator_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(Integer)
    payload: Mapped[str] = mapped_column(Text)  # ScreenPop.to_json()
    created_at: Mapped[datetime] = mapped_column(default=now, index=True)

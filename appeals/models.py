"""Citizens, appeals and the status history of every appeal."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship

from appeals.lifecycle import Status
from core.clock import now
from core.db import Base, str_enum


class Channel(enum.StrEnum):
    PORTAL = "portal"
    MOBILE = "mobile"
    PHONE = "phone"
    TELEGRAM = "telegram"
    WHATSAPP = "whatsapp"
    SOCIAL = "social"
    FRONT_OFFICE = "front_office"


class Citizen(Base):
    """An applicant; contact data here is personal and never leaves staff views."""

    __tablename__ = "citizens"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone_e164: Mapped[str | None] = mapped_column(String(20), unique=True)
    full_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    telegram_user_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    preferred_language: Mapped[str] = mapped_column(String(2), default="ru")
    created_at: Mapped[datetime] = mapped_column(default=now)
    # Set when evidence showed this record is the same person as another: the identity
    # lives on, the merge is a pointer (``citizen_merges`` holds why, and its undo).
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("citizens.id"), index=True)


class Appeal(Base):
    __tablename__ = "appeals"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_appeals_channel_external_id"),
        Index("ix_appeals_org_status", "organization_id", "status"),
        Index("ix_appeals_status_received", "status", "received_at"),
        # Duplicate candidates: the same topic in the same district, recently.
        Index(
            "ix_appeals_category_district_received", "category_code", "district_code", "received_at"
        ),
        # Duplicate candidates at one street: the same topic there, recently.
        Index("ix_appeals_category_street_received", "category_code", "street_key", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tracking_number: Mapped[str] = mapped_column(String(20), unique=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, 16))
    external_id: Mapped[str] = mapped_column(String(128))
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizens.id"), index=True)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))

    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(5))
    appeal_type: Mapped[str] = mapped_column(String(32))
    category_code: Mapped[str | None] = mapped_column(ForeignKey("categories.code"), index=True)
    category_confidence: Mapped[float | None] = mapped_column(Float)
    district_code: Mapped[str | None] = mapped_column(ForeignKey("districts.code"), index=True)
    address: Mapped[str | None] = mapped_column(String(300))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    urgency: Mapped[str] = mapped_column(String(16), default="normal")
    urgency_triggers: Mapped[str | None] = mapped_column(String(300))

    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    routing_rule_id: Mapped[int | None] = mapped_column(Integer)
    routing_reason: Mapped[str | None] = mapped_column(Text)
    # The routing reason as a code and its parameters (``appeals.reasons``): the staff pages
    # render it in the reader's language; ``routing_reason`` is its English, for the API.
    routing_reason_code: Mapped[str | None] = mapped_column(String(32))
    routing_reason_params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    triage_reason: Mapped[str | None] = mapped_column(String(64))

    status: Mapped[Status] = mapped_column(str_enum(Status, 16))
    received_at: Mapped[datetime] = mapped_column(default=now)
    registered_on: Mapped[date | None] = mapped_column(Date)
    due_at: Mapped[datetime | None]
    extension_reason: Mapped[str | None] = mapped_column(Text)
    extension_notice_due_at: Mapped[datetime | None]
    forward_due_at: Mapped[datetime | None]
    answer_text: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    closed_at: Mapped[datetime | None]
    rejection_reason: Mapped[str | None] = mapped_column(String(32))
    earlier_appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeals.id"))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    escalated_at: Mapped[datetime | None]
    escalation_reason: Mapped[str | None] = mapped_column(String(64))
    # SLA clocks (issue 6): the city's internal target (tighter than the legal due_at), the
    # moment the clock was paused (None while it runs) and how often answers came back.
    target_due_at: Mapped[datetime | None] = mapped_column(index=True)
    paused_at: Mapped[datetime | None]
    # Server default only: intake's INSERT … SELECT would bind a Python default as NULL.
    returns_count: Mapped[int] = mapped_column(Integer, server_default="0")
    is_repeat: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Stored when annotated, so looking for repeats and duplicates compares, never recomputes.
    match_text: Mapped[str | None] = mapped_column(Text)
    place_keys: Mapped[list[str] | None] = mapped_column(JSON)
    street_key: Mapped[str | None] = mapped_column(String(64))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    updated_at: Mapped[datetime] = mapped_column(default=now, onupdate=now)
    # The text's Russian full-text vector, kept by a trigger on PostgreSQL (migration
    # 0012_experience) for ``appeals.search``; never loaded with the appeal, empty on SQLite.
    search_vector: Mapped[str | None] = mapped_column(
        TSVECTOR().with_variant(Text(), "sqlite"), deferred=True
    )

    citizen: Mapped[Citizen | None] = relationship(lazy="raise_on_sql")
    history: Mapped[list[AppealStatusChange]] = relationship(
        back_populates="appeal", order_by="AppealStatusChange.id", lazy="raise_on_sql"
    )


class AppealStatusChange(Base):
    """One row per status change: who, when, from, to, why."""

    __tablename__ = "appeal_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[Status | None] = mapped_column(str_enum(Status, 16))
    to_status: Mapped[Status] = mapped_column(str_enum(Status, 16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    actor_kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    # ``reason`` as a code and its parameters (``appeals.reasons``), rendered in the reader's
    # language; None on rows written before codes (their English is read back instead).
    reason_code: Mapped[str | None] = mapped_column(String(32))
    reason_params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    at: Mapped[datetime] = mapped_column(default=now)

    appeal: Mapped[Appeal] = relationship(back_populates="history", lazy="raise_on_sql")


class AssignmentRole(enum.StrEnum):
    LEAD = "lead"
    CO_EXECUTOR = "co_executor"


class Assignment(Base):
    """One organization's stint on an appeal: the lead's, or a co-executor's part.

    Rows are closed, never rewritten, so who held an appeal when (and why it
    left) stays attributable across forwarding and reorganizations.
    """

    __tablename__ = "appeal_assignments"
    __table_args__ = (
        Index("ix_appeal_assignments_appeal", "appeal_id", "ended_at"),
        Index("ix_appeal_assignments_org_open", "organization_id", "ended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    role: Mapped[AssignmentRole] = mapped_column(str_enum(AssignmentRole, 16))
    kind: Mapped[str] = mapped_column(String(16))  # rule, manual, forward, reorganization
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("routing_rules.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    started_at: Mapped[datetime] = mapped_column(default=now)
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(32))  # forwarded, sent_back, reorganized
    late: Mapped[bool] = mapped_column(Boolean, default=False)  # left past the forwarding term
    part: Mapped[str | None] = mapped_column(Text)  # a co-executor's part of the answer
    answer_text: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))


class CitizenMerge(Base):
    """Two citizen records found to be one person: why, by whom, and whether undone."""

    __tablename__ = "citizen_merges"

    id: Mapped[int] = mapped_column(primary_key=True)
    kept_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"), index=True)
    merged_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"), index=True)
    reason: Mapped[str] = mapped_column(String(64))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    at: Mapped[datetime] = mapped_column(default=now)
    undone_at: Mapped[datetime | None]
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))


class LinkKind(enum.StrEnum):
    REPEAT = "repeat"  # the same citizen raising the same issue again
    DUPLICATE = "duplicate"  # another citizen reporting the same problem at the same place


class LinkStatus(enum.StrEnum):
    SUGGESTED = "suggested"
    CONFIRMED = "confirmed"
    BROKEN = "broken"


class AppealLink(Base):
    """A newer appeal linked to an earlier one, with the evidence and the score."""

    __tablename__ = "appeal_links"
    __table_args__ = (
        UniqueConstraint("appeal_id", "other_id", "kind", name="uq_appeal_links_pair"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"), index=True)
    other_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"), index=True)
    kind: Mapped[LinkKind] = mapped_column(str_enum(LinkKind, 16))
    score: Mapped[float] = mapped_column(Float)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[LinkStatus] = mapped_column(
        str_enum(LinkStatus, 16), default=LinkStatus.SUGGESTED
    )
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=now)


class Incident(Base):
    """One problem at one place reported by many citizens; answered once for all of them."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_code: Mapped[str] = mapped_column(ForeignKey("categories.code"))
    district_code: Mapped[str | None] = mapped_column(ForeignKey("districts.code"))
    place: Mapped[str] = mapped_column(String(200), default="")
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    first_at: Mapped[datetime] = mapped_column(default=now)
    last_at: Mapped[datetime] = mapped_column(default=now)
    appeals_count: Mapped[int] = mapped_column(Integer, default=0)
    # "state", not "status": only the lifecycle actions assign an appeal's status.
    state: Mapped[str] = mapped_column(String(16), default="open")
    answer_text: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))

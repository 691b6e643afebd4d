"""SLA tables: clock pauses, extension requests, answer reviews, the reminder ledger and
the staff inbox.

Each row points at its appeal (``appeals.models.Appeal``) by foreign key.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import now
from core.db import Base, str_enum


class PauseReason(enum.StrEnum):
    """Why the clock stands still (АППК allows none of these to eat the executor's term)."""

    CITIZEN_CLARIFICATION = "citizen_clarification"  # waiting for the citizen to clarify
    CITIZEN_DOCUMENTS = "citizen_documents"  # waiting for documents from the citizen
    EXPERT_OPINION = "expert_opinion"  # waiting for an expert/inspection result
    OTHER = "other"


class ExtensionState(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


class ReviewOutcome(enum.StrEnum):
    ACCEPTED = "accepted"
    RETURNED = "returned"


class ReturnReason(enum.StrEnum):
    """The inspectors' checklist for returning an answer for rework."""

    NO_SUBSTANCE = "no_substance"  # the answer does not address the question
    FORMAL_REPLY = "formal_reply"  # a form letter ("your appeal was considered")
    WRONG_ORGANIZATION = "wrong_organization"  # answered by / about the wrong body
    MISSING_WORK_DEADLINE = "missing_work_deadline"  # promises work but gives no date
    OTHER = "other"


class AppealPause(Base):
    """One stretch of time the appeal's clock stood still, with who paused and resumed it."""

    __tablename__ = "appeal_pauses"
    __table_args__ = (Index("ix_appeal_pauses_appeal_open", "appeal_id", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"))
    reason_code: Mapped[PauseReason] = mapped_column(str_enum(PauseReason, 32))
    comment: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime] = mapped_column(default=now)
    ended_at: Mapped[datetime | None]
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))


class ExtensionRequest(Base):
    """An executor's request to extend the deadline; an inspector decides it."""

    __tablename__ = "extension_requests"
    __table_args__ = (
        Index("ix_extension_requests_state_created", "state", "created_at"),
        Index("ix_extension_requests_appeal_id", "appeal_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    reason: Mapped[str] = mapped_column(Text)
    requested_until: Mapped[datetime]
    state: Mapped[ExtensionState] = mapped_column(
        str_enum(ExtensionState, 16), default=ExtensionState.PENDING
    )
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    decided_at: Mapped[datetime | None]
    decision_comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=now)


class AnswerReview(Base):
    """An inspector's verdict on an answer; a return counts against the answering org."""

    __tablename__ = "answer_reviews"
    __table_args__ = (
        Index("ix_answer_reviews_org_outcome_created", "organization_id", "outcome", "created_at"),
        Index("ix_answer_reviews_appeal_id", "appeal_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    outcome: Mapped[ReviewOutcome] = mapped_column(str_enum(ReviewOutcome, 16))
    reason_code: Mapped[ReturnReason | None] = mapped_column(str_enum(ReturnReason, 32))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=now)


class SlaReminder(Base):
    """The exactly-once ledger: one row per (appeal, kind, deadline) ever notified.

    The row is inserted in the same transaction as the notifications it stands for, so a
    sweep that crashes leaves neither, and a second sweep finds the row and sends nothing.
    """

    __tablename__ = "sla_reminders"
    __table_args__ = (
        UniqueConstraint("appeal_id", "kind", "due_moment", name="uq_sla_reminders_once"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))  # remind_3wd, remind_1d, breach_executor …
    due_moment: Mapped[datetime]  # the deadline the reminder refers to
    recipient_kind: Mapped[str] = mapped_column(String(16))  # executor, head, inspectors
    created_at: Mapped[datetime] = mapped_column(default=now)
    sent_at: Mapped[datetime | None]


class StaffNotification(Base):
    """The in-app inbox: to one user, to an organization (optionally one role in it), or to
    every user of a role. Texts carry no personal data: tracking number, category, deadline.
    """

    __tablename__ = "staff_notifications"
    __table_args__ = (
        Index("ix_staff_notifications_org_created", "organization_id", "created_at"),
        Index("ix_staff_notifications_role_created", "role", "created_at"),
        Index("ix_staff_notifications_user_created", "staff_user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE")
    )
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    role: Mapped[str | None] = mapped_column(String(16))
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    text_ru: Mapped[str] = mapped_column(Text)
    text_kk: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=now)
    read_at: Mapped[datetime | None]

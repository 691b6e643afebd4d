"""Citizens' ratings of the answers they received."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import now
from core.db import Base


class AnswerRating(Base):
    """One rating (1–5) per answer an appeal received.

    Keyed by the answer's time, so an appeal reopened and answered again gets a
    fresh rating of its new answer, while a second press on the same answer
    replaces the first (``changes`` counts how often). The organization is
    copied at rating time: the agency ranking must not move when an appeal is
    later forwarded elsewhere.
    """

    __tablename__ = "answer_ratings"
    __table_args__ = (
        UniqueConstraint("appeal_id", "answered_at", name="uq_answer_ratings_appeal_answer"),
        CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),
        Index("ix_answer_ratings_org_rated", "organization_id", "rated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"), index=True)
    answered_at: Mapped[datetime]
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL")
    )
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(16))
    rated_at: Mapped[datetime] = mapped_column(default=now)
    changes: Mapped[int] = mapped_column(Integer, default=0)
    # Set when this rating reopened the appeal (at most once per answer).
    reopened_at: Mapped[datetime | None]

"""Citizens' ratings of the answers they received, and the stored rankings of closed periods."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from appeals.models import Appeal, Assignment
from core.clock import now
from core.db import Base, table_of
from sla.models import AnswerReview


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


class RankingSnapshot(Base):
    """The ranking of one closed period as it stood when the period closed.

    Written once by the worker (``ratings.jobs``) and never changed, so last month's table
    does not move under its reader and the arrows of the next period compare with what
    was published. ``table`` is the whole city's table (``ratings.ranking.compute``), every
    kind of organization with its rank among all and among its kind; the weights it was
    computed with are inside it.
    """

    __tablename__ = "ranking_snapshots"
    __table_args__ = (
        UniqueConstraint("period_kind", "period_start", name="uq_ranking_snapshots_period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period_kind: Mapped[str] = mapped_column(String(16))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)  # the day after the last
    label: Mapped[str] = mapped_column(String(32))
    methodology_version: Mapped[str] = mapped_column(String(64))
    organizations: Mapped[int] = mapped_column(Integer)
    table: Mapped[dict[str, Any]] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(default=now)


# --- indexes the ranking reads by (created by migration 0014_ratings_ranking) ----------------
# A live ranking of a week or a month reads only that period's events; these let it find
# them without scanning the history (the whole history is a sequential scan either way).
_appeals = table_of(Appeal).c
_stints = table_of(Assignment).c
RANKING_INDEXES = (
    # Appeals resolved in the period: their deadline is never before the period's start.
    Index("ix_appeals_due_at", _appeals.due_at),
    # Answers given in the period (reopenings and repeats are counted per answer).
    Index("ix_appeals_answered_at", _appeals.answered_at),
    # Stints received in the period (ping-pong) and passed on in it (forwarding lateness).
    Index("ix_appeal_assignments_started_at", _stints.started_at),
    Index(
        "ix_appeal_assignments_passed_on",
        _stints.ended_at,
        postgresql_where=text("end_reason IN ('forwarded', 'sent_back')"),
        sqlite_where=text("end_reason IN ('forwarded', 'sent_back')"),
    ),
    Index("ix_answer_reviews_created_at", table_of(AnswerReview).c.created_at),
    Index("ix_answer_ratings_rated_at", table_of(AnswerRating).c.rated_at),
)

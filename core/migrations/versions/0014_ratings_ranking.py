"""ratings — stored rankings of closed periods, and the indexes the ranking reads by (issue 16)

``ranking_snapshots``: one row per closed week, month, quarter or year, the whole table as
JSON, written once by the worker. Indexes on the periods' events (deadlines, answers,
stints, reviews, ratings): declared in ``ratings/models.py``.

Revision ID: 0014_ratings_ranking
Revises: 0013_knowledge_base
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0014_ratings_ranking"
down_revision: str | None = "0013_knowledge_base"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A literal copy (a migration must not change when the code does).
_PASSED_ON = "end_reason IN ('forwarded', 'sent_back')"


def upgrade() -> None:
    op.create_table(
        "ranking_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_kind", sa.String(length=16), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("label", sa.String(length=32), nullable=False),
        sa.Column("methodology_version", sa.String(length=64), nullable=False),
        sa.Column("organizations", sa.Integer(), nullable=False),
        sa.Column("table", sa.JSON(), nullable=False),
        sa.Column("computed_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ranking_snapshots")),
        sa.UniqueConstraint("period_kind", "period_start", name="uq_ranking_snapshots_period"),
    )
    op.create_index("ix_appeals_due_at", "appeals", ["due_at"], unique=False)
    op.create_index("ix_appeals_answered_at", "appeals", ["answered_at"], unique=False)
    op.create_index(
        "ix_appeal_assignments_started_at", "appeal_assignments", ["started_at"], unique=False
    )
    op.create_index(
        "ix_appeal_assignments_passed_on",
        "appeal_assignments",
        ["ended_at"],
        unique=False,
        postgresql_where=sa.text(_PASSED_ON),
        sqlite_where=sa.text(_PASSED_ON),
    )
    op.create_index("ix_answer_reviews_created_at", "answer_reviews", ["created_at"], unique=False)
    op.create_index("ix_answer_ratings_rated_at", "answer_ratings", ["rated_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_answer_ratings_rated_at", table_name="answer_ratings")
    op.drop_index("ix_answer_reviews_created_at", table_name="answer_reviews")
    op.drop_index("ix_appeal_assignments_passed_on", table_name="appeal_assignments")
    op.drop_index("ix_appeal_assignments_started_at", table_name="appeal_assignments")
    op.drop_index("ix_appeals_answered_at", table_name="appeals")
    op.drop_index("ix_appeals_due_at", table_name="appeals")
    op.drop_table("ranking_snapshots")

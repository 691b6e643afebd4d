"""analytics — scheduled runs, bursts, weekly reports, Open311 API keys (issue 17)

Declared in ``analytics/models.py``.

Revision ID: 0015_analytics
Revises: 0014_ratings_ranking
Create Date: 2026-12-07 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0015_analytics"
down_revision: str | None = "0014_ratings_ranking"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analytics_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("started_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_runs")),
        sa.UniqueConstraint("kind", "period", name="uq_analytics_runs_kind_period"),
    )
    op.create_table(
        "analytics_bursts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("district_code", sa.String(length=32), nullable=False),
        sa.Column("category_code", sa.String(length=96), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("expected", sa.Float(), nullable=False),
        sa.Column("spread", sa.Float(), nullable=False),
        sa.Column("p_value", sa.Float(), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("appeal_ids", sa.JSON(), nullable=False),
        sa.Column("incident_ids", sa.JSON(), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=True),
        sa.Column("detected_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_code"],
            ["categories.code"],
            name=op.f("fk_analytics_bursts_category_code_categories"),
        ),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["districts.code"],
            name=op.f("fk_analytics_bursts_district_code_districts"),
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["staff_notifications.id"],
            name=op.f("fk_analytics_bursts_notification_id_staff_notifications"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_bursts")),
        sa.UniqueConstraint(
            "day", "district_code", "category_code", name="uq_analytics_bursts_day_place_topic"
        ),
    )
    op.create_index(op.f("ix_analytics_bursts_day"), "analytics_bursts", ["day"], unique=False)
    op.create_index(
        op.f("ix_analytics_bursts_notification_id"),
        "analytics_bursts",
        ["notification_id"],
        unique=False,
    )
    op.create_table(
        "analytics_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("format", sa.String(length=4), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("generated_by", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_reports")),
        sa.UniqueConstraint("week", "language", "format", name="uq_analytics_reports_week"),
    )
    op.create_table(
        "open311_api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open311_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_open311_api_keys_key_hash")),
    )


def downgrade() -> None:
    op.drop_table("open311_api_keys")
    op.drop_table("analytics_reports")
    op.drop_index(op.f("ix_analytics_bursts_notification_id"), table_name="analytics_bursts")
    op.drop_index(op.f("ix_analytics_bursts_day"), table_name="analytics_bursts")
    op.drop_table("analytics_bursts")
    op.drop_table("analytics_runs")

"""nlp — operators' corrections and model registry (issue 4)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 14:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "appeal_classifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=True),
        sa.Column("category_code", sa.String(length=96), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("alternatives", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("district_code", sa.String(length=32), nullable=True),
        sa.Column("district_evidence", sa.String(length=200), nullable=True),
        sa.Column("urgency_triggers", sa.JSON(), nullable=False),
        sa.Column("not_appeal", sa.String(length=16), nullable=True),
        sa.Column("at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"],
            ["appeals.id"],
            name=op.f("fk_appeal_classifications_appeal_id_appeals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeal_classifications")),
    )
    op.create_index(
        op.f("ix_appeal_classifications_appeal_id"),
        "appeal_classifications",
        ["appeal_id"],
        unique=False,
    )
    op.create_table(
        "category_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column("from_category", sa.String(length=96), nullable=True),
        sa.Column("to_category", sa.String(length=96), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("corrected_by_id", sa.Integer(), nullable=False),
        sa.Column("at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"],
            ["appeals.id"],
            name=op.f("fk_category_corrections_appeal_id_appeals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["corrected_by_id"],
            ["staff_users.id"],
            name=op.f("fk_category_corrections_corrected_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["to_category"],
            ["categories.code"],
            name=op.f("fk_category_corrections_to_category_categories"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_category_corrections")),
    )
    op.create_index(
        op.f("ix_category_corrections_appeal_id"),
        "category_corrections",
        ["appeal_id"],
        unique=False,
    )
    op.create_index("ix_category_corrections_at", "category_corrections", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_category_corrections_at", table_name="category_corrections")
    op.drop_index(op.f("ix_category_corrections_appeal_id"), table_name="category_corrections")
    op.drop_table("category_corrections")
    op.drop_index(op.f("ix_appeal_classifications_appeal_id"), table_name="appeal_classifications")
    op.drop_table("appeal_classifications")

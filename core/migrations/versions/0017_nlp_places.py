"""nlp places — district corrections, learned places, learning runs; the source of a
classification's district (issue 19)

Declared in ``intake/place_models.py`` and ``intake/nlp_models.py``.

Revision ID: 0017_nlp_places
Revises: 0016_social
Create Date: 2026-12-07 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0017_nlp_places"
down_revision: str | None = "0016_social"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "district_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column("from_district", sa.String(length=32), nullable=True),
        sa.Column("to_district", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("corrected_by_id", sa.Integer(), nullable=False),
        sa.Column("at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"],
            ["appeals.id"],
            name=op.f("fk_district_corrections_appeal_id_appeals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["corrected_by_id"],
            ["staff_users.id"],
            name=op.f("fk_district_corrections_corrected_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["to_district"],
            ["districts.code"],
            name=op.f("fk_district_corrections_to_district_districts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_district_corrections")),
    )
    op.create_index(
        op.f("ix_district_corrections_appeal_id"),
        "district_corrections",
        ["appeal_id"],
        unique=False,
    )
    op.create_index("ix_district_corrections_at", "district_corrections", ["at"], unique=False)
    op.create_table(
        "learned_places",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("district_code", sa.String(length=32), nullable=False),
        sa.Column("appeals", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("share", sa.Float(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("learned_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["districts.code"],
            name=op.f("fk_learned_places_district_code_districts"),
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_learned_places")),
    )
    op.create_table(
        "place_learning_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("evidence_appeals", sa.Integer(), nullable=False),
        sa.Column("keys_seen", sa.Integer(), nullable=False),
        sa.Column("keys_learned", sa.Integer(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_place_learning_runs")),
    )
    op.create_index(op.f("ix_place_learning_runs_at"), "place_learning_runs", ["at"], unique=False)
    with op.batch_alter_table("appeal_classifications") as batch:
        batch.add_column(sa.Column("district_source", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("appeal_classifications") as batch:
        batch.drop_column("district_source")
    op.drop_index(op.f("ix_place_learning_runs_at"), table_name="place_learning_runs")
    op.drop_table("place_learning_runs")
    op.drop_table("learned_places")
    op.drop_index("ix_district_corrections_at", table_name="district_corrections")
    op.drop_index(op.f("ix_district_corrections_appeal_id"), table_name="district_corrections")
    op.drop_table("district_corrections")

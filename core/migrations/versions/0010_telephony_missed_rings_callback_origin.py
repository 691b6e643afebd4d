"""channels.telephony — missed rings per operator, the call a callback follows up (issue 8)

``missed_rings``: one row per AgentRingNoAnswer (the queue rang an operator, nobody
answered), counted per operator and per call. ``calls.origin_call_id``: the call the
operator was on when they asked for a callback.

Revision ID: 0010_telephony
Revises: 0009
Create Date: 2026-11-24 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0010_telephony"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("origin_call_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_calls_origin_call_id_calls"),
            "calls",
            ["origin_call_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index(op.f("ix_calls_origin_call_id"), ["origin_call_id"], unique=False)

    op.create_table(
        "missed_rings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=True),
        sa.Column("interface", sa.String(length=80), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        sa.Column("ring_s", sa.Integer(), nullable=True),
        sa.Column("at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
            name=op.f("fk_missed_rings_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["staff_users.id"],
            name=op.f("fk_missed_rings_operator_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_missed_rings")),
        sa.UniqueConstraint("call_id", "interface", "at", name=op.f("uq_missed_rings_call_id")),
    )
    op.create_index("ix_missed_rings_at", "missed_rings", ["at"], unique=False)
    op.create_index(op.f("ix_missed_rings_call_id"), "missed_rings", ["call_id"], unique=False)
    op.create_index(
        op.f("ix_missed_rings_operator_id"), "missed_rings", ["operator_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_missed_rings_operator_id"), table_name="missed_rings")
    op.drop_index(op.f("ix_missed_rings_call_id"), table_name="missed_rings")
    op.drop_index("ix_missed_rings_at", table_name="missed_rings")
    op.drop_table("missed_rings")
    with op.batch_alter_table("calls") as batch:
        batch.drop_index(op.f("ix_calls_origin_call_id"))
        batch.drop_constraint(op.f("fk_calls_origin_call_id_calls"), type_="foreignkey")
        batch.drop_column("origin_call_id")

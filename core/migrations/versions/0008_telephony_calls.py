"""channels.telephony — calls, queue metrics, operator ratings (issue 8)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 14:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATES = (
    "requested",
    "originating",
    "ringing",
    "ivr",
    "queued",
    "connected",
    "ended",
    "failed",
)


def upgrade() -> None:
    with op.batch_alter_table("staff_users") as batch:
        batch.add_column(sa.Column("sip_interface", sa.String(length=80), nullable=True))
    op.create_index(
        op.f("ix_staff_users_sip_interface"), "staff_users", ["sip_interface"], unique=True
    )

    op.create_table(
        "calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uniqueid", sa.String(length=64), nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=True),
        sa.Column(
            "direction",
            sa.Enum("inbound", "outbound", name="calldirection", native_enum=False, length=8),
            nullable=False,
        ),
        sa.Column("caller_e164", sa.String(length=20), nullable=True),
        sa.Column("queue", sa.String(length=64), nullable=True),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        sa.Column("operator_interface", sa.String(length=80), nullable=True),
        sa.Column(
            "state",
            sa.Enum(*_STATES, name="callstate", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("started_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("queued_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("wait_s", sa.Integer(), nullable=True),
        sa.Column("talk_s", sa.Integer(), nullable=True),
        sa.Column("abandoned", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("hangup_cause", sa.Integer(), nullable=True),
        sa.Column("hangup_cause_txt", sa.String(length=80), nullable=True),
        sa.Column("transferred_to", sa.String(length=80), nullable=True),
        sa.Column("citizen_id", sa.Integer(), nullable=True),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("failure_reason", sa.String(length=120), nullable=True),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizens.id"], name=op.f("fk_calls_citizen_id_citizens")
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["staff_users.id"], name=op.f("fk_calls_operator_id_staff_users")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["staff_users.id"],
            name=op.f("fk_calls_requested_by_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calls")),
        sa.UniqueConstraint("uniqueid", name=op.f("uq_calls_uniqueid")),
    )
    op.create_index(op.f("ix_calls_caller_e164"), "calls", ["caller_e164"], unique=False)
    op.create_index(op.f("ix_calls_citizen_id"), "calls", ["citizen_id"], unique=False)
    op.create_index(op.f("ix_calls_linkedid"), "calls", ["linkedid"], unique=False)
    op.create_index(op.f("ix_calls_operator_id"), "calls", ["operator_id"], unique=False)
    op.create_index(op.f("ix_calls_queue"), "calls", ["queue"], unique=False)
    op.create_index("ix_calls_queued_at", "calls", ["queued_at"], unique=False)
    op.create_index("ix_calls_started_at", "calls", ["started_at"], unique=False)
    op.create_index("ix_calls_state", "calls", ["state"], unique=False)

    op.create_table(
        "call_appeals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column("linked_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"],
            ["appeals.id"],
            name=op.f("fk_call_appeals_appeal_id_appeals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
            name=op.f("fk_call_appeals_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_appeals")),
        sa.UniqueConstraint("call_id", "appeal_id", name=op.f("uq_call_appeals_call_id")),
    )
    op.create_index(op.f("ix_call_appeals_appeal_id"), "call_appeals", ["appeal_id"], unique=False)

    op.create_table(
        "queue_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("interface", sa.String(length=80), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("in_call", sa.Boolean(), nullable=False),
        sa.Column("logged_in", sa.Boolean(), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["staff_users.id"],
            name=op.f("fk_queue_members_operator_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_members")),
        sa.UniqueConstraint("queue", "interface", name=op.f("uq_queue_members_queue")),
    )
    op.create_index(
        op.f("ix_queue_members_operator_id"), "queue_members", ["operator_id"], unique=False
    )

    op.create_table(
        "queue_snapshots",
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("logged_in", sa.Integer(), nullable=False),
        sa.Column("available", sa.Integer(), nullable=False),
        sa.Column("callers", sa.Integer(), nullable=False),
        sa.Column("hold_time_s", sa.Integer(), nullable=False),
        sa.Column("talk_time_s", sa.Integer(), nullable=False),
        sa.Column("longest_hold_time_s", sa.Integer(), nullable=False),
        sa.Column("at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("queue", name=op.f("pk_queue_snapshots")),
    )

    op.create_table(
        "operator_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name=op.f("ck_operator_ratings_score_range")),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
            name=op.f("fk_operator_ratings_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["staff_users.id"],
            name=op.f("fk_operator_ratings_operator_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_ratings")),
        sa.UniqueConstraint("call_id", "operator_id", name=op.f("uq_operator_ratings_call_id")),
    )
    op.create_index(
        op.f("ix_operator_ratings_operator_id"), "operator_ratings", ["operator_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_operator_ratings_operator_id"), table_name="operator_ratings")
    op.drop_table("operator_ratings")
    op.drop_table("queue_snapshots")
    op.drop_index(op.f("ix_queue_members_operator_id"), table_name="queue_members")
    op.drop_table("queue_members")
    op.drop_index(op.f("ix_call_appeals_appeal_id"), table_name="call_appeals")
    op.drop_table("call_appeals")
    for name in ("ix_calls_state", "ix_calls_started_at", "ix_calls_queued_at"):
        op.drop_index(name, table_name="calls")
    for column in ("queue", "operator_id", "linkedid", "citizen_id", "caller_e164"):
        op.drop_index(op.f(f"ix_calls_{column}"), table_name="calls")
    op.drop_table("calls")
    op.drop_index(op.f("ix_staff_users_sip_interface"), table_name="staff_users")
    with op.batch_alter_table("staff_users") as batch:
        batch.drop_column("sip_interface")

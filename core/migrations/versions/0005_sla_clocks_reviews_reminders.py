"""sla — internal targets, pauses, extension requests, reviews, reminders (issue 6)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 14:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PAUSE_REASONS = ("citizen_clarification", "citizen_documents", "expert_opinion", "other")
_RETURN_REASONS = (
    "no_substance",
    "formal_reply",
    "wrong_organization",
    "missing_work_deadline",
    "other",
)


def upgrade() -> None:
    with op.batch_alter_table("appeals") as batch:
        batch.add_column(
            sa.Column("target_due_at", core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("paused_at", core.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("returns_count", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_index(op.f("ix_appeals_target_due_at"), "appeals", ["target_due_at"], unique=False)
    with op.batch_alter_table("staff_users") as batch:
        batch.add_column(
            sa.Column("is_head", sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    op.create_table(
        "appeal_pauses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column(
            "reason_code",
            sa.Enum(*_PAUSE_REASONS, name="pausereason", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("started_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("started_by_id", sa.Integer(), nullable=True),
        sa.Column("ended_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["appeal_id"],
            ["appeals.id"],
            name=op.f("fk_appeal_pauses_appeal_id_appeals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["started_by_id"],
            ["staff_users.id"],
            name=op.f("fk_appeal_pauses_started_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["ended_by_id"],
            ["staff_users.id"],
            name=op.f("fk_appeal_pauses_ended_by_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeal_pauses")),
    )
    op.create_index(
        "ix_appeal_pauses_appeal_open", "appeal_pauses", ["appeal_id", "ended_at"], unique=False
    )

    op.create_table(
        "extension_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_until", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "approved",
                "refused",
                name="extensionstate",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decision_comment", sa.Text(), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"],
            ["appeals.id"],
            name=op.f("fk_extension_requests_appeal_id_appeals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["staff_users.id"],
            name=op.f("fk_extension_requests_requested_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_extension_requests_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["staff_users.id"],
            name=op.f("fk_extension_requests_decided_by_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_extension_requests")),
    )
    op.create_index(
        "ix_extension_requests_state_created",
        "extension_requests",
        ["state", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_extension_requests_appeal_id", "extension_requests", ["appeal_id"], unique=False
    )

    op.create_table(
        "answer_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum("accepted", "returned", name="reviewoutcome", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column(
            "reason_code",
            sa.Enum(*_RETURN_REASONS, name="returnreason", native_enum=False, length=32),
            nullable=True,
        ),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"],
            ["appeals.id"],
            name=op.f("fk_answer_reviews_appeal_id_appeals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_answer_reviews_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["staff_users.id"],
            name=op.f("fk_answer_reviews_reviewer_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer_reviews")),
    )
    op.create_index(
        "ix_answer_reviews_org_outcome_created",
        "answer_reviews",
        ["organization_id", "outcome", "created_at"],
        unique=False,
    )
    op.create_index("ix_answer_reviews_appeal_id", "answer_reviews", ["appeal_id"], unique=False)

    op.create_table(
        "sla_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("due_moment", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recipient_kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["appeal_id"],
            ["appeals.id"],
            name=op.f("fk_sla_reminders_appeal_id_appeals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_reminders")),
        sa.UniqueConstraint("appeal_id", "kind", "due_moment", name="uq_sla_reminders_once"),
    )

    op.create_table(
        "staff_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=True),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=True),
        sa.Column("appeal_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("text_ru", sa.Text(), nullable=False),
        sa.Column("text_kk", sa.Text(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_user_id"],
            ["staff_users.id"],
            name=op.f("fk_staff_notifications_staff_user_id_staff_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_staff_notifications_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["appeal_id"],
            ["appeals.id"],
            name=op.f("fk_staff_notifications_appeal_id_appeals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_notifications")),
    )
    op.create_index(
        "ix_staff_notifications_org_created",
        "staff_notifications",
        ["organization_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_staff_notifications_role_created",
        "staff_notifications",
        ["role", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_staff_notifications_user_created",
        "staff_notifications",
        ["staff_user_id", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_staff_notifications_user_created", table_name="staff_notifications")
    op.drop_index("ix_staff_notifications_role_created", table_name="staff_notifications")
    op.drop_index("ix_staff_notifications_org_created", table_name="staff_notifications")
    op.drop_table("staff_notifications")
    op.drop_table("sla_reminders")
    op.drop_index("ix_answer_reviews_appeal_id", table_name="answer_reviews")
    op.drop_index("ix_answer_reviews_org_outcome_created", table_name="answer_reviews")
    op.drop_table("answer_reviews")
    op.drop_index("ix_extension_requests_appeal_id", table_name="extension_requests")
    op.drop_index("ix_extension_requests_state_created", table_name="extension_requests")
    op.drop_table("extension_requests")
    op.drop_index("ix_appeal_pauses_appeal_open", table_name="appeal_pauses")
    op.drop_table("appeal_pauses")
    with op.batch_alter_table("staff_users") as batch:
        batch.drop_column("is_head")
    op.drop_index(op.f("ix_appeals_target_due_at"), table_name="appeals")
    with op.batch_alter_table("appeals") as batch:
        batch.drop_column("returns_count")
        batch.drop_column("paused_at")
        batch.drop_column("target_due_at")

"""channels — outbound notifications, answer ratings, attachments (issue 7)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 14:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = ("receipt", "status_changed", "extension_notice", "answer", "rating_request")
_STATES = ("pending", "sending", "sent", "failed", "undeliverable")


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(*_KINDS, name="notificationkind", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(*_STATES, name="deliverystate", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("provider_message_id", sa.String(length=128), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["appeal_id"],
            ["appeals.id"],
            name=op.f("fk_notifications_appeal_id_appeals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("appeal_id", "kind", "key", name="uq_notifications_appeal_kind_key"),
    )
    op.create_index(op.f("ix_notifications_appeal_id"), "notifications", ["appeal_id"])
    op.create_index("ix_notifications_state_next", "notifications", ["state", "next_attempt_at"])
    op.create_index(
        op.f("ix_notifications_provider_message_id"), "notifications", ["provider_message_id"]
    )
    op.create_table(
        "answer_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column("answered_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("rated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.Column("reopened_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name=op.f("ck_answer_ratings_score_range")),
        sa.ForeignKeyConstraint(
            ["appeal_id"],
            ["appeals.id"],
            name=op.f("fk_answer_ratings_appeal_id_appeals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_answer_ratings_organization_id_organizations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer_ratings")),
        sa.UniqueConstraint("appeal_id", "answered_at", name="uq_answer_ratings_appeal_answer"),
    )
    op.create_index(op.f("ix_answer_ratings_appeal_id"), "answer_ratings", ["appeal_id"])
    op.create_index(
        "ix_answer_ratings_org_rated", "answer_ratings", ["organization_id", "rated_at"]
    )
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("original_name", sa.String(length=200), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"],
            ["appeals.id"],
            name=op.f("fk_attachments_appeal_id_appeals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
        sa.UniqueConstraint("appeal_id", "sha256", name="uq_attachments_appeal_sha256"),
    )
    op.create_index(op.f("ix_attachments_appeal_id"), "attachments", ["appeal_id"])
    op.create_table(
        "portal_token_appeals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"],
            ["appeals.id"],
            name=op.f("fk_portal_token_appeals_appeal_id_appeals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_token_appeals")),
        sa.UniqueConstraint("token_hash", "appeal_id", name="uq_portal_token_appeals_token_appeal"),
    )
    op.create_index(
        op.f("ix_portal_token_appeals_token_hash"), "portal_token_appeals", ["token_hash"]
    )
    op.create_index(
        op.f("ix_portal_token_appeals_appeal_id"), "portal_token_appeals", ["appeal_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_portal_token_appeals_appeal_id"), table_name="portal_token_appeals")
    op.drop_index(op.f("ix_portal_token_appeals_token_hash"), table_name="portal_token_appeals")
    op.drop_table("portal_token_appeals")
    op.drop_index(op.f("ix_attachments_appeal_id"), table_name="attachments")
    op.drop_table("attachments")
    op.drop_index("ix_answer_ratings_org_rated", table_name="answer_ratings")
    op.drop_index(op.f("ix_answer_ratings_appeal_id"), table_name="answer_ratings")
    op.drop_table("answer_ratings")
    op.drop_index(op.f("ix_notifications_provider_message_id"), table_name="notifications")
    op.drop_index("ix_notifications_state_next", table_name="notifications")
    op.drop_index(op.f("ix_notifications_appeal_id"), table_name="notifications")
    op.drop_table("notifications")

"""channels.social — posts, comments, replies and handles of social-media monitoring (issue 18)

- ``social_posts``: a post comments stand under, with the poller's cursor for it.
- ``social_comments``: each comment once per (platform, id), its author's public handle,
  its thread, the classifier's verdict, the operator's decision and the appeal it became.
- ``social_replies``: every reply we post, once per (comment, kind), with its outcome.
- ``social_handles``: an author on a platform and the citizen they are.

Revision ID: 0016_social
Revises: 0015_analytics
Create Date: 2026-12-07 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0016_social"
down_revision: str | None = "0015_analytics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Literal copies (a migration must not change when the code does).
_PLATFORMS = ("instagram", "facebook", "telegram", "vk")
_STATES = ("appeal", "not_appeal", "doubtful", "answered")
_KINDS = ("receipt", "phone_request", "answer", "operator")
_REPLY_STATES = ("pending", "sending", "sent", "failed")


def _platform() -> sa.Enum:
    return sa.Enum(*_PLATFORMS, name="platform", native_enum=False, length=16)


def upgrade() -> None:
    op.create_table(
        "social_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", _platform(), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("permalink", sa.String(length=500), nullable=True),
        sa.Column("by_visitor", sa.Boolean(), nullable=False),
        sa.Column("posted_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_seen_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("poll_seen_until", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("poll_after", sa.String(length=512), nullable=True),
        sa.Column("poll_pass_newest", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("polled_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_social_posts")),
        sa.UniqueConstraint("platform", "external_id", name="uq_social_posts_platform_external_id"),
    )
    op.create_index(op.f("ix_social_posts_account_id"), "social_posts", ["account_id"])

    op.create_table(
        "social_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", _platform(), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("parent_external_id", sa.String(length=128), nullable=True),
        sa.Column("is_post", sa.Boolean(), nullable=False),
        sa.Column("author_id", sa.String(length=64), nullable=True),
        sa.Column("author_handle", sa.String(length=200), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("edited_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("via_webhook", sa.Boolean(), nullable=False),
        sa.Column("via_poll", sa.Boolean(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(*_STATES, name="commentstate", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("appeal_id", sa.Integer(), nullable=True),
        sa.Column("first_public_reply_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["post_id"], ["social_posts.id"], name=op.f("fk_social_comments_post_id_social_posts")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["staff_users.id"],
            name=op.f("fk_social_comments_decided_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["appeal_id"], ["appeals.id"], name=op.f("fk_social_comments_appeal_id_appeals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_social_comments")),
        sa.UniqueConstraint(
            "platform", "external_id", name="uq_social_comments_platform_external_id"
        ),
    )
    op.create_index(op.f("ix_social_comments_account_id"), "social_comments", ["account_id"])
    op.create_index(op.f("ix_social_comments_appeal_id"), "social_comments", ["appeal_id"])
    op.create_index("ix_social_comments_post_created", "social_comments", ["post_id", "created_at"])
    op.create_index("ix_social_comments_state_created", "social_comments", ["state", "created_at"])

    op.create_table(
        "social_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(*_KINDS, name="replykind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column(
            "state",
            sa.Enum(*_REPLY_STATES, name="replystate", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("provider_id", sa.String(length=128), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["social_comments.id"],
            name=op.f("fk_social_replies_comment_id_social_comments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["staff_users.id"],
            name=op.f("fk_social_replies_created_by_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_social_replies")),
        sa.UniqueConstraint("comment_id", "kind", name="uq_social_replies_comment_id"),
    )
    op.create_index("ix_social_replies_state_next", "social_replies", ["state", "next_attempt_at"])

    op.create_table(
        "social_handles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", _platform(), nullable=False),
        sa.Column("author_id", sa.String(length=64), nullable=False),
        sa.Column("handle", sa.String(length=200), nullable=True),
        sa.Column("citizen_id", sa.Integer(), nullable=True),
        sa.Column("phone_linked_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizens.id"], name=op.f("fk_social_handles_citizen_id_citizens")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_social_handles")),
        sa.UniqueConstraint("platform", "author_id", name="uq_social_handles_platform_author_id"),
    )
    op.create_index(op.f("ix_social_handles_citizen_id"), "social_handles", ["citizen_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_social_handles_citizen_id"), table_name="social_handles")
    op.drop_table("social_handles")
    op.drop_index("ix_social_replies_state_next", table_name="social_replies")
    op.drop_table("social_replies")
    op.drop_index("ix_social_comments_state_created", table_name="social_comments")
    op.drop_index("ix_social_comments_post_created", table_name="social_comments")
    op.drop_index(op.f("ix_social_comments_appeal_id"), table_name="social_comments")
    op.drop_index(op.f("ix_social_comments_account_id"), table_name="social_comments")
    op.drop_table("social_comments")
    op.drop_index(op.f("ix_social_posts_account_id"), table_name="social_posts")
    op.drop_table("social_posts")

"""knowledge_base — articles and life situations, versions, learned pairs, vectors, proposals (issue 15)

Revision ID: 0013_knowledge_base
Revises: 0012_experience
Create Date: 2026-12-01 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0013_knowledge_base"
down_revision: str | None = "0012_experience"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kb_articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=120), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("article", "life_situation", name="articlekind", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "draft", "published", "archived", name="articlestatus", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("title_ru", sa.String(length=300), nullable=False),
        sa.Column("title_kk", sa.String(length=300), nullable=False),
        sa.Column("body_ru", sa.Text(), nullable=False),
        sa.Column("body_kk", sa.Text(), nullable=False),
        sa.Column("steps_ru", sa.JSON(), nullable=False),
        sa.Column("steps_kk", sa.JSON(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("category_code", sa.String(length=64), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("checked_on", sa.Date(), nullable=True),
        sa.Column("example", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_kb_articles_organization_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_articles")),
        sa.UniqueConstraint("slug", name=op.f("uq_kb_articles_slug")),
    )
    op.create_index(op.f("ix_kb_articles_organization_id"), "kb_articles", ["organization_id"])
    op.create_index(op.f("ix_kb_articles_status"), "kb_articles", ["status"])
    op.create_index(op.f("ix_kb_articles_updated_at"), "kb_articles", ["updated_at"])

    op.create_table(
        "kb_article_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("edited_by_id", sa.Integer(), nullable=True),
        sa.Column("edited_by", sa.String(length=120), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["kb_articles.id"],
            name=op.f("fk_kb_article_versions_article_id_kb_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["edited_by_id"],
            ["staff_users.id"],
            name=op.f("fk_kb_article_versions_edited_by_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_article_versions")),
    )
    op.create_index(
        "ix_kb_article_versions_article",
        "kb_article_versions",
        ["article_id", "version"],
        unique=True,
    )

    op.create_table(
        "kb_pairs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "operator",
                "citizen",
                "portal",
                "editor",
                name="pairsource",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("helped", sa.Boolean(), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        sa.Column("appeal_id", sa.Integer(), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["kb_articles.id"],
            name=op.f("fk_kb_pairs_article_id_kb_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["staff_users.id"],
            name=op.f("fk_kb_pairs_operator_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["appeal_id"],
            ["appeals.id"],
            name=op.f("fk_kb_pairs_appeal_id_appeals"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_pairs")),
    )
    op.create_index(op.f("ix_kb_pairs_article_id"), "kb_pairs", ["article_id"])
    op.create_index(op.f("ix_kb_pairs_operator_id"), "kb_pairs", ["operator_id"])
    op.create_index(op.f("ix_kb_pairs_appeal_id"), "kb_pairs", ["appeal_id"])
    op.create_index(op.f("ix_kb_pairs_created_at"), "kb_pairs", ["created_at"])

    op.create_table(
        "kb_embeddings",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_kb_embeddings")),
    )

    op.create_table(
        "kb_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("appeal_ids", sa.JSON(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open", "accepted", "dismissed", name="proposalstatus", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["kb_articles.id"],
            name=op.f("fk_kb_proposals_article_id_kb_articles"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_proposals")),
    )
    op.create_index(op.f("ix_kb_proposals_status"), "kb_proposals", ["status"])


def downgrade() -> None:
    op.drop_table("kb_proposals")
    op.drop_table("kb_embeddings")
    op.drop_table("kb_pairs")
    op.drop_table("kb_article_versions")
    op.drop_table("kb_articles")

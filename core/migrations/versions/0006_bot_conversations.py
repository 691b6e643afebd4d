"""channels — bot contacts and processed inbound messages (issue 7, bots)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 14:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bot_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=True),
        sa.Column("phone_e164", sa.String(length=20), nullable=True),
        sa.Column("citizen_id", sa.Integer(), nullable=True),
        sa.Column("last_inbound_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizens.id"], name=op.f("fk_bot_contacts_citizen_id_citizens")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_contacts")),
        sa.UniqueConstraint("channel", "address", name="uq_bot_contacts_channel_address"),
    )
    op.create_index(
        op.f("ix_bot_contacts_citizen_id"), "bot_contacts", ["citizen_id"], unique=False
    )
    op.create_table(
        "bot_inbound",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("processed_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["bot_contacts.id"],
            name=op.f("fk_bot_inbound_contact_id_bot_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_inbound")),
        sa.UniqueConstraint("channel", "external_id", name="uq_bot_inbound_channel_external_id"),
    )
    op.create_index(op.f("ix_bot_inbound_contact_id"), "bot_inbound", ["contact_id"], unique=False)
    op.create_table(
        "bot_media",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=256), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"],
            ["appeals.id"],
            name=op.f("fk_bot_media_appeal_id_appeals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_media")),
    )
    op.create_index(op.f("ix_bot_media_appeal_id"), "bot_media", ["appeal_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_bot_media_appeal_id"), table_name="bot_media")
    op.drop_table("bot_media")
    op.drop_index(op.f("ix_bot_inbound_contact_id"), table_name="bot_inbound")
    op.drop_table("bot_inbound")
    op.drop_index(op.f("ix_bot_contacts_citizen_id"), table_name="bot_contacts")
    op.drop_table("bot_contacts")

"""identities merges, appeal links, incidents

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 13:02:44.010311
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "citizen_merges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kept_id", sa.Integer(), nullable=False),
        sa.Column("merged_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("undone_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("undone_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["by_id"], ["staff_users.id"], name=op.f("fk_citizen_merges_by_id_staff_users")
        ),
        sa.ForeignKeyConstraint(
            ["kept_id"], ["citizens.id"], name=op.f("fk_citizen_merges_kept_id_citizens")
        ),
        sa.ForeignKeyConstraint(
            ["merged_id"], ["citizens.id"], name=op.f("fk_citizen_merges_merged_id_citizens")
        ),
        sa.ForeignKeyConstraint(
            ["undone_by_id"],
            ["staff_users.id"],
            name=op.f("fk_citizen_merges_undone_by_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizen_merges")),
    )
    op.create_index(op.f("ix_citizen_merges_kept_id"), "citizen_merges", ["kept_id"], unique=False)
    op.create_index(
        op.f("ix_citizen_merges_merged_id"), "citizen_merges", ["merged_id"], unique=False
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_code", sa.String(length=96), nullable=False),
        sa.Column("district_code", sa.String(length=32), nullable=True),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("first_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("appeals_count", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("answer_text", sa.Text(), nullable=True),
        sa.Column("answered_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["answered_by_id"],
            ["staff_users.id"],
            name=op.f("fk_incidents_answered_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["category_code"],
            ["categories.code"],
            name=op.f("fk_incidents_category_code_categories"),
        ),
        sa.ForeignKeyConstraint(
            ["district_code"], ["districts.code"], name=op.f("fk_incidents_district_code_districts")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_incidents_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    op.create_table(
        "appeal_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column("other_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("repeat", "duplicate", name="linkkind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "suggested", "confirmed", "broken", name="linkstatus", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"],
            ["appeals.id"],
            name=op.f("fk_appeal_links_appeal_id_appeals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["staff_users.id"],
            name=op.f("fk_appeal_links_decided_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["other_id"],
            ["appeals.id"],
            name=op.f("fk_appeal_links_other_id_appeals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeal_links")),
        sa.UniqueConstraint("appeal_id", "other_id", "kind", name="uq_appeal_links_pair"),
    )
    op.create_index(op.f("ix_appeal_links_appeal_id"), "appeal_links", ["appeal_id"], unique=False)
    op.create_index(op.f("ix_appeal_links_other_id"), "appeal_links", ["other_id"], unique=False)
    with op.batch_alter_table("appeals") as batch:
        batch.add_column(
            sa.Column("is_repeat", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(sa.Column("incident_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("match_text", sa.Text(), nullable=True))
        batch.add_column(sa.Column("place_keys", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("street_key", sa.String(length=64), nullable=True))
        batch.create_foreign_key(
            op.f("fk_appeals_incident_id_incidents"), "incidents", ["incident_id"], ["id"]
        )
    op.create_index(
        "ix_appeals_category_district_received",
        "appeals",
        ["category_code", "district_code", "received_at"],
        unique=False,
    )
    op.create_index(op.f("ix_appeals_incident_id"), "appeals", ["incident_id"], unique=False)
    op.create_index(
        "ix_appeals_category_street_received",
        "appeals",
        ["category_code", "street_key", "received_at"],
        unique=False,
    )
    with op.batch_alter_table("citizens") as batch:
        batch.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_citizens_merged_into_id_citizens"), "citizens", ["merged_into_id"], ["id"]
        )
    op.create_index(
        op.f("ix_citizens_merged_into_id"), "citizens", ["merged_into_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_citizens_merged_into_id"), table_name="citizens")
    with op.batch_alter_table("citizens") as batch:
        batch.drop_constraint(op.f("fk_citizens_merged_into_id_citizens"), type_="foreignkey")
        batch.drop_column("merged_into_id")
    op.drop_index(op.f("ix_appeals_incident_id"), table_name="appeals")
    op.drop_index("ix_appeals_category_district_received", table_name="appeals")
    op.drop_index("ix_appeals_category_street_received", table_name="appeals")
    with op.batch_alter_table("appeals") as batch:
        batch.drop_constraint(op.f("fk_appeals_incident_id_incidents"), type_="foreignkey")
        batch.drop_column("incident_id")
        batch.drop_column("street_key")
        batch.drop_column("place_keys")
        batch.drop_column("match_text")
        batch.drop_column("is_repeat")
    op.drop_index(op.f("ix_appeal_links_other_id"), table_name="appeal_links")
    op.drop_index(op.f("ix_appeal_links_appeal_id"), table_name="appeal_links")
    op.drop_table("appeal_links")
    op.drop_table("incidents")
    op.drop_index(op.f("ix_citizen_merges_merged_id"), table_name="citizen_merges")
    op.drop_index(op.f("ix_citizen_merges_kept_id"), table_name="citizen_merges")
    op.drop_table("citizen_merges")

"""routing rules versions, service areas, assignments

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 12:28:08.456266
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "service_areas",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name_ru", sa.String(length=200), nullable=False),
        sa.Column("name_kk", sa.String(length=200), nullable=False),
        sa.Column("streets", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_service_areas")),
    )
    op.create_table(
        "appeal_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum("lead", "co_executor", name="assignmentrole", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("assigned_by_id", sa.Integer(), nullable=True),
        sa.Column("started_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("part", sa.Text(), nullable=True),
        sa.Column("answer_text", sa.Text(), nullable=True),
        sa.Column("answered_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["answered_by_id"],
            ["staff_users.id"],
            name=op.f("fk_appeal_assignments_answered_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["appeal_id"],
            ["appeals.id"],
            name=op.f("fk_appeal_assignments_appeal_id_appeals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["assigned_by_id"],
            ["staff_users.id"],
            name=op.f("fk_appeal_assignments_assigned_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_appeal_assignments_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["routing_rules.id"],
            name=op.f("fk_appeal_assignments_rule_id_routing_rules"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeal_assignments")),
    )
    op.create_index(
        "ix_appeal_assignments_appeal",
        "appeal_assignments",
        ["appeal_id", "ended_at"],
        unique=False,
    )
    op.create_index(
        "ix_appeal_assignments_org_open",
        "appeal_assignments",
        ["organization_id", "ended_at"],
        unique=False,
    )
    with op.batch_alter_table("appeals") as batch:
        batch.add_column(
            sa.Column("escalated_at", core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("escalation_reason", sa.String(length=64), nullable=True))
    with op.batch_alter_table("organization_changes") as batch:
        batch.add_column(
            sa.Column("category_map", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )
        batch.add_column(sa.Column("applied_at", core.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("moved_appeals", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("routing_rules") as batch:
        batch.add_column(sa.Column("service_area_code", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(
            sa.Column(
                "created_at",
                core.db.UTCDateTime(timezone=True),
                nullable=False,
                server_default=sa.func.current_timestamp(),
            )
        )
        batch.add_column(sa.Column("created_by_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("superseded_at", core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("superseded_by_id", sa.Integer(), nullable=True))
        batch.drop_constraint(op.f("uq_routing_rule_scope"), type_="unique")
        batch.create_foreign_key(
            op.f("fk_routing_rules_created_by_id_staff_users"),
            "staff_users",
            ["created_by_id"],
            ["id"],
        )
        batch.create_foreign_key(
            op.f("fk_routing_rules_superseded_by_id_routing_rules"),
            "routing_rules",
            ["superseded_by_id"],
            ["id"],
        )
        batch.create_foreign_key(
            op.f("fk_routing_rules_service_area_code_service_areas"),
            "service_areas",
            ["service_area_code"],
            ["code"],
        )
    op.create_index(
        "uq_routing_rules_active_scope",
        "routing_rules",
        [
            "category_code",
            sa.literal_column("coalesce(district_code, '')"),
            sa.literal_column("coalesce(service_area_code, '')"),
        ],
        unique=True,
        postgresql_where=sa.text("superseded_at IS NULL"),
        sqlite_where=sa.text("superseded_at IS NULL"),
    )
    # Every appeal already with an organization gets its lead assignment, so history is whole.
    op.execute(
        """
        INSERT INTO appeal_assignments (appeal_id, organization_id, role, kind, rule_id, reason, started_at, late)
        SELECT id, organization_id, 'lead',
               CASE WHEN routing_rule_id IS NULL THEN 'manual' ELSE 'rule' END,
               routing_rule_id, COALESCE(routing_reason, ''), received_at, false
        FROM appeals WHERE organization_id IS NOT NULL
        """
    )


def downgrade() -> None:
    op.drop_index("uq_routing_rules_active_scope", table_name="routing_rules")
    op.execute("DELETE FROM routing_rules WHERE superseded_at IS NOT NULL")
    with op.batch_alter_table("routing_rules") as batch:
        batch.drop_constraint(
            op.f("fk_routing_rules_service_area_code_service_areas"), type_="foreignkey"
        )
        batch.drop_constraint(
            op.f("fk_routing_rules_superseded_by_id_routing_rules"), type_="foreignkey"
        )
        batch.drop_constraint(
            op.f("fk_routing_rules_created_by_id_staff_users"), type_="foreignkey"
        )
        batch.drop_column("superseded_by_id")
        batch.drop_column("superseded_at")
        batch.drop_column("created_by_id")
        batch.drop_column("created_at")
        batch.drop_column("version")
        batch.drop_column("service_area_code")
        batch.create_unique_constraint(
            op.f("uq_routing_rule_scope"), ["category_code", "district_code"]
        )
    with op.batch_alter_table("organization_changes") as batch:
        batch.drop_column("moved_appeals")
        batch.drop_column("applied_at")
        batch.drop_column("category_map")
    with op.batch_alter_table("appeals") as batch:
        batch.drop_column("escalation_reason")
        batch.drop_column("escalated_at")
    op.drop_index("ix_appeal_assignments_org_open", table_name="appeal_assignments")
    op.drop_index("ix_appeal_assignments_appeal", table_name="appeal_assignments")
    op.drop_table("appeal_assignments")
    op.drop_table("service_areas")

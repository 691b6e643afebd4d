"""several machines — cache stamps kept by statement triggers (issue 20)

Declared in ``core/stamps.py``. On PostgreSQL every table a process-wide cache reads bumps
its cache's stamp in the writer's transaction, so each process sees a change at its next
decision; on SQLite (one process) the table is there and the caches keep their timers.

Revision ID: 0022_scale
Revises: 0019_experience_web
Create Date: 2026-12-07 11:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0022_scale"
down_revision: str | None = "0019_experience_web"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# stamp -> the tables whose changes move it (kept in step with core.stamps.STAMPED_TABLES)
STAMPED_TABLES: dict[str, tuple[str, ...]] = {
    "routing": ("routing_rules", "categories", "districts", "organizations", "service_areas"),
    "calendar": ("calendar_overrides",),
    "labels": ("categories", "districts", "organizations"),
    "operators": ("staff_users",),
    "topic_model": (),
}
# Only the columns the operator map reads: a sign-in that updates staff_users moves nothing.
COLUMNS = {"staff_users": "sip_interface, is_active"}


def upgrade() -> None:
    op.create_table(
        "cache_stamps",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_cache_stamps")),
    )
    stamps = sa.table(
        "cache_stamps",
        sa.column("name", sa.String),
        sa.column("version", sa.BigInteger),
        sa.column("changed_at", core.db.UTCDateTime(timezone=True)),
    )
    from core.clock import now

    op.bulk_insert(
        stamps, [{"name": name, "version": 0, "changed_at": now()} for name in STAMPED_TABLES]
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    # Versions come from a sequence, never reused even when a transaction rolls back: a
    # process that cached what an aborted transaction saw cannot meet its version again.
    op.execute("CREATE SEQUENCE cache_stamps_seq")
    op.execute(
        """
        CREATE FUNCTION bump_cache_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE cache_stamps SET version = nextval('cache_stamps_seq'), changed_at = now()
            WHERE name = TG_ARGV[0];
            RETURN NULL;
        END
        $$
        """
    )
    for stamp, tables in STAMPED_TABLES.items():
        for table in tables:
            columns = COLUMNS.get(table)
            events = (
                f"INSERT OR DELETE OR UPDATE OF {columns}"
                if columns
                else ("INSERT OR UPDATE OR DELETE")
            )
            op.execute(
                f"CREATE TRIGGER stamp_{stamp}_{table} AFTER {events} ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION bump_cache_stamp('{stamp}')"
            )
            op.execute(
                f"CREATE TRIGGER stamp_{stamp}_{table}_truncate AFTER TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION bump_cache_stamp('{stamp}')"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for stamp, tables in STAMPED_TABLES.items():
            for table in tables:
                op.execute(f"DROP TRIGGER stamp_{stamp}_{table} ON {table}")
                op.execute(f"DROP TRIGGER stamp_{stamp}_{table}_truncate ON {table}")
        op.execute("DROP FUNCTION bump_cache_stamp()")
        op.execute("DROP SEQUENCE cache_stamps_seq")
    op.drop_table("cache_stamps")

"""staff and citizen experience — reasons as codes, search of appeals (issue 14)

- ``appeal_status_changes.reason_code``/``reason_params`` and
  ``appeals.routing_reason_code``/``routing_reason_params``: why an appeal moved, as a
  code and its parameters (``appeals.reasons``) that the staff pages render in Russian or
  Kazakh; the English ``reason`` columns stay for the API and logs.
- Search (``appeals.search``): ``appeals.search_vector``, the Russian full-text vector of
  the appeal's text, kept by a trigger on PostgreSQL (only when the text changes: a status
  update does not recompute it) with a GIN index; trigram indexes (``pg_trgm``) on
  tracking numbers and on citizens' names and phones for parts of them; ``received_at``
  for the newest-first list. SQLite keeps the column empty and searches with LIKE.

Revision ID: 0012_experience
Revises: 0010_telephony
Create Date: 2026-12-07 08:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012_experience"
down_revision: str | None = "0010_telephony"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Literal copies (a migration must not change when the code does).
_TRIGGER_FUNCTION = """
CREATE OR REPLACE FUNCTION appeals_search_vector() RETURNS trigger AS $$
BEGIN
    NEW.search_vector := to_tsvector('pg_catalog.russian', coalesce(NEW.text, ''));
    RETURN NEW;
END
$$ LANGUAGE plpgsql
"""
_TRIGGER = """
CREATE TRIGGER appeals_search_vector BEFORE INSERT OR UPDATE OF text ON appeals
FOR EACH ROW EXECUTE FUNCTION appeals_search_vector()
"""
# One database holds several schemas (tests, benches): pg_trgm is installed once, in
# ``public``, under a lock, so two migrations at once do not race to create it.
_TRGM_LOCK = 1_412_202_612
_TRIGRAM_INDEXES = (
    ("ix_appeals_tracking_number_trgm", "appeals", "tracking_number"),
    ("ix_citizens_full_name_trgm", "citizens", "full_name"),
    ("ix_citizens_phone_e164_trgm", "citizens", "phone_e164"),
)


def _trigram_schema() -> str | None:
    """The schema holding pg_trgm's operator classes, installing it if need be; None when
    the server has no pg_trgm or we may not install it (the search still works, slower)."""
    bind = op.get_bind()
    found = bind.scalar(
        sa.text(
            "SELECT n.nspname FROM pg_extension AS e JOIN pg_namespace AS n "
            "ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
        )
    )
    if found is not None:
        return str(found)
    available = bind.scalar(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'"))
    if available is None:
        return None
    savepoint = bind.begin_nested()
    try:
        bind.execute(sa.text(f"SELECT pg_advisory_xact_lock({_TRGM_LOCK})"))
        bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public"))
    except sa.exc.DBAPIError:
        savepoint.rollback()
        return None
    savepoint.commit()
    found = bind.scalar(
        sa.text(
            "SELECT n.nspname FROM pg_extension AS e JOIN pg_namespace AS n "
            "ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
        )
    )
    return str(found) if found is not None else None


def upgrade() -> None:
    with op.batch_alter_table("appeal_status_changes") as batch:
        batch.add_column(sa.Column("reason_code", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("reason_params", sa.JSON(), nullable=True))
    with op.batch_alter_table("appeals") as batch:
        batch.add_column(sa.Column("routing_reason_code", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("routing_reason_params", sa.JSON(), nullable=True))
        batch.add_column(
            sa.Column(
                "search_vector",
                postgresql.TSVECTOR().with_variant(sa.Text(), "sqlite"),
                nullable=True,
            )
        )
    op.create_index("ix_appeals_received_at", "appeals", ["received_at", "id"], unique=False)
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_TRIGGER_FUNCTION)
    op.execute(_TRIGGER)
    # Existing appeals get their vector (the trigger fires on UPDATE OF text).
    op.execute("UPDATE appeals SET text = text")
    op.create_index(
        "ix_appeals_search_vector",
        "appeals",
        ["search_vector"],
        unique=False,
        postgresql_using="gin",
    )
    schema = _trigram_schema()
    if schema is None:
        return
    for name, table, column in _TRIGRAM_INDEXES:
        op.execute(
            f'CREATE INDEX "{name}" ON "{table}" USING gin ("{column}" "{schema}".gin_trgm_ops)'
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, _table, _column in reversed(_TRIGRAM_INDEXES):
            op.execute(f'DROP INDEX IF EXISTS "{name}"')
        op.drop_index("ix_appeals_search_vector", table_name="appeals")
        op.execute("DROP TRIGGER IF EXISTS appeals_search_vector ON appeals")
        op.execute("DROP FUNCTION IF EXISTS appeals_search_vector()")
    op.drop_index("ix_appeals_received_at", table_name="appeals")
    with op.batch_alter_table("appeals") as batch:
        batch.drop_column("search_vector")
        batch.drop_column("routing_reason_params")
        batch.drop_column("routing_reason_code")
    with op.batch_alter_table("appeal_status_changes") as batch:
        batch.drop_column("reason_params")
        batch.drop_column("reason_code")

"""sla board — indexes for the inspectors' board queries (issue 6, board)

Partial covering indexes on PostgreSQL (open appeals only, and the review queue); plain on
SQLite, where the embedded first run has few appeals. Declared in ``intake/board_models.py``.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 14:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Literal copies (a migration must not change when the code does); sorted statuses.
_OPEN = (
    "status IN ('assigned', 'extended', 'forwarded', 'in_progress', 'received', "
    "'registered', 'reopened', 'returned')"
)
_REVIEW = "status = 'answered'"


def upgrade() -> None:
    op.create_index(
        "ix_appeals_board_open_due",
        "appeals",
        ["due_at"],
        unique=False,
        postgresql_where=sa.text(_OPEN),
        postgresql_include=[
            "organization_id",
            "district_code",
            "category_code",
            "channel",
            "received_at",
            "target_due_at",
            "paused_at",
        ],
    )
    op.create_index(
        "ix_appeals_board_open_org",
        "appeals",
        ["organization_id", "due_at"],
        unique=False,
        postgresql_where=sa.text(_OPEN),
        postgresql_include=[
            "district_code",
            "category_code",
            "channel",
            "received_at",
            "target_due_at",
            "paused_at",
        ],
    )
    op.create_index(
        "ix_appeals_board_open_district",
        "appeals",
        ["district_code", "due_at"],
        unique=False,
        postgresql_where=sa.text(_OPEN),
        postgresql_include=[
            "organization_id",
            "category_code",
            "channel",
            "received_at",
            "target_due_at",
            "paused_at",
        ],
    )
    op.create_index(
        "ix_appeals_board_review",
        "appeals",
        ["answered_at"],
        unique=False,
        postgresql_where=sa.text(_REVIEW),
    )


def downgrade() -> None:
    op.drop_index("ix_appeals_board_review", table_name="appeals")
    op.drop_index("ix_appeals_board_open_district", table_name="appeals")
    op.drop_index("ix_appeals_board_open_org", table_name="appeals")
    op.drop_index("ix_appeals_board_open_due", table_name="appeals")

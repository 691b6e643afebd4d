"""experience on the web — screen-pops through the database where there is no Redis
(issue 14, item 9)

Declared in ``channels/telephony/models.py`` (``ScreenPopRow``).

Revision ID: 0019_experience_web
Revises: 0017_nlp_places
Create Date: 2026-12-07 11:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0019_experience_web"
down_revision: str | None = "0017_nlp_places"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "screen_pops",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screen_pops")),
    )
    op.create_index(op.f("ix_screen_pops_created_at"), "screen_pops", ["created_at"], unique=False)
    op.create_index(
        "ix_screen_pops_operator_id_id", "screen_pops", ["operator_id", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_screen_pops_operator_id_id", table_name="screen_pops")
    op.drop_index(op.f("ix_screen_pops_created_at"), table_name="screen_pops")
    op.drop_table("screen_pops")

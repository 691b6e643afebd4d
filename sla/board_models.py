"""Indexes the SLA board needs on ``appeals`` (declared here, created by migration 0009).

The board only ever reads open appeals (5–10 % of the table) and the review queue, so on
PostgreSQL the indexes are partial (they stay small) and covering: every column the board
filters or counts on is in each of them, so its aggregates are index-only scans. The
predicate is literal SQL, not bound parameters, so that PostgreSQL can prove a query
implies it even under a generic (prepared) plan. SQLite gets plain indexes.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import Index, TextClause, text

from appeals.lifecycle import OPEN_STATUSES, Status
from appeals.models import Appeal
from core.db import table_of

#: The open statuses, sorted so the SQL text (and the index definition) is stable.
OPEN_STATUS_VALUES: Final = tuple(sorted(status.value for status in OPEN_STATUSES))
OPEN_SQL: Final = "status IN ({})".format(", ".join(f"'{value}'" for value in OPEN_STATUS_VALUES))
REVIEW_SQL: Final = f"status = '{Status.ANSWERED.value}'"


def open_predicate() -> TextClause:
    """``status IN (…open…)`` exactly as the partial indexes say it."""
    return text(OPEN_SQL)


def review_predicate() -> TextClause:
    return text(REVIEW_SQL)


_appeals = table_of(Appeal)
_c = _appeals.c

# The whole board (no organization or district filter) and the lists ordered by deadline.
BOARD_OPEN_DUE = Index(
    "ix_appeals_board_open_due",
    _c.due_at,
    postgresql_where=open_predicate(),
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
# One organization's board (an executor's, or a drill-down from the inspectors' table).
BOARD_OPEN_ORGANIZATION = Index(
    "ix_appeals_board_open_org",
    _c.organization_id,
    _c.due_at,
    postgresql_where=open_predicate(),
    postgresql_include=[
        "district_code",
        "category_code",
        "channel",
        "received_at",
        "target_due_at",
        "paused_at",
    ],
)
# One district's board.
BOARD_OPEN_DISTRICT = Index(
    "ix_appeals_board_open_district",
    _c.district_code,
    _c.due_at,
    postgresql_where=open_predicate(),
    postgresql_include=[
        "organization_id",
        "category_code",
        "channel",
        "received_at",
        "target_due_at",
        "paused_at",
    ],
)
# The review queue: answers awaiting an inspector, oldest first.
BOARD_REVIEW = Index(
    "ix_appeals_board_review",
    _c.answered_at,
    postgresql_where=review_predicate(),
)

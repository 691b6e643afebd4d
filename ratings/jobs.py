"""The worker's ranking job: store each closed period's table once it has closed.

``civicdesk worker`` runs it from its relay loop (every round; it costs one query per period
once the tables are stored), and ``civicdesk ratings snapshot`` runs it by hand. Two workers
at once store each table once (the unique period key: the second insert does nothing).
"""

from __future__ import annotations

import logging
from datetime import date

from core import db
from ratings.snapshots import store_closed

log = logging.getLogger(__name__)


def snapshot_closed_periods(today: str | None = None) -> list[str]:
    """Store the rankings of the weeks, months, quarters and years that have closed."""
    day = date.fromisoformat(today) if today else None
    with db.transaction() as session:
        stored = store_closed(session, today=day)
    if stored:
        log.info("ranking snapshots stored: %s", ", ".join(stored))
    return stored

"""RQ jobs of intake: top-level functions that take ids (JSON-serializable)."""

from __future__ import annotations

from core import db, jobs
from intake.pipeline import process


def process_appeal(appeal_id: int, *, outbox_id: int | None = None) -> str:
    """Run the pipeline for one appeal and complete its outbox row in the same transaction."""
    with db.transaction() as session:
        if not jobs.claim(session, outbox_id):
            return "already done"
        appeal = process(session, appeal_id)
        return "missing" if appeal is None else appeal.status.value

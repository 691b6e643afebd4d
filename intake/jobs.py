"""RQ jobs of intake: top-level functions, JSON-serializable arguments."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from appeals.lifecycle import Status
from appeals.models import Appeal
from core import db, jobs
from core.clock import now
from core.settings import get_settings
from intake.pipeline import DEFAULT_BATCH, process_batch

PIPELINE_JOB = "intake.jobs.process_pending"


def _batch(batch_size: int) -> int:
    with db.transaction() as session:
        return len(process_batch(session, limit=batch_size))


def process_pending(batch_size: int = DEFAULT_BATCH, gather_s: float = 0.2) -> int:
    """Drain every appeal still in ``received``, a batch per transaction; returns how many.

    Under a steady stream the job keeps going, pausing ``gather_s`` after a
    partial batch so the next one is fuller (one transaction for many appeals
    instead of one each). When a batch comes back empty it clears its coalesce
    flag — commits from then on enqueue a new run — and looks once more, so an
    appeal committed just before the flag was cleared is not left waiting.
    """
    if get_settings().jobs_inline:
        gather_s = 0.0  # inline, the job runs inside a request: never make it wait
    total = 0
    while True:
        processed = _batch(batch_size)
        total += processed
        if processed == batch_size:
            continue
        if processed and gather_s:
            time.sleep(gather_s)
            continue
        jobs.coalesced_job_started(PIPELINE_JOB)
        processed = _batch(batch_size)
        total += processed
        if not processed:
            return total


def relay_stale(session: Session, *, older_than_s: int) -> int:
    """Ask for the pipeline again if appeals wait in ``received`` too long (a lost job)."""
    cutoff = now() - timedelta(seconds=older_than_s)
    stale = session.scalar(
        select(func.count())
        .select_from(Appeal)
        .where(Appeal.status == Status.RECEIVED, Appeal.received_at < cutoff)
    )
    if stale:
        jobs.dispatch_coalesced(PIPELINE_JOB)
    return int(stale or 0)

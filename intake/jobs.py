"""RQ jobs of intake: top-level functions, JSON-serializable arguments."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import db, jobs
from core.clock import now
from intake.lifecycle import Status
from intake.models import Appeal
from intake.pipeline import DEFAULT_BATCH, process_batch

PIPELINE_JOB = "intake.jobs.process_pending"


def process_pending(batch_size: int = DEFAULT_BATCH) -> int:
    """Drain every appeal still in ``received``, a batch per transaction; returns how many."""
    jobs.coalesced_job_started(PIPELINE_JOB)
    total = 0
    while True:
        with db.transaction() as session:
            processed = len(process_batch(session, limit=batch_size))
        total += processed
        if processed < batch_size:
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

"""RQ jobs of intake: top-level functions, JSON-serializable arguments."""

from __future__ import annotations

import logging
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
log = logging.getLogger(__name__)


def _batch(batch_size: int) -> int:
    """One batch in its own transaction; its time from claim to commit is logged (INFO), the
    figure ``bench/scale.py`` reads to show no batch waits long on another."""
    started = time.monotonic()
    with db.transaction() as session:
        processed = len(process_batch(session, limit=batch_size))
    if processed:
        log.info("pipeline batch: %d appeals in %.3f s", processed, time.monotonic() - started)
    return processed


def process_pending(batch_size: int = DEFAULT_BATCH, gather_s: float = 0.2) -> int:
    """Drain every appeal still in ``received``, a batch per transaction; returns how many.

    The run holds a claim (``core.jobs.coalesced_run``) that its worker renews while it
    lives: commits meanwhile do not enqueue more runs, and a killed worker's claim lapses
    within seconds, so the next commit or the relay starts a new run. Under a steady stream
    the job keeps going, pausing ``gather_s`` after a partial batch so the next one is fuller
    (one transaction for many appeals instead of one each). On a backlog (a full batch) it
    lets more workers join, up to ``CIVICDESK_PIPELINE_WORKERS`` runs sharing the batches
    (each locked ``FOR UPDATE SKIP LOCKED``); once the backlog is gone a helper leaves. When
    a batch comes back empty the run gives its claim up — commits from then on enqueue a new
    run — and looks once more, so an appeal committed just before is not left waiting.
    """
    settings = get_settings()
    if settings.jobs_inline:
        gather_s = 0.0  # inline, the job runs inside a request: never make it wait
    total = 0
    with jobs.coalesced_run(PIPELINE_JOB, settings) as run:
        while True:
            # Several runs at once: half batches. A batch links only after the earlier one
            # commits, so a smaller batch halves both its own time and its neighbour's wait
            # (bench/scale.py: the longest batch from claim to commit, issue 20).
            size = batch_size if not run.others_running() else max(batch_size // 2, 1)
            processed = _batch(size)
            total += processed
            if processed == size:
                run.ask_for_help(settings.pipeline_workers)
                continue
            if processed and gather_s and not run.others_running():
                time.sleep(gather_s)
                continue
            run.release()
            processed = _batch(batch_size)
            total += processed
            if not processed:
                return total
            run.acquire()


def relay_stale(session: Session, *, older_than_s: int) -> int:
    """Ask for the pipeline again if appeals wait in ``received`` too long (a lost job)."""
    cutoff = now() - timedelta(seconds=older_than_s)
    stale = session.scalar(
        select(func.count())
        .select_from(Appeal)
        .where(Appeal.status == Status.RECEIVED, Appeal.received_at < cutoff)
    )
    if stale:
        jobs.dispatch_coalesced(PIPELINE_JOB, max_running=get_settings().pipeline_workers)
    return int(stale or 0)

"""The job worker: RQ on Redis (JSON serializer), plus the outbox relay in a side thread."""

from __future__ import annotations

import logging
import threading

from core import db, jobs
from core.clock import local, now
from core.settings import Settings

log = logging.getLogger(__name__)


def apply_due_reorganizations() -> int:
    """Reorganizations whose effective date has come are applied by the worker, not by hand."""
    from intake.reorganization_apply import apply_due_changes

    with db.transaction() as session:
        return len(apply_due_changes(session, today=local(now()).date()))


def relay_once(settings: Settings) -> tuple[int, int]:
    """Re-enqueue what a crash lost: unfinished outbox jobs, and appeals left in ``received``."""
    from intake.jobs import relay_stale

    with db.session_factory()() as session:
        relayed = jobs.relay_pending(session, older_than_s=settings.outbox_relay_after_s)
    with db.session_factory()() as session:
        stale = relay_stale(session, older_than_s=settings.outbox_relay_after_s)
    return relayed, stale


def _relay_loop(settings: Settings, stop: threading.Event) -> None:
    while not stop.wait(settings.outbox_relay_after_s / 2):
        try:
            relayed, stale = relay_once(settings)
            applied = apply_due_reorganizations()
            if applied:
                log.warning("applied %d reorganization(s) that came into effect", applied)
            if relayed or stale:
                log.warning(
                    "relay: %d outbox job(s) re-enqueued, %d appeal(s) waiting", relayed, stale
                )
        except Exception:
            log.exception("outbox relay failed; will try again")


def run_worker(settings: Settings, *, burst: bool = False, name: str | None = None) -> None:
    """Process jobs until stopped (or until the queue is empty with ``burst``).

    A SimpleWorker runs jobs in this process: no fork per job, so the database
    pool is reused; run several worker processes for parallelism.
    """
    from rq import SimpleWorker

    if settings.jobs_inline:
        raise SystemExit("CIVICDESK_REDIS_URL is not set: jobs run inline, no worker is needed")
    db.configure(settings)
    queue = jobs.queue(settings)
    stop = threading.Event()
    relay = threading.Thread(target=_relay_loop, args=(settings, stop), daemon=True)
    relay.start()
    try:
        worker = SimpleWorker(
            [queue], connection=queue.connection, serializer=queue.serializer, name=name
        )
        worker.work(burst=burst, with_scheduler=True, logging_level=settings.log_level)
    finally:
        stop.set()

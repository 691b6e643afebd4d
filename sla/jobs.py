"""RQ jobs of the SLA: the periodic deadline sweep, scheduled with RQ's scheduler.

The sweep re-schedules itself with ``Queue.enqueue_in`` (the scheduler runs inside
``civicdesk worker``, started ``with_scheduler=True``). A Redis flag (``SET NX EX``) holding
the scheduled job's id keeps one chain: only that job clears it, so a stray duplicate run
ends where it is; a worker start and the worker's relay loop seed the chain when the flag is
gone (first start, a worker killed mid-sweep, Redis flushed). rq 3.0's ``CronScheduler`` is
not used: it is a separate process and enqueues with the pickle serializer, while our queue
speaks JSON. A duplicate run is harmless anyway: the reminder ledger is exactly-once.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

from core import db, jobs
from core.clock import now
from core.settings import Settings, get_settings
from sla.clocks import parse_offsets
from sla.service import deadline_policy
from sla.sweep import SweepResult, sweep

log = logging.getLogger(__name__)
SWEEP_JOB = "sla.jobs.sweep_deadlines"
_MAX_BATCHES = 1000


def _flag(settings: Settings) -> str:
    return f"{settings.queue_name}:sla_sweep:scheduled"


def run_sweep(*, at: datetime | None = None, settings: Settings | None = None) -> dict[str, Any]:
    """Sweep until nothing more is due; each batch is its own transaction (committed here)."""
    settings = settings or get_settings()
    offsets = parse_offsets(settings.sla_reminder_offsets)
    moment = at or now()
    totals: dict[str, int] = {}
    escalated = 0
    started = time.perf_counter()
    for _ in range(_MAX_BATCHES):
        with db.transaction() as session:
            result: SweepResult = sweep(
                session,
                policy=deadline_policy(),
                offsets=offsets,
                at=moment,
                batch=settings.sla_sweep_batch,
            )
        for kind, count in result.claimed.items():
            totals[kind] = totals.get(kind, 0) + count
        escalated += result.escalated
        if not result.more:
            break
    summary: dict[str, Any] = {
        "at": moment.isoformat(),
        "claimed": totals,
        "escalated": escalated,
        "ms": round((time.perf_counter() - started) * 1000, 1),
    }
    if totals:
        log.info("sla sweep: %s", summary)  # counts only: no personal data
    return summary


def schedule_sweep(settings: Settings | None = None, *, delay_s: int | None = None) -> bool:
    """Schedule the next sweep unless one is already scheduled; False with inline jobs.

    The flag holds the scheduled job's id and expires after three intervals, so a chain
    whose job was lost (a killed worker, a flushed Redis) is seeded again by the relay.
    """
    settings = settings or get_settings()
    if settings.jobs_inline:
        return False
    interval = settings.sla_sweep_interval_s
    queue = jobs.queue(settings)
    job_id = f"sla-sweep-{uuid.uuid4().hex}"
    if not queue.connection.set(_flag(settings), job_id, nx=True, ex=max(interval * 3, 30)):
        return False
    options: dict[str, Any] = {
        "job_id": job_id,
        "job_timeout": jobs.JOB_TIMEOUT_S,
        "result_ttl": 600,
        "failure_ttl": 7 * 24 * 3600,
    }
    if delay_s == 0:
        # Now (a worker starting): straight onto the queue. After a crash the dead worker's
        # scheduler lock lingers for a minute, and a new worker only retries it at its
        # maintenance round, so a scheduled "now" could wait ten minutes.
        queue.enqueue(SWEEP_JOB, **options)
    else:
        queue.enqueue_in(
            timedelta(seconds=interval if delay_s is None else delay_s), SWEEP_JOB, **options
        )
    return True


def _release_chain(settings: Settings) -> None:
    """The chain's own job clears the flag, so it may schedule the next; a stray duplicate
    run leaves it, finds it set afterwards, and ends there (two chains merge into one)."""
    from rq import get_current_job

    current = get_current_job()
    connection = jobs.queue(settings).connection
    flag = connection.get(_flag(settings))
    if current is not None and flag is not None and flag.decode() == current.id:
        connection.delete(_flag(settings))


def sweep_deadlines() -> dict[str, Any]:
    """The RQ job: sweep now, then schedule the next run (also after a failed sweep)."""
    settings = get_settings()
    if not settings.jobs_inline:
        _release_chain(settings)
    try:
        return run_sweep(settings=settings)
    finally:
        try:
            schedule_sweep(settings)
        except Exception:
            # The worker's relay loop seeds the chain again once the flag is gone.
            log.exception("could not schedule the next sla sweep")

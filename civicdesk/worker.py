"""The job worker: RQ on Redis (JSON serializer), plus the outbox relay in a side thread."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import sys
import threading

from core import db, jobs
from core.clock import local, now
from core.settings import Settings

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1  # prctl(2)


def die_with_parent(parent_pid: int) -> None:
    """In a process forked by the worker (RQ's scheduler): be killed when the worker dies.

    The fork inherits the worker's open sockets, its PostgreSQL connections among them. A
    worker killed with SIGKILL (the OOM killer, ``kill -9``) used to leave its scheduler
    running, and that kept the dead worker's connection open: PostgreSQL never saw it close,
    so the transaction of the batch it was routing stayed open with its appeals locked, and
    every later batch waited behind it (146 s without routing in bench/faults.py, until
    PostgreSQL restarted). Linux only; elsewhere a supervisor must kill the process group.
    """
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the worker died before the line above
        os._exit(1)


def apply_due_reorganizations() -> int:
    """Reorganizations whose effective date has come are applied by the worker, not by hand."""
    from routing.reorganization_apply import apply_due_changes

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


def sweep_notifications() -> int:
    """Notification retries that fell due, and rows a lost job left (channels, issue 7)."""
    from channels.jobs import sweep_notifications as sweep

    return sweep()


def sweep_social(settings: Settings) -> None:
    """Replies under comments whose retry fell due, sends a crash interrupted, and the Graph
    poller when its interval has passed (issue 18)."""
    from channels.social.jobs import sweep

    try:
        report = sweep(settings)
    except Exception:  # a platform's outage must not stop the rest of the pass
        log.exception("social sweep failed; will try again")
        return
    if report.get("sent") or report.get("failed") or report.get("new_comments"):
        log.info("social sweep: %s", report)


def run_due_analytics(settings: Settings) -> list[str]:
    """The nightly export, the burst checks and Monday's report, each once (issue 17)."""
    from analytics.jobs import run_due

    return run_due(settings=settings)


def snapshot_rankings() -> list[str]:
    """Store the ranking of each week, month, quarter and year once it has closed (issue 16;
    one query per period once stored, so every round may ask)."""
    from ratings.jobs import snapshot_closed_periods

    return snapshot_closed_periods()


def relearn_places(settings: Settings) -> None:
    """The places the city learned from confirmed districts, recomputed when due (issue 19)."""
    from intake.place_learning import relearn_if_due

    try:
        with db.transaction() as session:
            summary = relearn_if_due(session, settings)
    except Exception:  # the rest of the pass (notifications, analytics) must still run
        log.exception("relearning places failed; will try again")
        return
    if summary is not None:
        log.info("places relearned: %d of %d keys", summary.keys_learned, summary.keys_seen)


def relay_pass(settings: Settings) -> None:
    """One round of the relay loop; an error is logged and the next round tries again."""
    from sla.jobs import run_sweep, schedule_sweep

    try:
        if settings.jobs_inline:
            run_sweep(settings=settings)  # embedded: no RQ scheduler, so the loop sweeps
        else:
            schedule_sweep(settings)  # re-seeds the SLA sweep if a crash broke its chain
        relayed, stale = relay_once(settings)
        applied = apply_due_reorganizations()
        if applied:
            log.warning("applied %d reorganization(s) that came into effect", applied)
        relearn_places(settings)
        sent = sweep_notifications()
        if sent:
            log.info("notification sweep: %d sent", sent)
        sweep_social(settings)
        snapshot_rankings()
        started = run_due_analytics(settings)
        if started:
            log.info("analytics started: %s", ", ".join(started))
        if relayed or stale:
            log.warning("relay: %d outbox job(s) re-enqueued, %d appeal(s) waiting", relayed, stale)
    except Exception:
        log.exception("outbox relay failed; will try again")


def resume_pipeline(settings: Settings) -> bool:
    """A worker's start: drop the pipeline claims of this machine's dead workers (a SIGKILL
    leaves one behind) and, if appeals wait in ``received``, ask for a run now rather than
    after the relay's delay. True when a run was asked for."""
    from intake.jobs import PIPELINE_JOB, relay_stale

    try:
        jobs.reap_dead_claims(PIPELINE_JOB, settings)
        with db.session_factory()() as session:
            return relay_stale(session, older_than_s=0) > 0
    except Exception:
        log.exception("could not resume the pipeline; the relay will")
        return False


def _relay_loop(settings: Settings, stop: threading.Event) -> None:
    while not stop.wait(settings.outbox_relay_after_s / 2):
        relay_pass(settings)


def run_worker(settings: Settings, *, burst: bool = False, name: str | None = None) -> None:
    """Process jobs until stopped (or until the queue is empty with ``burst``).

    A SimpleWorker runs jobs in this process: no fork per job, so the database
    pool is reused; run several worker processes for parallelism.
    """
    from rq import SimpleWorker

    from core.migrate import import_models

    # Our own INFO lines (a pipeline batch's time, released claims) beside RQ's; a no-op when
    # the process already configured logging.
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    # Every mapped table, so cross-package foreign keys resolve in the jobs (the sweep's
    # inbox rows point at appeals, which only intake's models declare).
    import_models()
    if settings.jobs_inline:
        # Embedded mode: jobs run inline in the web process, but what falls due later
        # (notification retries, a lost outbox job) needs this loop; burst: one pass.
        db.configure(settings)
        log.warning("CIVICDESK_REDIS_URL is not set: running only the relay loop (embedded)")
        relay_pass(settings)
        if not burst:
            with contextlib.suppress(KeyboardInterrupt):
                _relay_loop(settings, threading.Event())
        return
    db.configure(settings)
    worker_pid = os.getpid()
    os.register_at_fork(after_in_child=lambda: die_with_parent(worker_pid))
    queue = jobs.queue(settings)
    stop = threading.Event()
    from sla.jobs import schedule_sweep

    schedule_sweep(settings, delay_s=0)  # the SLA deadline sweep, on RQ's scheduler
    resume_pipeline(settings)
    relay = threading.Thread(target=_relay_loop, args=(settings, stop), daemon=True)
    relay.start()
    try:
        worker = SimpleWorker(
            [queue], connection=queue.connection, serializer=queue.serializer, name=name
        )
        worker.work(burst=burst, with_scheduler=True, logging_level=settings.log_level)
    finally:
        stop.set()

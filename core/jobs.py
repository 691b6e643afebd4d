"""Jobs run after commit: coalesced "drain what is pending" jobs, and outbox jobs.

Coalesced jobs (``defer_coalesced``) are for work whose pending state is already
durable in the data itself — an appeal in ``received`` is its own job record.
Many commits before the job starts make one run, which drains everything
pending in batches; a Redis flag (``SET NX``) keeps at most one queued.

Outbox jobs:

``defer(session, "intake.jobs.process_appeal", appeal_id)`` writes an outbox row
in the caller's transaction. When that transaction commits the job is enqueued
on RQ (JSON serializer), or run inline in this process when no Redis is
configured. The job completes its outbox row in its own transaction, so
``relay_pending()`` can re-enqueue whatever a crash between commit and enqueue
left behind, and a re-run job finds its row done and does nothing.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, event, func, select
from sqlalchemy.orm import Session

from core.clock import now
from core.models import OutboxMessage
from core.settings import Settings, get_settings

log = logging.getLogger(__name__)
_PENDING_KEY = "civicdesk_outbox_pending"
_COALESCED_KEY = "civicdesk_coalesced_pending"
JOB_TIMEOUT_S = 300


def defer(session: Session, job: str, *args: Any) -> OutboxMessage:
    """Record ``job(*args)`` to run once the current transaction commits."""
    message = OutboxMessage(job=job, args=list(args), created_at=now())
    session.add(message)
    session.flush()
    session.info.setdefault(_PENDING_KEY, []).append((message.id, job, list(args)))
    return message


def claim(session: Session, outbox_id: int | None) -> bool:
    """Mark the outbox row done inside the job's transaction; False if it already was.

    On PostgreSQL the row is locked, so the original job and a relayed copy
    cannot both run the work.
    """
    if outbox_id is None:
        return True
    stmt = select(OutboxMessage).where(OutboxMessage.id == outbox_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    message = session.scalar(stmt)
    if message is None or message.done_at is not None:
        return False
    message.done_at = now()
    message.attempts += 1
    session.flush()
    return True


def resolve(job: str) -> Callable[..., Any]:
    module_name, _, attribute = job.rpartition(".")
    function: Callable[..., Any] = getattr(importlib.import_module(module_name), attribute)
    return function


def _redis_queue(settings: Settings) -> Any:
    from redis import Redis
    from rq import Queue
    from rq.serializers import JSONSerializer

    assert settings.redis_url is not None
    connection = Redis.from_url(settings.redis_url)
    return Queue(settings.queue_name, connection=connection, serializer=JSONSerializer)


_queue_cache: dict[tuple[str, str], Any] = {}


def queue(settings: Settings | None = None) -> Any:
    """The RQ queue for these settings (one connection pool per process)."""
    settings = settings or get_settings()
    key = (settings.redis_url or "", settings.queue_name)
    if key not in _queue_cache:
        _queue_cache[key] = _redis_queue(settings)
    return _queue_cache[key]


def dispatch(outbox_id: int, job: str, args: list[Any], settings: Settings | None = None) -> None:
    """Hand one job to RQ, or run it here when jobs are inline."""
    settings = settings or get_settings()
    if settings.jobs_inline:
        resolve(job)(*args, outbox_id=outbox_id)
        return
    from rq import Retry

    queue(settings).enqueue_call(
        func=job,
        args=list(args),
        kwargs={"outbox_id": outbox_id},
        job_id=f"outbox-{outbox_id}",
        timeout=JOB_TIMEOUT_S,
        failure_ttl=7 * 24 * 3600,
        result_ttl=3600,
        # A failed attempt (database restarting, say) is retried; the outbox relay is the last net.
        retry=Retry(max=3, interval=[5, 30, 120]),
    )


def defer_coalesced(session: Session, job: str) -> None:
    """Ask for ``job()`` to run after this transaction commits (once, however often asked)."""
    session.info.setdefault(_COALESCED_KEY, set()).add(job)


def _coalesce_flag(settings: Settings, job: str) -> str:
    return f"{settings.queue_name}:coalesced:{job}"


def dispatch_coalesced(job: str, settings: Settings | None = None) -> None:
    """Enqueue ``job`` unless a run is already queued (inline: run it here and now)."""
    settings = settings or get_settings()
    if settings.jobs_inline:
        resolve(job)()
        return
    from rq import Retry

    jobs_queue = queue(settings)
    # The flag expires, so a queued job lost with its Redis data cannot block later runs.
    if jobs_queue.connection.set(
        _coalesce_flag(settings, job), "1", nx=True, ex=max(settings.outbox_relay_after_s, 5)
    ):
        jobs_queue.enqueue_call(
            func=job,
            timeout=JOB_TIMEOUT_S,
            result_ttl=600,
            failure_ttl=7 * 24 * 3600,
            retry=Retry(max=3, interval=[5, 30, 120]),
        )


def coalesced_job_started(job: str, settings: Settings | None = None) -> None:
    """Called first by a coalesced job: a commit from now on asks for a new run."""
    settings = settings or get_settings()
    if not settings.jobs_inline:
        queue(settings).connection.delete(_coalesce_flag(settings, job))


@event.listens_for(Session, "after_commit")
def _dispatch_after_commit(session: Session) -> None:
    for job in sorted(session.info.pop(_COALESCED_KEY, ())):
        try:
            dispatch_coalesced(job)
        except Exception:
            # The pending work is in the database; the relay will ask again.
            log.exception("could not enqueue %s; the relay will retry", job)
    pending = session.info.pop(_PENDING_KEY, [])
    for outbox_id, job, args in pending:
        try:
            dispatch(outbox_id, job, args)
        except Exception:
            # The outbox row stays pending; relay_pending() will enqueue it again.
            log.exception(
                "could not dispatch outbox message %s (%s); the relay will retry", outbox_id, job
            )


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, previous_transaction: Any) -> None:
    if not session.in_transaction():
        session.info.pop(_PENDING_KEY, None)
        session.info.pop(_COALESCED_KEY, None)


def relay_pending(session: Session, *, older_than_s: int, limit: int = 1000) -> int:
    """Re-dispatch outbox rows that were never completed; returns how many."""
    cutoff = now() - timedelta(seconds=older_than_s)
    rows = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.done_at.is_(None), OutboxMessage.created_at < cutoff)
        .where((OutboxMessage.relayed_at.is_(None)) | (OutboxMessage.relayed_at < cutoff))
        .order_by(OutboxMessage.id)
        .limit(limit)
    ).all()
    for row in rows:
        row.relayed_at = now()
    session.flush()
    pending = [(row.id, row.job, list(row.args)) for row in rows]
    session.commit()
    for outbox_id, job, args in pending:
        dispatch(outbox_id, job, args)
    return len(pending)


def purge_done(session: Session, *, older_than_days: int = 30) -> int:
    cutoff = now() - timedelta(days=older_than_days)
    result = session.execute(delete(OutboxMessage).where(OutboxMessage.done_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


def pending_count(session: Session) -> int:
    query = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.done_at.is_(None))
    return int(session.scalar(query) or 0)


__all__ = ["claim", "defer", "dispatch", "pending_count", "purge_done", "queue", "relay_pending"]

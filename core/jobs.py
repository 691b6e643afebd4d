"""Jobs run after commit: coalesced "drain what is pending" jobs, and outbox jobs.

Coalesced jobs (``defer_coalesced``) are for work whose pending state is already
durable in the data itself — an appeal in ``received`` is its own job record.
Many commits before the job starts make one run, which drains everything
pending in batches; a Redis flag keeps at most one queued, and a running job holds a
claim that its worker renews every few seconds (``CoalescedRun``), so a killed worker
blocks new runs only until its claim lapses (``CIVICDESK_COALESCE_CLAIM_TTL_S``).

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
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, event, func, select, update
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


def merge_pending(session: Session, job: str) -> int:
    """Fold this transaction's pending outbox jobs named ``job`` into its first one, their
    argument lists joined in order, so the job runs once after commit for all of them.

    For a writer that makes thousands of changes in one transaction (the demo month, a
    bulk import): the same work, one run instead of one per change. Only for jobs that take
    a single list (``core.events``' handler). Returns how many jobs were folded away.
    """
    pending: list[tuple[int, str, list[Any]]] = session.info.get(_PENDING_KEY, [])
    mine = [entry for entry in pending if entry[1] == job]
    if len(mine) < 2:
        return 0
    joined: list[Any] = []
    for _, _, args in mine:
        if len(args) != 1 or not isinstance(args[0], list):
            raise ValueError(f"{job}: only jobs taking one list can be merged")
        joined.extend(args[0])
    keep = mine[0][0]
    folded = [entry[0] for entry in mine[1:]]
    session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(folded)))
    session.execute(update(OutboxMessage).where(OutboxMessage.id == keep).values(args=[joined]))
    gone = set(folded)
    session.info[_PENDING_KEY] = [
        (outbox_id, name, [joined] if outbox_id == keep else args)
        for outbox_id, name, args in pending
        if outbox_id not in gone
    ]
    return len(folded)


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
        # RQ keeps jobs under rq:job:<id> for every queue: the deployment's prefix keeps two
        # deployments' outbox row 5 apart.
        job_id=f"{settings.queue_name}-outbox-{outbox_id}",
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


def _claims_key(settings: Settings, job: str) -> str:
    return f"{settings.queue_name}:coalesced:{job}:claims"


# Enqueue a run unless one is queued, or enough runs hold live claims. A claim is a member of
# a sorted set scored by when it expires (Redis's own clock, so machines may disagree on the
# time): a killed worker stops renewing its claim, and the next dispatch drops it.
_DISPATCH_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local clock = redis.call('TIME')
local now_ms = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now_ms)
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], '1', 'EX', tonumber(ARGV[1]))
return 1
"""

# Take the queued flag and hold a claim until now + ttl (also renews: ZADD updates the score).
_CLAIM_SCRIPT = """
if ARGV[3] == '1' then redis.call('DEL', KEYS[1]) end
local clock = redis.call('TIME')
local now_ms = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('ZADD', KEYS[2], now_ms + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[2]) * 4)
return 1
"""


def dispatch_coalesced(job: str, settings: Settings | None = None, *, max_running: int = 1) -> bool:
    """Enqueue ``job`` unless a run is queued or ``max_running`` runs hold live claims
    (inline: run it here and now). True when a run was enqueued (or run inline)."""
    settings = settings or get_settings()
    if settings.jobs_inline:
        resolve(job)()
        return True
    from rq import Retry

    jobs_queue = queue(settings)
    connection = jobs_queue.connection
    # The queued flag expires too, so a queued job lost with its Redis data cannot block
    # later runs for longer than the relay's period.
    asked = connection.eval(
        _DISPATCH_SCRIPT,
        2,
        _coalesce_flag(settings, job),
        _claims_key(settings, job),
        max(settings.outbox_relay_after_s, 5),
        max_running,
    )
    if not asked:
        return False
    jobs_queue.enqueue_call(
        func=job,
        timeout=JOB_TIMEOUT_S,
        result_ttl=600,
        failure_ttl=7 * 24 * 3600,
        retry=Retry(max=3, interval=[5, 30, 120]),
        at_front=True,  # drains are few (one queued at most) and the pipeline comes first
    )
    return True


class CoalescedRun:
    """A worker's claim on a coalesced job while it runs (``with coalesced_run(job) as run``).

    Taking the claim clears the queued flag; the claim lives ``coalesce_claim_ttl_s`` and a
    thread renews it every third of that while the process lives. A worker killed with
    SIGKILL stops renewing, so its claim lapses within seconds and the next commit (or the
    relay) enqueues a new run: routing does not stall behind a dead worker's flag. While a
    claim is live, commits do not enqueue more runs (the running one drains them).
    """

    def __init__(self, job: str, settings: Settings) -> None:
        self.job = job
        self.settings = settings
        self.member = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self.ttl_ms = settings.coalesce_claim_ttl_s * 1000
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.held = False

    @property
    def _connection(self) -> Any:
        return queue(self.settings).connection

    def _claim(self, *, take_flag: bool) -> None:
        self._connection.eval(
            _CLAIM_SCRIPT,
            2,
            _coalesce_flag(self.settings, self.job),
            _claims_key(self.settings, self.job),
            self.member,
            self.ttl_ms,
            "1" if take_flag else "0",
        )

    def acquire(self) -> None:
        if self.settings.jobs_inline or self.held:
            return
        self._claim(take_flag=True)
        self.held = True
        self._stop.clear()
        self._thread = threading.Thread(target=self._renew, name=f"claim:{self.job}", daemon=True)
        self._thread.start()

    def release(self) -> None:
        """Give the claim up: a commit from now on enqueues a new run."""
        if not self.held:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._connection.zrem(_claims_key(self.settings, self.job), self.member)
        self.held = False

    def others_running(self) -> int:
        """Live claims of other runs (several workers draining a backlog together)."""
        if self.settings.jobs_inline:
            return 0
        key = _claims_key(self.settings, self.job)
        seconds, micros = self._connection.time()
        now_ms = int(seconds) * 1000 + int(micros) // 1000
        live = int(self._connection.zcount(key, now_ms, "+inf"))
        return max(0, live - (1 if self.held else 0))

    def ask_for_help(self, max_running: int) -> bool:
        """A backlog: let one more worker join (up to ``max_running`` runs at once)."""
        if self.settings.jobs_inline or max_running <= 1:
            return False
        return dispatch_coalesced(self.job, self.settings, max_running=max_running)

    def _renew(self) -> None:
        while not self._stop.wait(self.ttl_ms / 3000):
            try:
                self._claim(take_flag=False)
            except Exception:
                # Redis away for a moment: the claim may lapse and a second run start, which
                # only shares the work (batches are locked SKIP LOCKED).
                log.warning("could not renew the claim on %s", self.job, exc_info=True)

    def __enter__(self) -> CoalescedRun:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.release()
        except Exception:
            log.warning("could not release the claim on %s; it lapses by itself", self.job)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process, alive
    return True


def reap_dead_claims(job: str, settings: Settings | None = None) -> int:
    """Drop the claims of this machine's workers that are gone (a new worker's first step):
    no waiting for their claims to lapse. Claims of other machines are left to lapse."""
    settings = settings or get_settings()
    if settings.jobs_inline:
        return 0
    connection = queue(settings).connection
    key = _claims_key(settings, job)
    here = socket.gethostname()
    dead = []
    for raw in connection.zrange(key, 0, -1):
        member = raw.decode() if isinstance(raw, bytes) else str(raw)
        parts = member.rsplit(":", 2)  # host:pid:random
        if len(parts) != 3 or not parts[1].isdigit():
            continue
        host = parts[0]
        if host == here and not _process_alive(int(parts[1])):
            dead.append(member)
    if dead:
        connection.zrem(key, *dead)
        log.warning("released %d claim(s) on %s left by dead workers", len(dead), job)
    return len(dead)


def coalesced_run(job: str, settings: Settings | None = None) -> CoalescedRun:
    """The claim a coalesced job holds while it runs; see :class:`CoalescedRun`."""
    return CoalescedRun(job, settings or get_settings())


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

"""Routing does not stall after a worker crash (issue 13, item 5).

A coalesced pipeline run holds a claim its worker renews every few seconds; a worker killed
with SIGKILL stops renewing, so the claim lapses within ``coalesce_claim_ttl_s`` (or the next
worker on the machine releases it at once), and new appeals are routed again. Before, a
flag left by the killed job blocked every new run for up to a minute.

The crash test is deterministic: the test locks the history table, so the worker's batch
waits inside its transaction (seen in ``pg_stat_activity``) while it holds its claim; it is
killed there, the lock is released, and a new worker must route the killed batch's appeals
and a new one, each exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text

from appeals.lifecycle import Status
from appeals.models import Appeal, AppealStatusChange, Channel
from core import db, jobs
from core.settings import Settings, override_settings
from intake.jobs import PIPELINE_JOB
from intake.schemas import CitizenContact, IncomingContact
from tests.conftest import run_civicdesk

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
WAIT_S = 60.0
TEXT = "Во дворе дома на Самале третий день не вывозят мусор, контейнеры переполнены"


def test_a_lapsed_claim_lets_the_next_commit_enqueue(rq_settings: Settings) -> None:
    """A run whose worker died (its renewing thread gone) blocks new runs only until its
    claim lapses; a live run blocks them all along (it drains what the commits add)."""
    settings = rq_settings.model_copy(update={"coalesce_claim_ttl_s": 2})
    with override_settings(settings):
        connection = jobs.queue(settings).connection
        live = jobs.coalesced_run(PIPELINE_JOB, settings)
        live.acquire()
        try:
            assert jobs.dispatch_coalesced(PIPELINE_JOB, settings) is False
            time.sleep(2.5)  # renewed meanwhile: still live
            assert jobs.dispatch_coalesced(PIPELINE_JOB, settings) is False
        finally:
            live.release()
        assert jobs.dispatch_coalesced(PIPELINE_JOB, settings) is True  # released: a new run
        connection.delete(f"{settings.queue_name}:coalesced:{PIPELINE_JOB}")

        dead = jobs.coalesced_run(PIPELINE_JOB, settings)
        dead.acquire()
        dead._stop.set()  # the worker is gone: nothing renews its claim
        assert jobs.dispatch_coalesced(PIPELINE_JOB, settings) is False
        time.sleep(2.2)
        assert jobs.dispatch_coalesced(PIPELINE_JOB, settings) is True


def _env(url: str, redis_url: str, queue: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CIVICDESK_")}
    return {
        **clean,
        "CIVICDESK_ENVIRONMENT": "test",
        "CIVICDESK_DATABASE_URL": url,
        "CIVICDESK_REDIS_URL": redis_url,
        "CIVICDESK_QUEUE_NAME": queue,
        # The relay would rescue the appeals after its delay; keep it out of the way.
        "CIVICDESK_OUTBOX_RELAY_AFTER_S": "3600",
        "CIVICDESK_COALESCE_CLAIM_TTL_S": "3",
        "CIVICDESK_LOG_LEVEL": "INFO",
    }


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "civicdesk.cli", "worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait(what: str, check: Any, log: Path, deadline_s: float = WAIT_S) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > deadline_s:
            pytest.fail(f"timed out waiting for {what}:\n{log.read_text()[-4000:]}")
        time.sleep(0.1)
    return time.monotonic() - start


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


@pytest.fixture
def schema(scratch_schema: str, redis_url: str) -> Iterator[tuple[str, Engine]]:
    run_civicdesk(_env(scratch_schema, redis_url, "unused"), "init")
    engine = db.make_engine(scratch_schema)
    try:
        yield scratch_schema, engine
    finally:
        engine.dispose()


def _submit(settings: Settings, n: int) -> int:
    from intake.service import submit

    with override_settings(settings), db.transaction() as session:
        result = submit(
            session,
            IncomingContact(
                channel=Channel.PORTAL,
                external_id=f"crash-{uuid.uuid4()}",
                text=f"{TEXT} (дом {n})",
                citizen=CitizenContact(phone=f"+7701{n:07d}"),
            ),
        )
    return result.appeal_id


def test_a_killed_worker_does_not_stall_routing(
    schema: tuple[str, Engine], redis_url: str, tmp_path: Path
) -> None:
    url, engine = schema
    queue_name = f"civicdesk-crash-{uuid.uuid4().hex[:8]}"
    env = _env(url, redis_url, queue_name)
    settings = Settings(
        environment="test",
        database_url=url,
        redis_url=redis_url,
        queue_name=queue_name,
        outbox_relay_after_s=3600,
        coalesce_claim_ttl_s=3,
    )
    previous = db._engine, db._session_factory
    db.configure(settings, engine=engine)
    log = tmp_path / "workers.log"
    first = second = None
    try:
        stuck = [_submit(settings, n) for n in range(3)]  # queued: no worker yet
        with engine.connect() as blocker:
            # The pipeline's batch writes history rows: it will wait here, claim held.
            blocker.execute(text("LOCK TABLE appeal_status_changes IN EXCLUSIVE MODE"))
            first = _worker(env, log)

            def waiting_on_the_lock() -> bool:
                with engine.connect() as probe:
                    return bool(
                        probe.scalar(
                            text(
                                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
                                "'Lock' AND query ILIKE '%appeal_status_changes%' "
                                "AND pid <> pg_backend_pid()"
                            )
                        )
                    )

            _wait("the worker's batch to wait on the lock", waiting_on_the_lock, log)
            _kill(first)  # SIGKILL mid-batch, its claim held
            blocker.rollback()

        second = _worker(env, log)
        fresh = _submit(settings, 99)  # a commit right after the crash
        ids = [*stuck, fresh]

        def all_assigned() -> bool:
            with engine.connect() as probe:
                statuses = probe.scalars(select(Appeal.status).where(Appeal.id.in_(ids))).all()
            return len(statuses) == len(ids) and all(
                status is Status.ASSIGNED for status in statuses
            )

        # Before the fix the killed job's flag (kept for the relay's hour here) blocked
        # every run: nothing was routed. The wait is generous for a loaded machine.
        _wait("the appeals to be routed after the crash", all_assigned, log, deadline_s=120)
        with engine.connect() as probe:
            assigned_rows = probe.scalar(
                select(func.count())
                .select_from(AppealStatusChange)
                .where(
                    AppealStatusChange.appeal_id.in_(ids),
                    AppealStatusChange.to_status == Status.ASSIGNED,
                )
            )
        assert assigned_rows == len(ids)  # exactly once: the killed batch left nothing
    finally:
        for process in (first, second):
            if process is not None:
                _kill(process)
        db._engine, db._session_factory = previous
        from redis import Redis

        connection = Redis.from_url(redis_url)
        for key in connection.scan_iter(f"{queue_name}*"):
            connection.delete(key)
        for key in connection.scan_iter(f"rq:*{queue_name}*"):
            connection.delete(key)

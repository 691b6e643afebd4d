"""Exactly-once across a real worker crash: ``civicdesk worker`` runs as a child process
against a schema and an RQ queue of its own, with RQ's scheduler, is killed with SIGKILL
in the middle of the deadline sweep (after its first batch committed), and a new worker
finishes the sweep. Every reminder and every breach notice exists exactly once.

The kill point is made deterministic with a row lock, not with timing: the test holds
``SELECT … FOR UPDATE`` on the appeal whose breach is in the second batch, so the worker's
second transaction waits on that row (seen in ``pg_stat_activity``) while its first has
committed; SIGKILL then takes the worker (and its scheduler process) mid-transaction, and
PostgreSQL keeps nothing of that batch. The killed job had already cleared the sweep's
chain flag, so the new worker's start (``civicdesk.worker.run_worker`` →
``schedule_sweep(delay_s=0)``) must seed the chain again, or nothing would run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from sqlalchemy import Engine, insert, select, text

from appeals.lifecycle import Status
from appeals.models import Appeal, Channel, Citizen
from core import db
from core.clock import now
from core.db import table_of
from routing.models import Organization
from sla.models import SlaReminder, StaffNotification
from tests.conftest import run_civicdesk

BATCH = 3  # ledger rows per sweep transaction: one breached appeal's three notices
BREACH = ["breach_executor", "breach_head", "breach_inspectors"]
REMIND = ["remind_1d", "remind_3wd"]
WAIT_S = 90.0


def _env(url: str, redis_url: str, queue: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CIVICDESK_")}
    return {
        **clean,
        "CIVICDESK_ENVIRONMENT": "test",
        "CIVICDESK_DATABASE_URL": url,
        "CIVICDESK_REDIS_URL": redis_url,
        "CIVICDESK_QUEUE_NAME": queue,
        "CIVICDESK_SLA_SWEEP_BATCH": str(BATCH),
        # The relay loop would re-seed the chain on its own after 30 s; keep it out of the way.
        "CIVICDESK_OUTBOX_RELAY_AFTER_S": "3600",
        "CIVICDESK_LOG_LEVEL": "INFO",
    }


def _cli(env: dict[str, str], *args: str, log: Path) -> subprocess.Popen[bytes]:
    """``civicdesk …`` as a child process in a session of its own (its group is killed)."""
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "civicdesk.cli", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_until(what: str, check: Any, log: Path, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        if process.poll() is not None:
            pytest.fail(
                f"the worker exited ({process.returncode}) before {what}:\n{log.read_text()}"
            )
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}:\n{log.read_text()[-4000:]}")
        time.sleep(0.1)


@pytest.fixture
def schema(scratch_schema: str, redis_url: str, tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    """A migrated schema with the reference data (``civicdesk init``), committed for real."""
    env = _env(scratch_schema, redis_url, "unused")
    run_civicdesk(env, "init")
    engine = db.make_engine(scratch_schema)
    try:
        yield scratch_schema, engine
    finally:
        engine.dispose()


def _seed(engine: Engine) -> tuple[list[int], list[int]]:
    """Four appeals past their deadline and four due within a day, for one organization."""
    moment = now()
    appeals = table_of(Appeal)
    with engine.begin() as connection:
        organization_id = connection.scalar(
            select(Organization.id).where(Organization.code == "almaty-su")
        )
        citizen_id = connection.scalar(
            insert(table_of(Citizen))
            .values(phone_e164="+77011234567", preferred_language="ru", created_at=moment)
            .returning(table_of(Citizen).c.id)
        )

        def appeal(due: timedelta) -> int:
            received = moment - timedelta(days=20)
            return int(
                connection.scalar(
                    insert(appeals)
                    .values(
                        tracking_number=f"AL-{uuid.uuid4().hex[:8].upper()}",
                        channel=Channel.PORTAL,
                        external_id=uuid.uuid4().hex,
                        citizen_id=citizen_id,
                        text="Прорвало трубу водопровода",
                        appeal_type="complaint",
                        category_code="water.water_quality",
                        district_code="medeu",
                        urgency="normal",
                        organization_id=organization_id,
                        status=Status.IN_PROGRESS,
                        received_at=received,
                        due_at=moment + due,
                        anonymous=False,
                        is_repeat=False,
                        updated_at=received,
                    )
                    .returning(appeals.c.id)
                )
            )

        breached = [appeal(timedelta(days=-2, minutes=index)) for index in range(4)]
        reminded = [appeal(timedelta(hours=12, minutes=index)) for index in range(4)]
    return breached, reminded


@contextmanager
def _row_lock(engine: Engine, appeal_id: int) -> Iterator[int]:
    """Hold ``SELECT … FOR UPDATE`` on one appeal; yields the holding backend's pid."""
    with engine.connect() as holder:
        transaction = holder.begin()
        try:
            holder.execute(select(Appeal.id).where(Appeal.id == appeal_id).with_for_update())
            yield int(holder.scalar(text("SELECT pg_backend_pid()")) or 0)
        finally:
            transaction.rollback()


def _ledger(engine: Engine) -> dict[int, list[str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(SlaReminder.appeal_id, SlaReminder.kind).order_by(SlaReminder.kind)
        ).all()
    found: dict[int, list[str]] = {}
    for appeal_id, kind in rows:
        found.setdefault(appeal_id, []).append(kind)
    return found


def _inbox(engine: Engine) -> dict[int, list[str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(StaffNotification.appeal_id, StaffNotification.kind).order_by(
                StaffNotification.kind
            )
        ).all()
    found: dict[int, list[str]] = {}
    for appeal_id, kind in rows:
        found.setdefault(int(appeal_id), []).append(kind)
    return found


@pytest.fixture
def queue(redis_url: str) -> Iterator[str]:
    """An RQ queue name of its own; its keys (and the sweep's flag) are removed after."""
    name = f"civicdesk-restart-{uuid.uuid4().hex[:8]}"
    yield name
    redis = Redis.from_url(redis_url)
    for key in [*redis.scan_iter(f"*{name}*")]:
        redis.delete(key)


def test_a_worker_killed_mid_sweep_and_its_successor_send_each_notice_once(
    schema: tuple[str, Engine], redis_url: str, queue: str, tmp_path: Path
) -> None:
    url, engine = schema
    env = _env(url, redis_url, queue)
    redis = Redis.from_url(redis_url)
    flag = f"{queue}:sla_sweep:scheduled"
    breached, reminded = _seed(engine)
    log = tmp_path / "workers.log"

    # Hold the second breached appeal: the sweep's second batch will wait on it.
    with _row_lock(engine, breached[1]) as holder_pid:
        first = _cli(env, "worker", "--name", f"sla-first-{queue}", log=log)
        try:

            def first_batch_committed_and_second_waiting() -> bool:
                with engine.connect() as connection:
                    waiting = connection.scalar(
                        text(
                            "SELECT count(*) FROM pg_stat_activity "
                            "WHERE :me = ANY(pg_blocking_pids(pid))"
                        ),
                        {"me": holder_pid},
                    )
                return bool(waiting) and sum(map(len, _ledger(engine).values())) > 0

            _wait_until(
                "the first batch to commit and the second to wait",
                first_batch_committed_and_second_waiting,
                log,
                first,
            )
            os.killpg(first.pid, signal.SIGKILL)  # the worker and its scheduler process
            first.wait(timeout=30)
        finally:
            if first.poll() is None:
                os.killpg(first.pid, signal.SIGKILL)
                first.wait(timeout=30)
        # What the dead worker committed: its first batch, whole; nothing of the second.
        partial = _ledger(engine)
        assert partial[breached[0]] == BREACH
        assert breached[1] not in partial
        assert _inbox(engine) == partial
        # The killed job had cleared the chain's flag at its start: no sweep is scheduled.
        assert redis.get(flag) is None

    # The restart: a new worker seeds the chain and finishes the sweep.
    second = _cli(env, "worker", "--burst", "--name", f"sla-second-{queue}", log=log)
    try:
        assert second.wait(timeout=WAIT_S) == 0, log.read_text()[-4000:]
    finally:
        if second.poll() is None:
            os.killpg(second.pid, signal.SIGKILL)
            second.wait(timeout=30)
    expected = dict.fromkeys(breached, BREACH) | dict.fromkeys(reminded, REMIND)
    assert _ledger(engine) == expected
    assert _inbox(engine) == expected  # one inbox row per ledger row: none twice, none lost
    with engine.connect() as connection:
        escalated = connection.scalars(
            select(Appeal.id).where(Appeal.escalation_reason == "overdue")
        ).all()
    assert sorted(escalated) == sorted(breached)
    assert redis.get(flag) is not None  # the chain goes on: the next sweep is scheduled
    # And one more sweep, by hand, finds nothing left to send.
    again = subprocess.run(
        [sys.executable, "-m", "civicdesk.cli", "sla", "sweep"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads(again.stdout.splitlines()[-1])["claimed"] == {}
    assert _ledger(engine) == expected

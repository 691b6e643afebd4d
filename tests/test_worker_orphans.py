"""A worker killed with SIGKILL leaves no process behind that holds its database connection.

RQ forks the worker's scheduler, and the fork inherits the worker's PostgreSQL sockets. When
only the worker was killed (the OOM killer, ``kill -9 PID``), the scheduler lived on, the
dead worker's connection stayed open, and with it the transaction of the batch it was
routing: its appeals stayed locked and the next worker's batches waited behind them until
PostgreSQL was restarted (bench/faults.py, issue 13). The worker's forks now die with it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from tests.conftest import run_civicdesk

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
]
WAIT_S = 90.0


def _children(pid: int) -> set[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return set()
    return {int(child) for child in text.split()}


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"  # a zombie has let go of its sockets


def _wait(what: str, check: object, log: Path) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


@pytest.fixture
def worker_env(scratch_schema: str, redis_url: str) -> Iterator[dict[str, str]]:
    queue = f"civicdesk-orphans-{uuid.uuid4().hex[:8]}"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CIVICDESK_")}
    env = {
        **clean,
        "CIVICDESK_ENVIRONMENT": "test",
        "CIVICDESK_DATABASE_URL": scratch_schema,
        "CIVICDESK_REDIS_URL": redis_url,
        "CIVICDESK_QUEUE_NAME": queue,
    }
    run_civicdesk(env, "migrate")
    yield env
    redis = Redis.from_url(redis_url)
    for key in [*redis.scan_iter(f"*{queue}*")]:
        redis.delete(key)


def test_the_scheduler_dies_with_a_killed_worker(
    worker_env: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    with log.open("ab") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "civicdesk.cli", "worker"],
            env=worker_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so the test can clean up the whole group
        )
    try:
        _wait("the worker's scheduler", lambda: bool(_children(worker.pid)), log)
        scheduler = min(_children(worker.pid))
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        _wait("the scheduler to go with its worker", lambda: not _alive(scheduler), log)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGKILL)
        if worker.poll() is None:
            worker.kill()
            worker.wait()

"""Faults: portal appeals while the worker is killed and Redis and PostgreSQL restart.

    python bench/faults.py [--appeals 10000] [--rate 20] [--clients 8] [--no-faults]

Starts its OWN throwaway PostgreSQL cluster (``initdb`` + ``pg_ctl`` of PostgreSQL 15, as the
``postgres`` user when run as root) and its own ``redis-server`` on free ports in a temporary
folder, so the machine's PostgreSQL on 5432 and Redis on 6379 are never touched; then
``civicdesk init``, ``civicdesk serve`` (uvicorn with the production options) and RQ
``civicdesk worker`` processes kept alive by a supervisor, as systemd would
(``Restart=always``, 0.5 s).

``--clients`` threads file ``--appeals`` appeals through ``POST /api/v1/portal/appeals``,
``--rate`` a second (a steady stream below what the pipeline takes, so routing times show the
faults rather than a backlog), each with its own ``Idempotency-Key``. A client retries the SAME
key after a dropped connection, a 5xx or a 429 (waiting ``Retry-After``, at most 2 s) until the
API answers 200/201, as the mobile app does; every ``--resend-every``-th appeal is sent again
after its 201, as if that answer had been lost on the way (the API must answer 200, the same
appeal). Meanwhile the fault schedule, keyed to the share of appeals filed: SIGKILL every
worker (15 %, 60 %), kill Redis with SIGKILL and start it again empty, no persistence (30 %,
75 %), restart PostgreSQL with ``pg_ctl restart -m immediate``, a crash-like stop (45 %, 90 %).

When every client is done it waits (up to ``--settle-s``) for every appeal to leave
``received`` and reads the cluster directly. Prints JSON:

- ``accepted``: appeals the API acknowledged (200 or 201) to a client;
- ``stored``: those appeals found in the database (by their Idempotency-Key);
- ``lost``: acknowledged but not stored (goal 0);
- ``duplicates``: rows past the first for one Idempotency-Key (goal 0);
- ``max_route_s`` / ``route_p99_s``: from an appeal's ``received_at`` to its first status
  change out of ``received`` (goal: max < 10 s); appeals never routed count up to the end
  of the wait and are listed in ``unrouted``;
- ``client_errors``: 4xx answers other than 408/429 (a request the client got wrong: goal 0);
- ``resent`` / ``replayed``: appeals sent again after a 201, and 200 answers (equal when
  each resend found its appeal);
- ``retries`` by cause, ``faults`` with what each took, ``worker_restarts``,
  ``elapsed_s`` and ``appeals_per_s`` (with faults; not a throughput figure).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_BIN = Path(os.environ.get("CIVICDESK_BENCH_PG_BIN", "/usr/lib/postgresql/15/bin"))
STREETS = ("Абая", "Толе би", "Сейфуллина", "Жандосова", "Райымбека", "Розыбакиева", "Момышулы")
SCHEDULE = (
    (0.15, "kill_workers"),
    (0.30, "restart_redis"),
    (0.45, "restart_postgres"),
    (0.60, "kill_workers"),
    (0.75, "restart_redis"),
    (0.90, "restart_postgres"),
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port} after {timeout_s} s")


class Postgres:
    """A throwaway cluster in ``folder`` on ``port``; its socket stays in the folder too."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "pgdata"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0  # initdb refuses to run as root

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_postgres else []
        subprocess.run([*prefix, *command], check=True, capture_output=True)  # noqa: S603

    def init(self) -> None:
        if self.as_postgres:
            shutil.chown(self.folder, "postgres")
        self._run(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--no-locale", "--no-sync",
        )  # fmt: skip
        self.start()

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c max_connections=200 -c fsync=off -c full_page_writes=off"
        )
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "pg.log"),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        self.stop("immediate")  # every connection cut mid-transaction, recovery from the WAL
        self.start()

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"


class Redis:
    """A redis-server with no persistence: a restart loses every queued job."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
            str(self.folder), "--save", "", "--appendonly", "no", "--loglevel", "warning",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)  # noqa: S603
        wait_for_port(self.port, 30)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def restart(self) -> None:
        self.kill()
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


class Workers:
    """``count`` RQ workers, each started again 0.5 s after it exits (killed or crashed)."""

    def __init__(self, env: dict[str, str], count: int, log: Path) -> None:
        self.env = env
        self.count = count
        self.log = log.open("ab")
        self.processes: list[subprocess.Popen[bytes]] = []
        self.restarts = 0
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._supervise, daemon=True)

    def _spawn(self) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "civicdesk.cli", "worker"]
        return subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command, env=self.env, cwd=ROOT, stdout=self.log, stderr=self.log
        )

    def start(self) -> None:
        self.processes = [self._spawn() for _ in range(self.count)]
        self.thread.start()

    def _supervise(self) -> None:
        while not self.stopping.wait(0.5):
            with self.lock:
                for index, process in enumerate(self.processes):
                    if process.poll() is not None and not self.stopping.is_set():
                        self.processes[index] = self._spawn()
                        self.restarts += 1

    def kill_all(self) -> int:
        with self.lock:
            for process in self.processes:
                process.send_signal(signal.SIGKILL)
            for process in self.processes:
                process.wait()
            return len(self.processes)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join()
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class Client:
    """One keep-alive connection to the API, opened again after any failure."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection: http.client.HTTPConnection | None = None

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str, bytes]:
        if self.connection is None:
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            self.connection.request("POST", path, body=body, headers=headers)
            response = self.connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = None
            raise
        if response.getheader("connection", "").lower() == "close":
            self.connection.close()
            self.connection = None
        return response.status, response.getheader("retry-after") or "", data


class Run:
    """The clients' shared tallies."""

    def __init__(
        self, appeals: int, port: int, prefix: str, rate: float = 0, resend_every: int = 0
    ) -> None:
        self.appeals = appeals
        self.resend_every = resend_every
        self.resent = 0
        self.rate = rate
        self.started = time.monotonic()
        self.port = port
        self.prefix = prefix
        self.lock = threading.Lock()
        self.done = 0
        self.accepted: set[str] = set()
        self.replayed = 0
        self.client_errors: Counter[str] = Counter()
        self.retries: Counter[str] = Counter()
        self.gave_up = 0
        self.local = threading.local()
        samples = yaml.safe_load((ROOT / "data" / "sample_appeals.yaml").read_text("utf-8"))
        self.texts = [str(sample["text"]) for sample in samples]

    def client(self) -> Client:
        if not hasattr(self.local, "client"):
            self.local.client = Client(self.port)
        return self.local.client  # type: ignore[no-any-return]

    def file(self, index: int) -> None:
        if self.rate:  # a steady stream, so routing times show the faults, not a backlog
            time.sleep(max(0.0, self.started + index / self.rate - time.monotonic()))
        rng = random.Random(index)  # sample data, not secrets
        text = rng.choice(self.texts).replace(
            "{place}", f"ул. {rng.choice(STREETS)}, {index % 180 + 1}"
        )
        key = f"{self.prefix}-{index:06d}-{uuid.uuid4().hex[:12]}"
        body = json.dumps(
            {"text": text, "citizen": {"phone": f"+7701{rng.randint(0, 9_999_999):07d}"}}
        ).encode()
        headers = {"content-type": "application/json", "Idempotency-Key": key}
        deadline = time.monotonic() + 600
        wait = 0.1
        resend = bool(self.resend_every) and index % self.resend_every == 0
        client = self.client()
        while time.monotonic() < deadline:
            try:
                status, retry_after, data = client.post("/api/v1/portal/appeals", body, headers)
            except (OSError, http.client.HTTPException) as error:
                self._retry(f"connection:{type(error).__name__}")
                time.sleep(wait)
                wait = min(wait * 2, 2.0)
                continue
            if status == 201 and resend:  # the answer "lost": the same key again
                resend = False
                with self.lock:
                    self.resent += 1
                continue
            if status in (200, 201):
                with self.lock:
                    self.accepted.add(key)
                    self.replayed += status == 200
                    self.done += 1
                return
            if status >= 500 or status in (408, 429):
                self._retry(str(status))
                time.sleep(min(float(retry_after or wait), 2.0))
                wait = min(wait * 2, 2.0)
                continue
            with self.lock:
                self.client_errors[f"{status}:{data[:120].decode('utf-8', 'replace')}"] += 1
                self.done += 1
            return
        with self.lock:
            self.gave_up += 1
            self.done += 1

    def _retry(self, cause: str) -> None:
        with self.lock:
            self.retries[cause] += 1


def inject_faults(
    run: Run, workers: Workers, redis: Redis, postgres: Postgres, finished: threading.Event
) -> list[dict[str, Any]]:
    """The schedule, each fault when its share of the appeals is done; what each took."""
    faults: list[dict[str, Any]] = []
    for share, fault in SCHEDULE:
        while run.done < share * run.appeals:
            if finished.wait(0.05):
                return faults
        started = time.perf_counter()
        entry: dict[str, Any] = {"fault": fault, "at_appeal": run.done, "at": time.time()}
        if fault == "kill_workers":
            entry["killed"] = workers.kill_all()
        elif fault == "restart_redis":
            redis.restart()
        else:
            postgres.restart()
        entry["took_s"] = round(time.perf_counter() - started, 2)
        faults.append(entry)
    return faults


def measure(postgres: Postgres, prefix: str) -> dict[str, Any]:
    """Rows per key and routing times, read straight from the cluster."""
    with psycopg.connect(postgres.dsn) as connection:
        keys = connection.execute(
            "SELECT external_id, count(*) FROM appeals WHERE external_id LIKE %s GROUP BY 1",
            (f"pk:{prefix}-%",),
        ).fetchall()
        times = connection.execute(
            """
            SELECT a.status,
                   extract(epoch FROM coalesce(min(h.at), now()) - a.received_at),
                   extract(epoch FROM a.received_at)
            FROM appeals a
            LEFT JOIN appeal_status_changes h
              ON h.appeal_id = a.id AND h.from_status = 'received'
            WHERE a.external_id LIKE %s
            GROUP BY a.id
            """,
            (f"pk:{prefix}-%",),
        ).fetchall()
    return {
        "rows": {str(key)[3:]: int(count) for key, count in keys},
        "route_s": sorted(float(seconds) for _, seconds, _ in times),
        "received": [(float(at), float(seconds)) for _, seconds, at in times],
        "unrouted": sum(1 for status, _, _ in times if status == "received"),
    }


def pending(postgres: Postgres, prefix: str) -> int:
    try:
        with psycopg.connect(postgres.dsn, connect_timeout=5) as connection:
            row = connection.execute(
                "SELECT count(*) FROM appeals WHERE external_id LIKE %s AND status = 'received'",
                (f"pk:{prefix}-%",),
            ).fetchone()
    except psycopg.OperationalError:
        return -1
    return int(row[0]) if row else 0


def by_phase(received: list[tuple[float, float]], faults: list[dict[str, Any]]) -> list[Any]:
    """The slowest routing among appeals received before the first fault and after each."""
    edges = [float("-inf")] + [float(fault.pop("at")) for fault in faults] + [float("inf")]
    names = ["before faults"] + [str(fault["fault"]) for fault in faults]
    phases = []
    for name, start, end in zip(names, edges, edges[1:], strict=False):
        inside = [seconds for at, seconds in received if start <= at < end]
        phases.append([name, len(inside), round(max(inside), 2) if inside else None])
    return phases


def warm_up(run: Run, postgres: Postgres, timeout_s: float = 300) -> None:
    """A few appeals routed before the clock starts: the worker loads its models once."""
    warm = Run(5, run.port, "warm-" + run.prefix)
    for index in range(5):
        warm.file(index)
    deadline = time.monotonic() + timeout_s
    while pending(postgres, warm.prefix) != 0 and time.monotonic() < deadline:
        time.sleep(0.5)


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    return values[min(len(values) - 1, math.ceil(share * len(values)) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appeals", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=8, help="concurrent API clients")
    parser.add_argument("--workers", type=int, default=1, help="RQ worker processes")
    parser.add_argument(
        "--rate", type=float, default=20, help="appeals offered per second (0: as fast as taken)"
    )
    parser.add_argument("--settle-s", type=float, default=120, help="wait for routing at the end")
    parser.add_argument(
        "--resend-every", type=int, default=50, help="send every Nth appeal twice (0: none)"
    )
    parser.add_argument(
        "--no-faults", action="store_true", help="the same run without faults (the baseline)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs)")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="civicdesk-faults-"))
    folder.chmod(0o755)
    postgres, redis = Postgres(folder), Redis(folder)
    workers: Workers | None = None
    server: subprocess.Popen[bytes] | None = None
    try:
        postgres.init()
        redis.start()
        env = {
            **os.environ,
            "CIVICDESK_ENVIRONMENT": "production",
            "CIVICDESK_SECRET_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
            "CIVICDESK_DATABASE_URL": postgres.url,
            "CIVICDESK_REDIS_URL": redis.url,
            "CIVICDESK_ANALYTICS_SCHEDULE": "false",
        }
        with (folder / "init.log").open("wb") as init_log:
            subprocess.run(
                [sys.executable, "-m", "civicdesk.cli", "init", "--no-demo-accounts"],
                env=env, cwd=ROOT, check=True, stdout=init_log, stderr=init_log,
            )  # fmt: skip
        port = free_port()
        with (folder / "server.log").open("wb") as server_log:
            server = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "civicdesk.cli", "serve", "--port", str(port)],
                env=env, cwd=ROOT, stdout=server_log, stderr=server_log,
            )  # fmt: skip
        wait_for_port(port, 60)
        workers = Workers(env, args.workers, folder / "worker.log")
        workers.start()

        prefix = f"faults-{uuid.uuid4().hex[:8]}"
        run = Run(args.appeals, port, prefix, args.rate, args.resend_every)
        warm_up(run, postgres)
        finished = threading.Event()
        faults: list[dict[str, Any]] = []
        injector = threading.Thread(
            target=lambda: faults.extend(inject_faults(run, workers, redis, postgres, finished))
        )
        started = time.perf_counter()
        run.started = time.monotonic()
        if not args.no_faults:
            injector.start()
        with ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(run.file, range(args.appeals)))
        filed_s = time.perf_counter() - started
        finished.set()
        if injector.is_alive():
            injector.join()
        deadline = time.monotonic() + args.settle_s
        while pending(postgres, prefix) != 0 and time.monotonic() < deadline:
            time.sleep(0.5)
        elapsed = time.perf_counter() - started
        found = measure(postgres, prefix)
        rows: dict[str, int] = found["rows"]
        route_s: list[float] = found["route_s"]
        report = {
            "appeals": args.appeals,
            "accepted": len(run.accepted),
            "stored": sum(1 for key in run.accepted if key in rows),
            "lost": sum(1 for key in run.accepted if key not in rows),
            "duplicates": sum(count - 1 for count in rows.values()),
            "max_route_s": round(route_s[-1], 2) if route_s else None,
            "route_p99_s": round(p99, 2) if (p99 := percentile(route_s, 0.99)) else None,
            "route_p50_s": round(p50, 2) if (p50 := percentile(route_s, 0.50)) else None,
            "unrouted": found["unrouted"],
            "client_errors": sum(run.client_errors.values()),
            "client_error_kinds": dict(run.client_errors.most_common(5)),
            "gave_up": run.gave_up,
            "resent": run.resent,
            "replayed": run.replayed,
            "retries": dict(run.retries.most_common()),
            "route_max_s_by_phase": by_phase(found["received"], faults),
            "faults": faults,
            "worker_restarts": workers.restarts,
            "clients": args.clients,
            "workers": args.workers,
            "filed_s": round(filed_s, 1),
            "elapsed_s": round(elapsed, 1),
            "appeals_per_s": round(args.appeals / filed_s, 1),
        }
        print(json.dumps(report, ensure_ascii=False))
        return 0
    finally:
        if workers is not None:
            workers.stop()
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        redis.kill()
        with contextlib.suppress(subprocess.CalledProcessError):
            postgres.stop("immediate")
        if args.keep:
            print(f"logs in {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

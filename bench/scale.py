"""Several workers on one PostgreSQL and one Redis: is the pipeline's work shared, and safe?

    python bench/scale.py [--appeals 10000] [--workers 1 2] [--near-duplicates 0.3]

For each worker count: a schema of its own (migrated, reference data), that many
``civicdesk worker`` processes (RQ, real Redis), a warm-up burst (every worker loads its
models), then a burst of ``--appeals`` appeals committed in one transaction — a share of them
near-duplicates (several people reporting the same problem at the same address, so batches
running at once link the same incidents) — drained by the workers. Prints one JSON object per
worker count, then a summary:

- ``workers``, ``appeals``;
- ``per_s``: appeals drained per second, from the burst's commit until none is ``received``;
- ``share_by_worker``: the share of the burst each worker processed (from the RQ results of
  its pipeline runs);
- ``deadlocks``: PostgreSQL's deadlock counter for the database over the run (it counts the
  whole database: other users of it count too) plus failed pipeline jobs;
- ``max_route_s``: the longest batch from its claim to its commit (the workers' log lines),
  i.e. the longest any appeal waited once its batch could start;
- ``incidents`` and ``linked``: how many incidents and appeals in them the burst made (the
  same for 1 and 2 workers when concurrent batches link as one worker does).

Needs PostgreSQL (CIVICDESK_BENCH_DATABASE_URL, default the machine's ``test`` database) and
Redis (CIVICDESK_BENCH_REDIS_URL). On a 2-core machine two workers share two cores with
PostgreSQL and this script: read ``per_s`` as what it is, the point is the share and safety.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text

from bench import support
from core import db
from core.settings import Settings, override_settings

ROOT = Path(__file__).resolve().parent.parent
PLACES = ("Жандосова, 84", "Абая, 150", "Сатпаева, 30", "Толе би, 59", "Розыбакиева, 247")
NEAR_DUPLICATES = (
    "На улице {place} не горит уличное освещение, вечером совсем темно",
    "Ул. {place}: третий день не работают фонари, темно и опасно",
    "Опять не горят фонари на ул. {place} — уже писали, темно, ничего не сделали",
)
BATCH_LINE = re.compile(r"pipeline batch: (\d+) appeals in ([0-9.]+) s")


def corpus_texts(limit: int = 3000) -> list[str]:
    import csv

    with (ROOT / "data" / "nlp" / "corpus.csv").open(encoding="utf-8") as handle:
        return [row["text"] for row in csv.DictReader(handle)][:limit]


def burst_texts(count: int, near_share: float, seed: int) -> list[str]:
    rng = random.Random(seed)
    corpus = corpus_texts()
    texts = []
    for _ in range(count):
        if rng.random() < near_share:
            template = rng.choice(NEAR_DUPLICATES)
            texts.append(template.format(place=rng.choice(PLACES)))
        else:
            texts.append(rng.choice(corpus))
    return texts


def submit_burst(settings: Settings, texts: list[str], tag: str) -> None:
    """Every appeal in one transaction: one commit, one backlog for the workers."""
    from appeals.models import Channel
    from intake.schemas import CitizenContact, IncomingContact
    from intake.service import submit

    with override_settings(settings), db.transaction() as session:
        for n, body in enumerate(texts):
            submit(
                session,
                IncomingContact(
                    channel=Channel.PORTAL,
                    external_id=f"{tag}-{n}",
                    text=body,
                    citizen=CitizenContact(phone=f"+7705{n % 10_000_000:07d}"),
                ),
            )


def waiting(settings: Settings) -> int:
    from appeals.lifecycle import Status
    from appeals.models import Appeal

    with db.session_factory()() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(Appeal).where(Appeal.status == Status.RECEIVED)
            )
            or 0
        )


def deadlock_count() -> int:
    with db.get_engine().connect() as connection:
        return int(
            connection.scalar(
                text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
            )
            or 0
        )


def start_workers(
    settings: Settings, count: int, logs: Path, tag: str
) -> list[subprocess.Popen[bytes]]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CIVICDESK_")},
        "CIVICDESK_ENVIRONMENT": "test",
        "CIVICDESK_DATABASE_URL": settings.database_url,
        "CIVICDESK_REDIS_URL": settings.redis_url or "",
        "CIVICDESK_QUEUE_NAME": settings.queue_name,
        "CIVICDESK_LOG_LEVEL": "INFO",
        "CIVICDESK_PIPELINE_WORKERS": str(count),
    }
    processes = []
    for index in range(count):
        with (logs / f"worker-{index}.log").open("ab") as out:
            processes.append(
                subprocess.Popen(  # noqa: S603 - our own interpreter and module
                    # RQ names workers across the whole Redis: this run's schema makes it unique.
                    [sys.executable, "-m", "civicdesk.cli", "worker", "--name", f"{tag}w{index}"],
                    env=env,
                    cwd=ROOT,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
    return processes


def stop_workers(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def drain(settings: Settings, timeout_s: float) -> float:
    started = time.monotonic()
    while waiting(settings):
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f"appeals still waiting after {timeout_s} s")
        time.sleep(0.1)
    return time.monotonic() - started


def pipeline_results(settings: Settings, since: float) -> dict[str, int]:
    """Appeals processed per worker, from the RQ results of pipeline runs ended after
    ``since`` (a run's return value is how many appeals it processed)."""
    from rq.job import Job

    from core import jobs
    from intake.jobs import PIPELINE_JOB

    queue = jobs.queue(settings)
    by_worker: dict[str, int] = {}
    for job_id in queue.finished_job_registry.get_job_ids():
        job = Job.fetch(job_id, connection=queue.connection, serializer=queue.serializer)
        if job.func_name != PIPELINE_JOB or job.ended_at is None:
            continue
        if job.ended_at.timestamp() < since:
            continue
        name = (job.worker_name or "?").rsplit("-", 1)[-1]
        by_worker[name] = by_worker.get(name, 0) + int(job.return_value() or 0)
    return by_worker


def batch_times(logs: Path, offsets: dict[str, int]) -> list[float]:
    times = []
    for path in sorted(logs.glob("worker-*.log")):
        with path.open("rb") as handle:
            handle.seek(offsets.get(path.name, 0))
            for line in handle.read().decode("utf-8", "replace").splitlines():
                found = BATCH_LINE.search(line)
                if found:
                    times.append(float(found.group(2)))
    return times


def failed_jobs(settings: Settings) -> int:
    from core import jobs

    return len(jobs.queue(settings).failed_job_registry.get_job_ids())


def incident_figures() -> tuple[int, int]:
    from appeals.models import Appeal, Incident

    with db.session_factory()() as session:
        incidents = int(session.scalar(select(func.count()).select_from(Incident)) or 0)
        linked = int(
            session.scalar(
                select(func.count()).select_from(Appeal).where(Appeal.incident_id.is_not(None))
            )
            or 0
        )
    return incidents, linked


def run(workers: int, args: argparse.Namespace, logs: Path) -> dict[str, Any]:
    schema = f"civicdesk_scale_{uuid.uuid4().hex[:8]}"
    admin, url = support.open_schema(schema)
    settings = Settings(
        environment="test",
        database_url=url,
        redis_url=support.REDIS_URL,
        queue_name=f"cd-scale-{schema}",
        pipeline_workers=workers,
    )
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with override_settings(settings):
            support.migrate_with_reference(settings)
            processes = start_workers(settings, workers, logs, f"{schema}-")
            # Warm-up: full batches bring every worker in, each loads its models.
            # The same 500 corpus texts whatever the worker count, no near-duplicates: the
            # burst's incidents are then comparable between runs.
            submit_burst(settings, burst_texts(500, 0.0, 7), "warm")
            drain(settings, timeout_s=600)
            incidents_before, linked_before = incident_figures()
            offsets = {p.name: p.stat().st_size for p in logs.glob("worker-*.log")}
            deadlocks_before = deadlock_count()
            failed_before = failed_jobs(settings)
            texts = burst_texts(args.appeals, args.near_duplicates, args.seed)
            submit_burst(settings, texts, "burst")
            committed = time.time()
            elapsed = drain(settings, timeout_s=args.timeout)
            time.sleep(1.0)  # the runs' results reach Redis once they return
            by_worker = pipeline_results(settings, since=committed)
            incidents, linked = incident_figures()
            times = batch_times(logs, offsets)
            processed = sum(by_worker.values()) or 1
            return {
                "workers": workers,
                "appeals": args.appeals,
                "per_s": round(args.appeals / elapsed, 1),
                "seconds": round(elapsed, 2),
                "share_by_worker": {
                    name: round(count / processed, 3) for name, count in sorted(by_worker.items())
                },
                "deadlocks": deadlock_count()
                - deadlocks_before
                + failed_jobs(settings)
                - failed_before,
                "max_route_s": round(max(times), 3) if times else None,
                "batches": len(times),
                "incidents": incidents - incidents_before,
                "linked": linked - linked_before,
            }
    finally:
        stop_workers(processes)
        support.clean_redis(settings.queue_name)
        db.get_engine().dispose()
        support.drop_schema(admin, schema)
        admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appeals", type=int, default=10_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--near-duplicates", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=1800.0)
    args = parser.parse_args()
    logs = ROOT / "var" / "bench-scale"
    logs.mkdir(parents=True, exist_ok=True)
    for old in logs.glob("worker-*.log"):
        old.unlink()
    results = []
    for workers in args.workers:
        result = run(workers, args, logs)
        print(json.dumps(result, ensure_ascii=False), flush=True)
        results.append(result)
    print(json.dumps({"benchmark": "scale", "runs": results}, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""How long the demo month takes to load, on the embedded default and on PostgreSQL.

    python bench/demo_month.py [--appeals 3000] [--days 22] [--runs 3] [--backend both]

Each run plays the month into a fresh database, as ``civicdesk init`` leaves it (migrations,
reference data, development accounts): a temporary SQLite file, or a PostgreSQL schema of
its own in CIVICDESK_BENCH_DATABASE_URL (default the machine's ``test`` database), dropped
afterwards. The topic model is loaded before the clock starts (``civicdesk init`` trains or
loads it; the command itself adds the model's load, about 3 s). Prints JSON per backend:
the seconds of each run and their median, appeals per second, the CPU seconds this process
spent (the rest is the database and waiting for the CPU), and the month's mix and KPIs of
the last run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from civicdesk.bootstrap import initialize
from civicdesk.demo_month import play_month
from core import db
from core.settings import Settings, override_settings
from sla.service import reset_policy_cache

ADMIN_URL = os.environ.get(
    "CIVICDESK_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _schema_url(schema: str) -> str:
    separator = "&" if "?" in ADMIN_URL else "?"
    return f"{ADMIN_URL}{separator}options=-csearch_path%3D{schema}"


def _one_run(url: str, *, appeals: int, days: int, seed: int, until: datetime) -> dict[str, Any]:
    settings = Settings(environment="development", database_url=url, redis_url=None)
    with override_settings(settings):
        initialize(settings, demo_accounts=True)
        reset_policy_cache()
        from nlp import topic

        topic.get_model(settings)  # loaded before the clock starts
        cpu, wall = time.process_time(), time.perf_counter()
        report = play_month(appeals=appeals, days=days, seed=seed, until=until)
        report["cpu_s"] = round(time.process_time() - cpu, 2)
        report["wall_s"] = round(time.perf_counter() - wall, 2)
        db.get_engine().dispose()
    return report


def run(backend: str, *, appeals: int, days: int, runs: int, until: datetime) -> dict[str, Any]:
    reports = []
    for _ in range(runs):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as directory:
                url = f"sqlite:///{directory}/bench.sqlite3"
                reports.append(_one_run(url, appeals=appeals, days=days, seed=0, until=until))
            continue
        schema = f"bench_demo_{uuid.uuid4().hex[:8]}"
        admin = db.make_engine(ADMIN_URL)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            reports.append(
                _one_run(_schema_url(schema), appeals=appeals, days=days, seed=0, until=until)
            )
        finally:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    seconds = [report["wall_s"] for report in reports]
    median = statistics.median(seconds)
    last = reports[-1]
    return {
        "backend": backend,
        "appeals": appeals,
        "days": days,
        "runs_s": seconds,
        "median_s": median,
        "appeals_per_s": round(appeals / median, 1),
        "cpu_s": [report["cpu_s"] for report in reports],
        "mix": last["mix"],
        "kpi": last["kpi"],
        "skipped_steps": last["skipped_steps"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--appeals", type=int, default=3000)
    parser.add_argument("--days", type=int, default=22)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    until = datetime.now(UTC)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = [
        run(backend, appeals=args.appeals, days=args.days, runs=args.runs, until=until)
        for backend in backends
    ]
    print(json.dumps({"demo_month": results}, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()

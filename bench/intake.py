"""End-to-end intake rate vs the raw PostgreSQL insert rate of the same rows.

    python bench/intake.py [--appeals 2000] [--workers 2] [--runs 3]

Needs PostgreSQL (CIVICDESK_BENCH_DATABASE_URL, default the machine's ``test``
database, in a schema of its own that is dropped afterwards) and, for the RQ
mode, Redis (CIVICDESK_BENCH_REDIS_URL). Prints JSON:

- ``appeals_per_s``: appeals from the first submit() until every one of them has
  left ``received`` (registered and assigned, or in triage), each submitted in
  its own transaction as a channel would, with the pipeline on RQ workers;
- ``raw_insert_per_s``: the same rows — each appeal's citizen, appeal,
  status-history and assignment rows as the intake wrote them — inserted again with plain
  psycopg, single-row INSERTs and one COMMIT per appeal on one connection: the
  cost of durably writing that data with no logic at all;
- ``ratio``: appeals_per_s / raw_insert_per_s (median of the runs);
- ``raw_appeal_row_only_per_s`` and ``ratio_to_appeal_row_only``: the same with
  the appeal row alone, for a stricter comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import support
from core import db
from core.settings import Settings, override_settings

RAW_COLUMNS = (
    "tracking_number",
    "channel",
    "external_id",
    "citizen_id",
    "text",
    "language",
    "appeal_type",
    "category_code",
    "category_confidence",
    "district_code",
    "urgency",
    "organization_id",
    "routing_rule_id",
    "routing_reason",
    "status",
    "received_at",
    "registered_on",
    "due_at",
    "forward_due_at",
    "anonymous",
    "updated_at",
)


def intake_run(settings: Settings, appeals: int, workers: int, seed: int) -> dict[str, Any]:
    from civicdesk.demo import run_demo

    return run_demo(settings, appeals=appeals, workers=workers, seed=seed)


HISTORY_COLUMNS = ("from_status", "to_status", "actor_kind", "reason", "organization_id", "at")
CITIZEN_COLUMNS = ("phone_e164", "full_name", "email", "preferred_language", "created_at")
ASSIGNMENT_COLUMNS = ("organization_id", "role", "kind", "rule_id", "reason", "started_at", "late")
TABLES = ("appeals", "appeal_status_changes", "citizens", "appeal_assignments")


def raw_insert_run(url: str, run_prefix: str) -> tuple[float, float]:
    """The rows the intake wrote for each appeal, inserted again with plain psycopg.

    Returns (appeals/s writing each appeal's rows — citizen, appeal, history, assignment —
    in one transaction, appeals/s writing the appeal row alone); single-row
    INSERTs, one COMMIT per appeal, one connection: the durability unit of intake.
    """
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as connection:
        for table in TABLES:
            connection.execute(f"DROP TABLE IF EXISTS {table}_raw")
            connection.execute(
                f"CREATE TABLE {table}_raw (LIKE {table} INCLUDING DEFAULTS INCLUDING INDEXES)"
            )
        appeals = connection.execute(
            f"SELECT id, citizen_id, {', '.join(RAW_COLUMNS)} FROM appeals "
            "WHERE external_id LIKE %s ORDER BY id",
            (f"{run_prefix}%",),
        ).fetchall()
        history: dict[int, list[tuple[object, ...]]] = {}
        for row in connection.execute(
            f"SELECT appeal_id, {', '.join(HISTORY_COLUMNS)} FROM appeal_status_changes "
            "WHERE appeal_id = ANY(%s) ORDER BY id",
            ([appeal[0] for appeal in appeals],),
        ):
            history.setdefault(row[0], []).append(tuple(row[1:]))
        leads: dict[int, list[tuple[object, ...]]] = {}
        for row in connection.execute(
            f"SELECT appeal_id, {', '.join(ASSIGNMENT_COLUMNS)} FROM appeal_assignments "
            "WHERE appeal_id = ANY(%s) ORDER BY id",
            ([appeal[0] for appeal in appeals],),
        ):
            leads.setdefault(row[0], []).append(tuple(row[1:]))
        citizens = {
            row[0]: tuple(row[1:])
            for row in connection.execute(
                f"SELECT id, {', '.join(CITIZEN_COLUMNS)} FROM citizens WHERE id = ANY(%s)",
                ([appeal[1] for appeal in appeals if appeal[1]],),
            )
        }
        connection.commit()

        def insert_sql(table: str, columns: tuple[str, ...]) -> str:
            marks = ", ".join(["%s"] * len(columns))
            return f"INSERT INTO {table}_raw ({', '.join(columns)}) VALUES ({marks})"

        appeal_sql = insert_sql("appeals", RAW_COLUMNS)
        history_sql = insert_sql("appeal_status_changes", ("appeal_id", *HISTORY_COLUMNS))
        citizen_sql = insert_sql("citizens", CITIZEN_COLUMNS)
        lead_sql = insert_sql("appeal_assignments", ("appeal_id", *ASSIGNMENT_COLUMNS))

        started = time.perf_counter()
        for appeal in appeals:
            connection.execute(appeal_sql, appeal[2:])
            connection.commit()
        appeal_only = len(appeals) / (time.perf_counter() - started)
        connection.execute("TRUNCATE appeals_raw")
        connection.commit()

        started = time.perf_counter()
        for appeal in appeals:
            if appeal[1] in citizens:
                connection.execute(citizen_sql, citizens[appeal[1]])
            connection.execute(appeal_sql, appeal[2:])
            for change in history.get(appeal[0], []):
                connection.execute(history_sql, (appeal[0], *change))
            for lead in leads.get(appeal[0], []):
                connection.execute(lead_sql, (appeal[0], *lead))
            connection.commit()
        same_rows = len(appeals) / (time.perf_counter() - started)
        for table in TABLES:
            connection.execute(f"DROP TABLE {table}_raw")
        connection.commit()
    return same_rows, appeal_only


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appeals", type=int, default=2000)
    # One worker keeps up with one submitter; on 2 cores a second only takes CPU from it.
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--inline", action="store_true", help="no Redis: pipeline in-process")
    args = parser.parse_args()

    schema = f"civicdesk_bench_{uuid.uuid4().hex[:8]}"
    admin, url = support.open_schema(schema)
    settings = Settings(
        environment="test",
        database_url=url,
        redis_url=None if args.inline else support.REDIS_URL,
        queue_name=f"civicdesk-bench-{schema}",
    )
    os.environ["CIVICDESK_DATABASE_URL"] = url  # the worker processes read the environment
    os.environ["CIVICDESK_ENVIRONMENT"] = "test"
    os.environ["CIVICDESK_QUEUE_NAME"] = settings.queue_name
    if settings.redis_url:
        os.environ["CIVICDESK_REDIS_URL"] = settings.redis_url
    results: list[dict[str, Any]] = []
    try:
        with override_settings(settings):
            support.migrate_with_reference(settings)
            intake_run(settings, min(200, args.appeals), args.workers, seed=99)  # warm-up
            for run in range(args.runs):
                report = intake_run(settings, args.appeals, args.workers, seed=run)
                prefix = _last_prefix(settings)
                raw, appeal_only = raw_insert_run(url, prefix)
                results.append(
                    {
                        "appeals_per_s": report["appeals_per_s"],
                        "raw_insert_per_s": round(raw, 1),
                        "ratio": round(report["appeals_per_s"] / raw, 3),
                        "raw_appeal_row_only_per_s": round(appeal_only, 1),
                        "ratio_to_appeal_row_only": round(report["appeals_per_s"] / appeal_only, 3),
                        "by_status": report["by_status"],
                    }
                )
    finally:
        db.get_engine().dispose()
        support.drop_schema(admin, schema)
        admin.dispose()
    summary = {
        "benchmark": "intake",
        "appeals": args.appeals,
        "runs": args.runs,
        "jobs": "inline" if args.inline else f"rq ({args.workers} workers)",
        "appeals_per_s": statistics.median(r["appeals_per_s"] for r in results),
        "raw_insert_per_s": statistics.median(r["raw_insert_per_s"] for r in results),
        "ratio": statistics.median(r["ratio"] for r in results),
        "raw_appeal_row_only_per_s": statistics.median(
            r["raw_appeal_row_only_per_s"] for r in results
        ),
        "ratio_to_appeal_row_only": statistics.median(
            r["ratio_to_appeal_row_only"] for r in results
        ),
        "per_run": [{k: v for k, v in r.items() if k != "by_status"} for r in results],
        "final_statuses": results[-1]["by_status"],
    }
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    return 0


def _last_prefix(settings: Settings) -> str:
    from sqlalchemy import select

    from appeals.models import Appeal

    with db.session_factory()() as session:
        last = session.scalar(select(Appeal.external_id).order_by(Appeal.id.desc()).limit(1))
    assert last is not None
    return last.rsplit("-", 1)[0] + "-"


if __name__ == "__main__":
    raise SystemExit(main())

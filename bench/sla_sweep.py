"""The SLA deadline sweep on a realistic table: how long one sweep takes.

    python bench/sla_sweep.py [--appeals 100000] [--open-share 0.12] [--runs 3]

Needs PostgreSQL (CIVICDESK_BENCH_DATABASE_URL, default the machine's ``test`` database,
in a schema of its own that is dropped afterwards). Generates ``--appeals`` appeals in SQL
(``--open-share`` of them open, due from 3 days ago to 25 days ahead; the rest closed,
due in the past), then prints JSON:

- ``backlog_sweep_ms``: the first sweep, which claims every reminder and breach due at
  once (a deployment switching the sweep on; median of the runs, each on a clean ledger);
- ``steady_sweep_ms``: a sweep right after it, when nothing new is due (what the worker
  pays every minute: the candidate ranges plus the ledger look-ups);
- ``minute_sweep_ms``: a sweep one minute later (the few notices due in that minute);
- ``claimed``: what the backlog sweep claimed, per kind.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from bench import support
from core import db
from core.clock import now
from core.settings import Settings, override_settings

OPEN = ("assigned", "in_progress", "extended", "returned", "forwarded", "registered")


def generate(appeals: int, open_share: float) -> None:
    """Insert the appeals with one INSERT … SELECT generate_series (fast, no Python loop)."""
    statuses = "ARRAY[" + ", ".join(f"'{s}'" for s in OPEN) + "]"
    with db.transaction() as session:
        session.execute(text("SELECT setseed(0.42)"))
        session.execute(
            text(
                f"""
                WITH orgs AS (SELECT array_agg(id ORDER BY id) AS ids FROM organizations),
                cats AS (SELECT array_agg(code ORDER BY code) AS codes FROM categories),
                g AS (
                    SELECT n, random() AS r_open, random() AS r_due, random() AS r_org,
                           random() AS r_cat, random() AS r_status
                    FROM generate_series(1, :appeals) AS n
                )
                INSERT INTO appeals (
                    tracking_number, channel, external_id, text, appeal_type, status,
                    received_at, urgency, anonymous, is_repeat, updated_at, organization_id,
                    category_code, due_at, target_due_at, returns_count
                )
                SELECT
                    'B' || lpad(n::text, 11, '0'), 'portal', 'bench-' || n,
                    'bench appeal', 'application',
                    CASE WHEN r_open < :open_share
                         THEN ({statuses})[1 + floor(r_status * {len(OPEN)})::int]
                         ELSE 'closed' END,
                    due - interval '21 days', 'normal', false, false, now(),
                    orgs.ids[1 + floor(r_org * array_length(orgs.ids, 1))::int],
                    cats.codes[1 + floor(r_cat * array_length(cats.codes, 1))::int],
                    due, due - interval '5 days', 0
                FROM g, orgs, cats,
                LATERAL (
                    SELECT CASE WHEN r_open < :open_share
                                THEN now() + (r_due * 28 - 3) * interval '1 day'
                                ELSE now() - (r_due * 3000 + 30) * interval '1 day' END AS due
                ) AS d
                """
            ),
            {"appeals": appeals, "open_share": open_share},
        )
    _maintenance("VACUUM ANALYZE appeals")


def _maintenance(statement: str) -> None:
    with db.get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(statement))


def reset() -> None:
    with db.transaction() as session:
        session.execute(text("DELETE FROM staff_notifications"))
        session.execute(text("DELETE FROM sla_reminders"))
        session.execute(text("UPDATE appeals SET escalated_at = NULL, escalation_reason = NULL"))
    _maintenance("VACUUM ANALYZE appeals, sla_reminders, staff_notifications")


def timed(settings: Settings, at: Any) -> tuple[float, dict[str, Any]]:
    from sla.jobs import run_sweep

    started = time.perf_counter()
    summary = run_sweep(at=at, settings=settings)
    return (time.perf_counter() - started) * 1000, summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appeals", type=int, default=100_000)
    parser.add_argument("--open-share", type=float, default=0.12)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=2000)
    args = parser.parse_args()

    schema = f"civicdesk_bench_{uuid.uuid4().hex[:8]}"
    admin, url = support.open_schema(schema)
    settings = Settings(
        environment="test", database_url=url, redis_url=None, sla_sweep_batch=args.batch
    )
    runs: list[dict[str, Any]] = []
    try:
        with override_settings(settings):
            support.migrate_with_reference(settings)
            started = time.perf_counter()
            generate(args.appeals, args.open_share)
            load_s = time.perf_counter() - started
            for _ in range(args.runs):
                reset()
                moment = now()
                backlog_ms, backlog = timed(settings, moment)
                steady_ms, _ = timed(settings, moment)
                minute_ms, minute = timed(settings, moment + timedelta(minutes=1))
                runs.append(
                    {
                        "backlog_sweep_ms": round(backlog_ms, 1),
                        "steady_sweep_ms": round(steady_ms, 1),
                        "minute_sweep_ms": round(minute_ms, 1),
                        "claimed": backlog["claimed"],
                        "minute_claimed": sum(minute["claimed"].values()),
                    }
                )
    finally:
        db.get_engine().dispose()
        support.drop_schema(admin, schema)
        admin.dispose()
    summary = {
        "benchmark": "sla_sweep",
        "appeals": args.appeals,
        "open_share": args.open_share,
        "runs": args.runs,
        "batch": args.batch,
        "load_s": round(load_s, 1),
        "backlog_sweep_ms": round(statistics.median(r["backlog_sweep_ms"] for r in runs), 1),
        "steady_sweep_ms": round(statistics.median(r["steady_sweep_ms"] for r in runs), 1),
        "minute_sweep_ms": round(statistics.median(r["minute_sweep_ms"] for r in runs), 1),
        "claimed": runs[-1]["claimed"],
        "per_run": [{k: v for k, v in r.items() if k != "claimed"} for r in runs],
    }
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The agency ranking at Open Almaty's scale: the table over 1.5 million appeals with their
histories, and the ranking page served from a stored snapshot.

    python bench/ranking.py [--appeals 1500000] [--runs 3] [--page-runs 30] [--reuse] [--drop]

Needs PostgreSQL (CIVICDESK_BENCH_DATABASE_URL, default the machine's ``test`` database).
Loads ``--appeals`` appeals into a schema of its own (``civicdesk_bench_ranking``, or
CIVICDESK_BENCH_RANKING_SCHEMA) built by the
migrations, all in SQL (``INSERT … SELECT generate_series``):

- received dates from 2017 to now, volume growing year by year; deadlines 21 days on,
  internal targets 10; each organization late with its own probability (3–28 %), so the
  table has a real order; recent appeals still open; 8 % quick answers, 4 % rejected;
- histories: one lead stint per appeal; one in 16 first went to another body and was
  forwarded (late when held past 3 days); a review for 35 % of the answers (returns at the
  organization's own rate), a rating for 30 % (scores skewed by the same quality; some low
  ones reopened the appeal), a repeat link for one appeal in 33.

Then it times (median of ``--runs``): ``seconds``, the ranking over the whole history
(every appeal and its history; goal < 30 s); ``month_seconds`` and ``week_seconds``, the
live tables of the latest month and week; and ``page_p95_ms``, ``GET /staff/ratings`` for a
closed month read from its snapshot, with a signed-in inspector's cookie (``--page-runs``
requests; goal < 200 ms), with ``page_cpu_p95_ms`` (the process's CPU per request: what the
page costs whatever else the machine is doing) and the machine's load average. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("CIVICDESK_LOG_LEVEL", "WARNING")

from sqlalchemy import Engine, text

from bench import support
from core import db
from core.clock import local, now
from core.models import Role
from core.settings import Settings, override_settings

SCHEMA = os.environ.get("CIVICDESK_BENCH_RANKING_SCHEMA", "civicdesk_bench_ranking")
START = datetime(2017, 1, 1, tzinfo=UTC)
CHUNK = 250_000
PASSWORD = "bench-ranking-password"  # noqa: S105 - a throwaway account in a bench schema
INSPECTOR = "bench-ranking-inspector"
TARGET_S = 30.0
TARGET_PAGE_MS = 200.0


def quality(column: str = "org") -> str:
    """An organization's own lateness: 3–28 %, fixed by its id (a stable order to find)."""
    return f"(0.03 + 0.25 * (({column} * 7919) % 1000) / 1000.0)"


QUALITY = quality()
QUALITY_OF_APPEAL = quality("organization_id")

APPEALS_SQL = f"""
INSERT INTO appeals (
    tracking_number, channel, external_id, text, appeal_type, status, received_at,
    registered_on, due_at, target_due_at, answered_at, closed_at, organization_id,
    district_code, category_code, urgency, anonymous, is_repeat, returns_count, updated_at
)
SELECT
    'K' || lpad(to_hex(i), 11, '0'),
    CASE WHEN r_ch < 0.45 THEN 'phone' WHEN r_ch < 0.91 THEN 'social' WHEN r_ch < 0.96
         THEN 'portal' ELSE 'telegram' END,
    'rank-' || i, 'Обращение для замера', 'complaint', status, received_at,
    (received_at AT TIME ZONE 'Asia/Almaty')::date,
    received_at + interval '21 days',
    received_at + interval '10 days',
    CASE WHEN status IN ('in_progress', 'rejected') THEN NULL
         WHEN status = 'quick_answered' THEN received_at + interval '5 minutes'
         WHEN r_late < {QUALITY} THEN received_at + interval '21 days' + r_by * interval '10 days'
         ELSE received_at + r_by * interval '20 days' END,
    CASE WHEN status = 'closed' THEN received_at + interval '25 days' END,
    org, districts[1 + floor(cardinality(districts) * r_dist)::int],
    categories[1 + floor(cardinality(categories) * power(r_cat, 2.0))::int],
    'normal', false, false, 0, received_at
FROM (
    SELECT *,
        CASE WHEN CAST(:now AS timestamptz) - received_at < interval '25 days' AND r_status < 0.7
             THEN 'in_progress'
             WHEN r_status < 0.88 THEN 'closed' WHEN r_status < 0.96 THEN 'quick_answered'
             ELSE 'rejected' END AS status
    FROM (
        SELECT i,
            CAST(:start AS timestamptz)
                + (CAST(:now AS timestamptz) - CAST(:start AS timestamptz))
                * sqrt(greatest(i - random(), 0) / CAST(:total AS float8)) AS received_at,
            orgs[1 + floor(cardinality(orgs) * power(random(), 1.6))::int] AS org,
            random() AS r_status, random() AS r_late, random() AS r_by, random() AS r_ch,
            random() AS r_dist, random() AS r_cat,
            CAST(:districts AS text[]) AS districts, CAST(:categories AS text[]) AS categories
        FROM generate_series(CAST(:low AS bigint), CAST(:high AS bigint)) AS i,
             (SELECT CAST(:orgs AS int[]) AS orgs) AS o
    ) AS drawn
) AS generated
"""

HISTORY_SQL = [
    # One in 16 went first to another body, which forwarded it (late past 3 days).
    """
    INSERT INTO appeal_assignments (appeal_id, organization_id, role, kind, reason, started_at,
                                    ended_at, end_reason, late)
    SELECT id, orgs[1 + (id % cardinality(orgs))], 'lead', 'rule', '', received_at,
           received_at + (id % 7) * interval '1 day', 'forwarded', (id % 7) > 4
    FROM appeals, (SELECT CAST(:orgs AS int[]) AS orgs) AS o
    WHERE id % 16 = 0 AND status <> 'quick_answered'
    """,
    """
    INSERT INTO appeal_assignments (appeal_id, organization_id, role, kind, reason, started_at,
                                    late)
    SELECT id, organization_id, 'lead', CASE WHEN id % 16 = 0 THEN 'forward' ELSE 'rule' END,
           '', received_at + CASE WHEN id % 16 = 0 THEN (id % 7) * interval '1 day'
                                  ELSE interval '0' END, false
    FROM appeals WHERE status <> 'quick_answered'
    """,
    f"""
    INSERT INTO answer_reviews (appeal_id, organization_id, reviewer_id, outcome, comment,
                                created_at)
    SELECT id, org, CAST(:inspector AS int),
           CASE WHEN random() < {QUALITY} / 2 THEN 'returned' ELSE 'accepted' END, '',
           answered_at + interval '2 hours'
    FROM (SELECT id, organization_id AS org, answered_at FROM appeals
          WHERE status = 'closed' AND random() < 0.35) AS reviewed
    """,
    f"""
    INSERT INTO answer_ratings (appeal_id, answered_at, organization_id, score, channel,
                                rated_at, changes, reopened_at)
    SELECT id, answered_at, org, score, 'telegram', answered_at + interval '1 day', 0,
           CASE WHEN score <= 2 AND id % 3 = 0 THEN answered_at + interval '1 day' END
    FROM (
        SELECT id, answered_at, organization_id AS org,
               greatest(1, least(5, 6 - ceil(random() * 5 * (0.55 + 2 * {QUALITY_OF_APPEAL}))::int))
               AS score
        FROM appeals WHERE status IN ('closed', 'quick_answered') AND random() < 0.3
    ) AS rated
    """,
    """
    INSERT INTO appeal_links (appeal_id, other_id, kind, score, evidence, status, created_at)
    SELECT newer.id, newer.id - 200 - newer.id % 300, 'repeat', 0.9, '{}', 'confirmed',
           newer.received_at
    FROM appeals AS newer WHERE newer.id % 33 = 0 AND newer.id > 600
    """,
]
TABLES = ("appeals", "appeal_assignments", "answer_reviews", "answer_ratings", "appeal_links")


def load(admin: Engine, appeals: int, settings: Settings) -> dict[str, Any]:
    """A fresh schema from the migrations, the reference data, then appeals and histories."""
    from core.security import create_staff_user

    started = time.perf_counter()
    support.create_schema(admin, SCHEMA, fresh=True)
    engine = support.migrate_with_reference(settings)
    with db.transaction() as session:
        inspector = create_staff_user(
            session,
            username=INSPECTOR,
            full_name="Bench Inspector",
            role=Role.INSPECTOR,
            password=PASSWORD,
        )
        inspector_id = inspector.id
    with engine.connect() as connection:
        organizations = list(
            connection.scalars(
                text("SELECT id FROM organizations WHERE retired_on IS NULL ORDER BY id")
            )
        )
        districts = list(connection.scalars(text("SELECT code FROM districts ORDER BY code")))
        categories = list(connection.scalars(text("SELECT code FROM categories ORDER BY code")))
    indexes = support.drop_secondary_indexes(engine, ("appeals", "appeal_assignments"))
    moment = now()
    support.insert_in_chunks(
        engine,
        APPEALS_SQL,
        appeals,
        CHUNK,
        {
            "orgs": organizations,
            "districts": districts,
            "categories": categories,
            "start": START,
            "now": moment,
        },
    )
    for statement in HISTORY_SQL:
        support.run_bulk(engine, statement, {"orgs": organizations, "inspector": inspector_id})
        print("history step done", file=sys.stderr, flush=True)
    support.rebuild_indexes(engine, indexes)
    print("indexes rebuilt", file=sys.stderr, flush=True)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in TABLES:
            connection.execute(text(f"VACUUM ANALYZE {table}"))
    with engine.connect() as connection:
        counts = {
            table: int(connection.scalar(text(f"SELECT count(*) FROM {table}")) or 0)
            for table in TABLES
        }
    return {"load_s": round(time.perf_counter() - started, 1), "rows": counts}


def time_rankings(runs: int) -> dict[str, Any]:
    """The whole history, the latest month and week, computed live (median of ``runs``)."""
    from ratings import ranking
    from ratings.periods import PeriodKind, containing, custom

    today = local(now()).date()
    periods = {
        "seconds": custom(local(START).date(), today),
        "month_seconds": containing(PeriodKind.MONTH, today),
        "week_seconds": containing(PeriodKind.WEEK, today),
    }
    results: dict[str, Any] = {}
    for name, period in periods.items():
        samples = []
        for _ in range(runs):
            with db.session_factory()() as session:
                started = time.perf_counter()
                table = ranking.compute(session, period)
                samples.append(time.perf_counter() - started)
        results[name] = round(statistics.median(samples), 2)
        results[name.replace("seconds", "runs_s")] = [round(s, 2) for s in samples]
        if name == "seconds":
            results["organizations_ranked"] = sum(1 for r in table["rows"] if r["rank"])
            results["appeals_counted"] = sum(r["n"] for r in table["rows"])
    return results


def measure_page(runs: int, settings: Settings) -> dict[str, Any]:
    """The ranking page of the last closed month, from its snapshot, as an inspector."""
    from fastapi.testclient import TestClient

    from civicdesk.app import create_app
    from ratings import snapshots
    from ratings.periods import PeriodKind, last_closed

    month = last_closed(PeriodKind.MONTH, local(now()).date())
    started = time.perf_counter()
    with db.transaction() as session:
        for period in (month, month.previous()):
            if snapshots.load(session, period) is None:
                snapshots.store(session, period, snapshots.table_for(session, period))
    stored_s = time.perf_counter() - started
    app = create_app(settings)
    url = f"/staff/ratings?period=month&at={month.start.isoformat()}"
    with TestClient(app) as client:
        support.sign_in(client, INSPECTOR, PASSWORD, "/staff/ratings")
        samples: list[float] = []
        kk: list[float] = []
        cpu: list[float] = []
        for number in range(runs + 1):
            for language, into in (("ru", samples), ("kk", kk)):
                began, began_cpu = time.perf_counter(), time.process_time()
                response = client.get(f"{url}&lang={language}")
                elapsed = (time.perf_counter() - began) * 1000
                # This process's CPU (every thread): what the page costs on an idle machine.
                used = (time.process_time() - began_cpu) * 1000
                assert response.status_code == 200, response.status_code
                assert "ranking-table" in response.text
                if number:  # the first is a warm-up
                    into.append(elapsed)
                    cpu.append(used)
        size = len(response.content)
    both = samples + kk
    return {
        "page_p95_ms": round(support.percentile(both, 0.95), 1),
        "page_p50_ms": round(statistics.median(both), 1),
        "page_kk_p95_ms": round(support.percentile(kk, 0.95), 1),
        "page_cpu_p95_ms": round(support.percentile(cpu, 0.95), 1),
        "page_bytes": size,
        "snapshot_store_s": round(stored_s, 2),
        "page_period": month.label,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--appeals", type=int, default=1_500_000)
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each ranking")
    parser.add_argument("--page-runs", type=int, default=30, help="requests of the page")
    parser.add_argument("--reuse", action="store_true", help="keep the loaded schema for later")
    parser.add_argument("--drop", action="store_true", help="drop the bench schema and exit")
    args = parser.parse_args()
    if args.runs < 1 or args.page_runs < 1 or args.appeals < 1000:
        parser.error("--runs and --page-runs must be >= 1 and --appeals >= 1000")
    admin = db.make_engine(support.ADMIN_URL)
    if args.drop:
        return support.drop_and_report(admin, SCHEMA)
    settings = Settings(
        environment="development", database_url=support.schema_url(SCHEMA), redis_url=None
    )
    summary: dict[str, Any] = {"appeals": args.appeals, "runs": args.runs, "reused": False}
    with override_settings(settings):
        loaded = support.appeals_loaded(admin, SCHEMA, settings) if args.reuse else 0
        if loaded == args.appeals:
            summary["reused"] = True
        else:
            summary.update(load(admin, args.appeals, settings))
        db.configure(settings)
        summary.update(time_rankings(args.runs))
        summary.update(measure_page(args.page_runs, settings))
    summary.update(
        {
            "target_s": TARGET_S,
            "target_page_p95_ms": TARGET_PAGE_MS,
            "meets_targets": summary["seconds"] < TARGET_S
            and summary["page_p95_ms"] < TARGET_PAGE_MS,
            "measured_at": now().isoformat(),
            "load_average": [round(value, 1) for value in os.getloadavg()],
        }
    )
    if not args.reuse:
        support.drop_schema(admin, SCHEMA)
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

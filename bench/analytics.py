"""Analytics at Open Almaty's scale: the open export, the weekly report, bursts, the page.

    python bench/analytics.py [--appeals 1500000] [--per-year 180000] [--scale 1.0]
                              [--runs 3] [--page-runs 20] [--reuse] [--drop]

Needs PostgreSQL (CIVICDESK_BENCH_DATABASE_URL, default the machine's ``test`` database).
Loads ``--appeals`` × ``--scale`` appeals into a schema of its own
(``civicdesk_bench_analytics``, or CIVICDESK_BENCH_ANALYTICS_SCHEMA) built by the migrations,
all in SQL (``INSERT … SELECT generate_series``), spread evenly over as many years as make
``--per-year`` × ``--scale`` a year (1.5 M at 180,000 a year: 8⅓ years up to now), so the
latest year, which the report, the bursts and the page read, has the issue's density
whatever the export's size:

- channels, districts, topics (skewed: a few topics carry most appeals), organizations,
  statuses (recent ones still open; 8 % quick answers, 4 % rejected), deadlines 15 days on,
  one organization in five late more often; 40 % of appeals carry a point near their
  district's centre (hot spots have something to find); a lead assignment for every
  appeal, a status change for every answered one, a rating for 30 % of the answers.

Then it times:

- ``export_s``: ``civicdesk analytics export --full`` of every appeal into a temporary
  directory (Parquet by month, CSV, daily aggregates; goal < 60 s at 1.5 M);
- ``report_s``: the weekly report of the last full ISO week as PDF, Russian (median of
  ``--runs``; goal < 60 s), and ``report_html_s`` for the HTML alone;
- ``bursts_s``: the burst scan over the last 365 days × every district × every topic
  (median of ``--runs``; goal < 10 s); ``hotspots_s``: the hot spots of the last 28 days;
- ``page_p95_ms``: ``GET /staff/analytics`` (the last seven days, ru and kk) as a signed-in
  analyst, its shared figures forgotten before each request, so every request computes them
  (goal < 300 ms); ``page_cached_p95_ms``: the same within the figures' cache life.

Prints JSON with the machine's load average (this machine is shared: read the figures with
it). ``--reuse`` keeps the loaded schema for the next run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
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

SCHEMA = os.environ.get("CIVICDESK_BENCH_ANALYTICS_SCHEMA", "civicdesk_bench_analytics")
CHUNK = 250_000
PASSWORD = "bench-analytics-password"  # noqa: S105 - a throwaway account in a bench schema
ANALYST = "bench-analytics-analyst"
TARGETS = {"export_s": 60.0, "report_s": 60.0, "bursts_s": 10.0, "page_p95_ms": 300.0}

APPEALS_SQL = """
INSERT INTO appeals (
    tracking_number, channel, external_id, text, language, appeal_type, status, received_at,
    registered_on, due_at, target_due_at, answered_at, closed_at, organization_id,
    district_code, category_code, latitude, longitude, urgency, anonymous, is_repeat,
    returns_count, updated_at
)
SELECT
    'A' || lpad(to_hex(i), 11, '0'),
    CASE WHEN r_ch < 0.45 THEN 'phone' WHEN r_ch < 0.80 THEN 'social' WHEN r_ch < 0.92
         THEN 'portal' ELSE 'telegram' END,
    'analytics-' || i, 'Обращение для замера аналитики', CASE WHEN i % 5 = 0 THEN 'kk'
    ELSE 'ru' END, 'complaint', status, received_at,
    (received_at AT TIME ZONE 'Asia/Almaty')::date,
    received_at + interval '15 days', received_at + interval '10 days',
    CASE WHEN status IN ('in_progress', 'rejected') THEN NULL
         WHEN status = 'quick_answered' THEN received_at + interval '5 minutes'
         WHEN org % 5 = 0 AND r_late < 0.4 THEN received_at + interval '16 days'
         ELSE received_at + r_late * interval '14 days' END,
    CASE WHEN status = 'closed' THEN received_at + interval '17 days' END,
    org, districts[1 + d], categories[1 + floor(cardinality(categories) * power(r_cat, 2.5))::int],
    CASE WHEN r_geo < 0.4 THEN 43.22 + 0.025 * (d % 4) + 0.012 * (r_lat - 0.5) END,
    CASE WHEN r_geo < 0.4 THEN 76.82 + 0.05 * (d / 4) + 0.02 * (r_lng - 0.5) END,
    CASE WHEN i % 40 = 0 THEN 'urgent' ELSE 'normal' END, false, i % 33 = 0, 0, received_at
FROM (
    SELECT *,
        CASE WHEN CAST(:now AS timestamptz) - received_at < interval '15 days' AND r_status < 0.7
             THEN 'in_progress'
             WHEN r_status < 0.88 THEN 'closed' WHEN r_status < 0.96 THEN 'quick_answered'
             ELSE 'rejected' END AS status
    FROM (
        SELECT i,
            CAST(:start AS timestamptz)
                + (CAST(:now AS timestamptz) - CAST(:start AS timestamptz))
                * ((i - random()) / CAST(:total AS float8)) AS received_at,
            orgs[1 + floor(cardinality(orgs) * power(random(), 1.6))::int] AS org,
            floor(cardinality(CAST(:districts AS text[])) * power(random(), 1.3))::int AS d,
            random() AS r_status, random() AS r_late, random() AS r_ch, random() AS r_cat,
            random() AS r_geo, random() AS r_lat, random() AS r_lng,
            CAST(:districts AS text[]) AS districts, CAST(:categories AS text[]) AS categories
        FROM generate_series(CAST(:low AS bigint), CAST(:high AS bigint)) AS i,
             (SELECT CAST(:orgs AS int[]) AS orgs) AS o
    ) AS drawn
) AS generated
"""

HISTORY_SQL = [
    """
    INSERT INTO appeal_assignments (appeal_id, organization_id, role, kind, reason, started_at,
                                    late)
    SELECT id, organization_id, 'lead', 'rule', '', received_at, false
    FROM appeals WHERE organization_id IS NOT NULL
    """,
    """
    INSERT INTO appeal_status_changes (appeal_id, from_status, to_status, actor_kind, reason,
                                       organization_id, at)
    SELECT id, 'in_progress', 'answered', 'staff', '', organization_id, answered_at
    FROM appeals WHERE answered_at IS NOT NULL
    """,
    """
    INSERT INTO answer_ratings (appeal_id, answered_at, organization_id, score, channel,
                                rated_at, changes)
    SELECT id, answered_at, organization_id, 1 + (id * 7) % 5, 'telegram',
           answered_at + interval '1 day', 0
    FROM appeals WHERE answered_at IS NOT NULL AND random() < 0.3
    """,
]
TABLES = ("appeals", "appeal_assignments", "appeal_status_changes", "answer_ratings")


def load(admin: Engine, appeals: int, per_year: int, settings: Settings) -> dict[str, Any]:
    """A fresh schema from the migrations, the reference data, then appeals and histories."""
    from core.security import create_staff_user

    started = time.perf_counter()
    support.create_schema(admin, SCHEMA, fresh=True)
    engine = support.migrate_with_reference(settings)
    with db.transaction() as session:
        create_staff_user(
            session,
            username=ANALYST,
            full_name="Bench Analyst",
            role=Role.ANALYST,
            password=PASSWORD,
        )
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
    start = moment - timedelta(days=365.25 * appeals / per_year)
    support.insert_in_chunks(
        engine,
        APPEALS_SQL,
        appeals,
        CHUNK,
        {
            "orgs": organizations,
            "districts": districts,
            "categories": categories,
            "start": start,
            "now": moment,
        },
    )
    for statement in HISTORY_SQL:
        support.run_bulk(engine, statement)
    support.rebuild_indexes(engine, indexes)
    print("histories and indexes done", file=sys.stderr, flush=True)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in TABLES:
            connection.execute(text(f"VACUUM ANALYZE {table}"))
    return {"load_s": round(time.perf_counter() - started, 1), "first_day": str(start.date())}


def _median(samples: list[float]) -> float:
    return round(statistics.median(samples), 2)


def time_export(settings: Settings) -> dict[str, Any]:
    """The full export into a temporary directory (once: it is the long one)."""
    from analytics.export import export

    with tempfile.TemporaryDirectory(prefix="civicdesk-bench-export-") as out:
        with db.session_factory()() as session:
            started = time.perf_counter()
            result = export(session, Path(out), full=True, settings=settings)
            seconds = time.perf_counter() - started
        size = sum(path.stat().st_size for path in Path(out).rglob("*") if path.is_file())
    return {
        "export_s": round(seconds, 1),
        "export_appeals": result.appeals,
        "export_daily_rows": result.daily_rows,
        "export_months": len(result.months),
        "export_mb": round(size / 2**20, 1),
    }


def time_report_and_bursts(runs: int) -> dict[str, Any]:
    from analytics.bursts_service import scan
    from analytics.hotspots import compute
    from analytics.report import render_html
    from analytics.report_service import render_report

    today = local(now()).date()
    year, week, _ = (today - timedelta(days=7)).isocalendar()
    label = f"{year}-W{week:02d}"
    timings: dict[str, list[float]] = {"report_s": [], "report_html_s": [], "bursts_s": []}
    found = 0
    for _ in range(runs):
        with db.session_factory()() as session:
            started = time.perf_counter()
            pdf = render_report(session, week=label, language="ru", fmt="pdf")
            timings["report_s"].append(time.perf_counter() - started)
            started = time.perf_counter()
            render_html(session, label, "ru")
            timings["report_html_s"].append(time.perf_counter() - started)
            started = time.perf_counter()
            found = len(scan(session, first=today - timedelta(days=365), last=today))
            timings["bursts_s"].append(time.perf_counter() - started)
    with db.session_factory()() as session:
        series = session.execute(
            text(
                "SELECT count(DISTINCT (district_code, category_code)) FROM appeals "
                "WHERE received_at >= now() - interval '365 days'"
            )
        ).scalar_one()
        start = datetime(today.year, today.month, today.day, tzinfo=UTC) - timedelta(days=28)
        started = time.perf_counter()
        spots = compute(session, start=start, end=start + timedelta(days=28), resolution=8)
        hotspots_s = time.perf_counter() - started
    result: dict[str, Any] = {name: _median(samples) for name, samples in timings.items()}
    result.update(
        {
            "report_runs_s": [round(s, 2) for s in timings["report_s"]],
            "report_week": label,
            "report_pdf_bytes": len(pdf),
            "bursts_runs_s": [round(s, 2) for s in timings["bursts_s"]],
            "bursts_series": int(series),
            "bursts_found_in_year": found,
            "hotspots_s": round(hotspots_s, 2),
            "hotspots_kind": spots.kind,
            "hot_cells_all_topics": len(spots.layers[0].cells) if spots.layers else 0,
        }
    )
    return result


def _store_hotspots() -> None:
    """What the worker's daily job keeps, so the page draws its map as in production."""
    from analytics.jobs import Due, claim, finish, hotspots_now

    moment = now()
    with db.transaction() as session:
        run_id = claim(session, Due("hotspots", f"bench-{moment:%Y%m%dT%H%M%S}"), moment=moment)
    if run_id is not None:
        finish(run_id, hotspots_now(moment))


def measure_page(runs: int, settings: Settings) -> dict[str, Any]:
    """``/staff/analytics`` as an analyst: computed every time, and from the cache."""
    from fastapi.testclient import TestClient

    from civicdesk.app import create_app
    from civicdesk.web.analytics.pages import clear_cache

    _store_hotspots()
    app = create_app(settings)
    with TestClient(app) as client:
        support.sign_in(client, ANALYST, PASSWORD, "/staff/analytics")
        cold: list[float] = []
        cached: list[float] = []
        size = 0
        for number in range(runs + 1):
            for language in ("ru", "kk"):
                for into, forget in ((cold, True), (cached, False)):
                    if forget:
                        clear_cache()
                    began = time.perf_counter()
                    response = client.get(f"/staff/analytics?lang={language}")
                    elapsed = (time.perf_counter() - began) * 1000
                    assert response.status_code == 200, response.status_code
                    size = len(response.content)
                    if number:  # the first round warms imports and templates
                        into.append(elapsed)
    return {
        "page_p95_ms": round(support.percentile(cold, 0.95), 1),
        "page_p50_ms": round(statistics.median(cold), 1),
        "page_cached_p95_ms": round(support.percentile(cached, 0.95), 1),
        "page_bytes": size,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--appeals", type=int, default=1_500_000, help="appeals exported")
    parser.add_argument("--per-year", type=int, default=180_000, help="appeals a year")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiplies --appeals and --per-year"
    )
    parser.add_argument("--runs", type=int, default=3, help="timed runs of report and bursts")
    parser.add_argument("--page-runs", type=int, default=20, help="requests per language")
    parser.add_argument("--reuse", action="store_true", help="keep the loaded schema for later")
    parser.add_argument("--drop", action="store_true", help="drop the bench schema and exit")
    args = parser.parse_args()
    appeals = int(args.appeals * args.scale)
    per_year = int(args.per_year * args.scale)
    if args.runs < 1 or args.page_runs < 1 or appeals < 1000 or per_year < 1000:
        parser.error("--runs and --page-runs must be >= 1, appeals and per year >= 1000")
    admin = db.make_engine(support.ADMIN_URL)
    if args.drop:
        return support.drop_and_report(admin, SCHEMA)
    settings = Settings(
        environment="development",
        database_url=support.schema_url(SCHEMA),
        redis_url=None,
        analytics_pseudonym_key="bench-analytics-key",
    )
    summary: dict[str, Any] = {"appeals": appeals, "per_year": per_year, "reused": False}
    with override_settings(settings):
        loaded = support.appeals_loaded(admin, SCHEMA, settings) if args.reuse else 0
        if loaded == appeals:
            summary["reused"] = True
        else:
            summary.update(load(admin, appeals, per_year, settings))
        db.configure(settings)
        summary.update(time_export(settings))
        summary.update(time_report_and_bursts(args.runs))
        summary.update(measure_page(args.page_runs, settings))
    summary.update(
        {
            "targets": TARGETS,
            "meets_targets": {key: summary[key] < goal for key, goal in TARGETS.items()},
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

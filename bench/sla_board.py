"""The SLA board at Open Almaty's scale: p95 of its queries and of its page.

    python bench/sla_board.py [--appeals 1500000] [--runs 30] [--reuse] [--drop]

Needs PostgreSQL (CIVICDESK_BENCH_DATABASE_URL, default the machine's ``test`` database).
Loads ``--appeals`` appeals (default 1.5 million: Open Almaty's whole history is 1.46
million) into a dedicated schema (``civicdesk_bench_board``) built by the migrations, with
one ``INSERT … SELECT generate_series`` per chunk, all in SQL:

- received dates from 2017 to now, volume growing year by year (density ∝ time);
- mostly closed history; open appeals are the recent ones (95 % of the last 30 days, half
  of the 30–90 days before, 12 % of the rest of the year, 1 % of older years: ~6 % open),
  with a backlog that is overdue, extended, paused, past its internal target;
- channels mostly phone (45 %) and social media (46 %); organizations, districts and
  categories from ``data/`` with a skew (a few organizations get most appeals).

``--reuse`` keeps a loaded schema between runs (it is reloaded if the count differs);
``--drop`` drops it and exits. Then it times, ``--runs`` times each (default 30):

- the board's queries (``sla.board``: the grouped aggregate with its labels, the
  drill-down list with its count, the review queue) for several filter combinations, as
  an inspector and as an executor;
- the whole page (``GET /staff/board…`` through the app with a signed-in inspector's
  cookie, rendered by the templates) for several URLs.

Prints JSON: ``p95_ms`` (all query samples), ``page_p95_ms`` (all page samples, each a
first look: the page's shared summary is cleared before every request), medians,
``page_cached_p95_ms`` (the same pages reloaded within the summary's few seconds), and per
combination ``p50_ms``/``p95_ms``; target: both p95 under 200 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("CIVICDESK_LOG_LEVEL", "WARNING")

from sqlalchemy import Engine, select, text

from bench import support
from core import db
from core.clock import now
from core.models import Role, StaffUser
from core.settings import Settings, override_settings

SCHEMA = "civicdesk_bench_board"
START = datetime(2017, 1, 1, tzinfo=UTC)
CHUNK = 250_000
PASSWORD = "bench-board-password"  # noqa: S105 - a throwaway account in a bench schema
INSPECTOR = "bench-inspector"
EXECUTOR = "bench-executor"
TARGET_MS = 200.0

LOAD_SQL = """
INSERT INTO appeals (
    tracking_number, channel, external_id, text, appeal_type, status, received_at,
    registered_on, due_at, target_due_at, paused_at, answered_at, closed_at, escalated_at,
    organization_id, district_code, category_code, urgency, anonymous, is_repeat,
    returns_count, updated_at
)
SELECT
    'B' || lpad(to_hex(i), 11, '0'),
    CASE WHEN r_ch < 0.45 THEN 'phone' WHEN r_ch < 0.91 THEN 'social'
         WHEN r_ch < 0.95 THEN 'portal' WHEN r_ch < 0.97 THEN 'mobile'
         WHEN r_ch < 0.985 THEN 'telegram' WHEN r_ch < 0.995 THEN 'whatsapp'
         ELSE 'front_office' END,
    'bench-' || i,
    'Обращение для замера',
    'complaint',
    status,
    received_at,
    (received_at AT TIME ZONE 'Asia/Almaty')::date,
    CASE WHEN status = 'extended' THEN received_at + interval '45 days' + r_due * interval '15 days'
         ELSE received_at + interval '21 days' + (r_due - 0.5) * interval '4 days' END,
    CASE WHEN r_misc < 0.4 THEN received_at + interval '5 days' END,
    CASE WHEN is_open AND r_misc > 0.97 THEN received_at + interval '3 days' END,
    CASE WHEN NOT is_open THEN received_at + r_due * interval '20 days' END,
    CASE WHEN status IN ('closed', 'quick_answered', 'rejected')
         THEN received_at + r_due * interval '21 days' END,
    CASE WHEN is_open AND r_misc BETWEEN 0.5 AND 0.52 THEN received_at + interval '10 days' END,
    CASE WHEN status = 'registered' THEN NULL
         ELSE orgs[1 + floor(cardinality(orgs) * power(r_org, 2.2))::int] END,
    CASE WHEN r_dist < 0.05 THEN NULL
         ELSE districts[1 + floor(cardinality(districts) * power(r_dist, 1.4))::int] END,
    categories[1 + floor(cardinality(categories) * power(r_cat, 2.5))::int],
    'normal', false, false,
    CASE WHEN status = 'returned' THEN 1 ELSE 0 END,
    received_at
FROM (
    SELECT *,
        CASE
            WHEN is_open THEN
                CASE WHEN r_status < 0.03 THEN 'registered' WHEN r_status < 0.28 THEN 'assigned'
                     WHEN r_status < 0.80 THEN 'in_progress' WHEN r_status < 0.88 THEN 'extended'
                     WHEN r_status < 0.92 THEN 'returned' WHEN r_status < 0.95 THEN 'forwarded'
                     WHEN r_status < 0.97 THEN 'reopened' ELSE 'in_progress' END
            WHEN age < interval '30 days' AND r_open > 0.95 AND r_status < 0.8 THEN 'answered'
            ELSE CASE WHEN r_status < 0.88 THEN 'closed' WHEN r_status < 0.97 THEN 'quick_answered'
                      ELSE 'rejected' END
        END AS status
    FROM (
        SELECT *,
            (age < interval '30 days' AND r_open < 0.95)
            OR (age < interval '90 days' AND r_open < 0.5)
            OR (age < interval '365 days' AND r_open < 0.12)
            OR r_open < 0.01 AS is_open
        FROM (
            SELECT *, CAST(:now AS timestamptz) - received_at AS age
            FROM (
                SELECT i,
                    CAST(:start AS timestamptz)
                        + (CAST(:now AS timestamptz) - CAST(:start AS timestamptz))
                        * sqrt(greatest(i - random(), 0) / CAST(:total AS float8)) AS received_at,
                    random() AS r_open, random() AS r_status, random() AS r_org,
                    random() AS r_dist, random() AS r_cat, random() AS r_ch, random() AS r_due,
                    random() AS r_misc,
                    CAST(:orgs AS int[]) AS orgs, CAST(:districts AS text[]) AS districts,
                    CAST(:categories AS text[]) AS categories
                FROM generate_series(CAST(:low AS bigint), CAST(:high AS bigint)) AS i
            ) AS drawn
        ) AS aged
    ) AS opened
) AS generated
"""


def _reference_codes(engine: Engine) -> tuple[list[int], list[str], list[str]]:
    """Organizations, districts and categories, busiest first (the skew picks the first)."""
    with engine.connect() as connection:
        # District akimats, utilities and the city departments for roads and housing first.
        organizations = list(
            connection.scalars(
                text(
                    "SELECT id FROM organizations WHERE retired_on IS NULL ORDER BY "
                    "CASE kind WHEN 'district_akimat' THEN 0 WHEN 'utility' THEN 1 "
                    "WHEN 'city_department' THEN 2 ELSE 3 END, id"
                )
            )
        )
        districts = list(connection.scalars(text("SELECT code FROM districts ORDER BY code")))
        categories = list(
            connection.scalars(
                text(
                    "SELECT code FROM categories ORDER BY CASE split_part(code, '.', 1) "
                    "WHEN 'improvement' THEN 0 WHEN 'roads' THEN 1 WHEN 'housing' THEN 2 "
                    "WHEN 'heating' THEN 3 WHEN 'water' THEN 4 ELSE 5 END, code"
                )
            )
        )
    return organizations, districts, categories


def load(admin: Engine, appeals: int, settings: Settings) -> dict[str, Any]:
    """A fresh schema from the migrations, the reference data, then the appeals in SQL."""
    from core.security import create_staff_user
    from routing.models import Organization

    started = time.perf_counter()
    support.create_schema(admin, SCHEMA, fresh=True)
    engine = support.migrate_with_reference(settings)
    organizations, districts, categories = _reference_codes(engine)
    with db.transaction() as session:
        create_staff_user(
            session,
            username=INSPECTOR,
            full_name="Bench Inspector",
            role=Role.INSPECTOR,
            password=PASSWORD,
        )
        top = session.scalar(select(Organization).where(Organization.id == organizations[0]))
        assert top is not None
        create_staff_user(
            session,
            username=EXECUTOR,
            full_name="Bench Executor",
            role=Role.EXECUTOR,
            password=PASSWORD,
            organization_id=top.id,
        )
    schema_s = time.perf_counter() - started
    # Secondary indexes are built once after the load, as a restore does: much faster.
    # The generated codes are valid by construction: the load skips the per-row FK triggers.
    indexes = support.drop_secondary_indexes(engine, ("appeals",))
    moment = now()
    support.insert_in_chunks(
        engine,
        LOAD_SQL,
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
    inserted_s = time.perf_counter() - started
    support.rebuild_indexes(engine, indexes)
    indexed_s = time.perf_counter() - started
    visible = vacuum(engine)
    return {
        "load_s": round(time.perf_counter() - started, 1),
        "schema_s": round(schema_s, 1),
        "insert_s": round(inserted_s - schema_s, 1),
        "index_s": round(indexed_s - inserted_s, 1),
        "all_visible": visible,
    }


def vacuum(engine: Engine, tries: int = 10) -> float:
    """VACUUM ANALYZE until the visibility map covers the table, as autovacuum would in
    production (another session's open transaction can keep pages from being marked)."""
    share = 0.0
    for _ in range(tries):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE appeals"))
            visible, pages = connection.execute(
                text(
                    "SELECT relallvisible, relpages FROM pg_class "
                    "WHERE oid = CAST('appeals' AS regclass)"
                )
            ).one()
        share = visible / pages if pages else 1.0
        if share >= 0.95:
            break
        time.sleep(3)
    return round(share, 3)


def _timed(
    runs: int, call: Callable[[], object], before: Callable[[], object] | None = None
) -> list[float]:
    """``runs`` timings of ``call`` after one warm-up; ``before`` runs untimed before each."""
    call()  # warm: caches, prepared statements, the calendar
    samples = []
    for _ in range(runs):
        if before is not None:
            before()
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def measure_queries(runs: int) -> tuple[dict[str, Any], list[float]]:
    from sla import board
    from sla.board import BoardFilters, Bucket, GroupBy

    with db.transaction() as session:
        inspector = session.scalar(select(StaffUser).where(StaffUser.username == INSPECTOR))
        executor = session.scalar(select(StaffUser).where(StaffUser.username == EXECUTOR))
        assert inspector is not None
        assert executor is not None
        session.expunge_all()
        top_org = executor.organization_id
        top_category = session.scalar(
            text(
                "SELECT category_code FROM appeals WHERE status = 'in_progress' "
                "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
            )
        )
    recent = (now() - timedelta(days=90)).date()
    cases: dict[str, tuple[StaffUser, Callable[[Any, StaffUser], object]]] = {
        "summary_all_by_organization": (
            inspector,
            lambda s, u: board.summary(s, user=u, filters=BoardFilters()),
        ),
        "summary_all_by_district": (
            inspector,
            lambda s, u: board.summary(
                s, user=u, filters=BoardFilters(), group_by=GroupBy.DISTRICT
            ),
        ),
        "summary_one_organization": (
            inspector,
            lambda s, u: board.summary(s, user=u, filters=BoardFilters(organization_id=top_org)),
        ),
        "summary_district_and_channel": (
            inspector,
            lambda s, u: board.summary(
                s,
                user=u,
                filters=BoardFilters(district_code="auezov", channel=board.Channel.SOCIAL),
            ),
        ),
        "summary_category_last_90_days": (
            inspector,
            lambda s, u: board.summary(
                s, user=u, filters=BoardFilters(category_code=top_category, received_from=recent)
            ),
        ),
        "summary_executor": (
            executor,
            lambda s, u: board.summary(s, user=u, filters=BoardFilters()),
        ),
        "list_overdue_all": (
            inspector,
            lambda s, u: board.list_appeals(
                s, user=u, filters=BoardFilters(), bucket=Bucket.OVERDUE
            ),
        ),
        "list_overdue_one_organization": (
            inspector,
            lambda s, u: board.list_appeals(
                s, user=u, filters=BoardFilters(organization_id=top_org), bucket=Bucket.OVERDUE
            ),
        ),
        "list_at_risk_district": (
            inspector,
            lambda s, u: board.list_appeals(
                s, user=u, filters=BoardFilters(district_code="bostandyk"), bucket=Bucket.AT_RISK
            ),
        ),
        "review_queue": (
            inspector,
            lambda s, u: board.review_queue(s, user=u, filters=BoardFilters()),
        ),
    }
    results: dict[str, Any] = {}
    pooled: list[float] = []
    for name, (user, query) in cases.items():

        def one(query: Callable[[Any, StaffUser], object] = query, user: StaffUser = user) -> None:
            with db.transaction() as session:
                query(session, user)

        samples = _timed(runs, one)
        pooled.extend(samples)
        results[name] = support.latency_stats(samples)
    return results, pooled


def measure_pages(
    runs: int, settings: Settings
) -> tuple[dict[str, Any], list[float], list[float], int]:
    """Each page URL timed cold (the shared summary cleared before every request: what a
    first look costs, the figure that counts) and warm (a reload within the summary's few
    seconds, as a drill-down or a colleague's view gets it)."""
    from fastapi.testclient import TestClient

    from civicdesk.app import create_app
    from civicdesk.web.board.pages import clear_summary_cache

    app = create_app(settings)
    with TestClient(app) as client:
        support.sign_in(client, INSPECTOR, PASSWORD, "/staff/board")
        pages = {
            "board": "/staff/board",
            "board_by_district": "/staff/board?group_by=district",
            "drill_down_overdue": "/staff/board?organization=akimat-alatau&bucket=overdue",
            "filtered_district_channel": "/staff/board?district=medeu&channel=social",
            "board_kazakh": "/staff/board?lang=kk",
        }
        results: dict[str, Any] = {}
        pooled: list[float] = []
        warm: list[float] = []
        size = 0
        for name, url in pages.items():

            def one(url: str = url) -> None:
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)

            samples = _timed(runs, one, before=clear_summary_cache)
            pooled.extend(samples)
            cached = _timed(runs, one)
            warm.extend(cached)
            results[name] = support.latency_stats(samples) | {
                "cached_p50_ms": support.latency_stats(cached)["p50_ms"],
                "cached_p95_ms": support.latency_stats(cached)["p95_ms"],
            }
            size = max(size, len(client.get(url).content))
    return results, pooled, warm, size


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--appeals", type=int, default=1_500_000)
    parser.add_argument("--runs", type=int, default=30, help="timed runs per combination")
    parser.add_argument("--reuse", action="store_true", help="keep the loaded schema for later")
    parser.add_argument("--drop", action="store_true", help="drop the bench schema and exit")
    args = parser.parse_args()
    if args.runs < 1 or args.appeals < 1000:
        parser.error("--runs must be >= 1 and --appeals >= 1000")
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
            summary["all_visible"] = vacuum(db.get_engine(), tries=3)
        else:
            summary.update(load(admin, args.appeals, settings))
        engine = db.configure(settings)
        with engine.connect() as connection:
            summary["open_appeals"] = int(
                connection.scalar(
                    text(
                        "SELECT count(*) FROM appeals WHERE status IN ('assigned', 'extended', "
                        "'forwarded', 'in_progress', 'received', 'registered', 'reopened', "
                        "'returned')"
                    )
                )
                or 0
            )
            summary["awaiting_review"] = int(
                connection.scalar(text("SELECT count(*) FROM appeals WHERE status = 'answered'"))
                or 0
            )
        queries, query_samples = measure_queries(args.runs)
        pages, page_samples, page_cached, page_bytes = measure_pages(args.runs, settings)
    summary.update(
        {
            "p95_ms": round(support.percentile(query_samples, 0.95), 2),
            "p50_ms": round(statistics.median(query_samples), 2),
            "page_p95_ms": round(support.percentile(page_samples, 0.95), 2),
            "page_p50_ms": round(statistics.median(page_samples), 2),
            "page_cached_p95_ms": round(support.percentile(page_cached, 0.95), 2),
            "page_cached_p50_ms": round(statistics.median(page_cached), 2),
            "target_p95_ms": TARGET_MS,
            "page_bytes_max": page_bytes,
            "queries": queries,
            "pages": pages,
        }
    )
    if not args.reuse:
        support.drop_schema(admin, SCHEMA)
    admin.dispose()
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

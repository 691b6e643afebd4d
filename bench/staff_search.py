"""Staff search at Open Almaty's scale: p95 of ``appeals.search`` and of the list page.

    python bench/staff_search.py [--appeals 1500000] [--runs 20] [--reuse] [--drop]

Needs PostgreSQL (CIVICDESK_BENCH_DATABASE_URL, default the machine's ``test`` database).
Loads ``--appeals`` appeals (default 1.5 million: Open Almaty's whole history) into a
dedicated schema (``civicdesk_bench_search``) built by the migrations, with ``INSERT …
SELECT generate_series`` per chunk, all in SQL, as ``bench/sla_board.py`` does:

- texts from the project corpus (``data/nlp/corpus.csv``: 7,478 appeals in Russian, Kazakh
  and mixed), each with a street and a house number appended, so term frequencies are those
  of real appeals; their Russian full-text vector computed in the same statement;
- 60 % of appeals from a known citizen (700,000 citizens with Kazakh and Russian first
  names and surnames, unique phones; some call often), the rest anonymous or bot-only;
- tracking numbers in the real format (``YYMM-`` and 8 characters of the same alphabet),
  unique; statuses, organizations, districts, categories and channels skewed as in
  ``bench/sla_board.py`` (received from 2017 to now, growing year by year).

``--reuse`` keeps the schema for the next run (reloaded if the count differs). Then it times
``--runs`` first looks at each query of a realistic mix (an inspector; an executor of the
busiest organization): a tracking number as typed (with the dash, with a space, lower
case, without the dash), part of one, a phone in local notation, the last digits of one, a
surname, a full name, common and rare words in Russian and Kazakh, a phrase, words with
filters, filters alone (status, organization, district, category, channel, dates), the
second and tenth page. And the list page (``GET /staff/appeals?q=…`` rendered, signed in).

Prints JSON: ``p95_ms`` and ``p50_ms`` over all query samples, ``page_p95_ms``, and per
query ``p50_ms``/``p95_ms``/``results``; target: p95 under 300 ms.
"""

from __future__ import annotations

import argparse
import csv
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

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = "civicdesk_bench_search"
START = datetime(2017, 1, 1, tzinfo=UTC)
CHUNK = 250_000
CITIZENS = 700_000
PASSWORD = "bench-search-password"  # noqa: S105 - a throwaway account in a bench schema
INSPECTOR = "bench-inspector"
EXECUTOR = "bench-executor"
TARGET_MS = 300.0
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # intake.service._TRACKING_ALPHABET
FIRST_NAMES = [
    "Асель",
    "Айгерим",
    "Айжан",
    "Гульнара",
    "Динара",
    "Жанар",
    "Камила",
    "Мадина",
    "Сауле",
    "Алия",
    "Анна",
    "Елена",
    "Ольга",
    "Наталья",
    "Ирина",
    "Светлана",
    "Мария",
    "Дарина",
    "Томирис",
    "Аружан",
    "Ерлан",
    "Бауыржан",
    "Нурлан",
    "Данияр",
    "Арман",
    "Асхат",
    "Серик",
    "Марат",
    "Ержан",
    "Тимур",
    "Алексей",
    "Сергей",
    "Андрей",
    "Дмитрий",
    "Иван",
    "Михаил",
    "Олжас",
    "Айдос",
    "Руслан",
    "Азамат",
]
SURNAMES = [
    "Нурланов",
    "Жумабаев",
    "Сапаров",
    "Ахметов",
    "Оспанов",
    "Касымов",
    "Алиев",
    "Исмаилов",
    "Бекова",
    "Кенжебаев",
    "Абдуллаев",
    "Сулейменов",
    "Муканов",
    "Ким",
    "Ли",
    "Пак",
    "Иванов",
    "Петров",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Соколов",
    "Лебедев",
    "Новиков",
    "Морозов",
    "Волков",
    "Есенов",
    "Тулегенов",
    "Байжанов",
    "Омаров",
    "Джаксыбеков",
    "Нуржанов",
    "Ермеков",
    "Мусин",
    "Садыков",
    "Шаймерденов",
    "Калиев",
    "Рахимов",
    "Ибраев",
    "Юсупов",
]
STREETS = [
    "ул. Абая",
    "пр. Абая",
    "ул. Жандосова",
    "ул. Толе би",
    "пр. Райымбека",
    "ул. Сатпаева",
    "ул. Розыбакиева",
    "мкр. Самал-2",
    "мкр. Аксай-4",
    "мкр. Орбита-3",
    "ул. Фурманова",
    "ул. Назарбаева",
    "пр. Аль-Фараби",
    "мкр. Шанырак-1",
    "ул. Момышулы",
    "Абай даңғылы",
    "Төле би көшесі",
    "Сәтбаев көшесі",
    "ул. Гагарина",
    "ул. Байзакова",
]

CITIZENS_SQL = """
INSERT INTO citizens (phone_e164, full_name, preferred_language, created_at)
SELECT
    '+77' || CASE i % 4 WHEN 0 THEN '01' WHEN 1 THEN '02' WHEN 2 THEN '05' ELSE '77' END
        || lpad(((i * 7919) % 10000000)::text, 7, '0'),
    firsts[1 + (i * 31 % cardinality(firsts))] || ' ' || lasts[1 + (i * 17 % cardinality(lasts))]
        || CASE WHEN i % 2 = 0 AND right(lasts[1 + (i * 17 % cardinality(lasts))], 2) = 'ов'
                THEN 'а' ELSE '' END,
    CASE WHEN i % 3 = 0 THEN 'kk' ELSE 'ru' END,
    CAST(:start AS timestamptz)
FROM generate_series(1, CAST(:citizens AS bigint)) AS i,
     (SELECT CAST(:firsts AS text[]) AS firsts, CAST(:lasts AS text[]) AS lasts) AS names
"""

APPEALS_SQL = """
INSERT INTO appeals (
    tracking_number, channel, external_id, citizen_id, text, search_vector, language,
    appeal_type, status, received_at, registered_on, due_at, answered_at, closed_at,
    organization_id, district_code, category_code, urgency, anonymous, is_repeat,
    returns_count, updated_at
)
SELECT
    to_char(received_at AT TIME ZONE 'Asia/Almaty', 'YYMM') || '-' || {suffix},
    channel, 'bench-' || i,
    CASE WHEN r_cit < 0.6 THEN
        1 + floor(CAST(:citizens AS float8) * power(r_who, 1.6))::bigint END,
    body, to_tsvector('pg_catalog.russian', body), language, 'complaint', status,
    received_at, (received_at AT TIME ZONE 'Asia/Almaty')::date,
    received_at + interval '21 days',
    CASE WHEN status IN ('closed', 'answered') THEN received_at + interval '10 days' END,
    CASE WHEN status = 'closed' THEN received_at + interval '12 days' END,
    CASE WHEN status = 'registered' THEN NULL
         ELSE orgs[1 + floor(cardinality(orgs) * power(r_org, 2.2))::int] END,
    districts[1 + floor(cardinality(districts) * power(r_dist, 1.4))::int],
    category, 'normal', r_cit >= 0.6, false, 0, received_at
FROM (
    SELECT *,
        texts[1 + floor(cardinality(texts) * r_text)::int] || ', '
            || streets[1 + floor(cardinality(streets) * r_street)::int] || ', '
            || (1 + floor(r_house * 180))::int AS body,
        langs[1 + floor(cardinality(langs) * r_text)::int] AS language,
        cats[1 + floor(cardinality(cats) * r_text)::int] AS category,
        ((i * 104729::bigint) % 656100000000) AS scrambled,
        CASE WHEN age < interval '60 days' THEN
            CASE WHEN r_status < 0.3 THEN 'in_progress' WHEN r_status < 0.5 THEN 'assigned'
                 WHEN r_status < 0.6 THEN 'answered' ELSE 'closed' END
             ELSE CASE WHEN r_status < 0.9 THEN 'closed' WHEN r_status < 0.97
                       THEN 'quick_answered' ELSE 'rejected' END
        END AS status,
        CASE WHEN r_ch < 0.45 THEN 'phone' WHEN r_ch < 0.91 THEN 'social'
             WHEN r_ch < 0.95 THEN 'portal' WHEN r_ch < 0.97 THEN 'mobile'
             WHEN r_ch < 0.985 THEN 'telegram' WHEN r_ch < 0.995 THEN 'whatsapp'
             ELSE 'front_office' END AS channel
    FROM (
        SELECT *, CAST(:now AS timestamptz) - received_at AS age
        FROM (
            SELECT i,
                CAST(:start AS timestamptz)
                    + (CAST(:now AS timestamptz) - CAST(:start AS timestamptz))
                    * sqrt(greatest(i - random(), 0) / CAST(:total AS float8)) AS received_at,
                random() AS r_text, random() AS r_street, random() AS r_house,
                random() AS r_cit, random() AS r_who, random() AS r_status, random() AS r_org,
                random() AS r_dist, random() AS r_ch,
                CAST(:texts AS text[]) AS texts, CAST(:langs AS text[]) AS langs,
                CAST(:cats AS text[]) AS cats, CAST(:streets AS text[]) AS streets,
                CAST(:orgs AS int[]) AS orgs, CAST(:districts AS text[]) AS districts
            FROM generate_series(CAST(:low AS bigint), CAST(:high AS bigint)) AS i
        ) AS drawn
    ) AS aged
) AS generated
"""

# Eight characters of the alphabet from a bijection of the row number (unique numbers).
APPEALS_SQL = APPEALS_SQL.replace(
    "{suffix}",
    " || ".join(
        f"substr(CAST(:alphabet AS text), 1 + ((scrambled / {30**k}) % 30)::int, 1)"
        for k in range(8)
    ),
)


def _corpus() -> tuple[list[str], list[str], list[str]]:
    with (ROOT / "data" / "nlp" / "corpus.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return (
        [row["text"] for row in rows],
        ["kk" if row["language"] == "kk" else "ru" for row in rows],
        [row["category"] for row in rows],
    )


def load(admin: Engine, appeals: int, settings: Settings) -> dict[str, Any]:
    """A fresh schema from the migrations, the reference data, citizens and appeals in SQL."""
    from core.security import create_staff_user

    started = time.perf_counter()
    support.create_schema(admin, SCHEMA, fresh=True)
    engine = support.migrate_with_reference(settings)
    with engine.connect() as connection:
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
        known = set(connection.scalars(text("SELECT code FROM categories")))
    with db.transaction() as session:
        create_staff_user(
            session, username=INSPECTOR, full_name="Bench Inspector",
            role=Role.INSPECTOR, password=PASSWORD,
        )  # fmt: skip
        create_staff_user(
            session, username=EXECUTOR, full_name="Bench Executor", role=Role.EXECUTOR,
            password=PASSWORD, organization_id=organizations[0],
        )  # fmt: skip
    schema_s = time.perf_counter() - started
    # Indexes that back no constraint are dropped before the load and rebuilt after it, as a
    # restore does. The rows are valid by construction: the load skips the per-row FK
    # triggers (and the vector's trigger: the statement computes the vector itself).
    indexes = support.drop_secondary_indexes(engine, ("appeals", "citizens"))
    support.run_bulk(
        engine,
        CITIZENS_SQL,
        {"start": START, "citizens": CITIZENS, "firsts": FIRST_NAMES, "lasts": SURNAMES},
    )
    texts, langs, cats = _corpus()
    cats = [c if c in known else None for c in cats]
    moment = now()
    support.insert_in_chunks(
        engine,
        APPEALS_SQL,
        appeals,
        CHUNK,
        {
            "alphabet": ALPHABET,
            "texts": texts,
            "langs": langs,
            "cats": cats,
            "streets": STREETS,
            "orgs": organizations,
            "districts": districts,
            "citizens": CITIZENS,
            "start": START,
            "now": moment,
        },
    )
    inserted_s = time.perf_counter() - started
    support.rebuild_indexes(engine, indexes, work_mem="512MB")
    indexed_s = time.perf_counter() - started
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE appeals"))
        connection.execute(text("VACUUM ANALYZE citizens"))
    return {
        "load_s": round(time.perf_counter() - started, 1),
        "schema_s": round(schema_s, 1),
        "insert_s": round(inserted_s - schema_s, 1),
        "index_s": round(indexed_s - inserted_s, 1),
    }


def _timed(runs: int, call: Callable[[], int]) -> tuple[list[float], int]:
    results = call()  # warm: caches, plans
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples, results


def _probes(engine: Engine) -> dict[str, Any]:
    """Real values to search for: an existing tracking number, phone and name, an org."""
    with engine.connect() as connection:
        number = connection.scalar(
            text("SELECT tracking_number FROM appeals ORDER BY id DESC LIMIT 1")
        )
        phone, name = connection.execute(
            text(
                "SELECT c.phone_e164, c.full_name FROM citizens AS c "
                "WHERE EXISTS (SELECT 1 FROM appeals AS a WHERE a.citizen_id = c.id) "
                "ORDER BY c.id LIMIT 1 OFFSET 777"
            )
        ).one()
        organization = connection.scalar(
            text("SELECT organization_id FROM appeals GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
        )
        category = connection.scalar(
            text(
                "SELECT category_code FROM appeals WHERE category_code IS NOT NULL "
                "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
            )
        )
    return {
        "number": number,
        "phone": phone,
        "name": name,
        "organization": organization,
        "category": category,
    }


def measure(runs: int, engine: Engine) -> tuple[dict[str, Any], list[float]]:
    from appeals.lifecycle import Status
    from appeals.models import Channel
    from appeals.search import SearchFilters, search

    probe = _probes(engine)
    number, phone = str(probe["number"]), str(probe["phone"])
    local_phone = f"8 {phone[2:5]} {phone[5:8]} {phone[8:10]} {phone[10:12]}"
    surname = str(probe["name"]).split()[-1]
    today = now().date()
    with db.transaction() as session:
        inspector = session.scalar(select(StaffUser).where(StaffUser.username == INSPECTOR))
        executor = session.scalar(select(StaffUser).where(StaffUser.username == EXECUTOR))
        assert inspector is not None
        assert executor is not None
        session.expunge_all()
    F = SearchFilters  # noqa: N806 - a short alias in a table of cases
    cases: dict[str, tuple[StaffUser, SearchFilters, int]] = {
        "number_as_printed": (inspector, F(q=number), 0),
        "number_with_space": (inspector, F(q=number.replace("-", " ")), 0),
        "number_lower_no_dash": (inspector, F(q=number.replace("-", "").lower()), 0),
        "number_part": (inspector, F(q=number[-6:]), 0),
        "phone_local_notation": (inspector, F(q=local_phone), 0),
        "phone_last_digits": (inspector, F(q=phone[-5:]), 0),
        "surname": (inspector, F(q=surname), 0),
        "full_name": (inspector, F(q=str(probe["name"])), 0),
        "word_common_ru": (inspector, F(q="мусор"), 0),
        "word_common_ru_2": (inspector, F(q="вода"), 0),
        "word_rare_ru": (inspector, F(q="голуби"), 0),
        "words_phrase_ru": (inspector, F(q="прорвало трубу"), 0),
        "words_kk": (inspector, F(q="жарық жоқ"), 0),
        "word_with_district": (inspector, F(q="мусор", district_code="auezov"), 0),
        "word_last_90_days": (inspector, F(q="свет", received_from=today - timedelta(days=90)), 0),
        "word_page_2": (inspector, F(q="вода"), 50),
        "word_page_10": (inspector, F(q="яма"), 450),
        "filters_status_district": (
            inspector,
            F(statuses=(Status.IN_PROGRESS,), district_code="medeu"),
            0,
        ),
        "filters_organization": (inspector, F(organization_id=probe["organization"]), 0),
        "filters_category_month": (
            inspector,
            F(category_code=probe["category"], received_from=today - timedelta(days=30)),
            0,
        ),
        "filters_channel_dates": (
            inspector,
            F(
                channel=Channel.TELEGRAM,
                received_from=today - timedelta(days=400),
                received_to=today - timedelta(days=300),
            ),
            0,
        ),
        "all_newest": (inspector, F(), 0),
        "executor_word": (executor, F(q="вода"), 0),
        "executor_number": (executor, F(q=number), 0),
        "executor_all": (executor, F(), 0),
    }
    results: dict[str, Any] = {}
    pooled: list[float] = []
    for name, (user, filters, offset) in cases.items():

        def one(
            user: StaffUser = user, filters: SearchFilters = filters, offset: int = offset
        ) -> int:
            with db.transaction() as session:
                return search(session, user=user, filters=filters, limit=50, offset=offset).total

        samples, found = _timed(runs, one)
        pooled.extend(samples)
        results[name] = support.latency_stats(samples) | {"results": found}
    return results, pooled


def measure_pages(
    runs: int, settings: Settings, engine: Engine
) -> tuple[dict[str, Any], list[float]]:
    from fastapi.testclient import TestClient

    from civicdesk.app import create_app

    probe = _probes(engine)
    app = create_app(settings)
    with TestClient(app) as client:
        support.sign_in(client, INSPECTOR, PASSWORD, "/staff/appeals")
        pages = {
            "list_all": "/staff/appeals?tab=all",
            "search_number": f"/staff/appeals?q={str(probe['number']).replace('-', '+')}",
            "search_words": "/staff/appeals?q=прорвало+трубу",
            "search_word_district": "/staff/appeals?q=мусор&district=auezov",
            "search_kk": "/staff/appeals?q=жарық+жоқ&lang=kk",
        }
        results: dict[str, Any] = {}
        pooled: list[float] = []
        for name, url in pages.items():

            def one(url: str = url) -> int:
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)
                return len(response.content)

            samples, size = _timed(runs, one)
            pooled.extend(samples)
            results[name] = support.latency_stats(samples) | {"bytes": size}
    return results, pooled


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--appeals", type=int, default=1_500_000)
    parser.add_argument("--runs", type=int, default=20, help="timed runs per query")
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
        else:
            summary.update(load(admin, args.appeals, settings))
        engine = db.configure(settings)
        queries, samples = measure(args.runs, engine)
        pages, page_samples = measure_pages(args.runs, settings, engine)
    summary.update(
        {
            "p95_ms": round(support.percentile(samples, 0.95), 2),
            "p50_ms": round(statistics.median(samples), 2),
            "max_query_p95_ms": max(q["p95_ms"] for q in queries.values()),
            "page_p95_ms": round(support.percentile(page_samples, 0.95), 2),
            "page_p50_ms": round(statistics.median(page_samples), 2),
            "target_p95_ms": TARGET_MS,
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

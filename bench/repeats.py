"""Repeat / duplicate lookup time per new appeal against one year of history.

    python bench/repeats.py [--history 180000] [--lookups 1000] [--seed 5]

Needs PostgreSQL (CIVICDESK_BENCH_DATABASE_URL, default the machine's ``test``
database, in a schema of its own that is dropped afterwards). Loads a year of
appeals (about 180,000, the city's yearly volume) with COPY: citizens with one
appeal each (about 60%) and a tail of frequent applicants who write again about
their own address; texts from data/sample_appeals.yaml with places from
data/districts.yaml and street addresses. Then inserts ``--lookups`` new appeals
after the history (some by known applicants, some at busy places) and times
``intake.repeats.linking.find_matches`` for each: the per-appeal lookup the pipeline
does (the citizen's group, two indexed candidate queries, the comparison).
Prints JSON: ``p50_ms``, ``p95_ms``, ``p99_ms`` (target: p95 under 5 ms),
``history``, ``lookups``, ``repeats_found``, ``duplicates_found``, load time.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml

from bench import support
from core import db
from core.settings import Settings, override_settings
from intake.repeats.matching import match_keys

DATA = Path(__file__).resolve().parent.parent / "data"
STREETS = (
    "Абая",
    "Толе би",
    "Сейфуллина",
    "Жандосова",
    "Райымбека",
    "Розыбакиева",
    "Момышулы",
    "Саина",
    "Тимирязева",
    "Рыскулова",
    "Майлина",
    "Шаляпина",
)
CHANNELS = ("phone", "social", "telegram", "portal", "whatsapp", "mobile")
CHANNEL_WEIGHTS = (40, 35, 10, 8, 5, 2)
COLUMNS = (
    "tracking_number",
    "channel",
    "external_id",
    "citizen_id",
    "text",
    "language",
    "appeal_type",
    "category_code",
    "district_code",
    "address",
    "urgency",
    "status",
    "received_at",
    "anonymous",
    "updated_at",
    "is_repeat",
    "match_text",
    "place_keys",
    "street_key",
)
YEAR_END = datetime(2025, 11, 1, 4, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Home:
    district: str
    place: str  # as written in a text


class World:
    """Sample texts with places, and a home place for each applicant."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        samples = yaml.safe_load((DATA / "sample_appeals.yaml").read_text(encoding="utf-8"))
        self.samples = [s for s in samples if "{place}" in s["text"]]
        self.districts = yaml.safe_load((DATA / "districts.yaml").read_text(encoding="utf-8"))
        # Busier topics first: improvement, roads and utilities dominate the city's stream.
        self.weights = [
            3.0
            if s["category"].split(".")[0] in {"improvement", "roads", "heating", "water"}
            else 1
            for s in self.samples
        ]

    def home(self) -> Home:
        district = self.rng.choice(self.districts)
        if self.rng.random() < 0.5:
            place = str(self.rng.choice(district["places"])).title()
        else:
            place = f"ул. {self.rng.choice(STREETS)}, {self.rng.randint(1, 180)}"
        return Home(district["code"], place)

    def sample(self) -> dict[str, Any]:
        sample: dict[str, Any] = self.rng.choices(self.samples, self.weights)[0]
        return sample

    def text(self, sample: dict[str, Any], home: Home) -> str:
        return str(sample["text"]).replace("{place}", home.place)


def appeals_per_citizen(rng: random.Random, total: int) -> list[int]:
    """About 60% write once; a tail of frequent applicants writes up to 40 times a year."""
    counts: list[int] = []
    while sum(counts) < total:
        roll = rng.random()
        if roll < 0.60:
            counts.append(1)
        elif roll < 0.85:
            counts.append(rng.randint(2, 3))
        elif roll < 0.97:
            counts.append(rng.randint(4, 8))
        else:
            counts.append(rng.randint(9, 40))
    counts[-1] -= sum(counts) - total
    return [count for count in counts if count > 0]


def history_rows(
    world: World, counts: list[int], first_citizen: int, run: str
) -> Iterator[tuple[Any, ...]]:
    rng = world.rng
    number = 0
    for offset, count in enumerate(counts):
        citizen = first_citizen + offset
        home = world.home()
        favourite = world.sample()
        for _ in range(count):
            number += 1
            # Frequent applicants mostly write about their own address, often the same issue.
            sample = favourite if count > 1 and rng.random() < 0.4 else world.sample()
            where = home if rng.random() < 0.8 else world.home()
            at = YEAR_END - timedelta(seconds=rng.uniform(0, 365 * 86400))
            anonymous = rng.random() < 0.03
            yield row(world, number, run, None if anonymous else citizen, sample, where, at)


def row(
    world: World,
    number: int,
    run: str,
    citizen: int | None,
    sample: dict[str, Any],
    where: Home,
    at: datetime,
) -> tuple[Any, ...]:
    channel = world.rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0]
    text = world.text(sample, where)
    # The keys the pipeline stores when it annotates an appeal.
    match_text, place_keys, street_key = match_keys(text, None)
    return (
        f"B{run}{number:07d}",
        channel,
        f"bench-{run}-{number}",
        citizen,
        text,
        sample.get("language"),
        "complaint",
        sample["category"],
        where.district,
        None,
        "normal",
        "registered",
        at,
        citizen is None,
        at,
        False,
        match_text,
        json.dumps(place_keys, ensure_ascii=False),
        street_key,
    )


def copy_rows(url: str, table: str, columns: tuple[str, ...], rows: Any) -> None:
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as connection, connection.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for values in rows:
                copy.write_row(values)
        connection.commit()


def load_history(url: str, world: World, history: int, run: str) -> dict[str, Any]:
    counts = appeals_per_citizen(world.rng, history)
    created = YEAR_END - timedelta(days=400)
    copy_rows(
        url,
        "citizens",
        ("id", "preferred_language", "created_at"),
        ((i + 1, "ru", created) for i in range(len(counts))),
    )
    copy_rows(url, "appeals", COLUMNS, history_rows(world, counts, 1, run))
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(
            "SELECT setval(pg_get_serial_sequence('citizens', 'id'), "
            "(SELECT max(id) FROM citizens))"
        )
        connection.execute("ANALYZE citizens")
        connection.execute("ANALYZE appeals")
    return {"citizens": len(counts), "single_appeal_share": round(counts.count(1) / len(counts), 3)}


def _stored_keys(text: str) -> tuple[str, str, str | None]:
    match_text, place_keys, street_key = match_keys(text, None)
    return match_text, json.dumps(place_keys, ensure_ascii=False), street_key


def new_appeals(url: str, world: World, lookups: int, citizens: int, run: str) -> list[int]:
    """Appeals received after the history: half by known applicants, some at busy places."""
    import psycopg

    rng = world.rng
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as connection:
        recent = connection.execute(
            "SELECT citizen_id, text, category_code, district_code FROM appeals "
            "WHERE received_at > %s ORDER BY random() LIMIT %s",
            (YEAR_END - timedelta(days=30), lookups),
        ).fetchall()
    rows = []
    for index in range(lookups):
        at = YEAR_END + timedelta(minutes=index)
        number = 9_000_000 + index
        roll = rng.random()
        if roll < 0.35 and recent:
            # Someone writes again (or a neighbour reports the same thing): an existing text.
            citizen, body, category, district = rng.choice(recent)
            if rng.random() < 0.5:
                citizen = rng.randint(1, citizens)
            rows.append(
                (
                    f"N{run}{index:07d}",
                    "phone",
                    f"bench-{run}-new-{number}",
                    citizen,
                    f"Повторно: {body}",
                    "ru",
                    "complaint",
                    category,
                    district,
                    None,
                    "normal",
                    "registered",
                    at,
                    False,
                    at,
                    False,
                    *_stored_keys(f"Повторно: {body}"),
                )
            )
        else:
            citizen = rng.randint(1, citizens) if roll < 0.6 else None
            rows.append(row(world, number, f"{run}n", citizen, world.sample(), world.home(), at))
    copy_rows(url, "appeals", COLUMNS, rows)
    with psycopg.connect(dsn) as connection:
        found = connection.execute(
            "SELECT id FROM appeals WHERE received_at >= %s ORDER BY id", (YEAR_END,)
        ).fetchall()
    return [int(r[0]) for r in found]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))
    return ordered[index]


def time_lookups(ids: list[int]) -> tuple[list[float], int, int]:
    from intake.repeats.linking import find_matches

    timings: list[float] = []
    repeats = duplicates = 0
    with db.session_factory()() as session:
        for appeal_id in ids[:20]:  # warm-up: connection, statement cache, regex compile
            find_matches(session, appeal_id)
        session.rollback()
        for appeal_id in ids:
            started = time.perf_counter()
            repeat, duplicate = find_matches(session, appeal_id)
            timings.append((time.perf_counter() - started) * 1000)
            repeats += repeat is not None
            duplicates += duplicate is not None
        session.rollback()
    return timings, repeats, duplicates


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--history", type=int, default=180_000)
    parser.add_argument("--lookups", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    run = uuid.uuid4().hex[:6]
    schema = f"civicdesk_bench_{run}"
    admin, url = support.open_schema(schema)
    settings = Settings(environment="test", database_url=url, redis_url=None)
    started = time.perf_counter()
    try:
        with override_settings(settings):
            support.migrate_with_reference(settings)
            world = World(rng)
            loaded = load_history(url, world, args.history, run)
            load_s = time.perf_counter() - started
            ids = new_appeals(url, world, args.lookups, loaded["citizens"], run)
            timings, repeats, duplicates = time_lookups(ids)
    finally:
        db.get_engine().dispose()
        support.drop_schema(admin, schema)
        admin.dispose()
    summary = {
        "benchmark": "repeats",
        "history": args.history,
        "citizens": loaded["citizens"],
        "single_appeal_share": loaded["single_appeal_share"],
        "lookups": len(timings),
        "p50_ms": round(statistics.median(timings), 2),
        "p95_ms": round(percentile(timings, 0.95), 2),
        "p99_ms": round(percentile(timings, 0.99), 2),
        "max_ms": round(max(timings), 2),
        "target_p95_ms": 5.0,
        "repeats_found": repeats,
        "duplicates_found": duplicates,
        "load_s": round(load_s, 1),
        "total_s": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What the benches share: the bench database and Redis, a schema of one's own, percentiles,
and the 1.5 M-appeal load's steps (drop the secondary indexes, insert in chunks, rebuild).

One copy, so that a fix to how a bench schema is made or loaded reaches every bench. The
benches put the repository root on ``sys.path`` before importing this module.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Engine, text

from core import db
from core.migrate import upgrade
from core.settings import Settings

ADMIN_URL = os.environ.get(
    "CIVICDESK_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("CIVICDESK_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")

# Secondary indexes (none backing a constraint) are dropped before a large load and built
# after it, as a restore does: inserting 1.5 M rows into a dozen indexes (trigram ones among
# them) row by row would take most of an hour on this machine.
INDEXES_SQL = """
SELECT c.relname, pg_get_indexdef(i.indexrelid)
FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
WHERE i.indrelid = CAST(:table AS regclass)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint AS k WHERE k.conindid = i.indexrelid)
"""


def schema_url(schema: str) -> str:
    """The bench database's URL with ``schema`` first on the search path."""
    separator = "&" if "?" in ADMIN_URL else "?"
    return f"{ADMIN_URL}{separator}options=-csearch_path%3D{schema}"


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank ``q`` quantile (0..1) of ``values``."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def latency_stats(samples: list[float]) -> dict[str, float]:
    """``p50_ms`` and ``p95_ms`` of timings already in milliseconds."""
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(percentile(samples, 0.95), 2),
    }


def schema_exists(admin: Engine, schema: str) -> bool:
    """Whether ``schema`` is there (``--reuse`` keeps a loaded one)."""
    with admin.connect() as connection:
        return bool(
            connection.scalar(
                text("SELECT 1 FROM information_schema.schemata WHERE schema_name = :name"),
                {"name": schema},
            )
        )


def create_schema(admin: Engine, schema: str, *, fresh: bool = False) -> None:
    """Create ``schema``; ``fresh`` drops an older one of that name first."""
    with admin.begin() as connection:
        if fresh:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))


def drop_and_report(admin: Engine, schema: str) -> int:
    """``--drop``: remove a kept bench schema, say so in JSON; the exit status."""
    drop_schema(admin, schema)
    print(json.dumps({"dropped": schema}))
    return 0


def open_schema(schema: str) -> tuple[Engine, str]:
    """A new ``schema`` in the bench database: the admin engine (to drop it after) and the
    URL that puts it first on the search path."""
    admin = db.make_engine(ADMIN_URL)
    create_schema(admin, schema)
    return admin, schema_url(schema)


def appeals_loaded(admin: Engine, schema: str, settings: Settings) -> int:
    """How many appeals a kept schema holds (0 when it is not there or half-built), with the
    process's engine configured on it: ``--reuse`` skips the load when this is the count asked."""
    if not schema_exists(admin, schema):
        return 0
    engine = db.configure(settings)
    with engine.connect() as connection:
        try:
            return int(connection.scalar(text("SELECT count(*) FROM appeals")) or 0)
        except Exception:
            return 0


def redis_available() -> bool:
    try:
        from redis import Redis

        Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception:
        return False
    return True


def drop_schema(admin: Engine, schema: str) -> None:
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


def migrate_with_reference(settings: Settings) -> Engine:
    """The migrations on ``settings.database_url``, the process's engine on it, and the
    reference data (districts, categories, organizations) loaded: every bench's start."""
    from civicdesk.bootstrap import load_all_reference

    upgrade(settings.database_url)
    engine = db.configure(settings)
    with db.transaction() as session:
        load_all_reference(session, settings)
    return engine


def drop_secondary_indexes(engine: Engine, tables: Iterable[str]) -> list[tuple[str, str]]:
    """Drop the indexes of ``tables`` that back no constraint; their names and definitions
    come back for :func:`rebuild_indexes`."""
    indexes: list[tuple[str, str]] = []
    with engine.begin() as connection:
        for table in tables:
            found = connection.execute(text(INDEXES_SQL), {"table": table}).all()
            for name, _definition in found:
                connection.execute(text(f'DROP INDEX "{name}"'))
            indexes.extend((name, definition) for name, definition in found)
    return indexes


def rebuild_indexes(
    engine: Engine, indexes: list[tuple[str, str]], work_mem: str = "256MB"
) -> None:
    with engine.begin() as connection:
        connection.execute(text(f"SET LOCAL maintenance_work_mem = '{work_mem}'"))
        for _name, definition in indexes:
            connection.execute(text(definition))


def run_bulk(engine: Engine, sql: str, params: Mapping[str, Any] | None = None) -> None:
    """One bulk statement in its own transaction, without waiting for the WAL flush and
    without the per-row foreign-key triggers (the generated rows are valid by
    construction)."""
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL synchronous_commit = off"))
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text(sql), dict(params or {}))


def insert_in_chunks(
    engine: Engine, sql: str, total: int, chunk: int, params: Mapping[str, Any]
) -> None:
    """``sql`` for rows ``low``..``high`` of ``total``, ``chunk`` rows a transaction, with
    ``low``, ``high`` and ``total`` added to ``params``; progress goes to stderr."""
    low = 1
    while low <= total:
        high = min(total, low + chunk - 1)
        run_bulk(engine, sql, {**params, "low": low, "high": high, "total": total})
        print(f"loaded {high:,} appeals", file=sys.stderr, flush=True)
        low = high + 1


def sign_in(client: Any, username: str, password: str, next_url: str) -> None:
    """Sign a staff member in through the login form (its CSRF field included), as a browser
    does; ``client`` is a TestClient of the app."""
    form = client.get("/staff/login")
    match = re.search(r'name="login_csrf" value="([^"]*)"', form.text)
    assert match, "no login form"
    signed = client.post(
        "/staff/login",
        data={
            "username": username,
            "password": password,
            "login_csrf": match.group(1),
            "next": next_url,
        },
        follow_redirects=False,
    )
    assert signed.status_code == 303, signed.text


def clean_redis(queue_name: str) -> None:
    """Delete a bench queue's keys (its own and RQ's) from the bench Redis."""
    from redis import Redis

    connection = Redis.from_url(REDIS_URL)
    for key in connection.scan_iter(f"{queue_name}*"):
        connection.delete(key)
    for key in connection.scan_iter(f"rq:*{queue_name}*"):
        connection.delete(key)

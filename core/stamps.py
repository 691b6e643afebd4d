"""Version stamps that keep every process's caches in agreement (issue 20, item 3).

Processes cache what admins rarely change — the routing table, the working-day calendar,
the board's labels, the operator-to-phone map, the topic model — because loading it per
decision costs more than the decision. On several machines a per-process timer left each
cache up to 30 s (5 min for the calendar) behind an admin's change, and a routing decision
recorded a rule that had been superseded.

Each cache has a row in ``cache_stamps``. On PostgreSQL a statement trigger on every table a
cache reads sets its row to the next value of a sequence (never reused, even when a
transaction rolls back) in the writer's own transaction (migration ``0022_scale``), so no
write path can forget to; code bumps the stamps no table carries (a newly published topic
model). A cache reads its stamp — one primary-key lookup — before each use and reloads when
it moved: a change takes effect in every process at the next decision after it commits.

``read(..., hold=True)`` also takes a ``FOR SHARE`` lock on the row until the reader's
transaction ends: the pipeline holds the routing stamp for its batch, so an admin's rule
change waits for the batch to commit (or the batch waits for the change), and no decision
is recorded under a rule superseded before the decision was made.

The embedded SQLite setup is one process; there the stamps are not kept (``read`` returns
None) and the caches fall back to their timers and in-process resets.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import BigInteger, String, func, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.clock import now
from core.db import Base, UTCDateTime

T = TypeVar("T")

# Which tables each stamp follows (the migration's triggers; docs/deployment.md).
STAMPED_TABLES: dict[str, tuple[str, ...]] = {
    "routing": ("routing_rules", "categories", "districts", "organizations", "service_areas"),
    "calendar": ("calendar_overrides",),
    "labels": ("categories", "districts", "organizations"),
    "operators": ("staff_users",),  # sip_interface and is_active only
    "topic_model": (),  # bumped by code when a model is published
}


class CacheStamp(Base):
    """One cache's version: bumped by every change to what the cache holds."""

    __tablename__ = "cache_stamps"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True), default=now)


def kept(session: Session) -> bool:
    """Whether this database keeps stamps (PostgreSQL: triggers; SQLite: one process)."""
    return session.get_bind().dialect.name == "postgresql"


def read(session: Session, name: str, *, hold: bool = False) -> int | None:
    """The stamp's version now; None where stamps are not kept (use the timer instead)."""
    if not kept(session):
        return None
    query = select(CacheStamp.version).where(CacheStamp.name == name)
    if hold:
        query = query.with_for_update(read=True)
    version = session.scalar(query)
    return int(version) if version is not None else 0


def bump(session: Session, name: str) -> None:
    """Move a stamp on in the caller's transaction (for what no table trigger sees)."""
    if not kept(session):
        return
    version = func.nextval("cache_stamps_seq")  # never reused, even after a rollback
    done = session.execute(
        update(CacheStamp).where(CacheStamp.name == name).values(version=version, changed_at=now())
    )
    if not getattr(done, "rowcount", 0):
        session.execute(insert(CacheStamp).values(name=name, version=version, changed_at=now()))


class Stamped(Generic[T]):
    """A value cached per key and rebuilt when its stamp moves (or, where stamps are not
    kept, when ``fallback_ttl_s`` passed): ``get(session, key, build)``."""

    def __init__(self, name: str, fallback_ttl_s: float) -> None:
        self.name = name
        self.fallback_ttl_s = fallback_ttl_s
        self._lock = threading.Lock()
        self._values: dict[object, tuple[int | None, float, T]] = {}

    def get(
        self, session: Session, key: object, build: Callable[[], T], *, hold: bool = False
    ) -> T:
        version = read(session, self.name, hold=hold)
        with self._lock:
            found = self._values.get(key)
        if found is not None:
            seen, at, value = found
            fresh = (
                seen == version
                if version is not None
                else time.monotonic() - at < self.fallback_ttl_s
            )
            if fresh:
                return value
        value = build()
        with self._lock:
            self._values[key] = (version, time.monotonic(), value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

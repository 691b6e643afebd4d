"""The city learns its places from the districts people confirmed (issue 19).

Evidence is every appeal whose district a person vouched for:
- an operator, inspector or admin confirmed or corrected it (``district_corrections``: the
  staff API/page, ``correct_district``), the latest word per appeal;
- a district akimat's executor took the appeal into work (its status went past ``assigned``
  while that akimat held it): the akimat said "this is ours", so it is in their district.
For each such appeal the places it names (``nlp.places.evidence_keys``: a street, the side
and tens of houses when a number is written, a street the gazetteer does not know) and the
grid cell of its map pin (``nlp.geo.cell_key``) count one appeal for that district. A key
named by at least ``nlp_places_min_appeals`` appeals, of which ``nlp_places_min_share``
agree, is learned (``learned_places``) and used by the pipeline before the gazetteer's own
estimates: a deployment gets better with its own history. ``relearn`` recomputes the table
from scratch (the worker does it every ``nlp_places_relearn_s``; ``civicdesk nlp places
--learn`` at once), so a correction changes what is learned at the next run.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from appeals.lifecycle import Status
from appeals.models import Appeal
from core.clock import now
from core.db import table_of
from core.settings import Settings, get_settings
from intake.place_models import DistrictCorrection, LearnedPlace, PlaceLearningRun
from nlp.annotate import load_lexicon
from nlp.geo import cell_key, in_city
from nlp.places import Learned, evidence_keys
from routing.models import Organization, OrganizationKind

# The akimat had taken it into work: it agreed the appeal is in its district.
ACCEPTED = (
    Status.IN_PROGRESS,
    Status.EXTENDED,
    Status.ANSWERED,
    Status.RETURNED,
    Status.CLOSED,
)
SNAPSHOT_TTL_S = 60.0


@dataclass(frozen=True)
class RelearnSummary:
    evidence_appeals: int
    keys_seen: int
    keys_learned: int
    duration_ms: int


def _evidence(session: Session, settings: Settings) -> Iterator[tuple[Any, str]]:
    """(appeal row, confirmed district) for every appeal a person vouched for; a person's
    explicit word wins over an executor's acceptance."""
    since = now() - timedelta(days=settings.nlp_places_window_days)
    latest = (
        select(
            DistrictCorrection.appeal_id,
            func.max(DistrictCorrection.id).label("last_id"),
        )
        .group_by(DistrictCorrection.appeal_id)
        .subquery()
    )
    said = dict(
        session.execute(
            select(DistrictCorrection.appeal_id, DistrictCorrection.to_district).join(
                latest, DistrictCorrection.id == latest.c.last_id
            )
        ).all()
    )
    columns = (Appeal.id, Appeal.text, Appeal.address, Appeal.latitude, Appeal.longitude)
    if said:
        ids = list(said)
        for start in range(0, len(ids), 1000):
            rows = session.execute(select(*columns).where(Appeal.id.in_(ids[start : start + 1000])))
            for found in rows:
                yield found, said[found.id]
    accepted = (
        select(*columns, Organization.district_code)
        .join(Organization, Organization.id == Appeal.organization_id)
        .where(
            Organization.kind == OrganizationKind.DISTRICT_AKIMAT,
            Organization.district_code.is_not(None),
            Appeal.status.in_(ACCEPTED),
            Appeal.received_at >= since,
        )
        .execution_options(yield_per=2000)
    )
    for taken in session.execute(accepted):
        if taken.id not in said and taken.district_code:
            yield taken, taken.district_code


def keys_of(text: str, address: str | None, point: tuple[float, float] | None) -> list[str]:
    """The place keys one appeal is evidence for."""
    gazetteer = load_lexicon(get_settings().data_dir).gazetteer
    keys = evidence_keys(f"{address or ''} {text}".strip(), gazetteer) if gazetteer else []
    if point is not None and in_city(*point):
        keys.append(cell_key(*point))
    return keys


def relearn(session: Session, settings: Settings | None = None) -> RelearnSummary:
    """Recompute ``learned_places`` from all the evidence, in the caller's transaction."""
    settings = settings or get_settings()
    started = time.perf_counter()
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    labels: dict[str, str] = {}
    appeals = 0
    for row, district in _evidence(session, settings):
        appeals += 1
        point = (row.latitude, row.longitude) if row.latitude is not None else None
        for key in keys_of(row.text, row.address, point):
            votes[key][district] += 1
            labels.setdefault(key, readable(key))
    moment = now()
    rows = []
    for key, counter in votes.items():
        district, count = counter.most_common(1)[0]
        total = sum(counter.values())
        share = count / total
        if count >= settings.nlp_places_min_appeals and share >= settings.nlp_places_min_share:
            rows.append(
                {
                    "key": key,
                    "district_code": district,
                    "appeals": count,
                    "total": total,
                    "share": round(share, 4),
                    "label": labels[key][:200],
                    "learned_at": moment,
                }
            )
    session.execute(delete(table_of(LearnedPlace)))
    if rows:
        session.execute(insert(table_of(LearnedPlace)), rows)
    duration = round((time.perf_counter() - started) * 1000)
    summary = RelearnSummary(appeals, len(votes), len(rows), duration)
    session.add(
        PlaceLearningRun(
            at=moment,
            evidence_appeals=appeals,
            keys_seen=len(votes),
            keys_learned=len(rows),
            duration_ms=duration,
        )
    )
    session.flush()
    forget_snapshot()
    return summary


def relearn_if_due(session: Session, settings: Settings | None = None) -> RelearnSummary | None:
    """Relearn when the last run is older than ``nlp_places_relearn_s`` (the worker's loop);
    on PostgreSQL one worker at a time (a transaction-scoped advisory lock)."""
    settings = settings or get_settings()
    last = session.scalar(select(func.max(PlaceLearningRun.at)))
    if last is not None and now() - last < timedelta(seconds=settings.nlp_places_relearn_s):
        return None
    if session.get_bind().dialect.name == "postgresql":
        locked = session.scalar(select(func.pg_try_advisory_xact_lock(19_0017)))
        if not locked:
            return None
    return relearn(session, settings)


def readable(key: str) -> str:
    """'street:жарокова:o21' → 'жарокова, odd 210–219'; 'cell:…' → the cell's corner."""
    kind, _, rest = key.partition(":")
    if kind == "street":
        name, _, bucket = rest.partition(":")
        if not bucket:
            return name
        side = "odd" if bucket[0] == "o" else "even"
        tens = int(bucket[1:]) * 10
        return f"{name}, {side} {tens}–{tens + 9}"
    if kind == "cell":
        from nlp.geo import CELL_LAT, CELL_LON

        lat, _, lon = rest.partition(":")
        return f"map cell at {int(lat) * CELL_LAT:.3f}, {int(lon) * CELL_LON:.3f}"
    return rest


_lock = threading.Lock()
_cache: dict[str, tuple[float, dict[str, Learned]]] = {}


def learned_snapshot(session: Session) -> dict[str, Learned]:
    """What this database learned, read at most every minute per process (the pipeline's)."""
    key = str(session.get_bind().engine.url)
    with _lock:
        cached = _cache.get(key)
        if cached is not None and time.monotonic() - cached[0] < SNAPSHOT_TTL_S:
            return cached[1]
    rows = session.execute(
        select(
            LearnedPlace.key, LearnedPlace.district_code, LearnedPlace.appeals, LearnedPlace.share
        )
    ).all()
    snapshot = {row.key: Learned(row.district_code, row.appeals, row.share) for row in rows}
    with _lock:
        _cache[key] = (time.monotonic(), snapshot)
    return snapshot


def forget_snapshot() -> None:
    with _lock:
        _cache.clear()


def learned_places(session: Session, *, kind: str | None = None) -> list[dict[str, Any]]:
    """What was learned, most-confirmed first (``civicdesk nlp places``)."""
    query = select(LearnedPlace).order_by(LearnedPlace.appeals.desc(), LearnedPlace.key)
    if kind:
        query = query.where(LearnedPlace.key.startswith(f"{kind}:"))
    return [
        {
            "key": place.key,
            "place": place.label,
            "district": place.district_code,
            "appeals": place.appeals,
            "of_appeals": place.total,
            "share": place.share,
            "learned_at": place.learned_at.isoformat(),
        }
        for place in session.scalars(query)
    ]


def last_run(session: Session) -> dict[str, Any] | None:
    run = session.scalars(select(PlaceLearningRun).order_by(PlaceLearningRun.id.desc())).first()
    if run is None:
        return None
    return {
        "at": run.at.isoformat(),
        "evidence_appeals": run.evidence_appeals,
        "keys_seen": run.keys_seen,
        "keys_learned": run.keys_learned,
        "duration_ms": run.duration_ms,
    }

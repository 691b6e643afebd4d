"""Bursts over our appeals: daily counts per district × topic, the test, and one notice.

The daily check (``civicdesk worker``, at ``analytics_burst_hours``) scores today's count so
far of every district × topic against its baseline (``analytics.bursts``). A burst is kept
once per (day, district, topic) in ``analytics_bursts`` with the appeals and incidents it is
made of; when first found, the inspectors get one inbox entry (``sla.workflow.notify``,
kind ``analytics_burst``) naming the district, the topic, today's count and the usual one.
Later checks the same day update the count and the appeals, never notify again. Counting
today so far against whole days is conservative: what alarms at 10:00 is already far above
a usual full day.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Date, cast, func, select, update
from sqlalchemy.orm import Session

from analytics.bursts import BurstRule, score
from analytics.models import Burst
from analytics.texts import burst_notice
from appeals.models import Appeal
from core import db
from core.clock import ALMATY, local, now
from core.db import dialect_insert, table_of
from core.settings import get_settings
from routing.models import Category, District
from sla.workflow import notify

NOTICE_KIND = "analytics_burst"
METHOD = "nb-weekday-56d"


@dataclass(frozen=True)
class Found:
    day: date
    district_code: str
    category_code: str
    count: int
    expected: float
    spread: float
    p_value: float


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """[first 00:00, the day after last 00:00) in Almaty, as aware datetimes."""
    start = datetime(first.year, first.month, first.day, tzinfo=ALMATY)
    end = datetime(last.year, last.month, last.day, tzinfo=ALMATY) + timedelta(days=1)
    return start, end


def _daily_rows(
    session: Session, start: datetime, end: datetime
) -> Iterator[tuple[str, str, date, int]]:
    """(district, topic, Almaty day, appeals) in [start, end). PostgreSQL counts them itself
    (a year of 180,000 appeals: one row per series-day, not per appeal); elsewhere the rows
    come back one per appeal and are counted here."""
    known = (
        Appeal.received_at >= start,
        Appeal.received_at < end,
        Appeal.district_code.is_not(None),
        Appeal.category_code.is_not(None),
    )
    if session.get_bind().dialect.name == "postgresql":
        day = cast(func.timezone(ALMATY.key, Appeal.received_at), Date)
        for district, category, on, count in session.execute(
            select(Appeal.district_code, Appeal.category_code, day, func.count())
            .where(*known)
            .group_by(Appeal.district_code, Appeal.category_code, day)
        ):
            yield str(district), str(category), on, int(count)
        return
    for district, category, received in session.execute(
        select(Appeal.district_code, Appeal.category_code, Appeal.received_at).where(*known)
    ):
        yield str(district), str(category), local(received).date(), 1


def scan(
    session: Session, *, first: date, last: date, rule: BurstRule | None = None
) -> list[Found]:
    """Bursts on each day of [first, last]: the counts from ``first`` minus the baseline."""
    rule = rule or BurstRule(alpha=get_settings().analytics_burst_alpha)
    history = first - timedelta(days=rule.window + rule.guard)
    start, end = day_bounds(history, last)
    days = (last - history).days + 1
    series: dict[tuple[str, str], int] = {}
    cells: dict[tuple[int, int], int] = defaultdict(int)
    for district, category, on, count in _daily_rows(session, start, end):
        index = series.setdefault((district, category), len(series))
        cells[(index, (on - history).days)] += count
    if not series:
        return []
    counts = np.zeros((len(series), days))
    for (index, day), count in cells.items():
        counts[index, day] = count
    districts = sorted({district for district, _ in series})
    groups = [districts.index(district) for district, _ in series]
    weekdays = [(history + timedelta(days=day)).weekday() for day in range(days)]
    scores = score(counts, groups, weekdays, rule)
    keys = list(series)
    offset = (first - history).days
    found: list[Found] = []
    for index, day in zip(*np.nonzero(scores.alarm[:, offset:]), strict=True):
        district, category = keys[index]
        column = offset + int(day)
        found.append(
            Found(
                day=history + timedelta(days=column),
                district_code=district,
                category_code=category,
                count=int(counts[index, column]),
                expected=round(float(scores.expected[index, column]), 2),
                spread=round(float(scores.spread[index, column]), 2),
                p_value=float(scores.p_value[index, column]),
            )
        )
    return sorted(found, key=lambda f: (f.day, f.district_code, f.category_code))


def _members(session: Session, burst: Found) -> tuple[list[int], list[int]]:
    start, end = day_bounds(burst.day, burst.day)
    rows = session.execute(
        select(Appeal.id, Appeal.incident_id)
        .where(
            Appeal.received_at >= start,
            Appeal.received_at < end,
            Appeal.district_code == burst.district_code,
            Appeal.category_code == burst.category_code,
        )
        .order_by(Appeal.received_at.desc(), Appeal.id.desc())
    ).all()
    incidents = sorted({incident for _, incident in rows if incident is not None})
    return [appeal_id for appeal_id, _ in rows], incidents


def record(session: Session, burst: Found, *, moment: datetime) -> tuple[Burst, bool]:
    """Keep the burst (one row per day, district and topic); the first time, one notice to
    the inspectors. Returns the row and whether it is new. Flushes only."""
    appeal_ids, incident_ids = _members(session, burst)
    bursts = table_of(Burst)
    values = {
        "day": burst.day,
        "district_code": burst.district_code,
        "category_code": burst.category_code,
        "count": burst.count,
        "expected": burst.expected,
        "spread": burst.spread,
        "p_value": burst.p_value,
        "method": METHOD,
        "appeal_ids": appeal_ids,
        "incident_ids": incident_ids,
        "detected_at": moment,
        "updated_at": moment,
    }
    inserted = session.scalar(
        dialect_insert(session.get_bind().dialect.name, bursts)
        .values(values)
        .on_conflict_do_nothing(index_elements=["day", "district_code", "category_code"])
        .returning(bursts.c.id)
    )
    if inserted is None:
        session.execute(
            update(bursts)
            .where(
                bursts.c.day == burst.day,
                bursts.c.district_code == burst.district_code,
                bursts.c.category_code == burst.category_code,
                bursts.c.count < burst.count,
            )
            .values(
                count=burst.count,
                appeal_ids=appeal_ids,
                incident_ids=incident_ids,
                updated_at=moment,
            )
        )
        row = session.scalar(
            select(Burst).where(
                Burst.day == burst.day,
                Burst.district_code == burst.district_code,
                Burst.category_code == burst.category_code,
            )
        )
        assert row is not None
        return row, False
    row = session.get(Burst, inserted)
    assert row is not None
    district = session.get(District, burst.district_code)
    category = session.get(Category, burst.category_code)
    note = notify(
        session,
        kind=NOTICE_KIND,
        appeal_id=appeal_ids[0] if appeal_ids else None,
        text=burst_notice(
            district=(district.name_ru, district.name_kk)
            if district
            else (burst.district_code,) * 2,
            topic=(category.name_ru, category.name_kk) if category else (burst.category_code,) * 2,
            count=burst.count,
            expected=burst.expected,
            spread=burst.spread,
            appeals=len(appeal_ids),
            incidents=len(incident_ids),
        ),
        role="inspector",
    )
    row.notification_id = note.id
    session.flush()
    return row, True


def check_day(
    session: Session, *, day: date, moment: datetime, rule: BurstRule | None = None
) -> dict[str, Any]:
    """Score ``day`` (so far), keep its bursts and notify new ones; flushes only."""
    started = time.perf_counter()
    found = scan(session, first=day, last=day, rule=rule)
    new = 0
    for burst in found:
        _, created = record(session, burst, moment=moment)
        new += int(created)
    return {
        "day": day.isoformat(),
        "bursts": len(found),
        "new": new,
        "ms": round((time.perf_counter() - started) * 1000, 1),
    }


def check_today(moment: datetime | None = None) -> dict[str, Any]:
    """The worker's check: today in Almaty, in its own transaction."""
    moment = moment or now()
    with db.transaction() as session:
        return check_day(session, day=local(moment).date(), moment=moment)


def recent(session: Session, *, since: date, limit: int = 200) -> list[Burst]:
    return list(
        session.scalars(
            select(Burst)
            .where(Burst.day >= since)
            .order_by(Burst.day.desc(), Burst.count.desc())
            .limit(limit)
        )
    )


def by_notification(session: Session, notification_id: int) -> Burst | None:
    return session.scalar(select(Burst).where(Burst.notification_id == notification_id))

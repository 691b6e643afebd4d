"""The figures of the analytics pages and the weekly report, for a period and the one before.

Volumes by day and week, channel, district, organization and topic (both levels) with the
change against the previous period of the same length; the top topics per district and per
service; status and timeliness; the KPIs against their targets. Everything is counted in the
database (grouped queries over the appeals received in the period) and labelled here; no
appeal is read one by one and nothing personal is selected.

The KPIs come from the rooms that own them: the satisfaction index and its target from
``ratings`` (issue 16: ``ratings.satisfaction.index_over``, ``ratings.ranking.methodology``),
the quick-answer share from ``knowledge_base.share`` (issue 15); only the quick-answer
target (58 % → 66 %, 2023–2026) is ours, in ``data/kpi_targets.yaml``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import String, case, extract, func, select, type_coerce
from sqlalchemy.orm import Session

from appeals.lifecycle import OPEN_STATUSES, Status
from appeals.models import Appeal
from core.clock import ALMATY, local
from core.settings import get_settings
from routing.models import Category, CategoryArea, District, Organization

OPEN_VALUES = tuple(sorted(status.value for status in OPEN_STATUSES))
CLOSED_VALUES = (Status.CLOSED.value, Status.QUICK_ANSWERED.value, Status.REJECTED.value)


@dataclass(frozen=True)
class Period:
    """Almaty calendar days [first, last]."""

    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def start(self) -> datetime:
        return datetime(self.first.year, self.first.month, self.first.day, tzinfo=ALMATY)

    @property
    def end(self) -> datetime:
        day = self.last + timedelta(days=1)
        return datetime(day.year, day.month, day.day, tzinfo=ALMATY)

    def previous(self) -> Period:
        return Period(self.first - timedelta(days=self.days), self.first - timedelta(days=1))

    def label(self) -> str:
        return f"{self.first:%d.%m.%Y}–{self.last:%d.%m.%Y}"


def iso_week(week: str) -> Period:
    """'2026-W49' → Monday to Sunday of that ISO week."""
    try:
        year, number = week.upper().split("-W")
        monday = date.fromisocalendar(int(year), int(number), 1)
    except ValueError:
        raise ValueError(f"not an ISO week (YYYY-Www): {week!r}") from None
    return Period(monday, monday + timedelta(days=6))


@dataclass(frozen=True)
class Row:
    """One line of a breakdown: this period, the previous one, the change."""

    key: str
    label: str
    count: int
    previous: int

    @property
    def change(self) -> float | None:
        """Percent change against the previous period (None when it had none)."""
        if not self.previous:
            return None
        return round(100.0 * (self.count - self.previous) / self.previous, 1)

    @property
    def delta(self) -> int:
        return self.count - self.previous


@dataclass
class Kpi:
    key: str
    value: float | None  # percent
    target: float | None
    numerator: int
    denominator: int

    @property
    def met(self) -> bool | None:
        if self.value is None or self.target is None:
            return None
        return self.value >= self.target


@dataclass
class Overview:
    period: Period
    previous: Period
    total: int
    previous_total: int
    by_day: list[tuple[date, int, int]]  # day, count, the same weekday a period earlier
    by_week: list[tuple[date, int]]  # Monday, count (the 12 weeks up to the period's end)
    channels: list[Row]
    districts: list[Row]
    organizations: list[Row]
    areas: list[Row]
    categories: list[Row]
    top_by_district: dict[str, list[Row]]
    top_by_organization: dict[str, list[Row]]
    statuses: list[Row]
    timeliness: dict[str, Any]
    overdue_by_organization: list[Row]
    kpis: list[Kpi] = field(default_factory=list)

    @property
    def change(self) -> float | None:
        return Row("", "", self.total, self.previous_total).change


@lru_cache(maxsize=4)
def _targets(path: Path) -> dict[str, dict[int, float]]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    return {
        name: {int(year): float(value) for year, value in (values or {}).items()}
        for name, values in (raw or {}).items()
    }


def quick_answer_target(year: int) -> float | None:
    return (
        _targets(get_settings().data_dir / "kpi_targets.yaml")
        .get("quick_answer_share", {})
        .get(year)
    )


@dataclass(frozen=True)
class Labels:
    districts: dict[str, str]
    organizations: dict[int, str]
    organization_codes: dict[int, str]
    areas: dict[str, str]
    categories: dict[str, str]
    category_area: dict[str, str]


def labels(session: Session, language: str) -> Labels:
    kk = language == "kk"
    districts = {
        code: (name_kk if kk else name_ru)
        for code, name_ru, name_kk in session.execute(
            select(District.code, District.name_ru, District.name_kk)
        )
    }
    organizations: dict[int, str] = {}
    codes: dict[int, str] = {}
    for org_id, code, name_ru, name_kk in session.execute(
        select(Organization.id, Organization.code, Organization.name_ru, Organization.name_kk)
    ):
        organizations[org_id] = name_kk if kk else name_ru
        codes[org_id] = code
    areas = {
        code: (name_kk if kk else name_ru)
        for code, name_ru, name_kk in session.execute(
            select(CategoryArea.code, CategoryArea.name_ru, CategoryArea.name_kk)
        )
    }
    categories: dict[str, str] = {}
    category_area: dict[str, str] = {}
    for code, area, name_ru, name_kk in session.execute(
        select(Category.code, Category.area_code, Category.name_ru, Category.name_kk)
    ):
        categories[code] = name_kk if kk else name_ru
        category_area[code] = area
    return Labels(districts, organizations, codes, areas, categories, category_area)


def _grouped(session: Session, period: Period) -> Counter[tuple[str, str, int, str, str]]:
    """Appeals received in the period by (channel, district, organization, topic, status)."""
    rows = session.execute(
        select(
            type_coerce(Appeal.channel, String),
            Appeal.district_code,
            Appeal.organization_id,
            Appeal.category_code,
            type_coerce(Appeal.status, String),
            func.count(),
        )
        .where(Appeal.received_at >= period.start, Appeal.received_at < period.end)
        .group_by(
            Appeal.channel,
            Appeal.district_code,
            Appeal.organization_id,
            Appeal.category_code,
            Appeal.status,
        )
    ).all()
    return Counter(
        {
            (channel, district or "", organization or 0, category or "", status): count
            for channel, district, organization, category, status, count in rows
        }
    )


def _hour_bucket(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc("hour", Appeal.received_at)
    return func.strftime("%Y-%m-%d %H:00:00", Appeal.received_at)


def daily_counts(session: Session, first: date, last: date) -> dict[date, int]:
    """Appeals per Almaty day in [first, last]: counted per UTC hour in the database and
    moved to Almaty's calendar here (exact across the 2024 change of the city's offset)."""
    period = Period(first, last)
    bucket = _hour_bucket(session)
    counts: Counter[date] = Counter()
    for hour, count in session.execute(
        select(bucket, func.count())
        .where(Appeal.received_at >= period.start, Appeal.received_at < period.end)
        .group_by(bucket)
    ):
        moment = hour if isinstance(hour, datetime) else datetime.fromisoformat(str(hour))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        counts[local(moment).date()] += count
    return {
        first + timedelta(days=i): counts[first + timedelta(days=i)] for i in range(period.days)
    }


def _rows(
    current: Counter[str], previous: Counter[str], names: dict[str, str], *, limit: int | None
) -> list[Row]:
    keys = sorted(set(current) | set(previous), key=lambda k: (-current[k], -previous[k], k))
    rows = [Row(key, names.get(key, key), current[key], previous[key]) for key in keys]
    return rows[:limit] if limit else rows


def _timeliness(session: Session, period: Period, moment: datetime) -> dict[str, Any]:
    """Of the appeals received in the period: answered, on time, late, open past due."""
    answered_at = func.coalesce(Appeal.answered_at, Appeal.closed_at)
    answered = answered_at.is_not(None) & Appeal.status.not_in(
        [Status.REJECTED.value, *OPEN_VALUES]
    )
    row = session.execute(
        select(
            func.count(),
            func.sum(case((answered, 1), else_=0)),
            func.sum(
                case(
                    (answered & ((Appeal.due_at.is_(None)) | (answered_at <= Appeal.due_at)), 1),
                    else_=0,
                )
            ),
            func.sum(
                case(
                    (Appeal.status.in_(OPEN_VALUES) & (Appeal.due_at < moment), 1),
                    else_=0,
                )
            ),
            func.sum(case((Appeal.status.in_(OPEN_VALUES), 1), else_=0)),
            func.avg(
                case(
                    (
                        answered,
                        extract("epoch", answered_at - Appeal.received_at)
                        if session.get_bind().dialect.name == "postgresql"
                        else (func.julianday(answered_at) - func.julianday(Appeal.received_at))
                        * 86400,
                    ),
                    else_=None,
                )
            ),
        ).where(Appeal.received_at >= period.start, Appeal.received_at < period.end)
    ).one()
    total, done, on_time, overdue_open, still_open, seconds = row
    done, on_time = int(done or 0), int(on_time or 0)
    return {
        "received": int(total or 0),
        "answered": done,
        "on_time": on_time,
        "late": done - on_time,
        "on_time_share": round(100.0 * on_time / done, 1) if done else None,
        "open": int(still_open or 0),
        "overdue_open": int(overdue_open or 0),
        "average_days": round(float(seconds) / 86400, 1) if seconds is not None else None,
    }


def _overdue_by_organization(
    session: Session, moment: datetime, names: dict[int, str], limit: int
) -> list[Row]:
    """Open appeals past their legal deadline now, per organization (most first)."""
    rows = session.execute(
        select(Appeal.organization_id, func.count())
        .where(Appeal.status.in_(OPEN_VALUES), Appeal.due_at < moment)
        .group_by(Appeal.organization_id)
        .order_by(func.count().desc())
        .limit(limit)
    ).all()
    return [Row(str(org or 0), names.get(org or 0, "—"), int(count), 0) for org, count in rows]


def kpis(session: Session, period: Period) -> list[Kpi]:
    """Satisfaction index (ratings) and quick-answer share (knowledge base) vs targets."""
    from knowledge_base.share import quick_answer_share
    from ratings.ranking import methodology
    from ratings.satisfaction import index_over

    satisfaction = index_over(session, start=period.start, stop=period.end)
    targets = methodology().satisfaction_targets
    share_rows = quick_answer_share(session, start=period.start, stop=period.end, period="week")
    appeals = sum(int(row["appeals"]) for row in share_rows)
    quick = sum(int(row["quick_answered"]) for row in share_rows)
    return [
        Kpi(
            "satisfaction",
            satisfaction.index,
            targets.get(period.last.year),
            satisfaction.satisfied,
            satisfaction.ratings,
        ),
        Kpi(
            "quick_answer_share",
            round(100.0 * quick / appeals, 1) if appeals else None,
            quick_answer_target(period.last.year),
            quick,
            appeals,
        ),
    ]


def overview(
    session: Session,
    period: Period,
    *,
    language: str,
    moment: datetime,
    top: int = 15,
    with_kpis: bool = True,
) -> Overview:
    """Every figure of the analytics page for ``period`` against the previous one."""
    names = labels(session, language)
    previous = period.previous()
    now_counts, before_counts = _grouped(session, period), _grouped(session, previous)

    def by(index: int, counts: Counter[tuple[str, str, int, str, str]]) -> Counter[str]:
        result: Counter[str] = Counter()
        for key, count in counts.items():
            result[str(key[index])] += count
        return result

    def by_area(counts: Counter[tuple[str, str, int, str, str]]) -> Counter[str]:
        result: Counter[str] = Counter()
        for key, count in counts.items():
            result[names.category_area.get(key[3], "")] += count
        return result

    organization_names = {str(k): v for k, v in names.organizations.items()}
    organization_names["0"] = "—"
    top_district: dict[str, list[Row]] = {}
    top_organization: dict[str, list[Row]] = {}
    pairs_now: dict[str, Counter[str]] = defaultdict(Counter)
    pairs_before: dict[str, Counter[str]] = defaultdict(Counter)
    orgs_now: dict[str, Counter[str]] = defaultdict(Counter)
    orgs_before: dict[str, Counter[str]] = defaultdict(Counter)
    for counts, districts, organizations in (
        (now_counts, pairs_now, orgs_now),
        (before_counts, pairs_before, orgs_before),
    ):
        for (_, district, organization, category, _), count in counts.items():
            if category:
                districts[district][category] += count
                organizations[str(organization)][category] += count
    for district, counter in pairs_now.items():
        top_district[district] = _rows(counter, pairs_before[district], names.categories, limit=3)
    for organization_key, counter in orgs_now.items():
        top_organization[organization_key] = _rows(
            counter, orgs_before[organization_key], names.categories, limit=3
        )
    days = daily_counts(session, previous.first, period.last)
    week_start = period.last - timedelta(days=period.last.weekday() + 7 * 11)
    weeks_days = daily_counts(session, week_start, period.last)
    weekly: Counter[date] = Counter()
    for day, count in weeks_days.items():
        weekly[day - timedelta(days=day.weekday())] += count
    status_names = {status.value: status.value for status in Status}
    result = Overview(
        period=period,
        previous=previous,
        total=sum(now_counts.values()),
        previous_total=sum(before_counts.values()),
        by_day=[
            (
                period.first + timedelta(days=i),
                days[period.first + timedelta(days=i)],
                days[previous.first + timedelta(days=i)],
            )
            for i in range(period.days)
        ],
        by_week=sorted(weekly.items()),
        channels=_rows(by(0, now_counts), by(0, before_counts), {}, limit=None),
        districts=_rows(by(1, now_counts), by(1, before_counts), names.districts, limit=None),
        organizations=_rows(by(2, now_counts), by(2, before_counts), organization_names, limit=top),
        areas=_rows(by_area(now_counts), by_area(before_counts), names.areas, limit=None),
        categories=_rows(by(3, now_counts), by(3, before_counts), names.categories, limit=top),
        top_by_district=dict(
            sorted(top_district.items(), key=lambda item: names.districts.get(item[0], "~"))
        ),
        top_by_organization=dict(
            sorted(
                top_organization.items(),
                key=lambda item: -sum(row.count for row in item[1]),
            )[:top]
        ),
        statuses=_rows(by(4, now_counts), by(4, before_counts), status_names, limit=None),
        timeliness=_timeliness(session, period, moment),
        overdue_by_organization=_overdue_by_organization(
            session, moment, names.organizations, limit=10
        ),
    )
    result.timeliness["previous"] = _timeliness(session, previous, moment)
    if with_kpis:
        result.kpis = kpis(session, period)
    return result

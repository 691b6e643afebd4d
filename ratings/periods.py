"""Ranking periods: weeks (Monday to Sunday), months, quarters, years and custom ranges of
Almaty calendar days, with the previous period to compare with. Pure."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from core.clock import ALMATY


class PeriodKind(enum.StrEnum):
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    CUSTOM = "custom"


#: The kinds a snapshot is stored for when they close.
CLOSING_KINDS = (PeriodKind.WEEK, PeriodKind.MONTH, PeriodKind.QUARTER, PeriodKind.YEAR)
#: A custom range may not span more than this (the whole history since 2017 fits).
MAX_DAYS = 366 * 12


class PeriodError(ValueError):
    """A period that cannot be: the end before the start, too long, an unknown kind."""


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True, order=True)
class Period:
    """``[start, end)`` in Almaty calendar days (``end`` is the day after the last)."""

    start: date
    end: date
    kind: PeriodKind = PeriodKind.CUSTOM

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise PeriodError("the period must end after it starts")
        if (self.end - self.start).days > MAX_DAYS:
            raise PeriodError(f"a period may span at most {MAX_DAYS} days")

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def start_at(self) -> datetime:
        """The first moment, midnight in Almaty (aware)."""
        return datetime.combine(self.start, time(0), tzinfo=ALMATY)

    @property
    def end_at(self) -> datetime:
        return datetime.combine(self.end, time(0), tzinfo=ALMATY)

    def is_closed(self, today: date) -> bool:
        return self.end <= today

    def previous(self) -> Period:
        """The period just before, of the same kind (a custom one: of the same length)."""
        if self.kind is PeriodKind.WEEK:
            return Period(self.start - timedelta(days=7), self.start, self.kind)
        if self.kind is PeriodKind.MONTH:
            return Period(_add_months(self.start, -1), self.start, self.kind)
        if self.kind is PeriodKind.QUARTER:
            return Period(_add_months(self.start, -3), self.start, self.kind)
        if self.kind is PeriodKind.YEAR:
            return Period(self.start.replace(year=self.start.year - 1), self.start, self.kind)
        return Period(self.start - timedelta(days=self.days), self.start, self.kind)

    def following(self) -> Period:
        if self.kind is PeriodKind.CUSTOM:
            return Period(self.end, self.end + timedelta(days=self.days), self.kind)
        return containing(self.kind, self.end)

    @property
    def label(self) -> str:
        """A stable, language-free name: 2026-W10, 2026-03, 2026-Q1, 2026, or the range."""
        if self.kind is PeriodKind.WEEK:
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind is PeriodKind.MONTH:
            return f"{self.start:%Y-%m}"
        if self.kind is PeriodKind.QUARTER:
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        if self.kind is PeriodKind.YEAR:
            return str(self.start.year)
        return f"{self.start.isoformat()}..{self.last_day.isoformat()}"

    def as_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind.value,
            "label": self.label,
            "from": self.start.isoformat(),
            "to": self.last_day.isoformat(),
        }


def containing(kind: PeriodKind, day: date) -> Period:
    """The period of ``kind`` that contains ``day`` (not for custom periods)."""
    if kind is PeriodKind.WEEK:
        start = day - timedelta(days=day.weekday())
        return Period(start, start + timedelta(days=7), kind)
    if kind is PeriodKind.MONTH:
        start = _month_start(day)
        return Period(start, _add_months(start, 1), kind)
    if kind is PeriodKind.QUARTER:
        start = date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
        return Period(start, _add_months(start, 3), kind)
    if kind is PeriodKind.YEAR:
        return Period(date(day.year, 1, 1), date(day.year + 1, 1, 1), kind)
    raise PeriodError("a custom period needs its dates")


def last_closed(kind: PeriodKind, today: date) -> Period:
    """The latest period of ``kind`` that has ended by ``today`` (Almaty)."""
    return containing(kind, today).previous()


def custom(start: date, last_day: date) -> Period:
    """From ``start`` to ``last_day`` inclusive."""
    if last_day < start:
        raise PeriodError("the period must end on or after its first day")
    return Period(start, last_day + timedelta(days=1), PeriodKind.CUSTOM)


def parse_kind(value: str) -> PeriodKind:
    try:
        return PeriodKind(value)
    except ValueError:
        known = ", ".join(kind.value for kind in PeriodKind)
        raise PeriodError(f"unknown period {value!r}; one of {known}") from None


def resolve(
    *,
    kind: str | None,
    start: date | None,
    last_day: date | None,
    at: date | None,
    today: date,
    default: PeriodKind = PeriodKind.CUSTOM,
) -> Period:
    """The period a reader asked for, the same way for the CLI, the API and the pages.

    Dates (``start``/``last_day``, either may be left out) give a custom period, or the
    period of ``kind`` containing ``start``; a kind alone gives its latest closed period, or
    the one containing ``at``. Nothing at all: ``default``'s latest closed period, and for
    custom the 30 days up to ``today``.
    """
    chosen = parse_kind(kind) if kind else None
    if start is not None or last_day is not None:
        if chosen is not None and chosen is not PeriodKind.CUSTOM and start is not None:
            return containing(chosen, start)
        last = last_day or today
        return custom(start or last - timedelta(days=29), last)
    chosen = chosen or default
    if chosen is PeriodKind.CUSTOM:
        return custom(today - timedelta(days=29), today)
    if at is not None:
        return containing(chosen, at)
    return last_closed(chosen, today)

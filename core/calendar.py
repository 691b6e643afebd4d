"""Kazakhstan's working-day calendar: the `holidays` package plus our own override table.

Deadlines under the АППК are counted in working days. The `holidays` package knows the
public holidays, the days moved off a weekend ("observed") and the decree transfers of the
years it has data for; it does not know next year's transfers until someone adds them, and
it only estimates Kurban Ait. The override table (``data/calendar_overrides.yaml``, seeded
into the ``calendar_overrides`` table that an admin can edit) fills that gap and always wins.

Pure: no database, no clock. Each year is built once and cached (days off as a set, working
days as sorted ordinals), so adding 15 working days is one binary search: about 2 µs.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import holidays
import yaml

# Overrides that leave no working day at all would make the forward search loop forever.
_MAX_EMPTY_YEARS = 3
_ONE_DAY = timedelta(days=1)
# Holiday names in the state language; the package has no Russian names for KZ.
_NAME_LANGUAGE = {"KZ": "kk"}


@dataclass(frozen=True)
class DayOverride:
    """One day whose status we set ourselves (a decree transfer, a confirmed Kurban Ait)."""

    day: date
    working: bool  # True: a working day (e.g. a working Saturday); False: a day off
    reason: str
    source: str = ""  # where the fact comes from (decree, order, official calendar)


@dataclass(frozen=True)
class _PackageYear:
    """What the `holidays` package says about one year, before our overrides."""

    days_off: frozenset[date]  # weekends and holidays, less the working weekend days
    names: Mapping[date, str]  # holiday names (Kazakh: the package has no Russian names)


@lru_cache(maxsize=256)
def _package_year(country: str, year: int) -> _PackageYear:
    """Build one year from the package; cached process-wide so rebuilt calendars stay cheap."""
    # The neighbouring years are loaded too: the package files a transfer under the year of
    # the day off, so a working Saturday in December may come from next year's data, and a
    # day off observed in January may come from last year's holiday.
    # The language is explicit: left unset, the package guesses it from the process locale.
    data = holidays.country_holidays(
        country, years=(year - 1, year, year + 1), language=_NAME_LANGUAGE.get(country)
    )
    names = {day: str(name) for day, name in data.items() if day.year == year}
    weekend_workdays = {day for day in getattr(data, "weekend_workdays", set()) if day.year == year}
    days_off: set[date] = set()
    day = date(year, 1, 1)
    while day.year == year:
        if day.weekday() >= 5:
            if day not in weekend_workdays:
                days_off.add(day)
        elif day in names:
            days_off.add(day)
        day += _ONE_DAY
    return _PackageYear(days_off=frozenset(days_off), names=names)


@dataclass(frozen=True)
class _Year:
    """One year after our overrides: the days off, and the working days as sorted ordinals."""

    days_off: frozenset[date]
    working: tuple[int, ...]


def _check_date(day: date) -> None:
    # A datetime is a date subclass, but it never equals a date in a set: refuse it loudly.
    if isinstance(day, datetime):
        raise TypeError(f"expected a date, got a datetime: {day!r}")


class WorkingCalendar:
    """Working days: Monday to Friday that are not public holidays, unless an override says so."""

    def __init__(self, overrides: Iterable[DayOverride] = (), *, country: str = "KZ") -> None:
        self.country = country
        self._overrides: dict[date, DayOverride] = {}
        for override in overrides:
            _check_date(override.day)
            self._overrides[override.day] = override  # a later entry for the same day wins
        self._years: dict[int, _Year] = {}

    @property
    def overrides(self) -> tuple[DayOverride, ...]:
        return tuple(sorted(self._overrides.values(), key=lambda o: o.day))

    def _year(self, year: int) -> _Year:
        cached = self._years.get(year)
        if cached is None:
            off = set(_package_year(self.country, year).days_off)
            for day, override in self._overrides.items():
                if day.year != year:
                    continue
                if override.working:
                    off.discard(day)
                else:
                    off.add(day)
            first = date(year, 1, 1).toordinal()
            last = date(year, 12, 31).toordinal()
            working = tuple(
                ordinal
                for ordinal in range(first, last + 1)
                if date.fromordinal(ordinal) not in off
            )
            cached = self._years[year] = _Year(days_off=frozenset(off), working=working)
        return cached

    def is_working_day(self, day: date) -> bool:
        _check_date(day)
        return day not in self._year(day.year).days_off

    def holiday_name(self, day: date) -> str | None:
        """The holiday (or override reason) that makes ``day`` a day off; None for other days."""
        _check_date(day)
        override = self._overrides.get(day)
        if override is not None:
            return None if override.working else override.reason
        name = _package_year(self.country, day.year).names.get(day)
        if name is None or self.is_working_day(day):
            return None
        return name

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        _check_date(day)
        return self._forward(day, 1)

    def add_working_days(self, day: date, n: int) -> date:
        """The n-th working day after ``day``; n=0 gives ``day`` itself or the next working day."""
        _check_date(day)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if n == 0:
            return day if self.is_working_day(day) else self._forward(day, 1)
        return self._forward(day, n)

    def _forward(self, day: date, n: int) -> date:
        """The n-th (n >= 1) working day after ``day``, by bisecting each year's working days."""
        year = day.year
        ordinal = day.toordinal()
        empty_years = 0
        while True:
            working = self._year(year).working
            index = bisect_right(working, ordinal) + n - 1
            if index < len(working):
                return date.fromordinal(working[index])
            n = index - len(working) + 1
            empty_years = 0 if working else empty_years + 1
            if empty_years > _MAX_EMPTY_YEARS:
                raise ValueError(f"no working day in the {_MAX_EMPTY_YEARS} years after {day}")
            year += 1

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; 0 when ``end`` is not after ``start``."""
        _check_date(start)
        _check_date(end)
        if end <= start:
            return 0
        low, high = start.toordinal(), end.toordinal()
        count = 0
        for year in range(start.year, end.year + 1):
            working = self._year(year).working
            count += bisect_right(working, high) - bisect_right(working, low)
        return count

    @classmethod
    def from_yaml(cls, path: Path) -> WorkingCalendar:
        return cls(load_overrides(path))


def _parse_day(value: Any, where: str) -> date:
    if isinstance(value, datetime):
        raise ValueError(f"{where}: 'date' must be a date, not a date and time")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError as exc:
            raise ValueError(f"{where}: 'date' is not YYYY-MM-DD: {value!r}") from exc
    raise ValueError(f"{where}: 'date' is missing or not a date")


def load_overrides(path: Path) -> list[DayOverride]:
    """Read the override table; a malformed entry is an error, not a silently wrong calendar."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, ValueError) as exc:  # PyYAML raises ValueError for 2026-13-01
        raise ValueError(f"{path}: not valid YAML or a bad date: {exc}") from exc
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ValueError(f"{path}: expected a list of overrides")
    result: list[DayOverride] = []
    seen: set[date] = set()
    for index, entry in enumerate(raw):
        where = f"{path} entry {index + 1}"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: expected a mapping")
        unknown = set(entry) - {"date", "working", "reason", "source"}
        if unknown:
            raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
        day = _parse_day(entry.get("date"), where)
        if day in seen:
            raise ValueError(f"{where}: {day} is listed twice")
        seen.add(day)
        working = entry.get("working")
        if not isinstance(working, bool):
            raise ValueError(f"{where}: 'working' must be true or false")
        reason = entry.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError(f"{where}: 'reason' is required")
        source = entry.get("source", "")
        if not isinstance(source, str):
            raise ValueError(f"{where}: 'source' must be text")
        result.append(
            DayOverride(day=day, working=working, reason=reason.strip(), source=source.strip())
        )
    return result

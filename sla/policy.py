"""Appeal deadlines under the АППК, as one pure policy: rules file + working-day calendar.

Every deadline in CivicDesk comes from here, so the intake pipeline, the SLA sweep and the
inspectors' board agree to the minute. The legal terms live in ``data/appeal_rules.yaml``
(with their citations); this module only does the arithmetic. Pure: no database, no clock.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import yaml

from core.calendar import WorkingCalendar
from core.clock import ALMATY
from core.errors import ValidationFailed


@dataclass(frozen=True)
class AppealType:
    """A kind of appeal (заявление, жалоба, …) and its term in working days."""

    code: str
    name_ru: str
    name_kk: str
    deadline_working_days: int


@dataclass(frozen=True)
class DeadlineRules:
    """The legal terms, read from ``data/appeal_rules.yaml``."""

    working_start: time
    working_end: time
    appeal_types: dict[str, AppealType]
    extension_max_months: int
    extension_notice_working_days: int
    forward_within_working_days: int
    anonymous_considered_urgencies: frozenset[str]
    forward_restarts_term: bool = True


def _section(raw: Mapping[str, Any], key: str, where: Path) -> Mapping[str, Any]:
    value = raw.get(key)
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: '{key}' must be a mapping")
    return value


def _time(value: Any, what: str, where: Path) -> time:
    if not isinstance(value, str):
        raise ValueError(f'{where}: {what} must be a quoted "HH:MM" string, got {value!r}')
    try:
        return time.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{where}: {what} is not HH:MM: {value!r}") from exc


def _count(value: Any, what: str, where: Path, *, minimum: int = 1) -> int:
    # bool is an int subclass; `true` is never a number of days.
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{where}: {what} must be an integer >= {minimum}, got {value!r}")
    return value


def _text(value: Any, what: str, where: Path) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: {what} is required")
    return value.strip()


def load_rules(path: Path) -> DeadlineRules:
    """Read and check the rules file; a bad file fails at start-up, not on the first appeal."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, Mapping):
        raise ValueError(f"{path}: expected a mapping at the top level")

    hours = _section(raw, "working_hours", path)
    start = _time(hours.get("start"), "working_hours.start", path)
    end = _time(hours.get("end"), "working_hours.end", path)
    if start >= end:
        raise ValueError(f"{path}: working_hours.start must be before working_hours.end")

    entries = raw.get("appeal_types")
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{path}: 'appeal_types' must be a non-empty list")
    appeal_types: dict[str, AppealType] = {}
    for index, entry in enumerate(entries):
        what = f"appeal_types[{index}]"
        if not isinstance(entry, Mapping):
            raise ValueError(f"{path}: {what} must be a mapping")
        unknown = set(entry) - {"code", "name_ru", "name_kk", "deadline_working_days"}
        if unknown:
            raise ValueError(f"{path}: {what} has unknown keys {sorted(unknown)}")
        code = _text(entry.get("code"), f"{what}.code", path)
        if code in appeal_types:
            raise ValueError(f"{path}: appeal type {code!r} is listed twice")
        appeal_types[code] = AppealType(
            code=code,
            name_ru=_text(entry.get("name_ru"), f"{what}.name_ru", path),
            name_kk=_text(entry.get("name_kk"), f"{what}.name_kk", path),
            deadline_working_days=_count(
                entry.get("deadline_working_days"), f"{what}.deadline_working_days", path
            ),
        )

    extension = _section(raw, "extension", path)
    forwarding = _section(raw, "forwarding", path)
    anonymous = _section(raw, "anonymous", path)
    urgencies = anonymous.get("considered_when_urgency_in", [])
    if not isinstance(urgencies, list) or not all(isinstance(u, str) for u in urgencies):
        raise ValueError(f"{path}: anonymous.considered_when_urgency_in must be a list of text")

    return DeadlineRules(
        working_start=start,
        working_end=end,
        appeal_types=appeal_types,
        extension_max_months=_count(
            extension.get("max_total_months"), "extension.max_total_months", path
        ),
        extension_notice_working_days=_count(
            extension.get("notify_citizen_within_working_days"),
            "extension.notify_citizen_within_working_days",
            path,
        ),
        forward_within_working_days=_count(
            forwarding.get("within_working_days"), "forwarding.within_working_days", path
        ),
        forward_restarts_term=bool(forwarding.get("term_restarts_at_receiving_body", True)),
        anonymous_considered_urgencies=frozenset(u.strip().lower() for u in urgencies),
    )


def _add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day (31 Dec + 2 months = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, monthrange(year, month)[1]))


def _aware(moment: datetime, name: str) -> datetime:
    # A naive time could be UTC or Almaty: six hours of doubt on a legal deadline. Refuse it.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValidationFailed(
            f"{name} must be a timezone-aware datetime", code="naive_datetime", field=name
        )
    return moment


class DeadlinePolicy:
    """Registration dates and deadlines, counted in Almaty working days."""

    def __init__(self, rules: DeadlineRules, calendar: WorkingCalendar) -> None:
        self.rules = rules
        self.calendar = calendar

    def _close_of(self, day: date) -> datetime:
        """End of working hours on ``day`` in Almaty, as UTC."""
        return datetime.combine(day, self.rules.working_end, tzinfo=ALMATY).astimezone(UTC)

    def close_of(self, day: date) -> datetime:
        """End of working hours on ``day`` in Almaty, as UTC (for the SLA clocks)."""
        return self._close_of(day)

    def opening_of(self, day: date) -> datetime:
        """Start of working hours on ``day`` in Almaty, as UTC."""
        return datetime.combine(day, self.rules.working_start, tzinfo=ALMATY).astimezone(UTC)

    def appeal_type(self, code: str) -> AppealType:
        found = self.rules.appeal_types.get(code)
        if found is None:
            raise ValidationFailed(
                f"unknown appeal type: {code!r}",
                code="unknown_appeal_type",
                appeal_type=code,
                known=sorted(self.rules.appeal_types),
            )
        return found

    def registration_date(self, received_at: datetime) -> date:
        """The day the legal clock starts: today if a working day before closing, else the next."""
        local = _aware(received_at, "received_at").astimezone(ALMATY)
        day = local.date()
        if self.calendar.is_working_day(day) and local.time() < self.rules.working_end:
            return day
        return self.calendar.next_working_day(day)

    def due_at(self, received_at: datetime, appeal_type: str) -> datetime:
        """Close of the N-th working day after registration (АППК ст. 76: 15 working days)."""
        kind = self.appeal_type(appeal_type)
        registered = self.registration_date(received_at)
        return self._close_of(
            self.calendar.add_working_days(registered, kind.deadline_working_days)
        )

    def max_extended_due(self, received_at: datetime) -> datetime:
        """The latest an extension may reach: registration + two calendar months, at closing."""
        registered = self.registration_date(received_at)
        return self._close_of(_add_months(registered, self.rules.extension_max_months))

    def validate_extension(
        self, *, received_at: datetime, current_due: datetime, new_due: datetime, reason: str
    ) -> None:
        """Refuse an extension the law does not allow (АППК ст. 76 ч. 2)."""
        _aware(current_due, "current_due")
        _aware(new_due, "new_due")
        if not reason or not reason.strip():
            raise ValidationFailed(
                "an extension needs a reasoned decision", code="extension_reason_required"
            )
        if new_due <= current_due:
            raise ValidationFailed(
                "the new deadline must be later than the current one",
                code="extension_not_later",
                current_due=current_due.isoformat(),
                new_due=new_due.isoformat(),
            )
        limit = self.max_extended_due(received_at)
        if new_due > limit:
            raise ValidationFailed(
                f"an extension may not go past {self.rules.extension_max_months} months "
                "from registration",
                code="extension_too_long",
                max_due=limit.isoformat(),
                new_due=new_due.isoformat(),
            )

    def extension_notice_due(self, decided_at: datetime) -> datetime:
        """The citizen is told of an extension within 3 working days of the decision."""
        decided_on = _aware(decided_at, "decided_at").astimezone(ALMATY).date()
        return self._close_of(
            self.calendar.add_working_days(decided_on, self.rules.extension_notice_working_days)
        )

    def forward_due(self, received_at: datetime) -> datetime:
        """A misrouted appeal goes to the competent body within 3 working days (АППК ст. 65)."""
        registered = self.registration_date(received_at)
        return self._close_of(
            self.calendar.add_working_days(registered, self.rules.forward_within_working_days)
        )

    def anonymous_considered(self, urgency: str | None) -> bool:
        """Anonymous appeals are considered only when they report a crime or a public threat."""
        if urgency is None:
            return False
        return urgency.strip().lower() in self.rules.anonymous_considered_urgencies

"""SLA clock arithmetic: reminder offsets, reminder moments and pause shifts. Pure.

Reminder offsets are written ``3wd`` (three working days left, counting the due day: the
reminder comes at the opening of that working day), ``1d`` (24 hours before) or ``4h``.
For the set-based sweep each offset is turned around: not "when is this appeal's reminder"
but "up to which deadline are reminders due now", one indexed range over ``appeals.due_at``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from appeals.lifecycle import OPEN_STATUSES
from core.clock import ALMATY
from sla.policy import DeadlinePolicy

#: Statuses in which the executor still owes the answer: the clock runs, reminders and
#: escalation apply (as plain values, for the sweep's Core SQL).
OPEN_STATUS_VALUES = tuple(sorted(status.value for status in OPEN_STATUSES))

_OFFSET = re.compile(r"^\s*(\d{1,3})\s*(wd|d|h)\s*$")
_MAX_LOOKBACK_DAYS = 60


@dataclass(frozen=True)
class ReminderOffset:
    """How long before the deadline the executor is reminded."""

    amount: int
    unit: str  # "wd" working days, "d" calendar days, "h" hours

    @property
    def kind(self) -> str:
        """The ledger kind, e.g. ``remind_3wd``."""
        return f"remind_{self.amount}{self.unit}"


def parse_offsets(spec: str) -> tuple[ReminderOffset, ...]:
    """``"3wd,1d"`` → offsets; a bad entry is a start-up error, not a silent no-reminder."""
    offsets: list[ReminderOffset] = []
    for part in (p for p in spec.split(",") if p.strip()):
        match = _OFFSET.match(part)
        if match is None or int(match.group(1)) < 1:
            raise ValueError(f"reminder offset {part.strip()!r}: expected e.g. 3wd, 1d or 4h")
        offset = ReminderOffset(int(match.group(1)), match.group(2))
        if offset not in offsets:
            offsets.append(offset)
    return tuple(offsets)


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ALMATY).astimezone(UTC)


def last_working_day_on_or_before(policy: DeadlinePolicy, day: date) -> date:
    for back in range(_MAX_LOOKBACK_DAYS):
        candidate = day - timedelta(days=back)
        if policy.calendar.is_working_day(candidate):
            return candidate
    raise ValueError(f"no working day in the {_MAX_LOOKBACK_DAYS} days before {day}")


def working_days_before(policy: DeadlinePolicy, day: date, n: int) -> date:
    """The n-th working day before ``day`` (``day`` itself for n=0 when it is working)."""
    current = last_working_day_on_or_before(policy, day)
    for _ in range(n):
        current = last_working_day_on_or_before(policy, current - timedelta(days=1))
    return current


def reminder_moment(policy: DeadlinePolicy, offset: ReminderOffset, due: datetime) -> datetime:
    """When the reminder for a deadline ``due`` is due (UTC)."""
    if offset.unit == "h":
        return due - timedelta(hours=offset.amount)
    if offset.unit == "d":
        return due - timedelta(days=offset.amount)
    due_day = due.astimezone(ALMATY).date()
    return policy.opening_of(working_days_before(policy, due_day, offset.amount - 1))


def reminder_bound(policy: DeadlinePolicy, offset: ReminderOffset, at: datetime) -> datetime:
    """Reminders are due at ``at`` for every deadline strictly before this bound.

    The inverse of ``reminder_moment`` (which never decreases as the deadline moves later):
    ``reminder_moment(due) <= at`` exactly when ``due < reminder_bound(at)``.
    """
    if offset.unit in ("h", "d"):
        delta = timedelta(hours=offset.amount) if offset.unit == "h" else timedelta(offset.amount)
        return at + delta + timedelta(microseconds=1)
    local_at = at.astimezone(ALMATY)
    today = local_at.date()
    if policy.calendar.is_working_day(today) and at >= policy.opening_of(today):
        base = today
    else:
        base = last_working_day_on_or_before(policy, today - timedelta(days=1))
    last_due_day = policy.calendar.add_working_days(base, offset.amount - 1)
    return _local_midnight(policy.calendar.next_working_day(last_due_day))


def paused_working_days(policy: DeadlinePolicy, started: datetime, ended: datetime) -> int:
    """Whole working days a pause took from the executor: working days in (start, end].

    Counted in working days, like the legal term itself: a pause within one day moves
    nothing, a pause from Monday to Wednesday gives two working days back.
    """
    return policy.calendar.working_days_between(
        started.astimezone(ALMATY).date(), ended.astimezone(ALMATY).date()
    )


def shift_by_working_days(policy: DeadlinePolicy, moment: datetime, days: int) -> datetime:
    """``moment`` moved ``days`` working days later, at the same Almaty wall-clock time."""
    if days <= 0:
        return moment
    local_moment = moment.astimezone(ALMATY)
    day = policy.calendar.add_working_days(local_moment.date(), days)
    return datetime.combine(
        day, local_moment.timetz().replace(tzinfo=None), tzinfo=ALMATY
    ).astimezone(UTC)

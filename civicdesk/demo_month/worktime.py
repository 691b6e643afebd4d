"""Almaty working time for the demo month: when staff act and how long things take.

Staff act in office hours (``data/appeal_rules.yaml``: 09:00–18:00) on working days of the
Kazakhstan calendar the deadlines are counted in (``sla.service.deadline_policy``), so an
appeal's life in the demo keeps the same clock its deadlines do.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from core.clock import ALMATY
from sla.policy import DeadlinePolicy

_ONE_DAY = timedelta(days=1)


def _hours(moment: time) -> float:
    return moment.hour + moment.minute / 60


class WorkTime:
    """Office hours on working days, in Almaty, as UTC moments."""

    def __init__(self, policy: DeadlinePolicy) -> None:
        self.calendar = policy.calendar
        self.opening = _hours(policy.rules.working_start)
        self.closing = _hours(policy.rules.working_end)

    def is_working_day(self, day: date) -> bool:
        return self.calendar.is_working_day(day)

    def at(self, day: date, hour: float) -> datetime:
        """``day`` at ``hour`` (9.5 is 09:30) Almaty time, as UTC."""
        start = datetime.combine(day, time(0), tzinfo=ALMATY)
        return (start + timedelta(hours=hour)).astimezone(UTC)

    @staticmethod
    def day_of(moment: datetime) -> date:
        return moment.astimezone(ALMATY).date()

    @staticmethod
    def hour_of(moment: datetime) -> float:
        local = moment.astimezone(ALMATY)
        return local.hour + local.minute / 60 + local.second / 3600

    def last_working_days(self, until_day: date, count: int) -> list[date]:
        """The ``count`` working days that end on ``until_day`` (or the last one before it)."""
        days: list[date] = []
        day = until_day
        while len(days) < count:
            if self.is_working_day(day):
                days.append(day)
            day -= _ONE_DAY
        return sorted(days)

    def in_hours(self, moment: datetime) -> bool:
        hour = self.hour_of(moment)
        return self.is_working_day(self.day_of(moment)) and self.opening <= hour < self.closing

    def next_opening(self, moment: datetime) -> datetime:
        """``moment`` itself in office hours, else the next opening."""
        if self.in_hours(moment):
            return moment
        day = self.day_of(moment)
        if not (self.is_working_day(day) and self.hour_of(moment) < self.opening):
            day = self.calendar.next_working_day(day)
        return self.at(day, self.opening)

    def during_hours(self, moment: datetime, rng: random.Random) -> datetime:
        """When someone in the office gets to it: now in office hours, else some minutes
        after the next opening (mail is read first)."""
        if self.in_hours(moment):
            return moment
        return self.next_opening(moment) + timedelta(minutes=rng.uniform(5, 80))

    def add_hours(self, moment: datetime, hours: float) -> datetime:
        """``hours`` of office time after ``moment`` (evenings and days off skipped)."""
        current = self.next_opening(moment)
        remaining = max(0.0, hours)
        while True:
            left_today = self.closing - self.hour_of(current)
            if remaining <= left_today:
                return current + timedelta(hours=remaining)
            remaining -= left_today
            current = self.at(self.calendar.next_working_day(self.day_of(current)), self.opening)

    def add_days(self, moment: datetime, days: int, rng: random.Random) -> datetime:
        """Some time in office hours on the ``days``-th working day after ``moment``'s day
        (``days`` 0: later the same working day, or the next one)."""
        day = self.day_of(moment)
        target = self.calendar.add_working_days(day, days) if days > 0 else day
        if target == day and not self.in_hours(moment):
            return self.during_hours(moment, rng)
        earliest = self.hour_of(moment) if target == day else self.opening
        hour = rng.uniform(max(earliest, self.opening + 0.25), self.closing - 0.25)
        if hour <= earliest:  # late on the day itself: the next working day
            return self.add_days(moment, 1, rng)
        return self.at(target, hour)

    def working_days_between(self, start: datetime, end: datetime) -> int:
        return self.calendar.working_days_between(self.day_of(start), self.day_of(end))

"""SLA clocks, pure: internal targets, reminder moments and pause shifts on Kazakhstan's
calendar (Nauryz 2026: 21-25 March off; Kurban Ait 27 May 2026; 31 August 2026 a working
day since the Constitution Day moved). Almaty is UTC+5: 18:00 there is 13:00 UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from appeals.lifecycle import OPEN_STATUSES
from core.calendar import WorkingCalendar
from core.clock import ALMATY
from sla.clocks import (
    OPEN_STATUS_VALUES,
    ReminderOffset,
    parse_offsets,
    paused_working_days,
    reminder_bound,
    reminder_moment,
    shift_by_working_days,
)
from sla.policy import DeadlinePolicy, load_rules
from sla.targets import load_targets, target_due, target_for

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def policy() -> DeadlinePolicy:
    return DeadlinePolicy(
        load_rules(DATA / "appeal_rules.yaml"),
        WorkingCalendar.from_yaml(DATA / "calendar_overrides.yaml"),
    )


def almaty(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ALMATY).astimezone(UTC)


def close_of(year: int, month: int, day: int) -> datetime:
    return almaty(year, month, day, 18)


def test_sla_open_statuses_mirror_the_lifecycle() -> None:
    assert set(OPEN_STATUS_VALUES) == {status.value for status in OPEN_STATUSES}


# --- internal targets --------------------------------------------------------------------


def _target(
    policy: DeadlinePolicy, received: datetime, category: str | None, urgency: str = "normal"
) -> datetime:
    legal = policy.due_at(received, "application")
    return target_due(
        policy,
        load_targets(DATA / "sla_targets.yaml"),
        received_at=received,
        category_code=category,
        urgency=urgency,
        legal_due=legal,
    )


def test_emergency_target_is_24_calendar_hours_even_over_nauryz(policy: DeadlinePolicy) -> None:
    # Friday 20 March 2026, 15:00: the holidays do not stop an emergency service.
    assert _target(policy, almaty(2026, 3, 20, 15), "emergencies.flooding") == almaty(
        2026, 3, 21, 15
    )
    assert _target(policy, almaty(2026, 3, 20, 15), "gas.gas_smell") == almaty(2026, 3, 21, 15)


def test_reference_question_same_working_day(policy: DeadlinePolicy) -> None:
    assert _target(policy, almaty(2026, 4, 7, 10), "reference.contacts") == close_of(2026, 4, 7)
    # After hours: the next working day's close.
    assert _target(policy, almaty(2026, 4, 7, 19), "reference.contacts") == close_of(2026, 4, 8)
    # Kurban Ait, Wednesday 27 May 2026, is a day off: Thursday 28 May.
    assert _target(policy, almaty(2026, 5, 27, 10), "reference.how_to") == close_of(2026, 5, 28)
    # Monday 31 August 2026 is a working day now (no Constitution Day on 30 August).
    assert _target(policy, almaty(2026, 8, 31, 10), "reference.how_to") == close_of(2026, 8, 31)
    # During Nauryz (Monday 23 March 2026): Thursday 26 March.
    assert _target(policy, almaty(2026, 3, 23, 10), "reference.contacts") == close_of(2026, 3, 26)


def test_default_target_ten_working_days_across_nauryz(policy: DeadlinePolicy) -> None:
    # Registered Mon 16 March 2026: 17, 18, 19, 20 (4); 21-25 off; 26, 27 (6); 30, 31,
    # 1 Apr, 2 Apr (10).
    assert _target(policy, almaty(2026, 3, 16, 11), "waste.garbage_collection") == close_of(
        2026, 4, 2
    )
    # Urgent (nlp said "high") without a category rule: 24 hours.
    assert _target(policy, almaty(2026, 3, 16, 11), "waste.garbage_collection", "high") == (
        almaty(2026, 3, 16, 11) + timedelta(hours=24)
    )


def test_target_is_never_later_than_the_law(policy: DeadlinePolicy) -> None:
    rules = load_targets(DATA / "sla_targets.yaml")
    relaxed = type(rules)(
        default=rules.default, urgent=None, by_code={"roads": type(rules.default)(working_days=40)}
    )
    received = almaty(2026, 3, 16, 11)
    legal = policy.due_at(received, "application")
    assert legal == close_of(2026, 4, 9)
    assert (
        target_due(
            policy,
            relaxed,
            received_at=received,
            category_code="roads.local_repair",
            urgency=None,
            legal_due=legal,
        )
        == legal
    )


def test_target_lookup_order() -> None:
    rules = load_targets(DATA / "sla_targets.yaml")
    assert target_for(rules, category_code="gas.gas_smell", urgency=None).describe() == "24h"
    assert target_for(rules, category_code="emergencies.fire", urgency=None).describe() == "24h"
    assert (
        target_for(rules, category_code="reference.appeal_status", urgency="high").describe()
        == "same_working_day"
    )
    assert target_for(rules, category_code="water.no_water", urgency=None).describe() == "3wd"
    assert target_for(rules, category_code=None, urgency=None).describe() == "10wd"


def test_bad_targets_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text("default: {working_days: 0}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="working_days"):
        load_targets(path)
    path.write_text("default: {weeks: 1}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown target kind"):
        load_targets(path)


# --- reminders ---------------------------------------------------------------------------


def test_offsets_parse() -> None:
    assert parse_offsets("3wd, 1d,4h") == (
        ReminderOffset(3, "wd"),
        ReminderOffset(1, "d"),
        ReminderOffset(4, "h"),
    )
    assert [o.kind for o in parse_offsets("3wd,1d")] == ["remind_3wd", "remind_1d"]
    for bad in ("3w", "0d", "soon"):
        with pytest.raises(ValueError, match="reminder offset"):
            parse_offsets(bad)


def test_three_working_days_before_skips_nauryz(policy: DeadlinePolicy) -> None:
    three = ReminderOffset(3, "wd")
    # Due Friday 27 March 2026: three working days left on Friday 20 March (20, 26, 27).
    assert reminder_moment(policy, three, close_of(2026, 3, 27)) == almaty(2026, 3, 20, 9)
    # Due Thursday 9 April: Tuesday 7 April at opening (7, 8, 9).
    assert reminder_moment(policy, three, close_of(2026, 4, 9)) == almaty(2026, 4, 7, 9)
    # One day before is calendar time: Thursday 26 March, 18:00.
    one = ReminderOffset(1, "d")
    assert reminder_moment(policy, one, close_of(2026, 3, 27)) == close_of(2026, 3, 26)


def test_reminder_bound_is_the_inverse_of_the_moment(policy: DeadlinePolicy) -> None:
    """``moment(due) <= at`` exactly when ``due < bound(at)``: the sweep's one range query
    finds precisely the appeals whose reminder is due (checked every 2 h 37 min over spring 2026,
    across Nauryz and the May holidays)."""
    offsets = parse_offsets("3wd,1wd,1d,4h")
    dues = [close_of(2026, 3, 2) + timedelta(days=d) for d in range(80)]
    dues += [almaty(2026, 3, 27, 11, 30), almaty(2026, 3, 22, 12)]  # odd times, a day off
    at = almaty(2026, 3, 1)
    while at < almaty(2026, 5, 20):
        for offset in offsets:
            bound = reminder_bound(policy, offset, at)
            for due in dues:
                assert (reminder_moment(policy, offset, due) <= at) == (due < bound), (
                    offset,
                    at,
                    due,
                )
        at += timedelta(hours=2, minutes=37)


# --- pauses ------------------------------------------------------------------------------


def test_pause_over_nauryz_gives_back_only_working_days(policy: DeadlinePolicy) -> None:
    # Paused Friday 20 March 2026 10:00, resumed Thursday 26 March 11:00: one working day
    # (the 26th); the five days of Nauryz were off anyway.
    assert paused_working_days(policy, almaty(2026, 3, 20, 10), almaty(2026, 3, 26, 11)) == 1
    assert shift_by_working_days(policy, close_of(2026, 4, 9), 1) == close_of(2026, 4, 10)
    # Within one day: nothing moves.
    assert paused_working_days(policy, almaty(2026, 4, 7, 9), almaty(2026, 4, 7, 17)) == 0
    # Monday 16 to Friday 27 March: 17, 18, 19, 20, 26, 27.
    assert paused_working_days(policy, almaty(2026, 3, 16, 9), almaty(2026, 3, 27, 9)) == 6
    # Shifting keeps the wall-clock time and lands on a working day (over Kurban Ait).
    assert shift_by_working_days(policy, almaty(2026, 5, 26, 15), 1) == almaty(2026, 5, 28, 15)


# --- a transferred weekend day: 2025, Friday 3 January off, Sunday 5 January working -------


def test_deadline_target_and_reminders_across_a_transferred_weekend_day(
    policy: DeadlinePolicy,
) -> None:
    """The order of the Ministry of Labour moved the day off from Sunday 5 January 2025 to
    Friday 3 January (``data/calendar_overrides.yaml``; 1-2 January New Year and 7 January
    Orthodox Christmas are off too). The working Sunday counts, the Friday does not."""
    assert policy.calendar.is_working_day(date(2025, 1, 5))
    assert not policy.calendar.is_working_day(date(2025, 1, 3))
    # Received Tuesday 10 December 2024 (16 December, Independence Day, off): the 15th
    # working day is the working Sunday itself.
    assert policy.due_at(almaty(2024, 12, 10, 11), "application") == close_of(2025, 1, 5)
    # Received Thursday 12 December: … 30, 31 December, 5, 6, 8 January → due Wednesday 8.
    due = policy.due_at(almaty(2024, 12, 12, 11), "application")
    assert due == close_of(2025, 1, 8)
    # Three working days left (5, 6, 8 January): the reminder opens the working Sunday,
    # not the transferred Friday; "1d" is calendar time, on Christmas (a day off) at 18:00.
    assert reminder_moment(policy, ReminderOffset(3, "wd"), due) == almaty(2025, 1, 5, 9)
    assert reminder_moment(policy, ReminderOffset(1, "d"), due) == close_of(2025, 1, 7)
    three = ReminderOffset(3, "wd")
    assert due >= reminder_bound(policy, three, almaty(2025, 1, 3, 12))  # not yet on the 3rd
    assert due >= reminder_bound(policy, three, almaty(2025, 1, 5, 8, 59))
    assert due < reminder_bound(policy, three, almaty(2025, 1, 5, 9))
    # The internal target (ten working days for water quality) lands on the Sunday too.
    received = almaty(2024, 12, 18, 11)
    legal = policy.due_at(received, "application")
    assert legal == close_of(2025, 1, 13)
    target = target_due(
        policy,
        load_targets(DATA / "sla_targets.yaml"),
        received_at=received,
        category_code="water.water_quality",
        urgency="normal",
        legal_due=legal,
    )
    assert target == close_of(2025, 1, 5)
    # A pause from the transferred Friday to Monday gives back the Sunday and the Monday.
    assert paused_working_days(policy, almaty(2025, 1, 3, 10), almaty(2025, 1, 6, 10)) == 2
    assert shift_by_working_days(policy, close_of(2025, 1, 3), 1) == close_of(2025, 1, 5)

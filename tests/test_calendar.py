"""The Kazakhstan working-day calendar: package data, observed days, transfers, overrides.

Expected dates are worked out by hand from the official calendars, not from the code.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from core.calendar import DayOverride, WorkingCalendar, load_overrides
from core.clock import ALMATY

OVERRIDES_FILE = Path(__file__).resolve().parents[1] / "data" / "calendar_overrides.yaml"


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    """The calendar as deployed: package plus our override table."""
    return WorkingCalendar.from_yaml(OVERRIDES_FILE)


@pytest.fixture(scope="module")
def package_only() -> WorkingCalendar:
    return WorkingCalendar()


def week(cal: WorkingCalendar, first: date) -> str:
    """Seven days from ``first`` as a pattern: W for a working day, - for a day off."""
    start = first.toordinal()
    return "".join(
        "W" if cal.is_working_day(date.fromordinal(start + i)) else "-" for i in range(7)
    )


# --- ordinary weeks ---------------------------------------------------------------------


def test_ordinary_week(cal: WorkingCalendar) -> None:
    # Mon 16 .. Sun 22 June 2025; W = working, - = day off.
    assert week(cal, date(2025, 6, 16)) == "WWWWW--"
    assert cal.holiday_name(date(2025, 6, 18)) is None
    assert cal.holiday_name(date(2025, 6, 21)) is None  # a plain Saturday is no holiday


def test_next_working_day_skips_the_weekend(cal: WorkingCalendar) -> None:
    assert cal.next_working_day(date(2025, 6, 19)) == date(2025, 6, 20)
    assert cal.next_working_day(date(2025, 6, 20)) == date(2025, 6, 23)
    assert cal.next_working_day(date(2025, 6, 21)) == date(2025, 6, 23)


def test_add_working_days(cal: WorkingCalendar) -> None:
    assert cal.add_working_days(date(2025, 6, 16), 0) == date(2025, 6, 16)
    assert cal.add_working_days(date(2025, 6, 21), 0) == date(2025, 6, 23)
    assert cal.add_working_days(date(2025, 6, 16), 1) == date(2025, 6, 17)
    assert cal.add_working_days(date(2025, 6, 16), 5) == date(2025, 6, 23)
    assert cal.add_working_days(date(2025, 6, 21), 1) == date(2025, 6, 23)
    with pytest.raises(ValueError, match="n must be"):
        cal.add_working_days(date(2025, 6, 16), -1)


def test_working_days_between_is_half_open(cal: WorkingCalendar) -> None:
    assert cal.working_days_between(date(2025, 6, 16), date(2025, 6, 16)) == 0
    assert cal.working_days_between(date(2025, 6, 16), date(2025, 6, 17)) == 1
    assert cal.working_days_between(date(2025, 6, 16), date(2025, 6, 23)) == 5
    assert cal.working_days_between(date(2025, 6, 23), date(2025, 6, 16)) == 0


def test_a_datetime_is_refused(cal: WorkingCalendar) -> None:
    with pytest.raises(TypeError):
        cal.is_working_day(datetime(2025, 6, 16, 10, tzinfo=ALMATY))


# --- fixed holidays ----------------------------------------------------------------------


def test_nauryz_2025_with_the_weekend_days_moved(cal: WorkingCalendar) -> None:
    # 21 Fri, 22-23 on the weekend -> 24 and 25 March are days off too.
    off = [date(2025, 3, d) for d in range(21, 26)]
    assert not any(cal.is_working_day(d) for d in off)
    assert cal.is_working_day(date(2025, 3, 20))
    assert cal.is_working_day(date(2025, 3, 26))
    assert cal.next_working_day(date(2025, 3, 20)) == date(2025, 3, 26)
    assert cal.holiday_name(date(2025, 3, 21)) == "Наурыз мейрамы"
    # (20 Mar, 31 Mar]: 26, 27, 28 and 31 March.
    assert cal.working_days_between(date(2025, 3, 20), date(2025, 3, 31)) == 4


def test_nauryz_2024_and_2026(cal: WorkingCalendar) -> None:
    # 2024: 21 Thu, 22 Fri, 23 Sat -> Monday 25 March off.
    assert cal.next_working_day(date(2024, 3, 20)) == date(2024, 3, 26)
    assert not cal.is_working_day(date(2024, 3, 25))
    # 2026: 21 Sat, 22 Sun, 23 Mon -> 24 and 25 March off.
    assert week(cal, date(2026, 3, 20)) == "W-----W"  # Fri 20 .. Thu 26 March


def test_new_year_and_orthodox_christmas_2026(cal: WorkingCalendar) -> None:
    assert cal.is_working_day(date(2025, 12, 31))  # 31 December is a working day
    assert not cal.is_working_day(date(2026, 1, 1))
    assert not cal.is_working_day(date(2026, 1, 2))
    assert cal.next_working_day(date(2025, 12, 31)) == date(2026, 1, 5)
    assert not cal.is_working_day(date(2026, 1, 7))  # Wednesday, Christmas
    # Working days after 31 Dec: 5 Jan, 6 Jan, 8 Jan.
    assert cal.add_working_days(date(2025, 12, 31), 3) == date(2026, 1, 8)
    assert cal.holiday_name(date(2026, 1, 1)) == "Жаңа жыл"


def test_defenders_day_and_victory_day(cal: WorkingCalendar) -> None:
    # 2025: 7 May Wed off, 8 May Thu working, 9 May Fri off.
    assert week(cal, date(2025, 5, 5)) == "WW-W---"  # Mon 5 .. Sun 11 May
    # 2026: 7 May Thu off, 9 May is a Saturday -> Monday 11 May off.
    assert not cal.is_working_day(date(2026, 5, 7))
    assert cal.is_working_day(date(2026, 5, 8))
    assert not cal.is_working_day(date(2026, 5, 11))
    assert cal.next_working_day(date(2026, 5, 8)) == date(2026, 5, 12)
    assert cal.holiday_name(date(2026, 5, 7)) == "Отан Қорғаушы күні"


# --- holidays on a weekend and their observed day ----------------------------------------


@pytest.mark.parametrize(
    ("holiday", "observed"),
    [
        (date(2025, 3, 8), date(2025, 3, 10)),  # Women's Day, Saturday -> Monday
        (date(2025, 7, 6), date(2025, 7, 7)),  # Capital Day, Sunday -> Monday
        (date(2025, 8, 30), date(2025, 9, 1)),  # Constitution Day, Saturday -> Monday
        (date(2025, 10, 25), date(2025, 10, 27)),  # Republic Day, Saturday -> Monday
        (date(2026, 3, 8), date(2026, 3, 9)),  # Women's Day, Sunday -> Monday
        (date(2026, 10, 25), date(2026, 10, 26)),  # Republic Day, Sunday -> Monday
    ],
)
def test_weekend_holiday_moves_to_the_next_working_day(
    cal: WorkingCalendar, holiday: date, observed: date
) -> None:
    assert not cal.is_working_day(observed)
    assert cal.is_working_day(date.fromordinal(observed.toordinal() + 1))
    name = cal.holiday_name(observed)
    assert name is not None
    assert "қайта белгіленген демалыс" in name  # "(observed)"


def test_religious_holidays_are_not_moved_off_a_weekend(cal: WorkingCalendar) -> None:
    # Christmas 7 Jan 2023 was a Saturday and Kurban Ait 16 Jun 2024 a Sunday: no extra day.
    assert cal.is_working_day(date(2023, 1, 9))
    assert cal.is_working_day(date(2024, 6, 17))


# --- transfers of days off ---------------------------------------------------------------


def test_transfer_2024_working_saturday_and_day_off(package_only: WorkingCalendar) -> None:
    # Order of 17.04.2024: the day off moves from Saturday 4 May to Wednesday 8 May.
    assert package_only.is_working_day(date(2024, 5, 4))
    assert not package_only.is_working_day(date(2024, 5, 8))
    assert package_only.is_working_day(date(2024, 5, 11)) is False  # an ordinary Saturday
    # After Fri 3 May: Sat 4 (working), Mon 6, Tue 7 off, Wed 8 off, Thu 9 off, Fri 10.
    assert package_only.add_working_days(date(2024, 5, 3), 3) == date(2024, 5, 10)


def test_transfer_2025_working_sunday(package_only: WorkingCalendar) -> None:
    # The day off moved from Sunday 5 January to Friday 3 January 2025.
    assert not package_only.is_working_day(date(2025, 1, 3))
    assert package_only.is_working_day(date(2025, 1, 5))
    assert package_only.next_working_day(date(2024, 12, 31)) == date(2025, 1, 5)


def test_2026_overrides_from_the_table(cal: WorkingCalendar) -> None:
    # Kurban Ait 2026 on the officially set date, a Wednesday.
    assert not cal.is_working_day(date(2026, 5, 27))
    assert cal.holiday_name(date(2026, 5, 27)) == (
        "Курбан айт (первый день) — выходной день без переноса"
    )
    assert cal.next_working_day(date(2026, 5, 26)) == date(2026, 5, 28)
    # 30 August 2026 (a Sunday) is no longer Constitution Day: Monday 31 August is working.
    assert cal.is_working_day(date(2026, 8, 31))
    assert cal.holiday_name(date(2026, 8, 31)) is None


def test_override_table_entries() -> None:
    entries = {o.day: o for o in load_overrides(OVERRIDES_FILE)}
    assert entries[date(2026, 5, 27)].working is False
    assert entries[date(2026, 8, 31)].working is True
    assert entries[date(2024, 5, 4)].working is True
    assert all(o.reason and o.source for o in entries.values())


# --- overrides win -----------------------------------------------------------------------


def test_override_makes_a_package_holiday_working_and_a_weekday_off() -> None:
    cal = WorkingCalendar(
        [
            DayOverride(date(2025, 5, 9), working=True, reason="test: Victory Day worked"),
            DayOverride(date(2025, 5, 8), working=False, reason="test: bridge day"),
        ]
    )
    assert cal.is_working_day(date(2025, 5, 9))
    assert cal.holiday_name(date(2025, 5, 9)) is None
    assert not cal.is_working_day(date(2025, 5, 8))
    assert cal.holiday_name(date(2025, 5, 8)) == "test: bridge day"


def test_a_decree_style_transfer_via_overrides() -> None:
    # A hypothetical 2026 transfer: Saturday 2 May worked, Friday 8 May off.
    cal = WorkingCalendar(
        [
            DayOverride(date(2026, 5, 2), working=True, reason="рабочая суббота"),
            DayOverride(date(2026, 5, 8), working=False, reason="перенос с 2 мая"),
        ]
    )
    assert cal.is_working_day(date(2026, 5, 2))
    assert not cal.is_working_day(date(2026, 5, 8))
    # After Thu 30 Apr: Fri 1 May off, Sat 2 (worked), Mon 4 ... Wed 6, then 7-11 May off.
    assert cal.add_working_days(date(2026, 4, 30), 5) == date(2026, 5, 12)
    assert cal.working_days_between(date(2026, 4, 30), date(2026, 5, 12)) == 5


def test_override_can_remove_a_working_saturday_of_the_package() -> None:
    cal = WorkingCalendar([DayOverride(date(2024, 5, 4), working=False, reason="test")])
    assert not cal.is_working_day(date(2024, 5, 4))


# --- the table file ----------------------------------------------------------------------


def test_load_overrides_rejects_bad_entries(tmp_path: Path) -> None:
    bad = tmp_path / "o.yaml"
    bad.write_text("- date: 2026-13-01\n  working: false\n  reason: x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad date"):
        load_overrides(bad)
    bad.write_text("- date: '5 May'\n  working: false\n  reason: x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        load_overrides(bad)
    bad.write_text("- date: 2026-01-05\n  working: false\n", encoding="utf-8")
    with pytest.raises(ValueError, match="reason"):
        load_overrides(bad)
    bad.write_text("- date: 2026-01-05\n  working: 'no'\n  reason: x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="working"):
        load_overrides(bad)
    bad.write_text(
        "- {date: 2026-01-05, working: false, reason: a}\n"
        "- {date: 2026-01-05, working: true, reason: b}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="twice"):
        load_overrides(bad)


def test_load_overrides_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "o.yaml"
    empty.write_text("# nothing yet\n", encoding="utf-8")
    assert load_overrides(empty) == []
    assert WorkingCalendar.from_yaml(empty).is_working_day(date(2025, 6, 16))

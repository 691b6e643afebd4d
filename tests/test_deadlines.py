"""Appeal deadlines under the АППК: registration, 15 working days, extensions, forwarding.

Almaty is UTC+5 (since 1 March 2024): 18:00 in Almaty is 13:00 UTC. Expected dates are
counted by hand on the official calendar and written out as literals.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from core.calendar import WorkingCalendar
from core.clock import ALMATY
from core.errors import ValidationFailed
from sla.policy import DeadlinePolicy, load_rules

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def policy() -> DeadlinePolicy:
    return DeadlinePolicy(
        load_rules(DATA / "appeal_rules.yaml"),
        WorkingCalendar.from_yaml(DATA / "calendar_overrides.yaml"),
    )


def almaty(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A wall-clock time in Almaty, as the UTC-aware value the database holds."""
    return datetime(year, month, day, hour, minute, tzinfo=ALMATY).astimezone(UTC)


def close_of(year: int, month: int, day: int) -> datetime:
    return almaty(year, month, day, 18, 0)


# --- the rules file ----------------------------------------------------------------------


def test_rules_file(policy: DeadlinePolicy) -> None:
    rules = policy.rules
    assert (rules.working_start.isoformat(), rules.working_end.isoformat()) == (
        "09:00:00",
        "18:00:00",
    )
    codes = ("application", "complaint", "proposal", "response", "request", "report")
    assert set(rules.appeal_types) == set(codes)
    assert {t.deadline_working_days for t in rules.appeal_types.values()} == {15}
    assert rules.appeal_types["complaint"].name_ru == "Жалоба"
    assert rules.appeal_types["complaint"].name_kk == "Шағым"
    assert rules.extension_max_months == 2
    assert rules.extension_notice_working_days == 3
    assert rules.forward_within_working_days == 3
    assert rules.anonymous_considered_urgencies == frozenset({"crime", "public_safety"})


def test_rules_file_with_unquoted_time_is_refused(tmp_path: Path) -> None:
    text = (DATA / "appeal_rules.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "rules.yaml"
    bad.write_text(text.replace('end: "18:00"', "end: 18:00"), encoding="utf-8")
    with pytest.raises(ValueError, match=r"working_hours\.end"):
        load_rules(bad)


# --- registration ------------------------------------------------------------------------


def test_registered_the_same_day_during_working_hours(policy: DeadlinePolicy) -> None:
    assert policy.registration_date(almaty(2025, 6, 16, 10)) == date(2025, 6, 16)
    assert policy.registration_date(almaty(2025, 6, 16, 7, 30)) == date(2025, 6, 16)
    assert policy.registration_date(almaty(2025, 6, 16, 17, 59)) == date(2025, 6, 16)


def test_registered_the_next_working_day_after_hours(policy: DeadlinePolicy) -> None:
    assert policy.registration_date(almaty(2025, 6, 16, 18, 0)) == date(2025, 6, 17)
    assert policy.registration_date(almaty(2025, 6, 16, 23, 30)) == date(2025, 6, 17)


def test_the_almaty_date_counts_not_the_utc_date(policy: DeadlinePolicy) -> None:
    # 20:30 UTC on Monday is 01:30 on Tuesday in Almaty: registered Tuesday.
    received = datetime(2025, 6, 16, 20, 30, tzinfo=UTC)
    assert policy.registration_date(received) == date(2025, 6, 17)
    # 12:59 UTC is 17:59 in Almaty, still in hours; 13:00 UTC is closing time.
    assert policy.registration_date(datetime(2025, 6, 16, 12, 59, tzinfo=UTC)) == date(2025, 6, 16)
    assert policy.registration_date(datetime(2025, 6, 16, 13, 0, tzinfo=UTC)) == date(2025, 6, 17)


def test_friday_evening_and_weekend_register_on_monday(policy: DeadlinePolicy) -> None:
    assert policy.registration_date(almaty(2025, 6, 20, 20)) == date(2025, 6, 23)
    assert policy.registration_date(almaty(2025, 6, 21, 11)) == date(2025, 6, 23)
    assert policy.registration_date(almaty(2025, 6, 22, 15)) == date(2025, 6, 23)


def test_friday_evening_before_a_monday_holiday(policy: DeadlinePolicy) -> None:
    # Monday 7 July 2025 is the day off for Capital Day (6 July was a Sunday).
    assert policy.registration_date(almaty(2025, 7, 4, 19)) == date(2025, 7, 8)


def test_holiday_eve_and_holiday(policy: DeadlinePolicy) -> None:
    # Evening of Monday 15 Dec 2025; 16 Dec is Independence Day.
    assert policy.registration_date(almaty(2025, 12, 15, 18, 30)) == date(2025, 12, 17)
    # During office hours on Nauryz 2026 (23 March, Monday): after the 21-25 March break.
    assert policy.registration_date(almaty(2026, 3, 23, 10)) == date(2026, 3, 26)


def test_naive_datetime_is_refused(policy: DeadlinePolicy) -> None:
    with pytest.raises(ValidationFailed) as caught:
        policy.registration_date(datetime(2025, 6, 16, 10))  # noqa: DTZ001 - the point
    assert caught.value.code == "naive_datetime"


# --- 15 working days ---------------------------------------------------------------------


def test_due_at_ordinary_crossing_capital_day(policy: DeadlinePolicy) -> None:
    # Registered Mon 16 June 2025. Counting: 17-20 Jun (4), 23-27 (9), 30 Jun-4 Jul (14),
    # 7 July off (Capital Day moved from Sunday), Tue 8 July is the 15th.
    due = policy.due_at(almaty(2025, 6, 16, 10), "application")
    assert due == datetime(2025, 7, 8, 13, 0, tzinfo=UTC)
    assert due.tzinfo is UTC


def test_due_at_across_nauryz_2026(policy: DeadlinePolicy) -> None:
    # Registered Mon 16 March 2026. 17-20 Mar (4); 21-25 off; 26-27 (6); 30 Mar-3 Apr (11);
    # 6-9 Apr (15): Thursday 9 April.
    assert policy.due_at(almaty(2026, 3, 16, 11), "complaint") == close_of(2026, 4, 9)


def test_due_at_across_the_may_holidays_and_kurban_ait_2026(policy: DeadlinePolicy) -> None:
    # Received Thu 30 April 2026 at 18:00 sharp: after hours. 1 May (Fri) is a holiday, so
    # registration is Mon 4 May. Then 5, 6 (2); 7 off; 8 (3); 11 off; 12-15 (7); 18-22 (12);
    # 25, 26 (14); 27 Kurban Ait off; Thursday 28 May is the 15th.
    received = almaty(2026, 4, 30, 18, 0)
    assert policy.registration_date(received) == date(2026, 5, 4)
    assert policy.due_at(received, "proposal") == close_of(2026, 5, 28)


def test_due_at_across_new_year(policy: DeadlinePolicy) -> None:
    # Registered Tue 30 Dec 2025. 31 Dec (1); 1-4 Jan off; 5, 6 (3); 7 off; 8, 9 (5);
    # 12-16 (10); 19-23 (15): Friday 23 January 2026.
    assert policy.due_at(almaty(2025, 12, 30, 10), "request") == close_of(2026, 1, 23)


def test_due_at_for_a_weekend_appeal(policy: DeadlinePolicy) -> None:
    # Saturday 21 June 2025 -> registered Mon 23 June. 24-27 (4), 30 Jun-4 Jul (9), 7 Jul off,
    # 8-11 (13), 14, 15 (15): Tuesday 15 July.
    assert policy.due_at(almaty(2025, 6, 21, 12), "report") == close_of(2025, 7, 15)


def test_every_type_has_the_same_fifteen_days(policy: DeadlinePolicy) -> None:
    received = almaty(2025, 6, 16, 10)
    dues = {code: policy.due_at(received, code) for code in policy.rules.appeal_types}
    assert set(dues.values()) == {close_of(2025, 7, 8)}


def test_unknown_appeal_type(policy: DeadlinePolicy) -> None:
    with pytest.raises(ValidationFailed) as caught:
        policy.due_at(almaty(2025, 6, 16, 10), "petition")
    assert caught.value.code == "unknown_appeal_type"
    assert caught.value.details["appeal_type"] == "petition"


# --- extensions --------------------------------------------------------------------------


def test_max_extended_due_is_two_calendar_months_from_registration(
    policy: DeadlinePolicy,
) -> None:
    assert policy.max_extended_due(almaty(2025, 6, 16, 10)) == close_of(2025, 8, 16)
    # Registered 31 Dec 2025: there is no 31 February, so 28 February 2026.
    assert policy.max_extended_due(almaty(2025, 12, 31, 10)) == close_of(2026, 2, 28)
    # Registered Fri 29 Dec 2023 -> 29 Feb 2024 (leap year); Almaty was still UTC+6 then.
    assert policy.max_extended_due(almaty(2023, 12, 29, 10)) == datetime(
        2024, 2, 29, 12, 0, tzinfo=UTC
    )
    # Received on Friday evening 31 Oct 2025 -> registered Mon 3 Nov -> 3 January 2026.
    assert policy.max_extended_due(almaty(2025, 10, 31, 19)) == close_of(2026, 1, 3)


def test_extension_within_the_limit_is_accepted(policy: DeadlinePolicy) -> None:
    received = almaty(2025, 6, 16, 10)
    current = policy.due_at(received, "application")  # 8 July 2025
    policy.validate_extension(
        received_at=received,
        current_due=current,
        new_due=close_of(2025, 8, 1),
        reason="нужен выезд на место",
    )
    # The limit itself is allowed.
    policy.validate_extension(
        received_at=received,
        current_due=current,
        new_due=close_of(2025, 8, 16),
        reason="запрос в другой орган",
    )


def test_extension_needs_a_reason(policy: DeadlinePolicy) -> None:
    received = almaty(2025, 6, 16, 10)
    with pytest.raises(ValidationFailed) as caught:
        policy.validate_extension(
            received_at=received,
            current_due=close_of(2025, 7, 8),
            new_due=close_of(2025, 8, 1),
            reason="   ",
        )
    assert caught.value.code == "extension_reason_required"


def test_extension_must_be_later(policy: DeadlinePolicy) -> None:
    received = almaty(2025, 6, 16, 10)
    for new_due in (close_of(2025, 7, 8), close_of(2025, 7, 1)):
        with pytest.raises(ValidationFailed) as caught:
            policy.validate_extension(
                received_at=received,
                current_due=close_of(2025, 7, 8),
                new_due=new_due,
                reason="проверка",
            )
        assert caught.value.code == "extension_not_later"


def test_extension_past_two_months_is_refused(policy: DeadlinePolicy) -> None:
    received = almaty(2025, 6, 16, 10)
    with pytest.raises(ValidationFailed) as caught:
        policy.validate_extension(
            received_at=received,
            current_due=close_of(2025, 7, 8),
            new_due=almaty(2025, 8, 16, 18, 1),
            reason="проверка",
        )
    assert caught.value.code == "extension_too_long"
    assert caught.value.details["max_due"] == "2025-08-16T13:00:00+00:00"


def test_extension_notice_due(policy: DeadlinePolicy) -> None:
    # Decided Wed 18 June 2025 -> Thu 19, Fri 20, Mon 23: close of Monday 23 June.
    assert policy.extension_notice_due(almaty(2025, 6, 18, 15)) == close_of(2025, 6, 23)
    # Decided Fri 20 March 2026, before Nauryz -> 26, 27, 30 March.
    assert policy.extension_notice_due(almaty(2026, 3, 20, 16)) == close_of(2026, 3, 30)


# --- forwarding a misrouted appeal -------------------------------------------------------


def test_forward_due(policy: DeadlinePolicy) -> None:
    # Friday evening 4 July 2025 -> registered Tue 8 July -> 9, 10, 11 July.
    assert policy.forward_due(almaty(2025, 7, 4, 19)) == close_of(2025, 7, 11)
    # Wed 6 May 2026 -> 7 May off, Fri 8 (1), 11 May off, Tue 12 (2), Wed 13 (3).
    assert policy.forward_due(almaty(2026, 5, 6, 12)) == close_of(2026, 5, 13)


# --- anonymous appeals -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("urgency", "considered"),
    [
        ("crime", True),
        ("public_safety", True),
        ("Crime ", True),
        ("high", False),
        ("normal", False),
        (None, False),
    ],
)
def test_anonymous_considered(
    policy: DeadlinePolicy, urgency: str | None, considered: bool
) -> None:
    assert policy.anonymous_considered(urgency) is considered

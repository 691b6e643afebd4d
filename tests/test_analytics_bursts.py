"""Bursts: the test on synthetic series, and the daily check's one notice to the inspectors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from analytics.bursts import BurstRule, score
from analytics.bursts_service import NOTICE_KIND, check_day, scan
from analytics.models import Burst
from analytics.texts import burst_notice, plural_ru
from appeals.models import Appeal, Incident
from core.clock import ALMATY
from core.db import table_of
from core.models import Role, StaffUser
from sla.models import StaffNotification
from sla.workflow import inbox
from tests.analytics_support import appeal_factory, assert_no_personal_data

TODAY = date(2026, 12, 7)  # a Monday
MOMENT = datetime(2026, 12, 7, 18, 0, tzinfo=ALMATY)


@pytest.fixture
def make_appeal(session: Session) -> Callable[..., Appeal]:
    return appeal_factory(session)


def weekdays_from(first: date, days: int) -> list[int]:
    return [(first + timedelta(days=day)).weekday() for day in range(days)]


def test_a_spike_alarms_and_ordinary_days_do_not() -> None:
    rng = np.random.default_rng(1)
    days = 120
    counts = rng.poisson(3.0, size=(3, days)).astype(float)
    counts[0, 100] = 25
    scores = score(counts, [0, 0, 1], weekdays_from(date(2026, 1, 5), days))
    assert scores.alarm[0, 100]
    assert scores.alarm.sum() == 1
    assert 2.0 < scores.expected[0, 100] < 4.5 and scores.p_value[0, 100] < 1e-6
    # No baseline yet (the first window + guard days): never an alarm.
    assert not scores.alarm[:, : BurstRule().window + BurstRule().guard].any()


def test_the_week_has_a_rhythm_a_busy_monday_is_not_a_burst() -> None:
    days = 140
    weekday = weekdays_from(date(2026, 1, 5), days)
    usual = np.array([[12.0 if day == 0 else (1.0 if day >= 5 else 4.0) for day in weekday]])
    counts = np.vstack([usual, usual / 2])
    scores = score(counts, [0, 0], weekday)
    assert not scores.alarm.any()
    mondays = [i for i, day in enumerate(weekday) if day == 0 and i > 60]
    assert abs(scores.expected[0, mondays[-1]] - 12.0) < 2.5
    # The same twelve on a Saturday, where one is usual, is a burst.
    saturday = next(i for i, day in enumerate(weekday) if day == 5 and i > 100)
    counts[0, saturday] = 12
    assert score(counts, [0, 0], weekday).alarm[0, saturday]


def test_a_lumpy_topic_needs_more_and_small_counts_never_alarm() -> None:
    rng = np.random.default_rng(7)
    days = 100
    weekday = weekdays_from(date(2026, 1, 5), days)
    calm = rng.poisson(2.0, size=days).astype(float)
    lumpy = rng.negative_binomial(0.5, 0.5 / 2.5, size=days).astype(float)  # mean 2, lumpy
    counts = np.vstack([calm, lumpy])
    counts[:, 90] = 14
    scores = score(counts, [0, 1], weekday)
    assert scores.spread[1, 90] > scores.spread[0, 90]
    assert scores.p_value[1, 90] > scores.p_value[0, 90]
    quiet = np.zeros((1, days))
    quiet[0, 95] = 4  # far above nothing, but four appeals are not a Situation Center matter
    assert not score(quiet, [0], weekday).alarm.any()
    quiet[0, 95] = 5
    assert score(quiet, [0], weekday).alarm[0, 95]


def test_scores_refuse_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="series × days"):
        score(np.zeros((2, 10)), [0], list(range(10)))


def test_notice_texts_in_both_languages() -> None:
    ru, kk = burst_notice(
        district=("Ауэзовский район", "Әуезов ауданы"),
        topic=("Нет воды", "Су жоқ"),
        count=47,
        expected=6.0,
        spread=3.0,
        appeals=47,
        incidents=2,
    )
    assert ru == (
        "Всплеск обращений. Ауэзовский район: «Нет воды» — 47 сегодня, обычно 6,0 ± 3,0. "
        "47 обращений, 2 инцидента."
    )
    assert kk.startswith("Өтініштер күрт көбейді. Әуезов ауданы: «Су жоқ» — бүгін 47")
    assert [plural_ru(n, "a", "b", "c") for n in (1, 2, 5, 11, 21, 22, 112)] == list("abccabc")


@pytest.fixture
def eight_weeks(make_appeal: Callable[..., Appeal]) -> None:
    """Two districts' ordinary water complaints over eight weeks before today."""
    rng = np.random.default_rng(3)
    for back in range(1, 60):
        day = TODAY - timedelta(days=back)
        for district, mean in (("auezov", 2.0), ("medeu", 1.0)):
            for _ in range(int(rng.poisson(mean))):
                make_appeal(
                    received_at=datetime(day.year, day.month, day.day, 11, tzinfo=ALMATY),
                    district=district,
                    category="water.no_water",
                )


def _burst_today(make_appeal: Callable[..., Appeal], session: Session, count: int) -> int:
    incident_id = session.scalar(
        insert(table_of(Incident))
        .values(
            category_code="water.no_water",
            district_code="auezov",
            place="мкр Жетысу-2",
            first_at=MOMENT,
            last_at=MOMENT,
            appeals_count=3,
            state="open",
        )
        .returning(table_of(Incident).c.id)
    )
    for index in range(count):
        make_appeal(
            received_at=datetime(2026, 12, 7, 8, index % 60, tzinfo=ALMATY),
            district="auezov",
            category="water.no_water",
            incident_id=incident_id if index < 3 else None,
        )
    assert incident_id is not None
    return int(incident_id)


def test_the_daily_check_notifies_the_inspectors_once_linked_to_appeals_and_incident(
    session: Session,
    eight_weeks: None,
    make_appeal: Callable[..., Appeal],
    make_user: Callable[..., tuple[StaffUser, str]],
) -> None:
    incident_id = _burst_today(make_appeal, session, 20)
    assert check_day(session, day=TODAY, moment=MOMENT)["new"] == 1
    [burst] = session.scalars(select(Burst)).all()
    assert (burst.district_code, burst.category_code, burst.count) == ("auezov",
                                                                        "water.no_water", 20)
    assert 1.0 < burst.expected < 4.0 and burst.p_value < 1e-6
    assert len(burst.appeal_ids) == 20 and burst.incident_ids == [incident_id]
    note = session.get(StaffNotification, burst.notification_id)
    assert note is not None and note.kind == NOTICE_KIND and note.role == "inspector"
    assert note.appeal_id in burst.appeal_ids
    assert "Ауэзовский район" in note.text_ru and "— 20 сегодня, обычно" in note.text_ru
    assert "1 инцидент" in note.text_ru and "бүгін 20" in note.text_kk
    assert_no_personal_data(note.text_ru + note.text_kk)
    inspector, _ = make_user(Role.INSPECTOR)
    assert note.id in {entry.id for entry in inbox(session, user=inspector)}
    executor, _ = make_user(Role.EXECUTOR, "almaty-su")
    assert note.id not in {entry.id for entry in inbox(session, user=executor)}

    # Later the same day: more appeals update the burst; no second notice.
    for _ in range(5):
        make_appeal(received_at=datetime(2026, 12, 7, 15, tzinfo=ALMATY), district="auezov")
    again = check_day(session, day=TODAY, moment=MOMENT + timedelta(hours=4))
    assert again == again | {"bursts": 1, "new": 0}
    session.refresh(burst)
    assert burst.count == 25 and len(burst.appeal_ids) == 25
    notices = session.scalars(
        select(StaffNotification).where(StaffNotification.kind == NOTICE_KIND)
    ).all()
    assert len(notices) == 1


def test_an_ordinary_day_has_no_burst_and_scan_looks_back(
    session: Session, eight_weeks: None, make_appeal: Callable[..., Appeal]
) -> None:
    assert check_day(session, day=TODAY, moment=MOMENT) | {"ms": 0} == {
        "day": "2026-12-07",
        "bursts": 0,
        "new": 0,
        "ms": 0,
    }
    _burst_today(make_appeal, session, 12)
    found = scan(session, first=TODAY - timedelta(days=3), last=TODAY)
    assert [(f.day, f.district_code, f.count) for f in found] == [(TODAY, "auezov", 12)]
    assert session.scalars(select(Burst)).all() == []  # a look back keeps nothing


def test_the_burst_job_runs_on_schedule(
    session: Session, settings: Any, eight_weeks: None, make_appeal: Callable[..., Appeal]
) -> None:
    from analytics.jobs import run_due

    _burst_today(make_appeal, session, 15)
    scheduled = settings.model_copy(update={"analytics_schedule": True})
    started = run_due(moment=MOMENT, settings=scheduled, kinds=("bursts",))
    assert started == ["bursts:2026-12-07T18"]
    assert run_due(moment=MOMENT, settings=scheduled, kinds=("bursts",)) == []
    assert len(session.scalars(select(Burst)).all()) == 1

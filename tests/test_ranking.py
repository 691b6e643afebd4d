"""The agency ranking on scenarios with a known answer: the always-late body ranks last, three
appeals are listed but not ranked, a late forwarding falls on its holder, a merged body keeps
its history, the topic mix is allowed for, a reopened appeal counts once; snapshots never
change and give real movements; the arithmetic matches scipy's."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from appeals import actions
from appeals.lifecycle import Status
from appeals.models import Appeal, Assignment, AssignmentRole, Channel
from core.clock import ALMATY, frozen, local, now
from core.db import table_of
from core.models import Role, StaffUser
from core.settings import Settings, override_settings
from ratings import answers, drilldown, ranking, snapshots
from ratings.methodology import Component, Methodology, MethodologyError, wilson
from ratings.periods import Period, PeriodKind, containing, custom, last_closed
from ratings.ranking_counts import count_period
from ratings.satisfaction import SatisfactionBy, by_dimension
from routing import forwarding
from routing.models import Organization
from routing.reorganization import create_organization, record_change
from routing.reorganization_apply import apply_change, attributable_counts
from routing.service import organization_by_code
from sla import actions as sla_actions

# The week of Monday 2 March 2026 in Almaty; computed as of the Tuesday after.
WEEK = containing(PeriodKind.WEEK, date(2026, 3, 2))
AFTER = datetime(2026, 3, 10, 12, 0, tzinfo=ALMATY)

TEXT = "Прошу рассмотреть моё обращение и принять меры по существу вопроса"
ANSWER = "Вопрос рассмотрен, меры приняты, работы выполнены в срок."


def at(day: int, hour: int = 12, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=ALMATY)


@pytest.fixture
def make(session: Session) -> Callable[..., int]:
    """One appeal and its lead stint, as rows: the ranking reads rows, and the lifecycle's
    own tests cover how an appeal gets there. ``answered`` None: still open."""
    numbers = itertools.count()

    def make(
        code: str,
        *,
        received: datetime,
        due: datetime,
        answered: datetime | None = None,
        target: datetime | None = None,
        category: str | None = None,
        status: Status | None = None,
    ) -> int:
        organization = organization_by_code(session, code)
        chosen = status or (Status.CLOSED if answered else Status.IN_PROGRESS)
        appeal_id = session.execute(
            insert(table_of(Appeal))
            .values(
                tracking_number=f"T{next(numbers):04d}-{uuid.uuid4().hex[:8]}",
                channel=Channel.PORTAL,
                external_id=uuid.uuid4().hex,
                text=TEXT,
                appeal_type="application",
                status=chosen,
                received_at=received,
                registered_on=local(received).date(),
                due_at=due,
                target_due_at=target,
                answered_at=answered,
                closed_at=answered if chosen is Status.CLOSED else None,
                organization_id=organization.id,
                category_code=category,
                urgency="normal",
                updated_at=received,
            )
            .returning(table_of(Appeal).c.id)
        ).scalar_one()
        session.execute(
            insert(table_of(Assignment)).values(
                appeal_id=appeal_id,
                organization_id=organization.id,
                role=AssignmentRole.LEAD,
                kind="rule",
                reason="",
                started_at=received,
                late=False,
            )
        )
        return int(appeal_id)

    return make


def row(table: dict[str, Any], code: str) -> dict[str, Any]:
    found = ranking.row_for(table, code)
    assert found is not None, f"{code} is not listed"
    return found


def fill(make: Callable[..., int], code: str, *, on_time: int, late: int, **extra: Any) -> None:
    """Appeals due in WEEK: ``on_time`` answered the day before, ``late`` the day after."""
    for number in range(on_time + late):
        due = at(3 + number % 4, 18)
        answered = due - timedelta(days=1) if number < on_time else due + timedelta(days=1)
        make(code, received=at(10, month=2), due=due, answered=answered, **extra)


# --- scenarios with a known answer --------------------------------------------------------


def test_an_always_late_organization_ranks_last_and_heads_the_anti_ranking(
    session: Session, make: Callable[..., int]
) -> None:
    fill(make, "almaty-su", on_time=40, late=0)
    fill(make, "almaty-heat-networks", on_time=36, late=4)
    fill(make, "qazaqgaz-aimak", on_time=30, late=10)
    fill(make, "almaty-qala-zharyq", on_time=0, late=40)
    session.commit()

    table = ranking.compute(session, WEEK, moment=AFTER)
    ranked = [r["organization_code"] for r in table["rows"] if r["rank"] is not None]
    assert ranked == ["almaty-su", "almaty-heat-networks", "qazaqgaz-aimak", "almaty-qala-zharyq"]
    last = row(table, "almaty-qala-zharyq")
    assert last["rank"] == 4
    assert last["on_time"]["rate"] == 0.0
    assert last["reasons"][0] == "on_time"
    assert table["anti"][0] == "almaty-qala-zharyq"
    assert table["top"][0] == "almaty-su"
    assert set(table["top"]).isdisjoint(table["anti"])
    assert table["final"] is True
    # The interval of the always-late body lies wholly below the punctual one's.
    assert last["ci_high"] < row(table, "almaty-su")["ci_low"]
    # Every component and the keys the checks use are in each row.
    for key in ("organization_code", "name", "n", "score", "ci_low", "ci_high", "rank"):
        assert key in last
    for component in table["weights"]:
        assert {"rate", "value", "ci_low", "ci_high", "n"} <= set(last[component])


def test_three_appeals_are_listed_but_not_ranked(
    session: Session, make: Callable[..., int]
) -> None:
    fill(make, "almaty-su", on_time=30, late=5)
    fill(make, "qazaqgaz-aimak", on_time=3, late=0)  # perfect, but three appeals prove nothing
    session.commit()

    table = ranking.compute(session, WEEK, moment=AFTER)
    few = row(table, "qazaqgaz-aimak")
    assert few["n"] == 3
    assert few["rank"] is None and few["ranked"] is False
    assert "qazaqgaz-aimak" not in table["top"] + table["anti"]
    assert row(table, "almaty-su")["rank"] == 1
    assert table["min_n"] == 30
    # Shrinkage: three punctual answers do not make a perfect score.
    assert few["on_time"]["rate"] == 100.0
    assert few["on_time"]["value"] < 100.0
    assert (
        few["ci_high"] - few["ci_low"]
        > row(table, "almaty-su")["ci_high"] - row(table, "almaty-su")["ci_low"]
    )


def test_a_late_forwarding_falls_on_the_body_that_held_it(
    session: Session, submit_appeal: Callable[..., Appeal], make_user: Any
) -> None:
    admin: StaffUser = make_user(Role.ADMIN)[0]
    start = now()
    appeal = submit_appeal(TEXT, category_code="culture.culture_events")
    holder = appeal.organization_id
    assert holder is not None
    receiver = organization_by_code(session, "sports")
    # The holder sits on it for ten days (the forwarding term is 3 working days).
    with frozen(start + timedelta(days=10)):
        forwarding.route(
            session, appeal, user=admin, organization_id=receiver.id, reason="не наш вопрос"
        )
        session.commit()
        actions.accept(session, appeal, user=admin)
        actions.answer(session, appeal, user=admin, text=ANSWER)
        session.commit()
    stints = session.scalars(
        select(Assignment).where(Assignment.appeal_id == appeal.id).order_by(Assignment.id)
    ).all()
    assert [(s.organization_id, s.late) for s in stints] == [(holder, True), (receiver.id, False)]

    period = custom(local(start).date(), local(start + timedelta(days=11)).date())
    table = ranking.compute(session, period, moment=start + timedelta(days=12))
    holder_code = session.get_one(Organization, holder).code
    assert (
        row(table, holder_code)["on_time"]["good"],
        row(table, holder_code)["on_time"]["n"],
    ) == (
        0,
        1,
    )
    assert (row(table, "sports")["on_time"]["good"], row(table, "sports")["on_time"]["n"]) == (1, 1)
    behind, total = drilldown.appeals_behind(
        session,
        organization_id=holder,
        component="on_time",
        start=period.start_at,
        stop=start + timedelta(days=12),
        fcr_window_days=30,
    )
    assert total == 1 and behind[0].id == appeal.id and behind[0].good is False


def test_a_merged_organization_keeps_its_history(
    session: Session, make: Callable[..., int], make_user: Any
) -> None:
    admin: StaffUser = make_user(Role.ADMIN)[0]
    today = local(now()).date()
    period = custom(today - timedelta(days=20), today - timedelta(days=1))
    received = period.start_at + timedelta(hours=10)
    for number in range(32):
        due = received + timedelta(days=5 + number % 5)
        answered = due + timedelta(days=1) if number < 8 else due - timedelta(days=2)
        make("culture", received=received, due=due, answered=answered)
    # Still open and already overdue at culture: it moves with the merge, its lateness stays.
    overdue = make("culture", received=received, due=received + timedelta(days=3))
    session.commit()
    before = ranking.compute(session, period)
    culture_before = row(before, "culture")

    merged = create_organization(
        session,
        code="culture-sports",
        name_ru="Управление культуры и спорта",
        name_kk="Мәдениет және спорт басқармасы",
        kind="city_department",
        active_from=today,
    )
    change = record_change(
        session,
        kind="merge",
        effective_on=today,
        predecessor_codes=["culture", "sports"],
        successor_codes=["culture-sports"],
        by=admin,
    )
    apply_change(session, change, by=admin, today=today)
    session.commit()
    assert session.get_one(Appeal, overdue).organization_id == merged.id

    after = ranking.compute(session, period)
    culture = row(after, "culture")
    assert culture["retired_on"] == today.isoformat()
    assert culture["n"] == culture_before["n"] == 33
    assert culture["on_time"]["good"] == 24 and culture["on_time"]["n"] == 33
    assert culture["score"] == culture_before["score"]
    # The successor began the day after the period: it has nothing there, and is not listed.
    assert ranking.row_for(after, "culture-sports") is None
    # The same history as routing's own attribution.
    assert (
        attributable_counts(session, session.get_one(Organization, merged.id).id)["answered"] == 0
    )
    assert (
        attributable_counts(session, organization_by_code(session, "culture").id)["answered"] == 32
    )


def test_the_topic_mix_is_allowed_for(session: Session, make: Callable[..., int]) -> None:
    hard, easy = "roads.road_construction", "improvement.snow_removal"
    fill(make, "almaty-su", on_time=24, late=16, category=hard)  # 60 % where the city has 50 %
    fill(make, "qazaqgaz-aimak", on_time=16, late=24, category=hard)
    fill(
        make, "almaty-qala-zharyq", on_time=32, late=8, category=easy
    )  # 80 % where the city has 90 %
    fill(make, "almaty-heat-networks", on_time=40, late=0, category=easy)
    session.commit()
    table = ranking.compute(session, WEEK, moment=AFTER)
    su, zharyk = row(table, "almaty-su")["on_time"], row(table, "almaty-qala-zharyq")["on_time"]
    assert su["rate"] < zharyk["rate"]
    assert su["expected"] == 50.0 and zharyk["expected"] == 90.0
    assert su["value"] > su["city"] > zharyk["value"]
    assert row(table, "almaty-su")["rank"] < row(table, "almaty-qala-zharyq")["rank"]


def test_a_reopened_appeal_counts_once(
    session: Session, submit_appeal: Callable[..., Appeal], make_user: Any
) -> None:
    admin: StaffUser = make_user(Role.ADMIN)[0]
    start = now()
    appeal = submit_appeal(TEXT, category_code="culture.culture_events")
    actions.accept(session, appeal, user=admin)
    actions.answer(session, appeal, user=admin, text=ANSWER)
    sla_actions.close(session, appeal, user=admin)
    session.commit()
    answers.rate_answer(session, appeal_id=appeal.id, score=1, comment=None, channel="portal")
    session.commit()
    appeal = session.get_one(Appeal, appeal.id, populate_existing=True)
    assert appeal.status is Status.REOPENED
    with frozen(now() + timedelta(minutes=5)):
        actions.accept(session, appeal, user=admin)
        actions.answer(session, appeal, user=admin, text=ANSWER + " Повторно проверено.")
        sla_actions.close(session, appeal, user=admin)
        session.commit()
        answers.rate_answer(session, appeal_id=appeal.id, score=5, comment=None, channel="portal")
        session.commit()

    period = custom(local(start).date(), local(start).date() + timedelta(days=1))
    stop = now() + timedelta(minutes=10)
    counts = count_period(session, start=period.start_at, stop=stop, fcr_window_days=30)
    org = appeal.organization_id
    assert org is not None
    assert counts[org].answers == 1
    assert (counts[org].ratings.good, counts[org].ratings.n) == (1, 1)
    assert counts[org].reopened == 1
    table = ranking.compute(session, period, moment=stop)
    code = session.get_one(Organization, org).code
    assert row(table, code)["satisfaction"]["rate"] == 100.0
    assert row(table, code)["reopened"]["good"] == 0
    index = answers.satisfaction_index(session, since=start)
    assert (index.ratings, index.satisfied, index.index) == (1, 1, 100.0)


def test_ratings_of_four_and_five_move_the_index_as_the_kpi_says(
    session: Session, make: Callable[..., int], settings: Settings
) -> None:
    start = now()
    rated: list[int] = []
    with override_settings(settings.model_copy(update={"rating_reopen_max_score": 0})):
        for score in (5, 4, 4, 3, 1):
            appeal_id = make(
                "almaty-su",
                received=start - timedelta(days=3),
                due=start + timedelta(days=10),
                answered=start - timedelta(hours=1),
            )
            answers.rate_answer(
                session, appeal_id=appeal_id, score=score, comment=None, channel="portal"
            )
            rated.append(appeal_id)
        session.commit()
        period = custom(local(start).date(), local(start).date())
        stop = now() + timedelta(seconds=1)
        method = ranking.methodology()

        def index() -> float | None:
            result = by_dimension(
                session,
                period=period,
                stop=now() + timedelta(seconds=1),
                by=SatisfactionBy.ORGANIZATION,
                method=method,
            )
            (su,) = [r for r in result["rows"] if r["key"] == "almaty-su"]
            assert su["ratings"] == result["total"]["ratings"]
            return su["index"]

        assert index() == 60.0  # 3 of 5
        answers.rate_answer(session, appeal_id=rated[3], score=4, comment=None, channel="portal")
        session.commit()
        assert index() == 80.0  # a 3 became a 4: 4 of 5
        extra = make(
            "almaty-su",
            received=start - timedelta(days=3),
            due=start + timedelta(days=10),
            answered=start - timedelta(hours=1),
        )
        answers.rate_answer(session, appeal_id=extra, score=5, comment=None, channel="portal")
        session.commit()
        assert index() == round(100 * 5 / 6, 1)
        table = ranking.compute(session, period, moment=stop + timedelta(seconds=5))
        assert row(table, "almaty-su")["satisfaction"]["good"] == 5
        assert row(table, "almaty-su")["satisfaction"]["n"] == 6


# --- snapshots, views, movements -----------------------------------------------------------


def test_a_closed_period_is_stored_once_and_never_changes(
    session: Session, make: Callable[..., int]
) -> None:
    fill(make, "almaty-su", on_time=40, late=0)
    fill(make, "almaty-qala-zharyq", on_time=10, late=30)
    # The week before: the order was the other way round.
    for code, on_time in (("almaty-su", 5), ("almaty-qala-zharyq", 40)):
        for number in range(40):
            due = at(24 + number % 4, 18, month=2)
            answered = due - timedelta(days=1) if number < on_time else due + timedelta(days=1)
            make(code, received=at(1, month=2), due=due, answered=answered)
    session.commit()

    with frozen(AFTER):
        stored = snapshots.store_closed(session, back=2)
    assert f"week:{WEEK.label}" in stored and f"week:{WEEK.previous().label}" in stored
    with frozen(AFTER):
        assert snapshots.store_closed(session, back=2) == []  # already stored: nothing again
    kept = snapshots.load(session, WEEK)
    assert kept is not None and kept["snapshot"] is True

    # Later, an appeal of that week is found and counted late: the stored table stands.
    make("almaty-su", received=at(1, month=2), due=at(4, 18), answered=at(6))
    session.commit()
    viewed = snapshots.ranking_view(session, WEEK, moment=AFTER + timedelta(days=30))
    assert viewed["snapshot"] is True
    assert row(viewed, "almaty-su")["n"] == 40
    assert row(viewed, "almaty-su")["movement"] == 1  # second the week before, first now
    assert row(viewed, "almaty-qala-zharyq")["movement"] == -1
    assert viewed["previous_period"]["label"] == WEEK.previous().label
    assert ranking.compute(session, WEEK, moment=AFTER)["rows"] != kept["rows"]
    listed = snapshots.listing(session, kind=PeriodKind.WEEK)
    assert [item["label"] for item in listed[:2]] == [WEEK.label, WEEK.previous().label]


def test_each_kind_is_ranked_among_its_own(session: Session, make: Callable[..., int]) -> None:
    fill(make, "almaty-su", on_time=40, late=0)
    fill(make, "almaty-qala-zharyq", on_time=0, late=40)
    fill(make, "akimat-medeu", on_time=20, late=20)
    fill(make, "akimat-almaly", on_time=10, late=30)
    session.commit()
    table = ranking.compute(session, WEEK, moment=AFTER)
    akimats = ranking.view(table, "district_akimat")
    assert {r["kind"] for r in akimats["rows"]} == {"district_akimat"}
    assert [r["organization_code"] for r in akimats["rows"] if r["rank"]] == [
        "akimat-medeu",
        "akimat-almaly",
    ]
    assert row(akimats, "akimat-medeu")["rank"] == 1
    assert row(table, "akimat-medeu")["rank"] == 2  # second city-wide
    assert akimats["anti"] == ["akimat-almaly"] and akimats["kind"] == "district_akimat"
    with pytest.raises(ValueError, match="bakery"):
        ranking.view(table, "bakery")


def test_nothing_counts_that_has_not_happened_yet(
    session: Session, make: Callable[..., int]
) -> None:
    # Due on Friday, not answered, looked at on Wednesday: not late yet, not counted.
    make("almaty-su", received=at(1, month=2), due=at(6, 18))
    make("almaty-su", received=at(1, month=2), due=at(3, 18))  # due Tuesday: late by Wednesday
    session.commit()
    table = ranking.compute(session, WEEK, moment=at(4, 12))
    assert table["final"] is False
    assert (row(table, "almaty-su")["on_time"]["good"], row(table, "almaty-su")["n"]) == (0, 1)


# --- the arithmetic ---------------------------------------------------------------------


@pytest.mark.parametrize(("good", "n"), [(0, 1), (1, 1), (3, 3), (7, 30), (29, 30), (480, 1000)])
def test_wilson_matches_scipy(good: int, n: int) -> None:
    from scipy.stats import binomtest, norm

    expected = binomtest(good, n).proportion_ci(confidence_level=0.95, method="wilson")
    low, high = wilson(good, n)
    assert low == pytest.approx(expected.low, abs=1e-9)
    assert high == pytest.approx(expected.high, abs=1e-9)
    from ratings.methodology import Z95

    assert pytest.approx(norm.ppf(0.975), abs=1e-12) == Z95


def test_shrinkage_pulls_small_numbers_towards_the_expectation() -> None:
    small = Component("on_time", good=3, n=3, expected=1.5, city=0.5, prior_strength=20)
    large = Component("on_time", good=300, n=300, expected=150, city=0.5, prior_strength=20)
    assert small.rate == large.rate == 1.0
    assert 0.5 < small.value < large.value < 1.0
    assert small.value == pytest.approx(0.5 + 1.5 / 23)
    empty = Component("returns", good=0, n=0, expected=0, city=0.8, prior_strength=20)
    assert empty.value == 0.8 and empty.rate is None


def test_the_weights_file_is_checked() -> None:
    method = ranking.methodology()
    assert method.min_n == 30 and method.total_weight > 0
    assert set(method.weights) == {
        "on_time",
        "on_target",
        "returns",
        "reopened",
        "satisfaction",
        "repeats",
        "ping_pong",
    }
    for broken in (
        {"weights": {"speed": 1}},
        {"weights": {"on_time": -1}},
        {"weights": {"on_time": 0}},
        {"weights": {"on_time": 1}, "min_n": 0},
        [],
    ):
        with pytest.raises(MethodologyError):
            Methodology.from_dict(broken)  # type: ignore[arg-type]


def test_periods() -> None:
    week = containing(PeriodKind.WEEK, date(2026, 3, 5))
    assert (week.start, week.last_day, week.label) == (
        date(2026, 3, 2),
        date(2026, 3, 8),
        "2026-W10",
    )
    assert containing(PeriodKind.QUARTER, date(2026, 5, 31)).label == "2026-Q2"
    assert containing(PeriodKind.MONTH, date(2026, 1, 15)).previous().label == "2025-12"
    assert last_closed(PeriodKind.YEAR, date(2026, 3, 1)).label == "2025"
    assert custom(date(2026, 3, 1), date(2026, 3, 10)).previous() == Period(
        date(2026, 2, 19), date(2026, 3, 1), PeriodKind.CUSTOM
    )
    assert week.start_at.utcoffset() == timedelta(hours=5)


def test_the_worker_stores_each_closed_period_once(
    session: Session, make: Callable[..., int], settings: Settings
) -> None:
    from civicdesk.worker import relay_pass

    fill(make, "almaty-su", on_time=40, late=0)
    session.commit()
    with frozen(AFTER):
        relay_pass(settings)
        relay_pass(settings)  # the next round finds them stored: nothing twice
    labels = sorted((item["period_kind"], item["label"]) for item in snapshots.listing(session))
    assert labels == sorted(
        [
            ("week", "2026-W10"),
            ("week", "2026-W09"),
            ("month", "2026-02"),
            ("month", "2026-01"),
            ("quarter", "2025-Q4"),
            ("quarter", "2025-Q3"),
            ("year", "2025"),
            ("year", "2024"),
        ]
    )
    stored = snapshots.load(session, WEEK)
    assert stored is not None and ranking.row_for(stored, "almaty-su")["rank"] == 1  # type: ignore[index]


def test_stability_is_the_rank_correlation_of_consecutive_weeks(
    session: Session, make: Callable[..., int]
) -> None:
    from ratings.stability import spearman, weekly_stability

    # Three weeks in which the four bodies keep their order (then the last one swaps two).
    plans = {
        "almaty-su": (34, 34, 34),
        "almaty-heat-networks": (28, 28, 20),
        "qazaqgaz-aimak": (20, 20, 28),
        "almaty-qala-zharyq": (5, 5, 5),
    }
    for week_index, monday in enumerate((2, 9, 16)):
        for code, on_times in plans.items():
            for number in range(35):
                due = at(monday + number % 5, 18)
                late = number >= on_times[week_index]
                make(
                    code,
                    received=at(1, month=2),
                    due=due,
                    answered=due + timedelta(days=1) if late else due - timedelta(hours=2),
                )
    session.commit()
    report = weekly_stability(
        session,
        start=date(2026, 3, 2),
        last_day=date(2026, 3, 22),
        min_appeals=30,
        moment=AFTER + timedelta(days=14),
    )
    assert report["weeks"] == ["2026-W10", "2026-W11", "2026-W12"]
    first, second = report["pairs"]
    assert first["organizations"] == 4 and first["rho"] == 1.0
    assert second["rho"] == pytest.approx(0.8)
    assert report["median_rho"] == pytest.approx(0.9)
    assert spearman([1, 2], [2, 1]) is None  # too few to say anything
    # Organizations under the threshold stay out of the correlation.
    assert (
        weekly_stability(
            session,
            start=date(2026, 3, 2),
            last_day=date(2026, 3, 15),
            min_appeals=100,
            moment=AFTER + timedelta(days=14),
        )["pairs"][0]["rho"]
        is None
    )

"""The demo month (``civicdesk demo --appeals N --days D``): a city's month played through the
real services, as the board, the inbox, the ranking and the analytics will read it.

The month is checked from the database it leaves, not from the report alone: every appeal's
history is a chain of allowed steps in time order and in the past, no appeal is in a state
its fields contradict, and the mix a reviewer expects is there.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from appeals.lifecycle import ANSWER_VISIBLE, OPEN_STATUSES, TRANSITIONS, Status
from appeals.models import Appeal, Channel
from civicdesk.demo_month.plan import (
    CHANNEL_SHARES,
    QUICK_SHARE_OF_CALLS,
    load_data,
    plan_month,
)
from civicdesk.demo_month.worktime import WorkTime
from core import db
from core.calendar import WorkingCalendar
from core.clock import ALMATY
from core.settings import REPO_ROOT
from intake.schemas import CitizenContact
from routing import forwarding
from sla.policy import DeadlinePolicy, load_rules
from tests.conftest import run_civicdesk

# A fixed end in the past: the same month whatever day the suite runs (a Sunday, a holiday).
UNTIL = "2026-11-20"
UNTIL_MOMENT = datetime(2026, 11, 20, 18, 0, tzinfo=ALMATY)


def civicdesk(env: dict[str, str], *args: str, timeout: float = 600) -> str:
    return run_civicdesk(env, *args, timeout=timeout).stdout


def worktime() -> WorkTime:
    data = REPO_ROOT / "data"
    return WorkTime(
        DeadlinePolicy(
            load_rules(data / "appeal_rules.yaml"),
            WorkingCalendar.from_yaml(data / "calendar_overrides.yaml"),
        )
    )


# --- the plan: pure, deterministic, in proportion --------------------------------------------


def test_the_plan_is_the_same_for_a_seed_and_in_the_proportions_documented() -> None:
    data = load_data(REPO_ROOT / "data")
    clock = worktime()
    first = plan_month(data, appeals=3000, days=22, until=UNTIL_MOMENT, worktime=clock, seed=5)
    again = plan_month(data, appeals=3000, days=22, until=UNTIL_MOMENT, worktime=clock, seed=5)
    other = plan_month(data, appeals=3000, days=22, until=UNTIL_MOMENT, worktime=clock, seed=6)

    def facts(plan: Any) -> list[tuple[Any, ...]]:
        return [(a.at, a.channel, a.category, a.text, a.person) for a in plan.arrivals]

    assert facts(first) == facts(again) and first.profiles == again.profiles
    assert facts(first) != facts(other)
    arrivals = first.arrivals
    assert len(arrivals) == 3000
    assert first.working_days[-1] == date(2026, 11, 20) and len(first.working_days) == 22
    assert all(
        first.working_days[0] <= clock.day_of(a.at) and a.at < UNTIL_MOMENT for a in arrivals
    )
    channels = Counter(a.channel for a in arrivals)
    total = sum(CHANNEL_SHARES.values())
    for channel, share in CHANNEL_SHARES.items():
        assert abs(channels[channel] / 3000 - share / total) < 0.03, channel
    big_four = (Channel.PHONE, Channel.TELEGRAM, Channel.WHATSAPP, Channel.SOCIAL)
    assert sum(channels[c] for c in big_four) / 3000 > 0.9  # Open Almaty: more than 91 %
    calls = [a for a in arrivals if a.channel is Channel.PHONE]
    quick = sum(1 for a in calls if a.quick) / len(calls)
    assert abs(quick - QUICK_SHARE_OF_CALLS) < 0.06  # repeats by phone are never quick
    languages = Counter(a.language for a in arrivals)
    assert 0.2 < languages["kk"] / 3000 < 0.45 and languages["ru"] > languages["kk"]
    kinds = Counter(a.kind for a in arrivals)
    assert kinds["repeat"] > 100 and kinds["returning"] > 50 and kinds["incident"] >= 30
    incident_sizes = Counter(a.incident for a in arrivals if a.incident is not None)
    assert len(incident_sizes) == 10 and min(incident_sizes.values()) >= 3
    for arrival in arrivals:
        if arrival.kind == "repeat":
            assert arrival.earlier is not None
            earlier = arrivals[arrival.earlier]
            assert earlier.at < arrival.at and earlier.person == arrival.person
            assert earlier.category == arrival.category
    # Working days carry the volume; weekends and the night still get some (messengers).
    working = sum(1 for a in arrivals if clock.is_working_day(clock.day_of(a.at)))
    assert 0.75 < working / 3000 < 0.97
    profiles = Counter(first.profiles.values())
    assert profiles["weak"] >= 3 and profiles["strong"] >= 3


# --- a month on PostgreSQL ------------------------------------------------------------------


@pytest.fixture
def month(scratch_schema: str) -> Iterator[tuple[dict[str, Any], Engine]]:
    env = {"CIVICDESK_DATABASE_URL": scratch_schema, "CIVICDESK_ENVIRONMENT": "test"}
    civicdesk(env, "init")
    arguments = ("--appeals", "200", "--days", "22", "--seed", "3", "--until", UNTIL, "--json")
    report = json.loads(civicdesk(env, "demo", *arguments))
    engine = db.make_engine(scratch_schema)
    try:
        yield report, engine
        again = civicdesk(env, "demo", "--appeals", "200", "--days", "22", "--once")
        assert "already" in again
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM appeals")) == 200
    finally:
        engine.dispose()


def rows(connection: Any, sql: str) -> list[Any]:
    return list(connection.execute(text(sql)).all())


def test_a_month_on_postgresql_has_the_mix_and_no_impossible_state(
    month: tuple[dict[str, Any], Engine],
) -> None:
    report, engine = month
    until = UNTIL_MOMENT.astimezone(UTC)
    for key in ("by_status", "by_category", "by_organization", "by_district"):
        assert sum(report[key].values()) == 200, key
    mix, kpi = report["mix"], report["kpi"]
    # The mix the board, the inbox, the review queue and the ranking need to show something.
    assert mix["overdue_open"] + mix["answered_late"] >= 2  # late, open or answered
    assert mix["returned_answers"] >= 3
    assert mix["extensions_approved"] >= 1
    assert mix["forwarded"] + mix["sent_back"] >= 3
    assert mix["pauses"] >= 2
    assert mix["quick_answered"] >= 30
    assert mix["rated"] >= 20 and mix["reopened_by_rating"] >= 1
    assert mix["repeats"] >= 3
    assert mix["in_incidents"] >= 3
    assert mix["open"] >= 10 and report["by_status"].get("answered", 0) >= 1  # review queue
    assert 45 <= kpi["quick_answer_share_of_calls"] <= 75
    assert 55 <= kpi["satisfaction_index"] <= 92
    # Ratings follow timeliness.
    assert kpi["mean_score_on_target"] > kpi["mean_score_late_for_target"] + 0.3
    assert report["calls"]["answered"] >= report["by_status"].get("quick_answered", 0)
    assert report["skipped_steps"] == {} or sum(report["skipped_steps"].values()) <= 5

    with engine.connect() as connection:
        appeals = {
            row.id: row
            for row in rows(
                connection,
                "SELECT id, status, organization_id, answer_text, answered_at, closed_at, "
                "received_at, due_at, extension_reason, paused_at, triage_reason, "
                "rejection_reason FROM appeals",
            )
        }
        history: dict[int, list[Any]] = defaultdict(list)
        for row in rows(
            connection,
            "SELECT appeal_id, from_status, to_status, at, actor_kind, actor_id, organization_id "
            "FROM appeal_status_changes ORDER BY appeal_id, id",
        ):
            history[row.appeal_id].append(row)
        executors = dict(
            rows(connection, "SELECT id, organization_id FROM staff_users WHERE role='executor'")
        )
        open_pauses = {
            row[0]
            for row in rows(
                connection, "SELECT appeal_id FROM appeal_pauses WHERE ended_at IS NULL"
            )
        }
        first_day = date.fromisoformat(report["period"]["first_day"])
        for appeal_id, appeal in appeals.items():
            status = Status(appeal.status)
            steps = history[appeal_id]
            assert steps[0].from_status is None and steps[0].to_status == "received"
            assert steps[-1].to_status == appeal.status
            for before, after in itertools.pairwise(steps):
                assert after.from_status == before.to_status  # a chain, no gap
                moved = Status(after.to_status)
                if moved != Status(after.from_status):
                    assert moved in TRANSITIONS[Status(after.from_status)]
                assert before.at <= after.at  # in order
            assert all(step.at <= until for step in steps)  # in the past of the month
            for step in steps:
                if step.actor_id in executors:  # an executor acts only for their own body
                    assert executors[step.actor_id] == step.organization_id
            assert first_day <= appeal.received_at.astimezone(ALMATY).date()
            if status in ANSWER_VISIBLE:
                assert appeal.answer_text and appeal.answered_at and appeal.closed_at
                assert appeal.answered_at <= appeal.closed_at <= until
            if status in OPEN_STATUSES - {Status.REGISTERED, Status.REOPENED} or status is (
                Status.ANSWERED
            ):
                assert appeal.organization_id is not None, appeal_id
            if status is Status.REGISTERED:
                assert appeal.organization_id is None and appeal.triage_reason
            if status is Status.REJECTED:
                assert appeal.rejection_reason
            if status is Status.EXTENDED:
                assert appeal.extension_reason and appeal.due_at is not None
            assert (appeal.paused_at is not None) == (appeal_id in open_pauses)
            if appeal.paused_at is not None:
                assert status in OPEN_STATUSES
        for table, column in (
            ("answer_ratings", "rated_at"),
            ("calls", "started_at"),
            ("calls", "ended_at"),
            ("notifications", "created_at"),
            ("staff_notifications", "created_at"),
            ("answer_reviews", "created_at"),
            ("sla_reminders", "created_at"),
        ):
            latest = connection.scalar(text(f"SELECT max({column}) FROM {table}"))
            assert latest is not None and latest <= until, table
        assert not rows(connection, "SELECT id FROM answer_ratings WHERE rated_at < answered_at")
        # The call center's tables: every phone appeal came with its call, some callers rated
        # the operator, some gave up in the queue.
        phone = connection.scalar(text("SELECT count(*) FROM appeals WHERE channel='phone'"))
        linked = connection.scalar(text("SELECT count(DISTINCT appeal_id) FROM call_appeals"))
        assert phone == linked
        assert connection.scalar(text("SELECT count(*) FROM calls WHERE abandoned")) >= 1
        assert connection.scalar(text("SELECT count(*) FROM operator_ratings")) >= 1
        # Breaches and reminders reached the ledger and the inboxes, as the sweep writes them.
        kinds = dict(rows(connection, "SELECT kind, count(*) FROM sla_reminders GROUP BY kind"))
        assert kinds.get("breach_inspectors", 0) >= 1 and kinds.get("remind_3wd", 0) >= 1
        # Organizations differ: the weak ones answer later than the strong ones.
        profiles = {code: entry["profile"] for code, entry in report["organizations"].items()}
        pooled: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for code, answered, late in rows(
            connection,
            "SELECT o.code, count(*), count(*) FILTER (WHERE a.answered_at > a.target_due_at)"
            " FROM appeals a JOIN organizations o ON o.id = a.organization_id"
            " WHERE a.answered_at IS NOT NULL AND a.status <> 'quick_answered' GROUP BY o.code",
        ):
            pooled[profiles.get(code, "good")][0] += answered
            pooled[profiles.get(code, "good")][1] += late
        weak, strong = pooled["weak"], pooled["strong"]
        assert weak[0] >= 3 and strong[0] >= 3
        assert weak[1] / weak[0] > strong[1] / strong[0]


# --- a month on the embedded default ----------------------------------------------------------


def test_a_small_month_on_the_embedded_default(tmp_path: Path) -> None:
    env = {"CIVICDESK_DATABASE_URL": f"sqlite:///{tmp_path}/civicdesk.sqlite3"}
    civicdesk(env, "init")
    report = json.loads(
        civicdesk(env, "demo", "--appeals", "60", "--days", "8", "--until", UNTIL, "--json")
    )
    assert sum(report["by_status"].values()) == 60
    assert report["mix"]["quick_answered"] >= 5 and report["mix"]["answered_by_organizations"] >= 5
    assert "received" not in report["by_status"]


def test_the_month_is_refused_in_production_and_in_the_future(tmp_path: Path) -> None:
    env = {
        "CIVICDESK_DATABASE_URL": f"sqlite:///{tmp_path}/civicdesk.sqlite3",
        "CIVICDESK_ENVIRONMENT": "production",
        "CIVICDESK_SECRET_KEY": "x" * 40,
    }
    # ``make run`` asks with --once: a production deployment gets no demo, and runs on.
    assert "never" in civicdesk(env, "demo", "--appeals", "10", "--days", "2", "--once")
    from civicdesk.demo_month import play_month

    with pytest.raises(ValueError, match="past"):
        play_month(appeals=5, days=1, until=datetime.now(UTC) + timedelta(days=1))


# --- a bug the month found: a long ping-pong path outgrew its column --------------------------


def test_ping_pong_between_bodies_with_long_codes_is_escalated(
    session: Session, submit_appeal: Any, make_user: Any
) -> None:
    appeal: Appeal = submit_appeal(
        "Автобус 92 не ходит по расписанию, ждём по сорок минут на остановке",
        category_code="transport.bus_service",
        citizen=CitizenContact(phone="+77015550101"),
    )
    operator, _ = make_user("operator")
    transport, _ = make_user("executor", "traffic-passenger-transport")
    roads, _ = make_user("executor", "road-infrastructure")
    road_id = roads.organization_id
    assert appeal.organization_id == transport.organization_id and road_id is not None
    forwarding.send_back(session, appeal, user=transport, reason="это остановка, не маршрут")
    forwarding.route(session, appeal, user=operator, organization_id=road_id, reason="остановка")
    forwarding.send_back(session, appeal, user=roads, reason="это расписание, не остановка")
    forwarding.route(
        session,
        appeal,
        user=operator,
        organization_id=transport.organization_id,
        reason="расписание",
    )
    session.commit()  # PostgreSQL stores the reason: it must fit its column
    stored = session.get(Appeal, appeal.id, populate_existing=True)
    assert stored is not None and stored.escalated_at is not None
    reason = stored.escalation_reason or ""
    assert reason.startswith("ping_pong: ") and len(reason) <= 64
    assert reason.endswith("→ traffic-passenger-transport")


def test_an_importable_month_for_other_capabilities(session: Session) -> None:
    """``play_month`` plays into whatever database ``core.db`` is configured for (here the
    test's rolled-back connection): the ranking's and the analytics' tests can call it."""
    from civicdesk.demo_month import play_month

    report = play_month(appeals=40, days=6, seed=9, until=UNTIL_MOMENT)
    assert sum(report["by_status"].values()) == 40
    count = session.scalar(
        text("SELECT count(*) FROM appeals WHERE external_id LIKE :prefix").bindparams(
            prefix=f"{report['prefix']}%"
        )
    )
    assert count == 40


def test_a_batched_insert_is_checked_for_nul_not_crashed() -> None:
    """The month on SQLite found it: a multi-row INSERT … RETURNING comes to the NUL check
    as one flat row (a tuple on SQLite, a dict on PostgreSQL) though ``executemany`` is set;
    the check crashed on SQLite and looked at the keys on PostgreSQL."""
    from sqlalchemy import Column, Integer, MetaData, String, Table, insert

    from core.db import NulCharacter

    engine = db.make_engine("sqlite://")
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("b", String))
    table.metadata.create_all(engine)
    with engine.begin() as connection:
        ids = connection.execute(insert(table).returning(table.c.id), [{"b": "x"}, {"b": "y"}])
        assert len(ids.all()) == 2
    for statement in (insert(table).returning(table.c.id), insert(table)):
        with pytest.raises(NulCharacter), engine.begin() as connection:
            connection.execute(statement, [{"b": "x"}, {"b": "y\x00"}])

"""The deadline sweep on real PostgreSQL and Redis: reminders at the right working moments,
escalation to the head and the inspectors at breach, and exactly-once across re-runs,
crashes and worker restarts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from rq import SimpleWorker
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import sla.sweep
from appeals import actions
from appeals.lifecycle import Status
from appeals.models import Appeal
from core import jobs
from core.clock import ALMATY, frozen
from core.models import StaffUser
from core.settings import Settings, override_settings
from routing.models import Organization
from sla import actions as sla_actions
from sla import workflow
from sla.jobs import SWEEP_JOB, run_sweep, schedule_sweep
from sla.models import SlaReminder, StaffNotification

WATER_LEAK = "На улице Жандосова прорвало трубу водопровода, вода течёт по дороге уже сутки"
SECOND_LEAK = "Прорвало трубу водопровода на проспекте Абая, вода заливает подвал дома"


BREACH = ["breach_executor", "breach_head", "breach_inspectors"]


def almaty(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ALMATY).astimezone(UTC)


@pytest.fixture
def appeal(submit_appeal: Any) -> Appeal:
    # Received Monday 16 March 2026: due Thursday 9 April, 18:00 (15 working days, Nauryz off).
    with frozen(almaty(2026, 3, 16, 11)):
        submitted: Appeal = submit_appeal(WATER_LEAK)
    assert submitted.due_at == almaty(2026, 4, 9, 18)
    assert submitted.organization_id is not None
    return submitted


@pytest.fixture
def people(appeal: Appeal, make_user: Any, session: Session) -> dict[str, StaffUser]:
    org = session.get(Organization, appeal.organization_id)
    assert org is not None
    other = session.scalar(select(Organization.code).where(Organization.id != org.id).limit(1))
    head: StaffUser = make_user("executor", org.code)[0]
    head.is_head = True
    session.commit()
    return {
        "executor": make_user("executor", org.code)[0],
        "head": head,
        "inspector": make_user("inspector")[0],
        "stranger": make_user("executor", other)[0],
    }


# The pipeline's immediate notices of urgent appeals share the ledger and the inbox (the
# flooding text here is urgent); they are intake's, tested in test_nlp_urgent.py.
SWEEP_KINDS = ~SlaReminder.kind.startswith("urgent_")


def ledger(session: Session, appeal_id: int) -> list[tuple[str, datetime]]:
    rows = session.execute(
        select(SlaReminder.kind, SlaReminder.due_moment)
        .where(SlaReminder.appeal_id == appeal_id, SWEEP_KINDS)
        .order_by(SlaReminder.id)
    ).all()
    return [(row[0], row[1]) for row in rows]


def kinds(session: Session, appeal_id: int) -> list[str]:
    return [kind for kind, _ in ledger(session, appeal_id)]


def notifications_of(session: Session, appeal_id: int) -> list[str]:
    return list(
        session.scalars(
            select(StaffNotification.kind)
            .where(
                StaffNotification.appeal_id == appeal_id,
                ~StaffNotification.kind.startswith("urgent_"),
            )
            .order_by(StaffNotification.id)
        )
    )


def inbox_kinds(session: Session, user: StaffUser) -> set[str]:
    kinds = {n.kind for n in workflow.inbox(session, user=user)}
    return {kind for kind in kinds if not kind.startswith("urgent_")}


def test_reminders_at_the_right_working_moments_then_escalation_at_breach(
    session: Session, appeal: Appeal, people: dict[str, StaffUser]
) -> None:
    due = almaty(2026, 4, 9, 18)
    steps = [
        (almaty(2026, 4, 7, 8, 59), []),  # Tuesday before opening: four working days left
        (almaty(2026, 4, 7, 9), ["remind_3wd"]),  # Tue opening: 7, 8, 9 April left
        (almaty(2026, 4, 8, 17, 59), ["remind_3wd"]),
        (almaty(2026, 4, 8, 18), ["remind_3wd", "remind_1d"]),  # 24 hours before
        (almaty(2026, 4, 9, 17, 59), ["remind_3wd", "remind_1d"]),
    ]
    for at, expected in steps:
        run_sweep(at=at)
        assert kinds(session, appeal.id) == expected, at
    assert appeal.escalated_at is None
    breach = almaty(2026, 4, 9, 18)
    summary = run_sweep(at=breach)
    assert summary["escalated"] >= 1
    assert kinds(session, appeal.id) == [
        "remind_3wd",
        "remind_1d",
        "breach_executor",
        "breach_head",
        "breach_inspectors",
    ]
    assert {moment for _, moment in ledger(session, appeal.id)} == {due}
    session.refresh(appeal)
    assert (appeal.escalated_at, appeal.escalation_reason) == (breach, "overdue")
    assert appeal.status is Status.ASSIGNED  # overdue is a marker, not a status

    assert inbox_kinds(session, people["executor"]) == {
        "remind_3wd",
        "remind_1d",
        "breach_executor",
    }
    assert "breach_head" in inbox_kinds(session, people["head"])
    assert "breach_head" not in inbox_kinds(session, people["executor"])
    assert inbox_kinds(session, people["inspector"]) == {"breach_inspectors"}
    assert inbox_kinds(session, people["stranger"]) == set()
    # No personal data in the texts: the tracking number, the category and the deadline.
    for note in workflow.inbox(session, user=people["head"]):
        if note.kind.startswith("urgent_"):
            continue  # the pipeline's notice of the flooding, at registration
        assert appeal.tracking_number in note.text_ru and appeal.tracking_number in note.text_kk
        for private in ("Асель", "+7701", "Жандосова"):
            assert private not in note.text_ru and private not in note.text_kk
        assert "09.04.2026 18:00" in note.text_ru
    # Read once for the team: the head's acknowledgement of the head notice.
    head_note = next(
        n for n in workflow.inbox(session, user=people["head"]) if n.kind == "breach_head"
    )
    unread = workflow.unread_count(session, user=people["head"])
    workflow.mark_read(session, user=people["head"], notification_id=head_note.id)
    assert workflow.unread_count(session, user=people["head"]) == unread - 1


def test_reminders_across_nauryz_2026(
    session: Session, submit_appeal: Any, people: dict[str, StaffUser]
) -> None:
    # Registered Monday 2 March 2026: 3-6 (4); 9 March off (8 March observed); 10-13 (8);
    # 16-20 (13); 21-25 Nauryz off; 26, 27 (15): due Friday 27 March, 18:00.
    with frozen(almaty(2026, 3, 2, 11)):
        appeal: Appeal = submit_appeal("Прорвало трубу водопровода на Жандосова, течёт вода")
    assert appeal.due_at == almaty(2026, 3, 27, 18)
    steps = [
        (almaty(2026, 3, 19, 18), []),
        (almaty(2026, 3, 20, 8, 59), []),
        # Three working days left (20, 26, 27 March): the reminder comes before the holidays.
        (almaty(2026, 3, 20, 9), ["remind_3wd"]),
        (almaty(2026, 3, 23, 12), ["remind_3wd"]),  # Nauryz: nothing new
        (almaty(2026, 3, 26, 17, 59), ["remind_3wd"]),
        (almaty(2026, 3, 26, 18), ["remind_3wd", "remind_1d"]),
        (almaty(2026, 3, 27, 18), ["remind_3wd", "remind_1d", *BREACH]),
    ]
    for at, expected in steps:
        run_sweep(at=at)
        assert kinds(session, appeal.id) == expected, at


def test_reminders_across_the_transferred_day_off_of_january_2025(
    session: Session, submit_appeal: Any
) -> None:
    """2025: Friday 3 January off, Sunday 5 January a working day (the Ministry's order,
    ``data/calendar_overrides.yaml``). Registered Thursday 12 December 2024, due Wednesday
    8 January 2025 at 18:00; three working days left (5, 6, 8 January) from the opening of
    the working Sunday, not on the Friday that became a day off."""
    with frozen(almaty(2024, 12, 12, 11)):
        appeal: Appeal = submit_appeal(WATER_LEAK)
    assert appeal.due_at == almaty(2025, 1, 8, 18)
    steps = [
        (almaty(2025, 1, 3, 9), []),  # the transferred Friday: a day off
        (almaty(2025, 1, 5, 8, 59), []),
        (almaty(2025, 1, 5, 9), ["remind_3wd"]),
        (almaty(2025, 1, 7, 17, 59), ["remind_3wd"]),  # Orthodox Christmas, a day off
        (almaty(2025, 1, 7, 18), ["remind_3wd", "remind_1d"]),
        (almaty(2025, 1, 8, 18), ["remind_3wd", "remind_1d", *BREACH]),
    ]
    for at, expected in steps:
        run_sweep(at=at)
        assert kinds(session, appeal.id) == expected, at


def test_an_approved_extension_clears_the_overdue_marker(
    session: Session, appeal: Appeal, people: dict[str, StaffUser], make_user: Any
) -> None:
    """Breached, escalated and marked overdue; an extension then moves the deadline past
    now: the marker goes (the board and the escalated queue stop calling it overdue), and a
    breach of the new deadline marks it again."""
    actions.accept(session, appeal, user=people["executor"])
    session.commit()
    run_sweep(at=almaty(2026, 4, 10, 12))
    session.refresh(appeal)
    assert (appeal.escalated_at, appeal.escalation_reason) == (almaty(2026, 4, 10, 12), "overdue")
    with frozen(almaty(2026, 4, 13, 10)):
        request = sla_actions.request_extension(
            session,
            appeal,
            user=people["executor"],
            until=almaty(2026, 4, 30, 18),
            reason="нужна экспертиза",
        )
        sla_actions.approve_extension(session, request.id, user=people["inspector"])
        session.commit()
    assert (appeal.escalated_at, appeal.escalation_reason) == (None, None)
    assert appeal.due_at == almaty(2026, 4, 30, 18)
    run_sweep(at=almaty(2026, 4, 30, 18))
    session.refresh(appeal)
    assert (appeal.escalated_at, appeal.escalation_reason) == (almaty(2026, 4, 30, 18), "overdue")
    assert (
        sorted(kind for kind, due in ledger(session, appeal.id) if due == appeal.due_at) == BREACH
    )


def test_a_paused_clock_is_not_escalated_and_the_moved_deadline_reminds_again(
    session: Session, appeal: Appeal, people: dict[str, StaffUser]
) -> None:
    run_sweep(at=almaty(2026, 4, 7, 9))
    assert kinds(session, appeal.id) == ["remind_3wd"]
    with frozen(almaty(2026, 4, 7, 10)):
        sla_actions.pause_clock(
            session,
            appeal,
            user=people["executor"],
            reason_code="citizen_clarification",
            comment="",
        )
        session.commit()
    run_sweep(at=almaty(2026, 4, 10, 12))  # past the old deadline, but the clock stands
    assert kinds(session, appeal.id) == ["remind_3wd"]
    with frozen(almaty(2026, 4, 13, 10)):  # Monday: 8, 9, 10, 13 April paused
        assert sla_actions.resume_clock(session, appeal, user=people["executor"]) == 4
        session.commit()
    assert appeal.due_at == almaty(2026, 4, 15, 18)
    run_sweep(at=almaty(2026, 4, 13, 10))
    # A new deadline is a new key in the ledger: its 3-working-day reminder comes again.
    assert ledger(session, appeal.id) == [
        ("remind_3wd", almaty(2026, 4, 9, 18)),
        ("remind_3wd", almaty(2026, 4, 15, 18)),
    ]


def test_sweep_twice_and_after_a_crash_mid_way_sends_each_notice_once(
    session: Session,
    submit_appeal: Any,
    appeal: Appeal,
    people: dict[str, StaffUser],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with frozen(almaty(2026, 3, 16, 11, 5)):
        second: Appeal = submit_appeal(SECOND_LEAK)
    assert second.due_at == appeal.due_at and second.organization_id is not None
    mine = (appeal.id, second.id)
    breach = almaty(2026, 4, 10, 12)
    real = sla.sweep._notifications
    calls = {"n": 0}

    def crash_on_second_batch(*args: Any, **kwargs: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker killed mid-sweep")
        return real(*args, **kwargs)

    # Three notices per batch (one appeal's breach): the first commits, the second dies.
    with override_settings(settings.model_copy(update={"sla_sweep_batch": 3})):
        monkeypatch.setattr(sla.sweep, "_notifications", crash_on_second_batch)
        with pytest.raises(RuntimeError, match="mid-sweep"):
            run_sweep(at=breach)
        done = [kinds(session, appeal_id) for appeal_id in mine]
        # The first batch stands whole (ledger rows and notifications), the second left nothing.
        assert sorted(done, key=len) == [
            [],
            ["breach_executor", "breach_head", "breach_inspectors"],
        ]
        monkeypatch.setattr(sla.sweep, "_notifications", real)
        run_sweep(at=breach)
        run_sweep(at=breach)
    run_sweep(at=breach)
    for appeal_id in mine:
        assert kinds(session, appeal_id) == ["breach_executor", "breach_head", "breach_inspectors"]
        assert notifications_of(session, appeal_id) == kinds(session, appeal_id)
    total = session.scalar(
        select(func.count())
        .select_from(SlaReminder)
        .where(SlaReminder.appeal_id.in_(mine), SWEEP_KINDS)
    )
    assert total == 6


def test_closed_and_answered_appeals_are_left_alone(
    session: Session, appeal: Appeal, people: dict[str, StaffUser]
) -> None:
    actions.accept(session, appeal, user=people["executor"])
    actions.answer(
        session, appeal, user=people["executor"], text="Течь устранена, асфальт восстановлен."
    )
    session.commit()
    run_sweep(at=almaty(2026, 4, 10, 12))
    assert kinds(session, appeal.id) == []  # answered: waiting for review, not overdue


# --- the RQ path: scheduler, worker crash, restart -----------------------------------------


def _burst(settings: Settings, name: str) -> None:
    queue = jobs.queue(settings)
    SimpleWorker([queue], connection=queue.connection, serializer=queue.serializer, name=name).work(
        burst=True, with_scheduler=True
    )


def _make_scheduled_due(settings: Settings) -> int:
    """Bring the scheduled sweep forward to now instead of waiting an interval."""
    from rq.job import Job

    queue = jobs.queue(settings)
    registry = queue.scheduled_job_registry
    ids = registry.get_job_ids()
    for job_id in ids:
        job = Job.fetch(job_id, connection=queue.connection, serializer=queue.serializer)
        registry.schedule(job, datetime.now(UTC))
    return len(ids)


@pytest.fixture
def rq_sla(rq_settings: Settings) -> Iterator[Settings]:
    yield rq_settings
    jobs.queue(rq_settings).connection.delete(f"{rq_settings.queue_name}:sla_sweep:scheduled")


def test_rq_scheduled_sweep_keeps_one_chain_and_sends_once(
    session: Session,
    appeal: Appeal,
    people: dict[str, StaffUser],
    rq_sla: Settings,
) -> None:
    """The chain on RQ's scheduler: seeded once, re-scheduled by each run, and a stray
    duplicate run merges back into it. (A real worker killed mid-sweep and restarted:
    ``tests/test_sla_worker_restart.py``.)"""
    assert schedule_sweep(rq_sla, delay_s=0) is True
    assert schedule_sweep(rq_sla, delay_s=0) is False  # one chain: the flag holds
    queue = jobs.queue(rq_sla)
    # "Now" goes straight onto the queue, not through the scheduler.
    assert (queue.count, len(queue.scheduled_job_registry.get_job_ids())) == (1, 0)
    with frozen(almaty(2026, 4, 10, 12)):
        _burst(rq_sla, "sla-worker-1")
        assert kinds(session, appeal.id) == BREACH
        # The run scheduled exactly one next sweep; bring it forward.
        assert _make_scheduled_due(rq_sla) == 1
        jobs.queue(rq_sla).enqueue_call(func=SWEEP_JOB)  # a stray duplicate run, too
        _burst(rq_sla, "sla-worker-2")
    assert kinds(session, appeal.id) == BREACH
    assert notifications_of(session, appeal.id) == BREACH
    assert inbox_kinds(session, people["inspector"]) == {"breach_inspectors"}
    # Duplicate chains merged back into one.
    assert len(jobs.queue(rq_sla).scheduled_job_registry.get_job_ids()) == 1

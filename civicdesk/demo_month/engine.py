"""Play the demo month: every planned step, in time order, each with the clock frozen at its
own moment, through the real services; the deadline sweep at 09:00 and 14:00 of each working
day, as the worker would have run it.

Steps are grouped into one transaction per hour of the month (``TICK``), so a month of 3,000
appeals costs a few hundred commits rather than tens of thousands; what a commit sets off
(the events handler writing the citizens' notifications, a low rating reopening its appeal)
runs inline right after it, still in the month's time. Jobs run inline for the whole month,
and no message leaves the machine: the month is played with no Redis and no messenger
transport configured, whatever the deployment has.
"""

from __future__ import annotations

import heapq
import logging
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals.models import Appeal, Channel
from civicdesk.demo import summarize
from civicdesk.demo_month import arrivals, work
from civicdesk.demo_month.calls import Switchboard
from civicdesk.demo_month.cast import assemble
from civicdesk.demo_month.plan import load_data, plan_month
from civicdesk.demo_month.stage import Life, Stage, Step
from civicdesk.demo_month.summary import summarize_month
from civicdesk.demo_month.worktime import WorkTime
from core import db, events, jobs
from core.clock import frozen, now
from core.errors import DomainError
from core.settings import Settings, get_settings, override_settings
from sla.jobs import run_sweep
from sla.service import deadline_policy

log = logging.getLogger(__name__)
#: External ids of demo-month appeals start with this; ``civicdesk demo --once`` looks for it.
MARKER = "demo-month-"
TICK = timedelta(hours=1)
#: The pipeline runs over what arrived at most this long ago (a worker draining batches).
PIPELINE_LAG = timedelta(minutes=20)
SWEEP_HOURS = (9.0, 14.0)

Handler = Callable[[Stage, Session, Life, Switchboard], None]
HANDLERS: dict[str, Handler] = {
    "arrive": arrivals.arrive,
    "call": arrivals.call,
    "triage": arrivals.triage,
    "misroute": arrivals.misroute,
    "accept": work.accept,
    "forward": work.forward,
    "pause": work.pause,
    "resume": work.resume,
    "extend": work.extend,
    "decide": work.decide,
    "answer": work.answer,
    "review": work.review,
    "rate": work.rate,
    "reopened": work.reopened,
}


def month_loaded(session: Session) -> bool:
    """Whether a demo month was already played into this database."""
    return (
        session.scalar(select(Appeal.id).where(Appeal.external_id.startswith(MARKER)).limit(1))
        is not None
    )


def play_month(
    *, appeals: int, days: int, seed: int = 0, until: datetime | None = None
) -> dict[str, Any]:
    """Play ``appeals`` appeals over the ``days`` working days that end at ``until`` (now by
    default) into the configured database (``core.db``), and return the month's report.

    Deterministic for a seed and an end: the same plan, the same lives (ids, tracking
    numbers and wall-clock timings aside). Refused in production.
    """
    if appeals < 1 or days < 1:
        raise ValueError("a month needs at least one appeal and one working day")
    base = get_settings()
    if base.environment == "production":
        raise RuntimeError("the demo month is never played into a production database")
    end = until or now()
    if end.tzinfo is None:
        raise ValueError("until must carry a timezone")
    if end > now():
        raise ValueError("the month must end in the past: its steps happened already")
    # Inline jobs (their effects belong to the month's moments) and no transport: nothing
    # is enqueued for a worker living in today, and no citizen of the demo gets a message.
    settings = base.model_copy(
        update={"redis_url": None, "telegram_bot_token": None, "whatsapp_access_token": None}
    )
    started = time.perf_counter()
    with override_settings(settings):
        stage = _stage(appeals=appeals, days=days, seed=seed, end=end)
        serial = random.Random(stage.prefix).randrange(10**6) * 10  # noqa: S311 - not a secret
        switchboard = Switchboard(serial_base=serial)
        _play(stage, switchboard, settings)
        with frozen(end):
            run_sweep(at=end, settings=settings)
        with db.session_factory()() as session:
            report = summarize_month(
                session, prefix=stage.prefix, until=end, profiles=stage.plan.profiles
            )
        report.update(summarize(stage.prefix))  # by status, category, organization, district
    elapsed = time.perf_counter() - started
    calls = report["calls"]
    calls["abandoned"] = len(stage.plan.abandoned_calls)
    calls["answered"] = sum(1 for a in stage.plan.arrivals if a.channel is Channel.PHONE)
    report.update(
        {
            "appeals": appeals,
            "days": days,
            "seed": seed,
            "prefix": stage.prefix,
            "period": {
                "first_day": stage.plan.first_day.isoformat(),
                "until": end.isoformat(),
            },
            "steps": dict(stage.done),
            "skipped_steps": dict(stage.skipped),
            "elapsed_s": round(elapsed, 3),
            "appeals_per_s": round(appeals / elapsed, 1) if elapsed else None,
        }
    )
    return report


def _stage(*, appeals: int, days: int, seed: int, end: datetime) -> Stage:
    policy = deadline_policy()
    worktime = WorkTime(policy)
    data = load_data(get_settings().data_dir)
    plan = plan_month(data, appeals=appeals, days=days, until=end, worktime=worktime, seed=seed)
    with frozen(min(worktime.at(plan.first_day, 8), end)), db.transaction() as session:
        cast = assemble(session)
        stage = Stage(
            data=data,
            plan=plan,
            cast=cast,
            worktime=worktime,
            policy=policy,
            until=end,
            prefix=f"{MARKER}{uuid4().hex[:8]}-",
            seed=seed,
        )
        stage.load_organizations(session)
    for arrival in plan.arrivals:
        rng = random.Random(f"{seed}:life:{arrival.index}")  # noqa: S311 - demo data
        life = Life(arrival=arrival, rng=rng)
        stage.lives[arrival.index] = life
        stage.schedule(arrival.at, "call" if arrival.channel is Channel.PHONE else "arrive", life)
    for number, moment in enumerate(plan.abandoned_calls):
        heapq.heappush(stage.agenda, Step(moment, -1 - number, "abandoned", number))
    day = plan.first_day
    while day <= worktime.day_of(end):
        if worktime.is_working_day(day):
            for hour in SWEEP_HOURS:
                heapq.heappush(stage.agenda, Step(worktime.at(day, hour), -(10**6), "sweep", -1))
        day += timedelta(days=1)
    heapq.heappush(stage.agenda, Step(end - timedelta(minutes=1), -(10**6), "seats", -1))
    return stage


def _play(stage: Stage, switchboard: Switchboard, settings: Settings) -> None:
    factory = db.session_factory()
    session: Session | None = None
    tick_end = last = stage.until

    def close_tick() -> None:
        nonlocal session
        if session is not None:
            _register(stage, session, last)
            _commit(session, last)
            session = None

    try:
        while stage.agenda:
            step = heapq.heappop(stage.agenda)
            if step.at > stage.until:
                break
            if step.kind == "sweep":
                close_tick()
                with frozen(step.at):
                    run_sweep(at=step.at, settings=settings)
                continue
            if session is not None and step.at >= tick_end:
                close_tick()
            if session is None:
                session = factory()
                tick_end = step.at + TICK
            if stage.received and step.at >= stage.received[0].arrival.at + PIPELINE_LAG:
                _register(stage, session, last)
            last = stage.clock = step.at
            with frozen(step.at):
                _run(stage, session, switchboard, step)
        close_tick()
    finally:
        if session is not None:
            session.rollback()
            session.close()


def _register(stage: Stage, session: Session, moment: datetime) -> None:
    """Run the pipeline over what arrived, a few seconds after the last of it."""
    if stage.received:
        latest = stage.received[-1].arrival.at
        with frozen(max(latest, min(moment, latest + timedelta(seconds=20)))):
            arrivals.register(stage, session)
            session.flush()


def _commit(session: Session, moment: datetime) -> None:
    """Commit the hour; the jobs it sets off run inline at its last moment, the status
    changes' events as one run of their handler (``core.jobs.merge_pending``)."""
    with frozen(moment):
        jobs.merge_pending(session, events.EVENTS_JOB)
        session.commit()
    session.close()


def _run(stage: Stage, session: Session, switchboard: Switchboard, step: Step) -> None:
    try:
        if step.kind == "abandoned":
            arrivals.abandoned(stage, session, switchboard, step.index)
        elif step.kind == "seats":
            operators = [(u.sip_interface or "", u.full_name) for u in stage.cast.operators]
            switchboard.seats(session, at=now(), members=operators, paused=1)
        else:
            life = stage.lives[step.index]
            if step.kind == "answer" and step.version != life.version:
                return  # the plan changed since (a pause, a return)
            HANDLERS[step.kind](stage, session, life, switchboard)
        session.flush()
        stage.done[step.kind] += 1
    except DomainError as error:
        # A step the appeal's state no longer allows (the services refuse it before writing):
        # counted, and its unwritten changes dropped.
        stage.skipped[f"{step.kind}:{error.code}"] += 1
        for pending in list(session.new):
            session.expunge(pending)
        session.expire_all()


def run_month(
    settings: Settings,
    *,
    appeals: int,
    days: int,
    seed: int = 0,
    until: datetime | None = None,
    once: bool = False,
) -> dict[str, Any] | None:
    """The command's entry: configure the database from ``settings`` and play the month;
    with ``once``, nothing (None) when a month is already there."""
    db.configure(settings)
    with override_settings(settings):
        if once:
            with db.session_factory()() as session:
                if month_loaded(session):
                    return None
        return play_month(appeals=appeals, days=days, seed=seed, until=until)

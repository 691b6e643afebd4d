"""An appeal's life at its organization, through the named actions: accepted, maybe
forwarded by competence, paused for the citizen, extended, answered, reviewed (closed or
returned for rework), rated, and reopened by a low rating.

How fast and how well depends on the organization's profile (``plan.PROFILES``); the
citizen's rating depends on whether the answer came on time (``draw_score``).
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from appeals import actions
from appeals.lifecycle import ANSWER_VISIBLE, Status
from appeals.models import Appeal, Channel
from civicdesk.demo_month import texts
from civicdesk.demo_month.arrivals import to_organization
from civicdesk.demo_month.calls import Switchboard
from civicdesk.demo_month.cast import executor_for
from civicdesk.demo_month.stage import Life, Stage
from core.clock import local, now
from core.settings import get_settings
from ratings.answers import rate_answer
from routing import forwarding
from sla import actions as sla_actions
from sla.clocks import shift_by_working_days, working_days_before

#: Appeals forwarded once more by competence after acceptance, and of those, the ones the
#: second body passes straight back (ping-pong, escalated to the inspectors).
FORWARD_SHARE = 0.03
PING_PONG_SHARE = 0.15
PAUSE_SHARE = 0.04
#: Topics where an extension is asked early (an inspection, documents, other bodies).
SLOW_TOPICS = ("construction", "land", "housing.capital_repair", "ecology", "housing.osi_ksk")
SLOW_TOPIC_EXTENSION = 0.2
SECOND_RETURN = 0.12
APPROVED_EXTENSIONS = 0.9
#: Who rates an answer, by the channel it came on (messenger buttons are easy to press).
RATING_SHARES = {
    Channel.TELEGRAM: 0.6,
    Channel.WHATSAPP: 0.55,
    Channel.MOBILE: 0.45,
    Channel.PORTAL: 0.4,
    Channel.PHONE: 0.3,
    Channel.FRONT_OFFICE: 0.25,
    Channel.SOCIAL: 0.12,
}
RETURN_REASONS = {
    "formal_reply": 35,
    "no_substance": 25,
    "missing_work_deadline": 25,
    "wrong_organization": 5,
    "other": 10,
}
PAUSE_REASONS = {"citizen_clarification": 60, "citizen_documents": 25, "expert_opinion": 15}
#: Score 1..5 weights by timeliness.
SCORES_ON_TARGET = (5, 5, 10, 30, 50)
SCORES_ON_TIME = (10, 12, 18, 30, 30)
SCORES_LATE = (25, 22, 20, 18, 15)


def draw_score(
    rng: random.Random, *, on_target: bool, on_time: bool, returned: bool, shift: float
) -> int:
    """The citizen's 1–5: timeliness first, then the organization's quality (``shift``)
    and whether an inspector had to send the answer back."""
    base = SCORES_ON_TARGET if on_target else SCORES_ON_TIME if on_time else SCORES_LATE
    tilt = shift - (0.4 if returned else 0.0)
    weights = [w * math.exp(tilt * (score - 3) / 2) for score, w in enumerate(base, start=1)]
    return int(rng.choices(range(1, 6), weights)[0])


def _weighted(rng: random.Random, table: dict[str, int]) -> str:
    return rng.choices(list(table), list(table.values()))[0]


def _status_is(stage: Stage, appeal: Appeal, kind: str, *allowed: Status) -> bool:
    if appeal.status in allowed and appeal.organization_id is not None:
        return True
    stage.skipped[f"{kind}:{appeal.status.value}"] += 1
    return False


def _related_organization(stage: Stage, session: Session, life: Life, current: int) -> int | None:
    """Another body that may be competent: one of the same area, else the district akimat."""
    arrival = life.arrival
    area = arrival.category.split(".", 1)[0]
    options = sorted(code for code in stage.data.categories if code.startswith(f"{area}."))
    life.rng.shuffle(options)
    for category in [*options, "improvement.street_cleaning"]:
        found = stage.decide_organization(session, category, arrival.district or "almaly")
        if found is not None and found != current:
            return found
    return None


def accept(stage: Stage, session: Session, life: Life, switchboard: Switchboard) -> None:
    appeal = stage.appeal(session, life)
    if not _status_is(stage, appeal, "accept", Status.ASSIGNED, Status.FORWARDED, Status.REOPENED):
        return
    assert appeal.organization_id is not None
    rng = life.rng
    first = life.answers == 0 and not life.forward_chain and life.reopened == 0
    actions.accept(session, appeal, user=executor_for(session, stage.cast, appeal.organization_id))
    profile = stage.profile_of(appeal.organization_id)
    if first and not life.rates:
        life.rates = life.arrival.person is not None and rng.random() < RATING_SHARES.get(
            appeal.channel, 0.2
        )
        life.pause = rng.random() < PAUSE_SHARE
        if rng.random() < profile.return_rate:
            life.returns_left = 2 if rng.random() < SECOND_RETURN else 1
            life.return_reason = _weighted(rng, RETURN_REASONS)
        if rng.random() < FORWARD_SHARE:
            related = _related_organization(stage, session, life, appeal.organization_id)
            if related is not None:
                life.forward_chain = [related]
                if rng.random() < PING_PONG_SHARE:
                    life.forward_chain.append(appeal.organization_id)
    if life.forward_chain:
        stage.schedule(stage.worktime.add_hours(now(), rng.uniform(1, 30)), "forward", life)
        return
    plan_answer(stage, life, appeal)


def forward(stage: Stage, session: Session, life: Life, switchboard: Switchboard) -> None:
    """Forwarded by competence (the executor asked; an inspector routes it on)."""
    appeal = stage.appeal(session, life)
    if not _status_is(stage, appeal, "forward", Status.IN_PROGRESS) or not life.forward_chain:
        return
    target = life.forward_chain.pop(0)
    language = life.arrival.language
    forwarding.route(
        session,
        appeal,
        user=life.rng.choice(stage.cast.inspectors),
        organization_id=target,
        reason=texts.pick(
            texts.FORWARD_NOTES,
            language,
            life.rng,
            organization=stage.organization_name(target, language),
        ),
    )
    life.true_organization_id = target
    to_organization(stage, life, appeal)


def plan_answer(stage: Stage, life: Life, appeal: Appeal) -> None:
    """When the executor will answer (by the profile), and what comes before: a pause, an
    extension asked in time."""
    rng = life.rng
    worktime = stage.worktime
    profile = stage.profile_of(appeal.organization_id)
    start = now()
    category = appeal.category_code or life.arrival.category
    if life.reopened:
        answer_at = worktime.add_hours(start, rng.uniform(1, 5) * 9)
    elif category.startswith("reference."):
        answer_at = worktime.add_hours(start, rng.uniform(0.3, 5))
    elif appeal.urgency != "normal":
        answer_at = worktime.during_hours(
            start + timedelta(hours=rng.uniform(*profile.urgent_hours)), rng
        )
    else:
        answer_at = worktime.add_hours(start, rng.triangular(*profile.answer_days) * 9)
    life.answer_at = answer_at
    if life.pause and not life.paused and appeal.due_at is not None:
        pause_at = worktime.add_hours(start, rng.uniform(2, 14))
        if pause_at < answer_at and pause_at < appeal.due_at:
            stage.schedule(pause_at, "pause", life)
            return
    schedule_answer(stage, life, appeal, answer_at)


def schedule_answer(stage: Stage, life: Life, appeal: Appeal, answer_at: datetime) -> None:
    rng = life.rng
    worktime = stage.worktime
    due = appeal.due_at
    if due is not None and not life.extension_decided and not life.reopened:
        category = appeal.category_code or ""
        slow = any(category == t or category.startswith(f"{t}.") for t in SLOW_TOPICS)
        if answer_at > due - timedelta(hours=3):
            life.extension_decided = True
            if rng.random() < stage.profile_of(appeal.organization_id).extend_in_time:
                day = working_days_before(stage.policy, worktime.day_of(due), rng.randint(1, 3))
                ask_at = max(worktime.at(day, rng.uniform(9.5, 17)), worktime.add_hours(now(), 1))
                if ask_at < answer_at:
                    stage.schedule(ask_at, "extend", life)
        elif slow and rng.random() < SLOW_TOPIC_EXTENSION:
            life.extension_decided = True
            answer_at = max(answer_at, worktime.add_hours(due, rng.uniform(9, 60)))
            stage.schedule(worktime.add_hours(now(), rng.uniform(9, 45)), "extend", life)
    life.answer_at = answer_at
    life.version += 1
    stage.schedule(answer_at, "answer", life)


def pause(stage: Stage, session: Session, life: Life, switchboard: Switchboard) -> None:
    appeal = stage.appeal(session, life)
    if not _status_is(stage, appeal, "pause", Status.IN_PROGRESS):
        return
    assert appeal.organization_id is not None
    reason = _weighted(life.rng, PAUSE_REASONS)
    sla_actions.pause_clock(
        session,
        appeal,
        user=executor_for(session, stage.cast, appeal.organization_id),
        reason_code=reason,
        comment=texts.pick(texts.PAUSE_NOTES[reason], life.arrival.language, life.rng),
    )
    life.paused = True
    stage.schedule(stage.worktime.add_days(now(), life.rng.randint(1, 4), life.rng), "resume", life)


def resume(stage: Stage, session: Session, life: Life, switchboard: Switchboard) -> None:
    """The citizen answered: the clock runs again, the deadline moved by the days paused."""
    appeal = stage.appeal(session, life)
    if appeal.paused_at is None or appeal.organization_id is None:
        stage.skipped["resume:not_paused"] += 1
        return
    days = sla_actions.resume_clock(
        session, appeal, user=executor_for(session, stage.cast, appeal.organization_id)
    )
    planned = life.answer_at or now()
    answer_at = shift_by_working_days(stage.policy, planned, days)
    if answer_at <= now():
        answer_at = stage.worktime.add_hours(now(), life.rng.uniform(2, 16))
    schedule_answer(stage, life, appeal, answer_at)


def extend(stage: Stage, session: Session, life: Life, switchboard: Switchboard) -> None:
    """The executor asks for more time, up to a little after they expect to answer."""
    appeal = stage.appeal(session, life)
    if not _status_is(stage, appeal, "extend", Status.IN_PROGRESS, Status.RETURNED):
        return
    assert appeal.organization_id is not None
    assert appeal.due_at is not None
    policy = stage.policy
    planned = life.answer_at or appeal.due_at
    day = policy.calendar.add_working_days(local(max(planned, appeal.due_at)).date(), 2)
    until = min(policy.close_of(day), policy.max_extended_due(appeal.received_at))
    if until <= appeal.due_at:
        stage.skipped["extend:no_room"] += 1
        return
    request = sla_actions.request_extension(
        session,
        appeal,
        user=executor_for(session, stage.cast, appeal.organization_id),
        until=until,
        reason=texts.pick(texts.EXTENSION_REASONS, life.arrival.language, life.rng),
    )
    life.extension_request_id = request.id
    stage.schedule(stage.worktime.add_hours(now(), life.rng.uniform(1, 8)), "decide", life)


def decide(stage: Stage, session: Session, life: Life, switchboard: Switchboard) -> None:
    """An inspector (someone other than who asked) approves or refuses the extension."""
    request_id = life.extension_request_id
    if request_id is None:
        return
    inspector = life.rng.choice(stage.cast.inspectors)
    appeal = stage.appeal(session, life)
    if life.rng.random() < APPROVED_EXTENSIONS and appeal.status in (
        Status.IN_PROGRESS,
        Status.RETURNED,
        Status.EXTENDED,
    ):
        sla_actions.approve_extension(session, request_id, user=inspector)
    else:
        sla_actions.refuse_extension(
            session,
            request_id,
            user=inspector,
            comment=texts.pick(texts.REFUSAL_NOTES, life.arrival.language, life.rng),
        )


def answer(stage: Stage, session: Session, life: Life, switchboard: Switchboard) -> None:
    appeal = stage.appeal(session, life)
    if not _status_is(
        stage, appeal, "answer", Status.IN_PROGRESS, Status.EXTENDED, Status.RETURNED
    ):
        return
    assert appeal.organization_id is not None
    rng = life.rng
    language = appeal.language if appeal.language in ("ru", "kk") else life.arrival.language
    if life.returns_left and life.answers == 0:
        text = texts.pick(texts.WEAK_ANSWERS[life.return_reason], language, rng)
    else:
        text = texts.pick(texts.ANSWERS, language, rng, date=f"{local(now()):%d.%m.%Y}")
    actions.answer(
        session,
        appeal,
        user=executor_for(session, stage.cast, appeal.organization_id),
        text=text,
    )
    life.answers += 1
    stage.schedule(stage.worktime.add_hours(now(), rng.uniform(0.5, 14)), "review", life)


def review(stage: Stage, session: Session, life: Life, switchboard: Switchboard) -> None:
    """The inspector accepts the answer (the citizen sees it) or returns it for rework."""
    appeal = stage.appeal(session, life)
    if not _status_is(stage, appeal, "review", Status.ANSWERED):
        return
    rng = life.rng
    inspector = rng.choice(stage.cast.inspectors)
    if life.returns_left:
        reason = life.return_reason
        sla_actions.return_answer(
            session,
            appeal,
            user=inspector,
            reason_code=reason,
            comment=texts.pick(texts.RETURN_NOTES[reason], life.arrival.language, rng),
        )
        life.returns_left -= 1
        answer_at = stage.worktime.add_days(now(), rng.randint(1, 3), rng)
        life.version += 1
        stage.schedule(answer_at, "answer", life)
        return
    sla_actions.accept_answer(session, appeal, user=inspector)
    if life.rates:
        stage.schedule(now() + timedelta(minutes=rng.uniform(10, 48 * 60)), "rate", life)


def rate(stage: Stage, session: Session, life: Life, switchboard: Switchboard) -> None:
    """The citizen rates the answer; a low score reopens the appeal (the channels' event
    handler does it after this commits, as it does for a rating from a bot)."""
    appeal = stage.appeal(session, life)
    if appeal.status not in ANSWER_VISIBLE:
        stage.skipped[f"rate:{appeal.status.value}"] += 1
        return
    rng = life.rng
    answered = appeal.answered_at or now()
    on_time = appeal.due_at is None or answered <= appeal.due_at
    on_target = on_time and (appeal.target_due_at is None or answered <= appeal.target_due_at)
    if appeal.status is Status.QUICK_ANSWERED:
        on_time = on_target = True
    score = draw_score(
        rng,
        on_target=on_target and not life.reopened,
        on_time=on_time,
        returned=appeal.returns_count > 0,
        shift=stage.profile_of(appeal.organization_id).rating_shift,
    )
    band, odds = ("low", 0.6) if score <= 2 else ("middle", 0.3) if score == 3 else ("high", 0.25)
    comment = (
        texts.pick(texts.RATING_COMMENTS[band], life.arrival.language, rng)
        if rng.random() < odds
        else None
    )
    rate_answer(
        session, appeal_id=appeal.id, score=score, comment=comment, channel=appeal.channel.value
    )
    if score <= get_settings().rating_reopen_max_score and not life.reopened:
        stage.schedule(stage.worktime.add_days(now(), rng.randint(1, 2), rng), "reopened", life)


def reopened(stage: Stage, session: Session, life: Life, switchboard: Switchboard) -> None:
    """After a low rating reopened it: the organization takes it up again."""
    appeal = stage.appeal(session, life)
    if appeal.status is not Status.REOPENED or appeal.organization_id is None:
        stage.skipped[f"reopened:{appeal.status.value}"] += 1
        return
    life.reopened += 1
    life.returns_left = 0
    life.rates = life.rng.random() < 0.5
    actions.accept(session, appeal, user=executor_for(session, stage.cast, appeal.organization_id))
    plan_answer(stage, life, appeal)

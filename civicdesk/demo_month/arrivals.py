"""How the month's appeals come in: through ``intake.service.submit`` and the pipeline, or
on a call through the operator console's services, and on to an organization (by the rules,
by an operator in triage, or back again when it was misrouted).
"""

from __future__ import annotations

import contextlib
import random
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from appeals.lifecycle import Status
from appeals.models import Appeal, Channel
from channels.telephony import console
from channels.telephony.service import link_call_to_appeal
from civicdesk.demo_month import texts
from civicdesk.demo_month.calls import Switchboard
from civicdesk.demo_month.cast import executor_for
from civicdesk.demo_month.plan import DISTRICT_WEIGHTS
from civicdesk.demo_month.stage import Life, Stage
from core.clock import frozen, now
from core.errors import ValidationFailed
from intake import corrections, pipeline
from intake.schemas import CitizenContact, IncomingContact
from intake.service import submit
from routing import forwarding

#: Appeals an executor finds outside their competence and sends back to triage; the rest
#: of the misrouted ones an inspector forwards straight to the competent body.
SEND_BACK_SHARE = 0.6
#: Quick answers a citizen also rates (the answer itself, beside the operator in the IVR).
QUICK_RATED_SHARE = 0.08
#: Portal and app users who pick the category themselves.
CHOSEN_CATEGORY_SHARE = 0.5
#: Operators who set the category in the call form (the rest leave the classifier's guess).
OPERATOR_CATEGORY_SHARE = 0.55


def _contact(life: Life) -> CitizenContact:
    person = life.arrival.person
    if person is None:
        return CitizenContact()
    return CitizenContact(
        full_name=person.name,
        phone=person.phone,
        email=person.email,
        telegram_user_id=person.telegram_user_id,
    )


def _text(life: Life) -> str:
    text = life.arrival.text.strip()
    return text if len(text) >= 12 else f"{text} — прошу помочь."


def arrive(stage: Stage, session: Session, life: Life, switchboard: Switchboard) -> None:
    """A contact from a bot, the portal, social media or the front office."""
    arrival = life.arrival
    rng = life.rng
    chosen = arrival.channel in (Channel.PORTAL, Channel.MOBILE) and (
        rng.random() < CHOSEN_CATEGORY_SHARE
    )
    contact = IncomingContact(
        channel=arrival.channel,
        external_id=f"{stage.prefix}{arrival.index}",
        text=_text(life),
        language=arrival.language,
        category_code=arrival.category if chosen else None,
        address=arrival.address,
        latitude=arrival.point[0] if arrival.point else None,
        longitude=arrival.point[1] if arrival.point else None,
        citizen=_contact(life),
    )
    clerk = rng.choice(stage.cast.operators) if arrival.channel is Channel.FRONT_OFFICE else None
    result = submit(session, contact, submitted_by=clerk)
    life.appeal_id = result.appeal_id
    stage.received.append(life)


def register(stage: Stage, session: Session) -> None:
    """The pipeline's job takes what arrived since it last ran, as one batch (the worker
    does the same: ``intake.jobs.process_pending`` drains in batches)."""
    lives, stage.received = stage.received, []
    if not lives:
        return
    pipeline.process_batch(session, appeal_ids=[life.appeal_id for life in lives if life.appeal_id])
    for life in lives:
        after_intake(stage, session, life)


def call(stage: Stage, session: Session, life: Life, switchboard: Switchboard) -> None:
    """A call to 1308: the operator answers it on the spot or files it from the form."""
    arrival = life.arrival
    rng = life.rng
    operator = rng.choice(stage.cast.operators)
    person = arrival.person
    placed = switchboard.answered(
        session,
        at=now(),
        phone=person.phone if person else None,
        interface=stage.cast.interface_of(operator),
        operator_name=operator.full_name,
        rng=rng,
    )
    filed_at = placed.connected_at + (placed.ended_at - placed.connected_at) * rng.uniform(0.5, 0.9)
    details: console.CallerDetails = {
        "phone": person.phone if person else None,
        "full_name": person.name if person else None,
        "language": arrival.language,
    }
    external_id = f"{stage.prefix}{arrival.index}"
    with frozen(filed_at):
        if arrival.quick:
            details["category_code"] = arrival.category
            details["district_code"] = arrival.district
            filed = console.answer_on_the_spot(
                session,
                operator=operator,
                external_id=external_id,
                text=_text(life),
                answer=texts.quick_answer(arrival.category, arrival.language, rng),
                **details,
            )
        else:
            if rng.random() < OPERATOR_CATEGORY_SHARE:
                details["category_code"] = arrival.category
            if arrival.district and rng.random() < 0.5:
                details["district_code"] = arrival.district
            filed = console.file_from_call(
                session,
                operator=operator,
                external_id=external_id,
                text=_text(life),
                **details,
            )
        link_call_to_appeal(session, call_id=placed.call_id, appeal_id=filed.appeal_id)
        life.appeal_id = filed.appeal_id
        if arrival.quick:
            if rng.random() < QUICK_RATED_SHARE:
                life.rates = True
                stage.schedule(now() + timedelta(minutes=rng.uniform(5, 90)), "rate", life)
            return
        after_intake(stage, session, life)


def abandoned(stage: Stage, session: Session, switchboard: Switchboard, index: int) -> None:
    """A caller who gave up in the queue (no appeal: the call-center tables only)."""
    rng = random.Random(f"{stage.seed}:abandoned:{index}")  # noqa: S311 - demo data
    phone = f"+77{rng.choice(('01', '02', '05', '07', '47', '71', '77'))}{rng.randrange(10**7):07d}"
    operator = rng.choice(stage.cast.operators)
    switchboard.abandoned(
        session, at=now(), phone=phone, interface=stage.cast.interface_of(operator), rng=rng
    )


def after_intake(stage: Stage, session: Session, life: Life) -> None:
    """Where the appeal goes once the pipeline has seen it."""
    appeal = stage.appeal(session, life)
    arrival = life.arrival
    district = arrival.district or appeal.district_code
    if district is None and stage.data.categories[arrival.category]["organization"] == (
        "district_akimat"
    ):
        district = life.rng.choices(list(DISTRICT_WEIGHTS), list(DISTRICT_WEIGHTS.values()))[0]
        arrival.district = district
    life.true_organization_id = stage.decide_organization(session, arrival.category, district)
    if appeal.status is Status.REGISTERED and appeal.organization_id is None:
        operator_at = _operator_time(stage, life)
        stage.schedule(operator_at, "triage", life)
    elif appeal.status is Status.ASSIGNED:
        to_organization(stage, life, appeal)


def _operator_time(stage: Stage, life: Life) -> datetime:
    """Operators work the triage queue from 08:00 to 21:00 every day."""
    moment = now() + timedelta(minutes=life.rng.uniform(10, 120))
    hour = stage.worktime.hour_of(moment)
    if 8 <= hour < 21:
        return moment
    day = stage.worktime.day_of(moment)
    if hour >= 21:
        day += timedelta(days=1)
    return stage.worktime.at(day, 8 + life.rng.uniform(0.1, 1.5))


def to_organization(stage: Stage, life: Life, appeal: Appeal) -> None:
    """Assigned: the executor takes it up, or finds it is not theirs."""
    profile = stage.profile_of(appeal.organization_id)
    hours = life.rng.uniform(*profile.accept_hours)
    if appeal.urgency != "normal":
        hours = min(hours, 1.0)
    at = stage.worktime.add_hours(now(), hours)
    misrouted = (
        life.true_organization_id is not None
        and appeal.organization_id != life.true_organization_id
    )
    stage.schedule(at, "misroute" if misrouted else "accept", life)


def triage(stage: Stage, session: Session, life: Life, switchboard: Switchboard) -> None:
    """An operator in the triage queue sets the category (or confirms it) and, when the
    rules still cannot place it (no district), routes it by hand."""
    appeal = stage.appeal(session, life)
    if appeal.status is not Status.REGISTERED or appeal.organization_id is not None:
        stage.skipped["triage:not_in_triage"] += 1
        return
    arrival = life.arrival
    operator = life.rng.choice(stage.cast.operators)
    # A person already set this category (ValidationFailed): route by hand below.
    with contextlib.suppress(ValidationFailed):
        corrections.correct_category(
            session, appeal, user=operator, category_code=arrival.category, reason=None
        )
    if appeal.status is Status.REGISTERED and appeal.organization_id is None:
        target = life.true_organization_id
        if target is None:
            stage.skipped["triage:no_organization"] += 1
            return
        forwarding.route(
            session,
            appeal,
            user=operator,
            organization_id=target,
            reason=texts.pick(texts.DISTRICT_ASKED, arrival.language, life.rng),
        )
    life.true_organization_id = appeal.organization_id
    to_organization(stage, life, appeal)


def misroute(stage: Stage, session: Session, life: Life, switchboard: Switchboard) -> None:
    """The organization the rules chose is not the competent one: its executor sends the
    appeal back to triage, or an inspector forwards it to the competent body."""
    appeal = stage.appeal(session, life)
    if appeal.status is not Status.ASSIGNED or appeal.organization_id is None:
        stage.skipped["misroute:moved_on"] += 1
        return
    rng = life.rng
    language = life.arrival.language
    target = life.true_organization_id
    assert target is not None
    if rng.random() < SEND_BACK_SHARE:
        executor = executor_for(session, stage.cast, appeal.organization_id)
        forwarding.send_back(
            session, appeal, user=executor, reason=texts.pick(texts.SEND_BACK_NOTES, language, rng)
        )
        stage.schedule(_operator_time(stage, life), "triage", life)
        return
    inspector = rng.choice(stage.cast.inspectors)
    forwarding.route(
        session,
        appeal,
        user=inspector,
        organization_id=target,
        reason=texts.pick(
            texts.FORWARD_NOTES,
            language,
            rng,
            organization=stage.organization_name(target, language),
        ),
    )
    to_organization(stage, life, appeal)

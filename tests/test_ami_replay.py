"""Recorded AMI streams through the same pipeline the listener uses: call records, ratings,
queue members, citizens and appeals linked, and replays that change nothing the second time.

Real PostgreSQL; the events are Asterisk 20's own (channels/telephony/scenarios.py, the
demo log in data/ami/).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from appeals.models import Channel
from channels.telephony import scenarios
from channels.telephony.events import CallState, caller_number, interface_of, parse_block
from channels.telephony.models import Call, MissedRing, OperatorRating, QueueMember
from channels.telephony.pipeline import EventPipeline
from channels.telephony.screen_pop import ScreenPop, screen_pop_bus
from channels.telephony.service import appeals_of_call, link_call_to_appeal
from core import db
from core.models import StaffUser
from core.settings import Settings
from intake.schemas import CitizenContact
from tests.conftest import run_civicdesk

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "ami" / "sample_calls.log"


@pytest.fixture
def operators(make_user: Any, session: Session) -> dict[str, StaffUser]:
    found = {}
    for extension in ("1001", "1002"):
        user: StaffUser = make_user("operator")[0]
        user.sip_interface = f"PJSIP/{extension}"
        found[extension] = user
    session.commit()
    return found


def replay(text: str) -> tuple[EventPipeline, list[ScreenPop]]:
    pops: list[ScreenPop] = []
    pipeline = EventPipeline(bus=None, on_pop=pops.append)
    pipeline.process_text(text)
    return pipeline, pops


def calls_by_caller(session: Session) -> dict[str | None, Call]:
    session.expire_all()
    return {call.caller_e164: call for call in session.scalars(select(Call))}


def test_sample_log_makes_one_record_per_call(
    session: Session, operators: dict[str, StaffUser]
) -> None:
    pipeline, pops = replay(SAMPLE.read_text(encoding="utf-8"))
    calls = calls_by_caller(session)
    assert set(calls) == {"+77011234567", "+77079876543", "+77272501308"}

    answered = calls["+77011234567"]
    assert answered.state is CallState.ENDED
    assert answered.queue == "1308"
    assert answered.operator_id == operators["1001"].id
    assert answered.operator_interface == "PJSIP/1001"
    assert (answered.wait_s, answered.talk_s) == (12, 95)
    assert answered.abandoned is False
    assert (answered.hangup_cause, answered.hangup_cause_txt) == (16, "Normal Clearing")
    assert answered.answered_at is not None and answered.queued_at is not None
    assert (answered.answered_at - answered.queued_at).total_seconds() == 12
    rating = session.scalars(select(OperatorRating)).one()
    assert (rating.call_id, rating.operator_id, rating.score) == (
        answered.id,
        operators["1001"].id,
        5,
    )

    abandoned = calls["+77079876543"]
    assert abandoned.abandoned is True
    assert abandoned.answered_at is None and abandoned.operator_id is None
    assert abandoned.wait_s == 34
    assert abandoned.state is CallState.ENDED
    # AgentRingNoAnswer: the queue rang operator 1001 for 15 s (RingTime 15000 ms), no answer.
    ring = session.scalars(select(MissedRing)).one()
    assert (ring.call_id, ring.operator_id, ring.interface, ring.queue, ring.ring_s) == (
        abandoned.id,
        operators["1001"].id,
        "PJSIP/1001",
        "1308",
        15,
    )

    transferred = calls["+77272501308"]
    assert transferred.transferred_to == "3022"
    assert transferred.operator_id == operators["1002"].id
    assert transferred.talk_s == 40

    assert [(pop.call_id, pop.operator_id) for pop in pops] == [
        (answered.id, operators["1001"].id),
        (transferred.id, operators["1002"].id),
    ]
    assert pops[0].caller_e164 == "+77011234567"
    members = {m.interface: m for m in session.scalars(select(QueueMember))}
    assert set(members) == {"PJSIP/1001", "PJSIP/1002", "PJSIP/1003"}
    assert members["PJSIP/1003"].paused is True
    assert members["PJSIP/1001"].operator_id == operators["1001"].id
    assert pipeline.stats.unknown == 1  # the VarSet
    assert pipeline.stats.malformed == 0


def test_replaying_the_same_log_twice_changes_nothing(
    session: Session, operators: dict[str, StaffUser]
) -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    replay(text)
    first = {
        c.uniqueid: (c.state, c.wait_s, c.talk_s, c.answered_at)
        for c in calls_by_caller(session).values()
    }
    _, pops = replay(text)
    second = {
        c.uniqueid: (c.state, c.wait_s, c.talk_s, c.answered_at)
        for c in calls_by_caller(session).values()
    }
    assert second == first
    assert session.scalar(select(func.count()).select_from(Call)) == 3
    assert session.scalar(select(func.count()).select_from(OperatorRating)) == 1
    assert session.scalar(select(func.count()).select_from(MissedRing)) == 1
    assert pops == []  # nobody's console pops again for an old call


def test_a_call_is_linked_to_the_citizen_and_the_appeals_filed_on_it(
    session: Session, operators: dict[str, StaffUser], submit_appeal: Any
) -> None:
    earlier = submit_appeal(channel=Channel.PORTAL, citizen=CitizenContact(phone="+77011234567"))
    replay(SAMPLE.read_text(encoding="utf-8"))
    calls = calls_by_caller(session)
    assert calls["+77011234567"].citizen_id == earlier.citizen_id
    assert calls["+77079876543"].citizen_id is None  # no such citizen yet

    filed = submit_appeal(
        "Звоню по поводу ямы на улице Сатпаева возле дома 30, машины ломают подвеску",
        channel=Channel.PHONE,
        citizen=CitizenContact(phone="+77079876543"),
    )
    unknown_caller = calls["+77079876543"]
    link_call_to_appeal(session, call_id=unknown_caller.id, appeal_id=filed.id)
    link_call_to_appeal(session, call_id=unknown_caller.id, appeal_id=filed.id)
    session.commit()
    assert appeals_of_call(session, unknown_caller.id) == [filed.id]
    session.refresh(unknown_caller)
    assert unknown_caller.citizen_id == filed.citizen_id


def test_malformed_and_unknown_events_are_counted_not_fatal(
    session: Session, operators: dict[str, StaffUser], caplog: pytest.LogCaptureFixture
) -> None:
    good = scenarios.answered_call(t0=1795150000.0, serial=501, caller="87017770011")
    text = "\r\n".join(
        [
            "this is no AMI message at all\r\n",
            "Event: Hangup\r\nChannel: PJSIP/x-1\r\nCause: 16\r\nCallerIDNum: 87017770022\r\n",
            "Event: UserEvent\r\nUserEvent: OperatorRating\r\nUniqueid: 1.1\r\nScore: 9\r\n",
            "Event: RTCPSent\r\nChannel: PJSIP/kcell-trunk-1\r\nTo: 10.0.0.1:4000\r\n",
            "Event: QueueCallerJoin\r\nUniqueid: 7.7\r\nCallerIDNum: 87017770033\r\n",
            scenarios.render_all(good),
        ]
    )
    with caplog.at_level(logging.DEBUG, logger="channels"):
        pipeline, pops = replay(text)
    assert pipeline.stats.malformed == 4  # the prose, no Uniqueid, score 9, no Queue
    assert pipeline.stats.unknown == 1  # RTCPSent
    call = calls_by_caller(session)["+77017770011"]
    assert call.state is CallState.ENDED and call.operator_id == operators["1001"].id
    assert len(pops) == 1
    logged = caplog.text
    for digits in ("7017770011", "7017770022", "7017770033"):
        assert digits not in logged
    assert "malformed" in logged


def test_parse_block_reads_the_wire_format() -> None:
    block = "Event: UserEvent\r\nPrivilege: user,all\r\nUserEvent: OperatorRating\r\nScore: 4\r\n"
    assert parse_block(block) == {
        "event": "UserEvent",
        "privilege": "user,all",
        "userevent": "OperatorRating",
        "score": "4",
    }
    assert parse_block("Asterisk Call Manager/6.0.0\r\n") is None


def test_caller_numbers_and_interfaces() -> None:
    assert caller_number("87011234567") == "+77011234567"
    assert caller_number("77011234567") == "+77011234567"
    assert caller_number("+7 (727) 250-13-08") == "+77272501308"
    assert caller_number("89161234567") == "+79161234567"  # Russian: +7 too, kept as it is
    for withheld in ("", "anonymous", "<unknown>", "1001", "2501308"):
        assert caller_number(withheld) is None
    assert interface_of("PJSIP/1001-0000002a") == "PJSIP/1001"
    assert interface_of("Local/1001@agents-00000011;1") == "Local/1001@agents"


def test_screen_pop_travels_through_the_in_process_bus() -> None:
    pop = ScreenPop(
        call_id=7,
        uniqueid="1795147200.101",
        caller_e164="+77011234567",
        queue="1308",
        operator_id=3,
        connected_at=datetime(2026, 11, 20, 4, 0, 16, tzinfo=UTC),
    )
    assert ScreenPop.from_json(pop.to_json()) == pop
    bus = screen_pop_bus(Settings(environment="test", redis_url=None))

    async def main() -> list[ScreenPop]:
        mine, other = bus.subscribe(3).__aiter__(), bus.subscribe(4).__aiter__()
        waiting = asyncio.ensure_future(mine.__anext__())
        stray = asyncio.ensure_future(other.__anext__())
        await asyncio.sleep(0.01)
        await asyncio.to_thread(bus.publish, pop)  # the listener publishes from a thread
        got = [await asyncio.wait_for(waiting, 2)]
        await asyncio.sleep(0.05)
        assert not stray.done()  # another operator's console stays quiet
        stray.cancel()
        return got

    assert asyncio.run(main()) == [pop]


def test_civicdesk_ami_replay_command_on_postgresql(scratch_schema: str) -> None:
    """The command an operator of the system runs: migrate, tie an operator, replay twice."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CIVICDESK_")}
    env = {**clean, "CIVICDESK_ENVIRONMENT": "test", "CIVICDESK_DATABASE_URL": scratch_schema}

    def civicdesk(*args: str) -> str:
        return run_civicdesk(env, *args).stdout

    civicdesk("migrate")
    civicdesk("create-user", "op1001", "--role", "operator", "--password", "long-enough-pw-1")
    civicdesk("ami", "set-interface", "op1001", "PJSIP/1001")
    first = json.loads(civicdesk("ami", "replay", str(SAMPLE)).splitlines()[-1])
    second = json.loads(civicdesk("ami", "replay", str(SAMPLE)).splitlines()[-1])
    assert (first["events"], first["unknown"], first["malformed"]) == (32, 1, 0)
    assert (first["screen_pops"], second["screen_pops"]) == (1, 0)
    engine = db.make_engine(scratch_schema)
    try:
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM calls")) == 3
            assert connection.scalar(text("SELECT count(*) FROM operator_ratings")) == 1
    finally:
        engine.dispose()

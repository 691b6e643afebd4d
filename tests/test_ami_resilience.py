"""The AMI listener when things go wrong: a dead link, a drop mid-Originate, a batch the
database refuses, state lost while disconnected, and what panoramisk writes to the logs.

Against the local AMI server (tests/fakes/ami_server.py) and real PostgreSQL; nothing of
ours is mocked.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest
from panoramisk.actions import Action
from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.telephony import scenarios
from channels.telephony.ami import AmiClient, library_log, next_backoff, redactor
from channels.telephony.events import CallState
from channels.telephony.listener import AmiListener
from channels.telephony.models import Call, CallDirection, QueueMember
from channels.telephony.originate import request_callback
from channels.telephony.resync import GONE_AT_RESYNC
from channels.telephony.service import current_call_of
from core.clock import now
from core.models import StaffUser
from core.settings import Settings
from tests.fakes.ami_server import FakeAmiServer, Member
from tests.test_ami_listener import (
    SECRET,
    T0,
    operator,
    processed,
    run_with_listener,
    the_call,
    until,
)

__all__ = ["operator"]  # the fixture, shared with test_ami_listener


# --- backoff ---------------------------------------------------------------------------------


def test_backoff_doubles_up_to_the_cap() -> None:
    delays = [0.5]
    for _ in range(8):
        delays.append(next_backoff(delays[-1], 30.0))
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert next_backoff(0.4, 0.4) == 0.4  # a cap below the first step holds


def test_the_clients_reconnect_delays_grow_and_a_login_resets_them() -> None:
    async def main() -> tuple[list[float], float]:
        client = AmiClient(
            host="127.0.0.1",
            port=1,
            username="u",
            secret="s",
            on_event=lambda event: None,
            reconnect_max_s=5.0,
        )
        grown = [client.next_delay() for _ in range(6)]
        client._logged_in(None)
        return grown, client.next_delay()

    grown, after_login = asyncio.run(main())
    assert grown == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    assert after_login == 0.5


# --- a half-open link --------------------------------------------------------------------------


def test_a_link_that_stops_answering_is_found_by_ping_and_reconnected(
    settings: Settings, session: Session, operator: StaffUser
) -> None:
    """The server keeps the socket open but answers nothing (a firewall dropped the state,
    the host froze): an unanswered Ping makes the client reconnect and log in again."""
    events = scenarios.answered_call(t0=T0, serial=91, caller="87015550091")

    async def scenario(server: FakeAmiServer, listener: AmiListener) -> None:
        client = listener.client
        assert client is not None
        # Counted from the freeze (no await in between): on a loaded machine a live link may
        # already have missed a 0.3 s Ping and reconnected, and its login must not count.
        logins, dead_links = server.logins, client.dead_links
        server.freeze()
        await until(lambda: client.dead_links > dead_links)
        # Found it; the new link must not be dropped for a slow Pong while the events are
        # emitted (they would go to a closed connection): the reconnect waits 0.5 s first.
        client.ping_timeout_s = 60.0
        await server.wait_for_logins(logins + 1)
        await client.wait_ready(10)
        await server.emit(scenarios.render_all(events))
        await until(processed(listener, len(events)))

    listener = run_with_listener(
        settings, scenario, ami_ping_interval_s=0.2, ami_ping_timeout_s=0.3
    )
    assert listener.client is not None
    assert listener.client.dead_links >= 1 and listener.client.logins >= 2
    assert the_call(session, "+77015550091").state is CallState.ENDED


# --- Originate and a dropped connection -------------------------------------------------------


def test_an_originate_pending_when_asterisk_drops_is_not_sent_again_nor_logged(
    settings: Settings,
    session: Session,
    operator: StaffUser,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """panoramisk re-sends unanswered actions after a reconnect: the citizen would be
    dialled twice. The callback fails instead, and no log line carries the number."""
    call = request_callback(session, operator=operator, phone_e164="8 701 444 55 66")
    session.commit()
    server = FakeAmiServer(secret=SECRET, hold_originates=True)

    async def scenario(fake: FakeAmiServer, listener: AmiListener) -> None:
        await until(lambda: len(fake.originates()) == 1)
        fake.drop()
        await fake.wait_for_logins(2)
        await until(lambda: listener.resynced >= 2)  # logged in, FullyBooted, resynced
        await asyncio.sleep(0.3)  # what panoramisk would re-send goes right after FullyBooted

        def failed() -> bool:
            session.expire_all()
            placed = session.get(Call, call.id)
            return placed is not None and placed.state is CallState.FAILED

        await until(failed)

    with caplog.at_level(logging.DEBUG):
        run_with_listener(settings, scenario, server=server)
    assert len(server.originates()) == 1
    session.expire_all()
    failed = session.get(Call, call.id)
    assert failed is not None
    assert (failed.state, failed.failure_reason) == (CallState.FAILED, "ami_connection_lost")
    for secret in ("7014445566", SECRET):
        assert secret not in caplog.text


def test_panoramisk_log_records_are_masked_by_what_they_say(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The forms panoramisk logs actions in: str(action) as an argument, and a message
    already formatted with %r (its "Fail to send" line)."""

    async def actions() -> tuple[Action, Action]:
        originate = Action(
            {
                "Action": "Originate",
                "Channel": "PJSIP/1001",
                "Exten": "77014445566",
                "CallerID": '"1308" <77014445566>',
                "Variable": ["CIVICDESK_CALL_ID=42"],
            }
        )
        login = Action({"Action": "Login", "Username": "civicdesk", "Secret": "s3cr3t-value"})
        return originate, login

    originate, login = asyncio.run(actions())
    redactor.secrets.add("s3cr3t-value")
    with caplog.at_level(logging.DEBUG, logger=library_log.name):
        library_log.info('Adding action "%s" to awaiting list: %s', "originate", str(originate))
        try:
            raise ConnectionResetError("transport closed")
        except ConnectionResetError:
            library_log.exception("Fail to send %r" % login)  # noqa: UP031 - panoramisk's own form
        library_log.debug("message interpreted: %r", {"CallerIDNum": "87017770099"})
    text = caplog.text
    assert "Adding action" in text and "Fail to send" in text  # the lines are kept
    for leaked in ("7014445566", "s3cr3t-value", "7017770099", "PJSIP/1001"):
        assert leaked not in text


# --- a batch the database refuses -------------------------------------------------------------


def test_an_event_the_database_refuses_is_skipped_and_the_rest_stored(
    settings: Settings,
    session: Session,
    operator: StaffUser,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An over-long queue name is cut to its column; a Cause beyond PostgreSQL's integer
    makes the database refuse that one event: it is skipped and counted, the calls around
    it are stored, and the stream goes on."""
    before = scenarios.answered_call(t0=T0, serial=101, caller="87015550101")
    long_queue = "очередь-" + "x" * 120
    queued = [
        {
            "Event": "QueueCallerJoin",
            "Timestamp": f"{T0 + 1}",
            "Channel": "PJSIP/kcell-trunk-00000201",
            "CallerIDNum": "87015550102",
            "Uniqueid": f"{T0:.0f}.201",
            "Linkedid": f"{T0:.0f}.201",
            "Queue": long_queue,
            "Position": "1",
            "Count": "1",
        }
    ]
    overflow = [
        {
            "Event": "Newchannel",
            "Timestamp": f"{T0 + 2}",
            "Channel": "PJSIP/kcell-trunk-00000301",
            "CallerIDNum": "87015550103",
            "Uniqueid": f"{T0:.0f}.301",
            "Linkedid": f"{T0:.0f}.301",
        },
        {
            "Event": "Hangup",
            "Timestamp": f"{T0 + 3}",
            "Channel": "PJSIP/kcell-trunk-00000301",
            "CallerIDNum": "87015550103",
            "Uniqueid": f"{T0:.0f}.301",
            "Linkedid": f"{T0:.0f}.301",
            "Cause": "99999999999",
            "Cause-txt": "Unknown",
        },
    ]
    after = scenarios.answered_call(t0=T0 + 9, serial=401, caller="87015550104")
    stream = before + queued + overflow + after

    async def scenario(server: FakeAmiServer, listener: AmiListener) -> None:
        await server.emit(scenarios.render_all(stream))
        await until(processed(listener, len(stream)))
        await until(lambda: listener.pipeline.stats.rejected >= 1)

    with caplog.at_level(logging.DEBUG):
        listener = run_with_listener(settings, scenario)
    assert listener.pipeline.stats.rejected == 1
    assert listener.pipeline.stats.by_reason["rejected:Hangup:DataError/22003"] == 1
    assert the_call(session, "+77015550101").state is CallState.ENDED
    assert the_call(session, "+77015550104").state is CallState.ENDED
    assert the_call(session, "+77015550102").queue == long_queue[:64]
    unfinished = the_call(session, "+77015550103")  # its Newchannel stored, its Hangup not
    assert (unfinished.state, unfinished.hangup_cause) == (CallState.RINGING, None)
    assert "DataError/22003" in caplog.text
    for digits in ("7015550101", "7015550102", "7015550103", "99999999999"):
        assert digits not in caplog.text


# --- resync after a login ---------------------------------------------------------------------


def test_after_a_login_calls_whose_channels_are_gone_are_closed_and_members_refreshed(
    settings: Settings, session: Session, operator: StaffUser
) -> None:
    """While the listener was away a connected call and a waiting caller hung up; a third
    call still talks. CoreShowChannels and QueueStatus after the login set that straight."""
    moment = now() - timedelta(minutes=5)

    def call(uniqueid: str, state: CallState, caller: str) -> Call:
        row = Call(
            uniqueid=uniqueid,
            linkedid=uniqueid,
            direction=CallDirection.INBOUND,
            caller_e164=caller,
            queue="1308",
            operator_id=operator.id if state is CallState.CONNECTED else None,
            state=state,
            started_at=moment,
            queued_at=moment,
            answered_at=moment if state is CallState.CONNECTED else None,
            updated_at=moment,
        )
        session.add(row)
        return row

    call("1795000000.1", CallState.CONNECTED, "+77015550201")  # hung up while we were away
    call("1795000000.3", CallState.QUEUED, "+77015550202")  # gave up waiting meanwhile
    live = call("1795000000.5", CallState.CONNECTED, "+77015550203")  # still talking
    session.add(
        QueueMember(
            queue="1308",
            interface="PJSIP/1009",
            status=1,
            paused=False,
            in_call=False,
            logged_in=True,
            updated_at=moment,
        )
    )
    session.commit()
    server = FakeAmiServer(
        secret=SECRET,
        channels={
            "1795000000.5": {
                "Channel": "PJSIP/kcell-trunk-00000005",
                "Uniqueid": "1795000000.5",
                "Linkedid": "1795000000.5",
                "CallerIDNum": "87015550203",
            }
        },
        members=[Member(queue="1308", interface="PJSIP/1001", name="Оператор 1001", status=2)],
    )

    async def scenario(fake: FakeAmiServer, listener: AmiListener) -> None:
        return None

    run_with_listener(settings, scenario, server=server)
    assert (the_call(session, "+77015550201").state, the_call(session, "+77015550202").state) == (
        CallState.ENDED,
        CallState.ENDED,
    )
    gone = the_call(session, "+77015550201")
    assert gone.hangup_cause_txt == GONE_AT_RESYNC and gone.talk_s is None
    assert the_call(session, "+77015550203").state is CallState.CONNECTED
    assert current_call_of(session, operator.id) is not None
    assert current_call_of(session, operator.id).id == live.id  # type: ignore[union-attr]
    members = {
        m.interface: (m.logged_in, m.status, m.operator_id)
        for m in session.scalars(select(QueueMember).where(QueueMember.queue == "1308"))
    }
    assert members == {"PJSIP/1001": (True, 2, operator.id), "PJSIP/1009": (False, 1, None)}


def test_a_connected_call_older_than_the_limit_is_nobodys_current_call(
    session: Session, operator: StaffUser
) -> None:
    """A lost Hangup must not keep a call on the operator's console after a reload."""
    three_hours_ago = now() - timedelta(hours=3)
    session.add(
        Call(
            uniqueid="1795000000.7",
            linkedid="1795000000.7",
            caller_e164="+77015550207",
            queue="1308",
            operator_id=operator.id,
            state=CallState.CONNECTED,
            started_at=three_hours_ago,
            answered_at=three_hours_ago,
        )
    )
    session.commit()
    assert current_call_of(session, operator.id, max_age=timedelta(hours=2)) is None
    found = current_call_of(session, operator.id, max_age=timedelta(hours=4))
    assert found is not None and found.caller_e164 == "+77015550207"

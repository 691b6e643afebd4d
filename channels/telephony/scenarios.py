"""Event streams as Asterisk 20 emits them for typical 1308 calls (demos, tests, benchmark).

Each function returns the AMI events of one call, in order, as ordered dicts with
Asterisk's own header spelling; ``render`` writes them in the wire format (CRLF lines,
a blank line after each block). ``data/ami/sample_calls.log`` is made from these.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

TRUNK = "PJSIP/kcell-trunk"
QUEUE = "1308"

Event = dict[str, str]


@dataclass
class CallIds:
    """Uniqueids of the caller channel and the operator's leg."""

    caller: str
    member: str
    caller_channel: str
    member_channel: str


def ids(base: float, serial: int, interface: str = "PJSIP/1001") -> CallIds:
    caller = f"{base:.0f}.{serial}"
    member = f"{base:.0f}.{serial + 1}"
    return CallIds(
        caller=caller,
        member=member,
        caller_channel=f"{TRUNK}-{serial:08x}",
        member_channel=f"{interface}-{serial + 1:08x}",
    )


def _snapshot(prefix: str, channel: str, uniqueid: str, linkedid: str, **fields: str) -> Event:
    values = {
        "Channel": channel,
        "ChannelState": fields.get("state", "6"),
        "ChannelStateDesc": fields.get("state_desc", "Up"),
        "CallerIDNum": fields.get("number", "<unknown>"),
        "CallerIDName": fields.get("name", "<unknown>"),
        "ConnectedLineNum": fields.get("connected_num", "<unknown>"),
        "ConnectedLineName": fields.get("connected_name", "<unknown>"),
        "Language": "ru",
        "AccountCode": "",
        "Context": fields.get("context", "from-trunk"),
        "Exten": fields.get("exten", QUEUE),
        "Priority": fields.get("priority", "1"),
        "Uniqueid": uniqueid,
        "Linkedid": linkedid,
    }
    return {f"{prefix}{key}": value for key, value in values.items()}


def _event(name: str, at: float, privilege: str = "call,all", **headers: str) -> Event:
    event = {"Event": name, "Privilege": privilege, "Timestamp": f"{at:.6f}"}
    event.update(headers)
    return event


def _agent_event(name: str, at: float, caller: Event, **headers: str) -> Event:
    """A queue or agent event (privilege "agent"): the caller's channel, then its own fields."""
    return _event(name, at, privilege="agent,all", **caller, **headers)


def _bridge(serial: int, *, channels: int) -> Event:
    """The headers of the call's basic two-party bridge, as the bridge events carry them."""
    return {
        "BridgeUniqueid": f"bridge-{serial}",
        "BridgeType": "basic",
        "BridgeTechnology": "simple_bridge",
        "BridgeCreator": "<unknown>",
        "BridgeName": "<unknown>",
        "BridgeNumChannels": str(channels),
        "BridgeVideoSourceMode": "none",
    }


def _hangup(at: float, channel: Event) -> Event:
    """A normal hang-up (cause 16) of ``channel``."""
    return _event("Hangup", at, **channel, Cause="16", **{"Cause-txt": "Normal Clearing"})


def answered_call(
    *,
    t0: float,
    serial: int,
    caller: str = "87011234567",
    interface: str = "PJSIP/1001",
    member_name: str = "Оператор 1001",
    hold_s: int = 12,
    talk_s: int = 95,
    rating: int | None = None,
    queue: str = QUEUE,
) -> list[Event]:
    """IVR → queue → an operator answers → talk → (optional IVR rating) → hang-up."""
    call = ids(t0, serial, interface)
    mine = {"number": caller, "name": "<unknown>"}
    leg = {
        "number": interface.split("/")[-1],
        "name": member_name,
        "context": "from-queue",
        "exten": queue,
    }
    c = partial(_snapshot, "", call.caller_channel, call.caller, call.caller, **mine)
    d = partial(_snapshot, "Dest", call.member_channel, call.member, call.caller, **leg)
    joined = t0 + 4
    connected = joined + hold_s
    ended = connected + talk_s
    member = {"Queue": queue, "MemberName": member_name, "Interface": interface}
    events = [
        _event("Newchannel", t0, **c(state="4", state_desc="Ring")),
        _event("Newstate", t0 + 1, **c()),
        _agent_event(
            "QueueCallerJoin",
            joined,
            c(),
            Queue=queue,
            Position="1",
            Count="1",
        ),
        _agent_event(
            "AgentCalled",
            joined + 1,
            c(),
            **d(state="5", state_desc="Ringing"),
            **member,
        ),
        _event(
            "DialBegin",
            joined + 1,
            **c(),
            **d(state="0", state_desc="Down"),
            DialString=interface.split("/")[-1],
        ),
        _event("DialEnd", connected, **c(), **d(), DialStatus="ANSWER"),
        _agent_event(
            "AgentConnect",
            connected,
            c(),
            **d(),
            **member,
            RingTime="3",
            HoldTime=str(hold_s),
        ),
        _agent_event(
            "QueueCallerLeave",
            connected,
            c(),
            Queue=queue,
            Count="0",
            Position="1",
        ),
        _event(
            "BridgeEnter",
            connected,
            **c(),
            **_bridge(serial, channels=2),
        ),
        _event(
            "BridgeLeave",
            ended,
            **c(),
            **_bridge(serial, channels=1),
        ),
        _agent_event(
            "AgentComplete",
            ended,
            c(),
            **d(),
            **member,
            HoldTime=str(hold_s),
            TalkTime=str(talk_s),
            Reason="agent",
        ),
        # The operator's leg hangs up first (Reason "agent"); it is no call of ours.
        _hangup(ended, _snapshot("", call.member_channel, call.member, call.caller, **leg)),
    ]
    end = ended
    if rating is not None:
        end = ended + 8
        events.append(
            _event(
                "UserEvent",
                ended + 7,
                privilege="user,all",
                **c(context="rate-operator", exten="s", priority="4"),
                UserEvent="OperatorRating",
                Score=str(rating),
            )
        )
    events.append(_hangup(end, c()))
    return events


def abandoned_call(
    *,
    t0: float,
    serial: int,
    caller: str = "+77079876543",
    hold_s: int = 34,
    interface: str = "PJSIP/1001",
    queue: str = QUEUE,
) -> list[Event]:
    """The caller waits in the queue, an operator's phone rings unanswered, the caller hangs up."""
    call = ids(t0, serial, interface)
    mine = {"number": caller}
    c = partial(_snapshot, "", call.caller_channel, call.caller, call.caller, **mine)
    d = partial(_snapshot, "Dest", call.member_channel, call.member, call.caller)
    joined = t0 + 4
    left = joined + hold_s
    member = {"Queue": queue, "MemberName": "Оператор", "Interface": interface}
    return [
        _event("Newchannel", t0, **c(state="4", state_desc="Ring")),
        _event("Newstate", t0 + 1, **c()),
        _agent_event(
            "QueueCallerJoin",
            joined,
            c(),
            Queue=queue,
            Position="2",
            Count="2",
        ),
        _agent_event(
            "AgentCalled",
            joined + 2,
            c(),
            **d(state="5", state_desc="Ringing"),
            **member,
        ),
        _agent_event(
            "AgentRingNoAnswer",
            joined + 17,
            c(),
            **d(),
            **member,
            RingTime="15000",  # milliseconds in AgentRingNoAnswer
        ),
        _agent_event(
            "QueueCallerAbandon",
            left,
            c(),
            Queue=queue,
            Position="1",
            OriginalPosition="2",
            HoldTime=str(hold_s),
        ),
        _agent_event(
            "QueueCallerLeave",
            left,
            c(),
            Queue=queue,
            Count="0",
            Position="1",
        ),
        _hangup(left, c()),
    ]


def transferred_call(
    *,
    t0: float,
    serial: int,
    caller: str = "87272501308",
    interface: str = "PJSIP/1002",
    member_name: str = "Оператор 1002",
    target: str = "3022",
    hold_s: int = 5,
    talk_s: int = 40,
    queue: str = QUEUE,
) -> list[Event]:
    """An operator answers, then blind-transfers the caller to an organization's line."""
    call = ids(t0, serial, interface)
    mine = {"number": caller}
    leg = {"number": interface.split("/")[-1], "name": member_name, "context": "from-queue"}
    c = partial(_snapshot, "", call.caller_channel, call.caller, call.caller, **mine)
    d = partial(_snapshot, "Dest", call.member_channel, call.member, call.caller, **leg)
    joined = t0 + 3
    connected = joined + hold_s
    moved = connected + talk_s
    member = {"Queue": queue, "MemberName": member_name, "Interface": interface}
    transferer = _snapshot("Transferer", call.member_channel, call.member, call.caller, **leg)
    transferee = _snapshot("Transferee", call.caller_channel, call.caller, call.caller, **mine)
    return [
        _event("Newchannel", t0, **c(state="4", state_desc="Ring")),
        _agent_event(
            "QueueCallerJoin",
            joined,
            c(),
            Queue=queue,
            Position="1",
            Count="1",
        ),
        _agent_event(
            "AgentConnect",
            connected,
            c(),
            **d(),
            **member,
            RingTime="2",
            HoldTime=str(hold_s),
        ),
        _event(
            "BlindTransfer",
            moved,
            **transferer,
            **transferee,
            Result="Success",
            **_bridge(serial, channels=2),
            IsExternal="No",
            Context="org-transfers",
            Extension=target,
        ),
        _agent_event(
            "AgentComplete",
            moved,
            c(),
            **d(),
            **member,
            HoldTime=str(hold_s),
            TalkTime=str(talk_s),
            Reason="transfer",
        ),
        _hangup(moved + 120, c()),
    ]


def _answered_leg(
    t0: float, serial: int, caller: str, interface: str, member_name: str, queue: str, hold_s: int
) -> tuple[CallIds, partial[Event], list[Event]]:
    """A caller queued and connected to ``interface``: the ids, the caller's snapshot maker
    and the events up to AgentConnect."""
    call = ids(t0, serial, interface)
    mine = {"number": caller}
    leg = {"number": interface.split("/")[-1], "name": member_name, "context": "from-queue"}
    c = partial(_snapshot, "", call.caller_channel, call.caller, call.caller, **mine)
    d = partial(_snapshot, "Dest", call.member_channel, call.member, call.caller, **leg)
    member = {"Queue": queue, "MemberName": member_name, "Interface": interface}
    joined = t0 + 3
    events = [
        _event("Newchannel", t0, **c(state="4", state_desc="Ring")),
        _agent_event("QueueCallerJoin", joined, c(), Queue=queue, Position="1", Count="1"),
        _agent_event(
            "AgentConnect",
            joined + hold_s,
            c(),
            **d(),
            **member,
            RingTime="2",
            HoldTime=str(hold_s),
        ),
    ]
    return call, c, events


def transferred_to_queue(
    *,
    t0: float,
    serial: int,
    caller: str,
    interface: str = "PJSIP/1001",
    second_interface: str = "PJSIP/1002",
    queue: str = QUEUE,
    second_queue: str = "1309",
    hold_s: int = 6,
    talk_s: int = 30,
    second_hold_s: int = 9,
    second_talk_s: int = 50,
) -> list[Event]:
    """Operator 1 blind-transfers the caller into another queue, where operator 2 answers."""
    call, c, events = _answered_leg(t0, serial, caller, interface, "Оператор 1", queue, hold_s)
    moved = t0 + 3 + hold_s + talk_s
    transferer = _snapshot("Transferer", call.member_channel, call.member, call.caller)
    transferee = _snapshot(
        "Transferee", call.caller_channel, call.caller, call.caller, number=caller
    )
    second = ids(t0, serial + 2, second_interface)
    d2 = partial(_snapshot, "Dest", second.member_channel, second.member, call.caller)
    member2 = {"Queue": second_queue, "MemberName": "Оператор 2", "Interface": second_interface}
    d1 = _snapshot("Dest", call.member_channel, call.member, call.caller)
    member1 = {"Queue": queue, "MemberName": "Оператор 1", "Interface": interface}
    answered = moved + second_hold_s
    return [
        *events,
        _event(
            "BlindTransfer",
            moved,
            **transferer,
            **transferee,
            Result="Success",
            **_bridge(serial, channels=2),
            IsExternal="No",
            Context="from-internal-xfer",
            Extension=second_queue,
        ),
        _agent_event(
            "AgentComplete",
            moved,
            c(),
            **d1,
            **member1,
            HoldTime=str(hold_s),
            TalkTime=str(talk_s),
            Reason="transfer",
        ),
        _agent_event(
            "QueueCallerJoin", moved + 1, c(), Queue=second_queue, Position="1", Count="1"
        ),
        _agent_event(
            "AgentConnect",
            answered,
            c(),
            **d2(),
            **member2,
            RingTime="3",
            HoldTime=str(second_hold_s),
        ),
        _agent_event(
            "AgentComplete",
            answered + second_talk_s,
            c(),
            **d2(),
            **member2,
            HoldTime=str(second_hold_s),
            TalkTime=str(second_talk_s),
            Reason="caller",
        ),
        _hangup(answered + second_talk_s, c()),
    ]


def attended_transfer(
    *,
    t0: float,
    serial: int,
    caller: str,
    interface: str = "PJSIP/1001",
    target_interface: str = "PJSIP/1002",
    queue: str = QUEUE,
    hold_s: int = 4,
    talk_s: int = 25,
) -> list[Event]:
    """Operator 1 calls operator 2 from their phone, talks, then joins the caller to them."""
    call, c, events = _answered_leg(t0, serial, caller, interface, "Оператор 1", queue, hold_s)
    start = t0 + 3 + hold_s + talk_s
    extension = target_interface.split("/")[-1]
    own = interface.split("/")[-1]
    # The consultation call: operator 1's second channel dials operator 2.
    consult = ids(t0, serial + 2, target_interface)
    second_leg = f"{interface}-{serial + 2:08x}"
    o = partial(_snapshot, "", second_leg, consult.caller, consult.caller, number=own)
    target = partial(
        _snapshot,
        "Dest",
        consult.member_channel,
        consult.member,
        consult.caller,
        number=extension,
        exten=extension,
        context="from-internal",
    )
    joined = start + 12
    orig = _snapshot("OrigTransferer", call.member_channel, call.member, call.caller, number=own)
    second = _snapshot("SecondTransferer", second_leg, consult.caller, consult.caller, number=own)
    transferee = _snapshot(
        "Transferee", call.caller_channel, call.caller, call.caller, number=caller
    )
    target_snapshot = _snapshot(
        "TransferTarget",
        consult.member_channel,
        consult.member,
        consult.caller,
        number=extension,
        connected_num=own,
    )
    d1 = _snapshot("Dest", call.member_channel, call.member, call.caller)
    member1 = {"Queue": queue, "MemberName": "Оператор 1", "Interface": interface}
    bridges = {
        f"OrigBridge{key[6:]}": value for key, value in _bridge(serial, channels=2).items()
    } | {f"SecondBridge{key[6:]}": value for key, value in _bridge(serial + 2, channels=2).items()}
    return [
        *events,
        _event("Newchannel", start, **o(state="4", state_desc="Ring", context="from-internal")),
        _event("DialBegin", start + 1, **o(), **target(state="0", state_desc="Down")),
        _event("DialEnd", start + 5, **o(), **target(), DialStatus="ANSWER"),
        _event(
            "AttendedTransfer",
            joined,
            Result="Success",
            **orig,
            **bridges,
            **second,
            DestType="Bridge",
            DestBridgeUniqueid=f"bridge-{serial}",
            **transferee,
            **target_snapshot,
            IsExternal="No",
        ),
        _agent_event(
            "AgentComplete",
            joined,
            c(),
            **d1,
            **member1,
            HoldTime=str(hold_s),
            TalkTime=str(int(joined - (t0 + 3 + hold_s))),
            Reason="transfer",
        ),
        _hangup(joined, o()),
        _hangup(joined + 90, c()),
    ]


def member_status(
    *,
    at: float,
    interface: str,
    member_name: str,
    status: int = 1,
    paused: bool = False,
    queue: str = QUEUE,
    event: str = "QueueMemberStatus",
) -> Event:
    return _event(
        event,
        at,
        privilege="agent,all",
        Queue=queue,
        MemberName=member_name,
        Interface=interface,
        StateInterface=interface,
        Membership="dynamic",
        Penalty="0",
        CallsTaken="0",
        LastCall="0",
        LastPause="0",
        LoginTime=f"{at - 3600:.0f}",
        InCall="1" if status == 2 else "0",
        Status=str(status),
        Paused="1" if paused else "0",
        PausedReason="lunch" if paused else "",
        Ringinuse="0",
        Wrapuptime="0",
    )


def render(event: Event) -> str:
    """One event in the AMI wire format."""
    return "".join(f"{key}: {value}\r\n" for key, value in event.items()) + "\r\n"


def render_all(events: list[Event]) -> str:
    return "".join(render(event) for event in events)


def sample_log(t0: float = 1795147200.0) -> str:
    """The demo log (data/ami/sample_calls.log): 20 Nov 2026 from 09:00 Almaty time."""
    events: list[Event] = [
        member_status(at=t0 - 60, interface="PJSIP/1001", member_name="Оператор 1001"),
        member_status(at=t0 - 60, interface="PJSIP/1002", member_name="Оператор 1002"),
        member_status(
            at=t0 - 30,
            interface="PJSIP/1003",
            member_name="Оператор 1003",
            paused=True,
            event="QueueMemberPause",
        ),
        _event("VarSet", t0 - 5, privilege="dialplan,all", Variable="CDR(userfield)", Value="x"),
    ]
    events += answered_call(t0=t0, serial=101, rating=5)
    events += abandoned_call(t0=t0 + 30, serial=201)
    events += transferred_call(t0=t0 + 60, serial=301)
    events.sort(key=lambda event: float(event["Timestamp"]))
    header = (
        "# CivicDesk demo: a recorded AMI event stream (Asterisk 20, timestampevents = yes).\n"
        "# An answered call rated 5 in the IVR, an abandoned call, a blind transfer.\n"
        "# Replay: civicdesk ami replay data/ami/sample_calls.log\n\n"
    )
    return header + render_all(events)


if __name__ == "__main__":
    import sys

    sys.stdout.write(sample_log())

"""AMI events → call state changes. Pure: no database, no network, so replays and tests agree.

Asterisk speaks AMI as blocks of ``Key: Value`` lines ended by a blank line. ``parse_block``
turns one block into a dict with lower-cased keys; ``interpret`` turns one event into one
update (``CallUpdate``, ``MemberUpdate``, ``RatingUpdate``, ``SummaryUpdate``,
``RingUpdate``) or an ``Ignored`` that says why. A call is keyed by the Uniqueid of the
caller's channel; other legs of the same call share its Linkedid. Field names follow the
Asterisk 18–22 AMI docs.

Updates only ever fill in what is missing or move a call forward (``STATE_RANK``), so
applying the same event twice changes nothing the second time. Strings are cut to the
lengths of the columns they go to (``FIELD_LENGTHS``): Asterisk does not bound a queue
name or a hang-up text, and one over-long value must not make the database refuse a
whole batch.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any, cast

from core.errors import ValidationFailed
from core.phones import normalize_phone

BANNER_PREFIX = "Asterisk Call Manager/"
RATING_EVENT = "operatorrating"  # UserEvent(OperatorRating,Score: N) in the dialplan
# QueueCallerAbandon's HoldTime is seconds waited (the docs' "since 1970" is a doc slip);
# anything larger than a day is not a wait and is ignored.
MAX_PLAUSIBLE_WAIT_S = 24 * 3600

# Column lengths of what AMI strings are stored in (models.py uses the same numbers).
ID_LENGTH = 64  # Uniqueid, Linkedid
QUEUE_LENGTH = 64
INTERFACE_LENGTH = 80  # "PJSIP/1001", a member name
TEXT_LENGTH = 80  # Cause-txt, a transfer target


class CallState(enum.StrEnum):
    """Where a call is; a call only moves to a state of higher rank."""

    REQUESTED = "requested"  # a callback asked for by an operator, not yet sent to Asterisk
    ORIGINATING = "originating"  # Originate sent, the operator's phone is ringing
    RINGING = "ringing"  # the channel exists (Newchannel) or is dialling
    IVR = "ivr"  # answered by the IVR, not yet in a queue
    QUEUED = "queued"
    CONNECTED = "connected"  # talking to an operator
    ENDED = "ended"
    FAILED = "failed"  # a callback Asterisk refused, or one that expired before it was sent


STATE_RANK = {
    CallState.REQUESTED: 0,
    CallState.ORIGINATING: 1,
    CallState.RINGING: 2,
    CallState.IVR: 3,
    CallState.QUEUED: 4,
    CallState.CONNECTED: 5,
    CallState.ENDED: 6,
    CallState.FAILED: 6,
}


@dataclass(frozen=True)
class CallUpdate:
    """What one event says about one call; None means "this event does not say"."""

    event: str
    uniqueid: str
    at: datetime
    linkedid: str | None = None
    create: bool = False  # this event may start a call record (caller channel, queue events)
    caller_e164: str | None = None
    queue: str | None = None
    state: CallState | None = None
    started_at: datetime | None = None
    queued_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    wait_s: int | None = None
    talk_s: int | None = None
    abandoned: bool = False
    hangup_cause: int | None = None
    hangup_cause_txt: str | None = None
    transferred_to: str | None = None
    member_interface: str | None = None  # the operator's interface ("PJSIP/1001")
    member_name: str | None = None
    connected: bool = False  # AgentConnect: the moment a screen-pop is due
    direct: bool = False  # a non-queue answer (DialEnd/BridgeEnter): applies to calls with no queue
    # Transfers may name another channel of the call: then its Linkedid finds the call.
    by_linkedid: bool = False
    # The call went on to ``member_interface`` (an attended transfer bridged it there):
    # the call changes operator only if that interface is a staff user's.
    handover: bool = False
    dial_status: str | None = None  # DialEnd's DialStatus when not ANSWER (a callback's outcome)


@dataclass(frozen=True)
class MemberUpdate:
    event: str
    queue: str
    interface: str
    member_name: str | None
    at: datetime
    logged_in: bool
    status: int | None = None
    paused: bool | None = None
    in_call: bool | None = None


@dataclass(frozen=True)
class RatingUpdate:
    event: str
    uniqueid: str
    linkedid: str | None
    score: int
    at: datetime
    member_interface: str | None = None


@dataclass(frozen=True)
class SummaryUpdate:
    event: str
    queue: str
    logged_in: int
    available: int
    callers: int
    hold_time_s: int
    talk_time_s: int
    longest_hold_time_s: int
    at: datetime


@dataclass(frozen=True)
class RingUpdate:
    """AgentRingNoAnswer: the queue rang an operator for this call and nobody answered."""

    event: str
    uniqueid: str
    linkedid: str | None
    queue: str | None
    interface: str
    member_name: str | None
    at: datetime
    ring_s: int | None


@dataclass(frozen=True)
class Ignored:
    """An event we read but do not act on; ``kind`` is "unknown", "malformed" or "skipped"."""

    event: str
    kind: str
    reason: str


Update = CallUpdate | MemberUpdate | RatingUpdate | SummaryUpdate | RingUpdate
Outcome = Update | Ignored

# Events we understand but that change nothing we record (counted as skipped, not unknown).
_NO_OP_EVENTS = frozenset(
    {
        "fullybooted",
        "queuecallerleave",
        "agentcalled",  # the ring itself; AgentConnect or AgentRingNoAnswer says how it ended
        "bridgeleave",
        "bridgecreate",
        "bridgedestroy",
        "queuesummarycomplete",
        "originateresponse",
    }
)


# --- the wire format ------------------------------------------------------------------


def split_blocks(text: str) -> Iterator[str]:
    """The blocks of a recorded AMI stream (blank-line separated; CRLF or LF)."""
    for block in re.split(r"\r?\n[ \t]*\r?\n", text.replace("\r\n", "\n")):
        if block.strip():
            yield block


def parse_block(block: str) -> dict[str, str] | None:
    """One AMI message as {lower-cased key: value}; None if it is no Event or Response.

    Lines starting with ``#`` are comments (allowed in recorded logs, never sent by
    Asterisk); the banner is not a message. A repeated key keeps its first value.
    """
    headers: dict[str, str] = {}
    for line in block.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped.startswith(BANNER_PREFIX):
            continue
        key, separator, value = stripped.partition(":")
        if not separator or not key or " " in key.strip():
            continue
        headers.setdefault(key.strip().lower(), value.strip())
    if "event" not in headers and "response" not in headers:
        return None
    return headers


def is_banner_only(block: str) -> bool:
    lines = [line for line in block.splitlines() if line.strip()]
    return bool(lines) and all(line.startswith(BANNER_PREFIX) for line in lines)


# --- small readers --------------------------------------------------------------------


def caller_number(raw: str | None) -> str | None:
    """A caller id as E.164 (Kazakh numbers in any common form), None if withheld or internal.

    +7 is shared with Russia: a valid Russian number is kept as itself; a short internal
    extension, "anonymous" or "<unknown>" is no number.
    """
    if not raw:
        return None
    raw = raw.strip()
    if not raw or raw.lower() in {"<unknown>", "unknown", "anonymous", "restricted"}:
        return None
    if sum(character.isdigit() for character in raw) < 10:
        return None
    try:
        return normalize_phone(raw)
    except ValidationFailed:
        return None


def interface_of(channel: str | None) -> str | None:
    """'PJSIP/1001-0000002a' → 'PJSIP/1001' (a channel name is the interface plus a suffix)."""
    if not channel:
        return None
    if channel.startswith("Local/"):
        return channel.split(";", 1)[0].rsplit("-", 1)[0]
    base, _, suffix = channel.rpartition("-")
    return base if base and suffix else channel


def _int(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(float(value))
    except ValueError:
        return None


def _moment(event: Mapping[str, str], received_at: datetime) -> datetime:
    """The event's own time when manager.conf has ``timestampevents = yes``, else arrival."""
    stamp = event.get("timestamp")
    if stamp:
        try:
            return datetime.fromtimestamp(float(stamp), UTC)
        except (ValueError, OverflowError, OSError):
            pass
    return received_at


def _wait(value: str | None) -> int | None:
    seconds = _int(value)
    if seconds is None or seconds < 0 or seconds > MAX_PLAUSIBLE_WAIT_S:
        return None
    return seconds


# --- interpretation -------------------------------------------------------------------


def interpret(event: Mapping[str, str], *, received_at: datetime) -> Outcome:
    """What one AMI event (lower-cased keys) means for our records."""
    name = event.get("event", "")
    key = name.lower()
    if not name:
        return Ignored(event="", kind="skipped", reason="response")
    at = _moment(event, received_at)
    handler = _HANDLERS.get(key)
    if handler is not None:
        outcome = handler(name, event, at)
        return outcome if isinstance(outcome, Ignored) else fit(outcome)
    if key in _NO_OP_EVENTS:
        return Ignored(event=name, kind="skipped", reason="no_change")
    return Ignored(event=name, kind="unknown", reason="not_handled")


#: The longest value each stored string field of an update may have.
FIELD_LENGTHS = {
    "uniqueid": ID_LENGTH,
    "linkedid": ID_LENGTH,
    "queue": QUEUE_LENGTH,
    "interface": INTERFACE_LENGTH,
    "member_interface": INTERFACE_LENGTH,
    "member_name": INTERFACE_LENGTH,
    "hangup_cause_txt": TEXT_LENGTH,
    "transferred_to": TEXT_LENGTH,
    "dial_status": 16,
}


def fit(update: Update) -> Update:
    """``update`` with its strings cut to their columns' lengths (a Uniqueid is cut the
    same way wherever it appears, so a cut one still finds its call)."""
    changes: dict[str, str] = {}
    for item in fields(update):
        limit = FIELD_LENGTHS.get(item.name)
        value = getattr(update, item.name)
        if limit is not None and isinstance(value, str) and len(value) > limit:
            changes[item.name] = value[:limit]
    if not changes:
        return update
    any_update: Any = update  # replace() over the union: each member has these fields
    return cast(Update, replace(any_update, **changes))


def _require_uniqueid(name: str, event: Mapping[str, str]) -> str | Ignored:
    uniqueid = event.get("uniqueid", "")
    if not uniqueid:
        return Ignored(event=name, kind="malformed", reason="no_uniqueid")
    return uniqueid


Handler = Callable[[str, Mapping[str, str], datetime], Outcome]
CallHandler = Callable[[CallUpdate, Mapping[str, str]], Outcome]


def _per_call(handler: CallHandler) -> Handler:
    """An event about one call: it needs a Uniqueid, and its update starts from the call's keys.

    The wrapped handler gets ``call`` (event, uniqueid, linkedid, at filled in) and returns
    ``replace(call, ...)`` with what the event says, or an ``Ignored``.
    """

    @functools.wraps(handler)
    def handle(name: str, event: Mapping[str, str], at: datetime) -> Outcome:
        uniqueid = _require_uniqueid(name, event)
        if isinstance(uniqueid, Ignored):
            return uniqueid
        call = CallUpdate(event=name, uniqueid=uniqueid, linkedid=event.get("linkedid"), at=at)
        return handler(call, event)

    return handle


def _skipped(call: CallUpdate, reason: str) -> Ignored:
    return Ignored(event=call.event, kind="skipped", reason=reason)


@_per_call
def _newchannel(call: CallUpdate, event: Mapping[str, str]) -> Outcome:
    linkedid = call.linkedid or call.uniqueid
    if linkedid != call.uniqueid:
        return _skipped(call, "secondary_leg")
    return replace(
        call,
        linkedid=linkedid,
        create=True,
        caller_e164=caller_number(event.get("calleridnum")),
        state=CallState.RINGING,
        started_at=call.at,
    )


@_per_call
def _newstate(call: CallUpdate, event: Mapping[str, str]) -> Outcome:
    if event.get("channelstate") != "6":  # 6 = Up: the IVR (or, on a callback, the phone) answered
        return _skipped(call, "no_change")
    return replace(call, state=CallState.IVR)


@_per_call
def _dial_begin(call: CallUpdate, event: Mapping[str, str]) -> Outcome:
    return replace(call, state=CallState.RINGING)


@_per_call
def _dial_end(call: CallUpdate, event: Mapping[str, str]) -> Outcome:
    status = event.get("dialstatus", "").upper()
    if status != "ANSWER":
        # Recorded for callbacks only (the citizen was busy, did not answer …); a queue
        # ringing its operators one by one says nothing about an inbound call.
        return replace(call, dial_status=status or "UNKNOWN")
    return replace(
        call,
        state=CallState.CONNECTED,
        answered_at=call.at,
        member_interface=interface_of(event.get("destchannel")),
        direct=True,
    )


@_per_call
def _bridge_enter(call: CallUpdate, event: Mapping[str, str]) -> Outcome:
    if (_int(event.get("bridgenumchannels")) or 0) < 2:
        return _skipped(call, "no_change")
    return replace(call, state=CallState.CONNECTED, answered_at=call.at, direct=True)


@_per_call
def _hangup(call: CallUpdate, event: Mapping[str, str]) -> Outcome:
    return replace(
        call,
        state=CallState.ENDED,
        ended_at=call.at,
        hangup_cause=_int(event.get("cause")),
        hangup_cause_txt=(event.get("cause-txt") or None),
    )


@_per_call
def _queue_join(call: CallUpdate, event: Mapping[str, str]) -> Outcome:
    if not event.get("queue"):
        return Ignored(event=call.event, kind="malformed", reason="no_queue")
    return replace(
        call,
        create=True,
        caller_e164=caller_number(event.get("calleridnum")),
        queue=event["queue"],
        state=CallState.QUEUED,
        started_at=call.at,
        queued_at=call.at,
    )


@_per_call
def _queue_abandon(call: CallUpdate, event: Mapping[str, str]) -> Outcome:
    return replace(
        call,
        create=True,
        queue=event.get("queue") or None,
        caller_e164=caller_number(event.get("calleridnum")),
        wait_s=_wait(event.get("holdtime")),
        abandoned=True,
    )


@_per_call
def _agent_connect(call: CallUpdate, event: Mapping[str, str]) -> Outcome:
    interface = event.get("interface") or interface_of(event.get("destchannel"))
    if not interface:
        return Ignored(event=call.event, kind="malformed", reason="no_interface")
    return replace(
        call,
        create=True,
        caller_e164=caller_number(event.get("calleridnum")),
        queue=event.get("queue") or None,
        state=CallState.CONNECTED,
        answered_at=call.at,
        wait_s=_wait(event.get("holdtime")),
        member_interface=interface,
        member_name=event.get("membername") or None,
        connected=True,
    )


@_per_call
def _agent_ring_no_answer(call: CallUpdate, event: Mapping[str, str]) -> Outcome:
    interface = event.get("interface") or interface_of(event.get("destchannel"))
    if not interface:
        return Ignored(event=call.event, kind="malformed", reason="no_interface")
    ring_ms = _int(event.get("ringtime"))  # milliseconds here (AgentConnect's is seconds)
    return RingUpdate(
        event=call.event,
        uniqueid=call.uniqueid,
        linkedid=call.linkedid,
        queue=event.get("queue") or None,
        interface=interface,
        member_name=event.get("membername") or None,
        at=call.at,
        ring_s=None if ring_ms is None or ring_ms < 0 else min(ring_ms // 1000, 3600),
    )


@_per_call
def _agent_complete(call: CallUpdate, event: Mapping[str, str]) -> Outcome:
    return replace(
        call,
        queue=event.get("queue") or None,
        wait_s=_wait(event.get("holdtime")),
        talk_s=_wait(event.get("talktime")),
        member_interface=event.get("interface") or None,
    )


def _transfer(
    name: str,
    event: Mapping[str, str],
    at: datetime,
    *,
    target: str,
    linkedid: str | None,
    new_party: str | None = None,
) -> Outcome:
    """Blind and attended transfers: the transferee's call, found by its Linkedid.

    ``new_party`` is the channel the caller was bridged to by an attended transfer; if it
    is an operator's phone, the call becomes theirs (and their console pops).
    """
    if event.get("result", "").lower() != "success":
        return Ignored(event=name, kind="skipped", reason="transfer_failed")
    uniqueid = event.get("transfereeuniqueid", "")
    if not uniqueid or not target:
        return Ignored(event=name, kind="malformed", reason="no_transferee_or_target")
    interface = interface_of(new_party)
    return CallUpdate(
        event=name,
        uniqueid=uniqueid,
        linkedid=linkedid,
        at=at,
        transferred_to=target,
        by_linkedid=True,
        member_interface=interface,
        handover=interface is not None,
    )


def _blind_transfer(name: str, event: Mapping[str, str], at: datetime) -> Outcome:
    """The caller is sent to ``Extension`` (in ``Context``); whoever answers there (a
    DialEnd, or an AgentConnect of another queue) takes the call over."""
    return _transfer(
        name,
        event,
        at,
        target=event.get("extension", ""),
        linkedid=event.get("transfereelinkedid"),
    )


def _attended_transfer(name: str, event: Mapping[str, str], at: datetime) -> Outcome:
    """The operator talked to the target first, then joined the caller to them."""
    target = (
        event.get("transfertargetcalleridnum")
        or event.get("secondtransfererconnectedlinenum")
        or event.get("secondtransfererexten")
        or ""
    )
    linkedid = event.get("transfereelinkedid") or event.get("origtransfererlinkedid")
    bridged = event.get("desttype", "").lower() in {"bridge", "link", ""}
    new_party = event.get("transfertargetchannel") if bridged else None
    return _transfer(name, event, at, target=target, linkedid=linkedid, new_party=new_party)


def _member(name: str, event: Mapping[str, str], at: datetime) -> Outcome:
    """QueueMember* events; ``QueueMember`` (a QueueStatus reply) says Location and Name."""
    queue = event.get("queue", "")
    interface = event.get("interface") or event.get("location") or ""
    if not queue or not interface:
        return Ignored(event=name, kind="malformed", reason="no_queue_or_interface")
    paused = event.get("paused")
    in_call = event.get("incall")
    return MemberUpdate(
        event=name,
        queue=queue,
        interface=interface,
        member_name=event.get("membername") or event.get("name") or None,
        at=at,
        logged_in=name.lower() != "queuememberremoved",
        status=_int(event.get("status")),
        paused=None if paused is None else paused == "1",
        in_call=None if in_call is None else in_call == "1",
    )


def _user_event(name: str, event: Mapping[str, str], at: datetime) -> Outcome:
    if event.get("userevent", "").lower() != RATING_EVENT:
        return Ignored(event=name, kind="unknown", reason="other_user_event")
    uniqueid = _require_uniqueid(name, event)
    if isinstance(uniqueid, Ignored):
        return uniqueid
    score = _int(event.get("score", event.get("rating")))
    if score is None or not 1 <= score <= 5:
        return Ignored(event=name, kind="malformed", reason="score_out_of_range")
    return RatingUpdate(
        event=name,
        uniqueid=uniqueid,
        linkedid=event.get("linkedid"),
        score=score,
        at=at,
        member_interface=event.get("interface") or None,
    )


def _queue_summary(name: str, event: Mapping[str, str], at: datetime) -> Outcome:
    queue = event.get("queue", "")
    numbers = [
        _int(event.get(field))
        for field in (
            "loggedin",
            "available",
            "callers",
            "holdtime",
            "talktime",
            "longestholdtime",
        )
    ]
    if not queue or any(number is None for number in numbers):
        return Ignored(event=name, kind="malformed", reason="incomplete_summary")
    logged_in, available, callers, hold, talk, longest = (int(n or 0) for n in numbers)
    return SummaryUpdate(
        event=name,
        queue=queue,
        logged_in=logged_in,
        available=available,
        callers=callers,
        hold_time_s=hold,
        talk_time_s=talk,
        longest_hold_time_s=longest,
        at=at,
    )


_HANDLERS: dict[str, Handler] = {
    "newchannel": _newchannel,
    "newstate": _newstate,
    "dialbegin": _dial_begin,
    "dialend": _dial_end,
    "bridgeenter": _bridge_enter,
    "hangup": _hangup,
    "queuecallerjoin": _queue_join,
    "queuecallerabandon": _queue_abandon,
    "agentconnect": _agent_connect,
    "agentcomplete": _agent_complete,
    "agentringnoanswer": _agent_ring_no_answer,
    "blindtransfer": _blind_transfer,
    "attendedtransfer": _attended_transfer,
    "queuememberstatus": _member,
    "queuememberpause": _member,
    "queuememberadded": _member,
    "queuememberremoved": _member,
    "queuemember": _member,
    "userevent": _user_event,
    "queuesummary": _queue_summary,
}

"""Callbacks: the operator presses "call back" and Asterisk rings their phone, then the citizen.

The web process never talks to Asterisk. ``request_callback`` writes a ``calls`` row in
state ``requested`` in the request's transaction: that row is the job record (as an
appeal's ``received`` status is). The AMI listener, which holds the only AMI session,
claims requested rows every second (``claim_requested``, ``FOR UPDATE SKIP LOCKED``),
sends Originate through an ``AmiGateway`` and marks refusals ``failed``. A request the
listener did not pick up within ``callcenter_callback_expire_s`` (listener down) is
failed, not dialled minutes later to a citizen who no longer expects it. The call's
events (Newchannel, DialEnd, Hangup) then arrive keyed by the Uniqueid we chose
(Originate's ``ChannelId``), so a callback is recorded like any other call, and
``callback_outcome`` says how it went: the operator's phone did not answer
(OriginateResponse Failure), the citizen did not (DialEnd BUSY/NOANSWER …), or they
talked (DialEnd ANSWER).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal, Protocol

import phonenumbers
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from appeals.models import Appeal
from channels.telephony.events import STATE_RANK, CallState
from channels.telephony.models import Call, CallAppeal, CallDirection
from channels.telephony.service import citizen_for_number
from core.clock import now
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.models import Role, StaffUser
from core.phones import normalize_phone
from core.settings import Settings

CALLBACK_ROLES = frozenset({Role.OPERATOR, Role.ADMIN})


@dataclass(frozen=True)
class OriginateRequest:
    call_id: int
    uniqueid: str  # becomes the Uniqueid of the operator's channel (Originate ChannelId)
    channel: str  # the operator's interface, rung first ("PJSIP/1001")
    context: str  # the dialplan context that dials the citizen
    exten: str  # the citizen's number, E.164 digits without "+"
    caller_id: str
    timeout_s: int = 30
    variables: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OriginateResult:
    ok: bool
    reason: str | None


class AmiGateway(Protocol):
    """Who can place a call: the listener's AMI session (``AmiClient``), or a test double."""

    async def originate(self, request: OriginateRequest) -> OriginateResult: ...


def _kazakh_number(raw: str) -> str:
    """E.164, and only Kazakhstan's: 1308 calls back within the country (+7 is shared)."""
    e164 = normalize_phone(raw)
    if phonenumbers.region_code_for_number(phonenumbers.parse(e164)) != "KZ":
        raise ValidationFailed("only Kazakhstan numbers are called back", code="not_kz_number")
    return e164


def request_callback(
    session: Session,
    *,
    operator: StaffUser,
    phone_e164: str,
    appeal_id: int | None = None,
    origin_call_id: int | None = None,
) -> Call:
    """Ask the listener to connect ``operator`` with ``phone_e164``; returns the call record.

    ``appeal_id`` is the appeal the callback is about; ``origin_call_id`` the call the
    operator was on (their own, or any for an admin): the callback is linked to it.
    """
    if operator.role not in CALLBACK_ROLES:
        raise PermissionDenied("only operators place callbacks", code="callback_not_allowed")
    if not operator.sip_interface:
        raise Conflict("this operator has no phone in the call center", code="no_sip_interface")
    number = _kazakh_number(phone_e164)
    if appeal_id is not None and session.get(Appeal, appeal_id) is None:
        raise NotFound("no such appeal", code="appeal_not_found")
    if origin_call_id is not None:
        origin = session.get(Call, origin_call_id)
        theirs = origin is not None and operator.id in (origin.operator_id, origin.requested_by_id)
        if origin is None or (operator.role is not Role.ADMIN and not theirs):
            raise NotFound("no such call", code="call_not_found")
    pending = session.scalar(
        select(Call.id).where(
            Call.requested_by_id == operator.id,
            Call.state.in_([CallState.REQUESTED, CallState.ORIGINATING]),
        )
    )
    if pending is not None:
        raise Conflict("a callback is already being placed", code="callback_in_progress")
    moment = now()
    call = Call(
        uniqueid=f"civicdesk-{uuid.uuid4().hex}",
        direction=CallDirection.OUTBOUND,
        caller_e164=number,
        operator_id=operator.id,
        operator_interface=operator.sip_interface,
        requested_by_id=operator.id,
        state=CallState.REQUESTED,
        started_at=moment,
        abandoned=False,
        citizen_id=citizen_for_number(session, number),
        origin_call_id=origin_call_id,
        updated_at=moment,
    )
    call.linkedid = call.uniqueid
    session.add(call)
    session.flush()
    if appeal_id is not None:
        session.add(CallAppeal(call_id=call.id, appeal_id=appeal_id, linked_at=moment))
        session.flush()
    return call


#: An Originate is answered within its Timeout (30 s) + 5 s; a callback still
#: "originating" this long after its last change lost its events (a drop): it fails.
ORIGINATING_STUCK = timedelta(minutes=2)


def expire_stale(session: Session, *, settings: Settings) -> int:
    """Fail requests nobody sent in time (the listener was down), and callbacks whose
    Originate was answered but whose channel events never came."""
    moment = now()
    cutoff = moment - timedelta(seconds=settings.callcenter_callback_expire_s)
    stale = list(
        session.scalars(
            select(Call)
            .where(
                or_(
                    and_(Call.state == CallState.REQUESTED, Call.started_at < cutoff),
                    and_(
                        Call.state == CallState.ORIGINATING,
                        Call.updated_at < moment - ORIGINATING_STUCK,
                    ),
                )
            )
            .with_for_update(skip_locked=True)
        )
    )
    for call in stale:
        call.failure_reason = "expired" if call.state is CallState.REQUESTED else "no_events"
        call.state = CallState.FAILED
    session.flush()
    return len(stale)


def claim_requested(
    session: Session, *, settings: Settings, limit: int = 10
) -> list[OriginateRequest]:
    """Move requested callbacks to ``originating`` and say what to send (caller commits)."""
    expire_stale(session, settings=settings)
    calls = list(
        session.scalars(
            select(Call)
            .where(Call.state == CallState.REQUESTED)
            .order_by(Call.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    requests = []
    for call in calls:
        call.state = CallState.ORIGINATING
        digits = (call.caller_e164 or "").lstrip("+")
        requests.append(
            OriginateRequest(
                call_id=call.id,
                uniqueid=call.uniqueid,
                channel=call.operator_interface or "",
                context=settings.ami_callback_context,
                exten=digits,
                caller_id=f'"1308" <{digits}>',
                variables={"CIVICDESK_CALL_ID": str(call.id)},
            )
        )
    session.flush()
    return requests


def mark_failed(session: Session, *, call_id: int, reason: str) -> None:
    """A callback Asterisk did not place (or whose operator leg failed): ``failed``.

    Its Newchannel may already have moved it on (the operator's phone rang, then nobody
    answered): any state before ``connected`` still fails.
    """
    call = session.get(Call, call_id)
    if call is None:
        return
    if STATE_RANK[call.state] < STATE_RANK[CallState.CONNECTED]:
        call.state = CallState.FAILED
        call.failure_reason = reason[:120]
        session.flush()


Outcome = Literal["pending", "dialling", "connected", "done", "failed"]


@dataclass(frozen=True)
class CallbackOutcome:
    """How a callback went, for the console: ``pending`` (not sent yet), ``dialling``
    (Asterisk is ringing the operator, then the citizen), ``connected`` (they talk),
    ``done`` (they talked and hung up), ``failed`` (with ``reason``)."""

    call_id: int
    state: str
    outcome: Outcome
    reason: str | None
    talk_s: int | None

    @property
    def final(self) -> bool:
        return self.outcome in ("done", "failed")


def callback_outcome(call: Call) -> CallbackOutcome:
    outcome: Outcome
    if call.state is CallState.FAILED:
        outcome = "failed"
    elif call.answered_at is not None:
        outcome = "done" if call.state is CallState.ENDED else "connected"
    elif call.state is CallState.ENDED:
        outcome = "failed"  # hung up before the citizen answered
    elif call.state is CallState.REQUESTED:
        outcome = "pending"
    else:
        outcome = "dialling"
    reason = call.failure_reason
    if outcome == "failed" and reason is None:
        reason = "hung_up_before_answer"
    return CallbackOutcome(
        call_id=call.id,
        state=call.state.value,
        outcome=outcome,
        reason=reason if outcome == "failed" else None,
        talk_s=call.talk_s,
    )


def own_callback(session: Session, *, operator: StaffUser, call_id: int) -> Call:
    """The callback ``call_id`` if ``operator`` asked for it (an admin sees any)."""
    call = session.get(Call, call_id)
    if (
        call is None
        or call.direction is not CallDirection.OUTBOUND
        or (operator.role is not Role.ADMIN and call.requested_by_id != operator.id)
    ):
        raise NotFound("no such callback", code="call_not_found")
    return call


def get_call(session: Session, call_id: int) -> Call:
    call = session.get(Call, call_id)
    if call is None:
        raise NotFound("no such call", code="call_not_found")
    return call

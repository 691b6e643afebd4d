"""Apply call updates to the database, idempotently; link calls to citizens and appeals.

Every write only fills in what is missing, moves a call forward (``STATE_RANK``) or is
an upsert on a natural key (Uniqueid, (queue, interface), (call, operator)), so the
same AMI log applied twice leaves the same rows. Services flush; the caller commits
and only then publishes the screen-pops returned here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from appeals.models import Appeal, Citizen
from channels.telephony.events import (
    STATE_RANK,
    CallState,
    CallUpdate,
    MemberUpdate,
    RatingUpdate,
    RingUpdate,
    SummaryUpdate,
    Update,
)
from channels.telephony.models import (
    Call,
    CallAppeal,
    CallDirection,
    MissedRing,
    OperatorRating,
    QueueMember,
    QueueSnapshot,
)
from channels.telephony.screen_pop import ScreenPop
from core import stamps
from core.clock import now
from core.db import dialect_insert, table_of
from core.errors import NotFound
from core.models import StaffUser
from intake.repeats.identity import root_of

log = logging.getLogger(__name__)
OPERATOR_CACHE_S = 30.0


@dataclass
class ApplyResult:
    """What a batch did: screen-pops to publish after commit, and counts by outcome."""

    pops: list[ScreenPop] = field(default_factory=list)
    # (call, operator id, connected at), made into pops once the batch is flushed (ids known)
    connected: list[tuple[Call, int, datetime]] = field(default_factory=list)
    unlinked: list[Call] = field(default_factory=list)  # calls whose number was just learnt
    ratings: list[tuple[Call, int, int, datetime]] = field(default_factory=list)
    rings: list[tuple[Call, RingUpdate, int | None]] = field(default_factory=list)
    applied: int = 0
    no_call: int = 0  # an event about a channel that is no call of ours (an operator's leg)
    unattributed_ratings: int = 0


class OperatorDirectory:
    """Asterisk interface ("PJSIP/1001") → staff user id, cached until the ``operators``
    stamp moves (an admin changed someone's phone or deactivated them, in any process:
    ``core.stamps``, issue 20); on SQLite for ``OPERATOR_CACHE_S``."""

    def __init__(self) -> None:
        self._cache: dict[str, int | None] = {}
        self._loaded_at = 0.0
        self._version: int | None = None

    def lookup(self, session: Session, *names: str | None) -> int | None:
        version = stamps.read(session, "operators")
        stale = (
            version != self._version
            if version is not None
            else time.monotonic() - self._loaded_at > OPERATOR_CACHE_S
        )
        if stale:
            self._cache.clear()
            self._loaded_at = time.monotonic()
            self._version = version
        for name in names:
            if not name:
                continue
            if name not in self._cache:
                self._cache[name] = session.scalar(
                    select(StaffUser.id).where(
                        StaffUser.sip_interface == name, StaffUser.is_active.is_(True)
                    )
                )
            found = self._cache[name]
            if found is not None:
                return found
        return None


class CallCache:
    """The calls a batch touches, loaded in one query, so an event costs no SELECT."""

    def __init__(self) -> None:
        self.calls: dict[str, Call] = {}

    def preload(self, session: Session, updates: Sequence[Update]) -> None:
        keys: set[str] = set()
        for update in updates:
            if isinstance(update, CallUpdate | RatingUpdate | RingUpdate):
                keys.add(update.uniqueid)
                if update.linkedid:
                    keys.add(update.linkedid)
        keys -= self.calls.keys()
        ordered = sorted(keys)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            for call in session.scalars(select(Call).where(Call.uniqueid.in_(chunk))):
                self.calls[call.uniqueid] = call

    def find(self, uniqueid: str, linkedid: str | None) -> Call | None:
        call = self.calls.get(uniqueid)
        if call is None and linkedid and linkedid != uniqueid:
            call = self.calls.get(linkedid)
        return call

    def create(self, session: Session, update: CallUpdate) -> Call:
        call = Call(
            uniqueid=update.uniqueid,
            linkedid=update.linkedid or update.uniqueid,
            direction=CallDirection.INBOUND,
            state=update.state or CallState.RINGING,
            started_at=update.started_at or update.at,
            abandoned=False,
            updated_at=now(),
        )
        session.add(call)
        self.calls[call.uniqueid] = call
        return call


def _link_citizens(session: Session, calls: list[Call]) -> None:
    """Callers' citizens in one query for the batch (root of a merged identity)."""
    numbers = {call.caller_e164 for call in calls if call.caller_e164}
    if not numbers:
        return
    rows = session.execute(
        select(Citizen.phone_e164, Citizen.id, Citizen.merged_into_id).where(
            Citizen.phone_e164.in_(sorted(numbers))
        )
    ).all()
    found = {
        phone: (citizen_id if merged is None else root_of(session, citizen_id))
        for phone, citizen_id, merged in rows
    }
    for call in calls:
        if call.citizen_id is None and call.caller_e164 in found:
            call.citizen_id = found[call.caller_e164]


def _insert_ratings(session: Session, ratings: list[tuple[Call, int, int, datetime]]) -> None:
    rows: dict[tuple[int, int], dict[str, object]] = {}
    for call, operator_id, score, at in ratings:  # the first rating of a call counts
        rows.setdefault(
            (call.id, operator_id),
            {"call_id": call.id, "operator_id": operator_id, "score": score, "at": at},
        )
    if not rows:
        return
    statement = dialect_insert(session.get_bind().dialect.name, table_of(OperatorRating)).values(
        list(rows.values())
    )
    session.execute(statement.on_conflict_do_nothing(index_elements=["call_id", "operator_id"]))


def citizen_for_number(session: Session, e164: str) -> int | None:
    """The citizen (root of their merged identity) who has this number, if any."""
    citizen_id = session.scalar(select(Citizen.id).where(Citizen.phone_e164 == e164))
    return root_of(session, citizen_id) if citizen_id is not None else None


def _fill(call: Call, name: str, value: object) -> None:
    if value is not None and getattr(call, name) is None:
        setattr(call, name, value)


def _advance(call: Call, state: CallState | None) -> None:
    if state is not None and STATE_RANK[state] > STATE_RANK[call.state]:
        call.state = state


def apply_call_update(
    session: Session,
    update: CallUpdate,
    *,
    operators: OperatorDirectory,
    calls: CallCache,
    result: ApplyResult,
) -> None:
    call = calls.find(update.uniqueid, update.linkedid if update.by_linkedid else None)
    if call is None:
        if not update.create:
            result.no_call += 1
            return
        call = calls.create(session, update)
    if update.direct and call.queue is not None:
        # A queue call is answered when AgentConnect says so; its dial legs say nothing
        # more, except after a transfer: whoever picks the caller up then takes it over.
        if call.transferred_to is None or update.answered_at is None:
            result.applied += 1
            return
        update = replace(update, state=None, answered_at=None, direct=False, handover=True)
    if update.dial_status is not None:
        _dial_outcome(call, update.dial_status)
        result.applied += 1
        return
    was_answered, old_operator = call.answered_at is not None, call.operator_id
    state = update.state
    if state is CallState.IVR and call.direction is CallDirection.OUTBOUND:
        state = None  # on a callback, "Up" is the operator's phone, not an IVR
    _fill(call, "linkedid", update.linkedid)
    _fill(call, "queue", update.queue)
    _fill(call, "queued_at", update.queued_at)
    _fill(call, "answered_at", update.answered_at)
    _fill(call, "ended_at", update.ended_at)
    _fill(call, "hangup_cause", update.hangup_cause)
    _fill(call, "hangup_cause_txt", update.hangup_cause_txt)
    # Wait and talk time are the first answer's (Asterisk's HoldTime/TalkTime are the
    # authority); a transfer into another queue changes the operator, not these.
    first_queue = update.queue is None or update.queue == call.queue
    if update.wait_s is not None and first_queue and (not was_answered or call.wait_s is None):
        call.wait_s = update.wait_s
    if (
        update.talk_s is not None
        and first_queue
        and (call.transferred_to is None or call.talk_s is None)
    ):
        call.talk_s = update.talk_s
    if update.abandoned and not call.abandoned:
        call.abandoned = True
    if update.transferred_to is not None:
        call.transferred_to = update.transferred_to
    if update.caller_e164 is not None and call.caller_e164 is None:
        # Looked up once, when the number is learnt; an appeal filed later links it too.
        call.caller_e164 = update.caller_e164
        if call.citizen_id is None:
            result.unlinked.append(call)
    if update.handover:
        _hand_over(session, call, update, operators=operators, result=result)
    elif update.member_interface is not None and (update.connected or call.operator_id is None):
        operator_id = operators.lookup(session, update.member_interface, update.member_name)
        call.operator_interface = update.member_interface
        if operator_id is not None:
            call.operator_id = operator_id
    _advance(call, state)
    if call.ended_at is not None and call.answered_at is not None and call.talk_s is None:
        call.talk_s = max(0, int((call.ended_at - call.answered_at).total_seconds()))
    if call.answered_at is not None and call.wait_s is None and call.queued_at is not None:
        call.wait_s = max(0, int((call.answered_at - call.queued_at).total_seconds()))
    result.applied += 1
    if (
        update.connected
        and call.operator_id is not None
        and (not was_answered or call.operator_id != old_operator)
        and call.state is CallState.CONNECTED
    ):
        result.connected.append((call, call.operator_id, call.answered_at or update.at))


def _hand_over(
    session: Session,
    call: Call,
    update: CallUpdate,
    *,
    operators: OperatorDirectory,
    result: ApplyResult,
) -> None:
    """A transfer put the caller through to ``update.member_interface``: if that is a staff
    user's phone, the call is theirs now and their console pops; an outside line (an
    organization's number) only shows in ``transferred_to``."""
    operator_id = operators.lookup(session, update.member_interface)
    if operator_id is None or operator_id == call.operator_id:
        return
    call.operator_id = operator_id
    call.operator_interface = update.member_interface
    if STATE_RANK[call.state] < STATE_RANK[CallState.ENDED]:
        _advance(call, CallState.CONNECTED)
        result.connected.append((call, operator_id, update.at))


def _dial_outcome(call: Call, dial_status: str) -> None:
    """A callback whose citizen did not answer (BUSY, NOANSWER, CONGESTION …) failed; an
    inbound call's unanswered dial legs (a queue ringing its members) change nothing."""
    if call.direction is not CallDirection.OUTBOUND or call.answered_at is not None:
        return
    if STATE_RANK[call.state] >= STATE_RANK[CallState.ENDED]:
        return
    call.state = CallState.FAILED
    call.failure_reason = f"dial_{dial_status.lower()}"[:120]


def apply_member_update(
    session: Session, update: MemberUpdate, *, operators: OperatorDirectory
) -> None:
    operator_id = operators.lookup(session, update.interface, update.member_name)
    values: dict[str, object] = {
        "queue": update.queue,
        "interface": update.interface,
        "operator_id": operator_id,
        "logged_in": update.logged_in,
        "status": update.status if update.status is not None else 0,
        "paused": bool(update.paused),
        "in_call": bool(update.in_call),
        "updated_at": update.at,
    }
    changes: dict[str, object] = {
        "operator_id": operator_id,
        "logged_in": update.logged_in,
        "updated_at": update.at,
    }
    for name in ("status", "paused", "in_call"):
        if getattr(update, name) is not None:
            changes[name] = values[name]
    statement = dialect_insert(session.get_bind().dialect.name, table_of(QueueMember)).values(
        **values
    )
    session.execute(
        statement.on_conflict_do_update(index_elements=["queue", "interface"], set_=changes)
    )


def apply_summary(session: Session, update: SummaryUpdate) -> None:
    values = {
        "queue": update.queue,
        "logged_in": update.logged_in,
        "available": update.available,
        "callers": update.callers,
        "hold_time_s": update.hold_time_s,
        "talk_time_s": update.talk_time_s,
        "longest_hold_time_s": update.longest_hold_time_s,
        "at": update.at,
    }
    statement = dialect_insert(session.get_bind().dialect.name, table_of(QueueSnapshot)).values(
        **values
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["queue"], set_={k: v for k, v in values.items() if k != "queue"}
        )
    )


def apply_rating(
    session: Session,
    update: RatingUpdate,
    *,
    operators: OperatorDirectory,
    calls: CallCache,
    result: ApplyResult,
) -> None:
    call = calls.find(update.uniqueid, update.linkedid)
    if call is None:
        result.no_call += 1
        return
    operator_id = operators.lookup(session, update.member_interface) or call.operator_id
    if operator_id is None:  # the interface may have been given to a staff user since
        operator_id = operators.lookup(session, call.operator_interface)
    if operator_id is None:
        result.unattributed_ratings += 1
        log.info("operator rating for call %s has no operator; not stored", call.id)
        return
    result.ratings.append((call, operator_id, update.score, update.at))
    result.applied += 1


def apply_ring(
    session: Session,
    update: RingUpdate,
    *,
    operators: OperatorDirectory,
    calls: CallCache,
    result: ApplyResult,
) -> None:
    call = calls.find(update.uniqueid, update.linkedid)
    if call is None:
        result.no_call += 1
        return
    operator_id = operators.lookup(session, update.interface, update.member_name)
    result.rings.append((call, update, operator_id))
    result.applied += 1


def _insert_rings(session: Session, rings: list[tuple[Call, RingUpdate, int | None]]) -> None:
    rows: dict[tuple[int, str, datetime], dict[str, object]] = {}
    for call, ring, operator_id in rings:
        rows.setdefault(
            (call.id, ring.interface, ring.at),
            {
                "call_id": call.id,
                "queue": ring.queue or call.queue,
                "interface": ring.interface,
                "operator_id": operator_id,
                "ring_s": ring.ring_s,
                "at": ring.at,
            },
        )
    if not rows:
        return
    statement = dialect_insert(session.get_bind().dialect.name, table_of(MissedRing)).values(
        list(rows.values())
    )
    session.execute(statement.on_conflict_do_nothing(index_elements=["call_id", "interface", "at"]))


def apply_updates(
    session: Session, updates: Iterable[Update], *, operators: OperatorDirectory
) -> ApplyResult:
    """Apply a batch in order; returns the screen-pops due once the caller has committed."""
    result = ApplyResult()
    batch = list(updates)
    calls = CallCache()
    with session.no_autoflush:
        calls.preload(session, batch)
        for update in batch:
            if isinstance(update, CallUpdate):
                apply_call_update(session, update, operators=operators, calls=calls, result=result)
            elif isinstance(update, MemberUpdate):
                apply_member_update(session, update, operators=operators)
                result.applied += 1
            elif isinstance(update, RatingUpdate):
                apply_rating(session, update, operators=operators, calls=calls, result=result)
            elif isinstance(update, RingUpdate):
                apply_ring(session, update, operators=operators, calls=calls, result=result)
            else:
                apply_summary(session, update)
                result.applied += 1
    _link_citizens(session, result.unlinked)
    session.flush()
    _insert_ratings(session, result.ratings)
    _insert_rings(session, result.rings)
    result.pops = [
        ScreenPop(
            call_id=call.id,
            uniqueid=call.uniqueid,
            caller_e164=call.caller_e164,
            queue=call.queue,
            operator_id=operator_id,
            connected_at=connected_at,
        )
        for call, operator_id, connected_at in result.connected
    ]
    return result


# --- what the console and the API call -------------------------------------------------


def link_call_to_appeal(session: Session, *, call_id: int, appeal_id: int) -> CallAppeal:
    """Record that the operator filed ``appeal_id`` during or after ``call_id`` (idempotent).

    A call with no citizen yet takes the appeal's citizen (an operator often learns who
    is calling only while filling in the form).
    """
    call = session.get(Call, call_id)
    if call is None:
        raise NotFound("no such call", code="call_not_found")
    appeal = session.get(Appeal, appeal_id)
    if appeal is None:
        raise NotFound("no such appeal", code="appeal_not_found")
    existing = session.scalars(
        select(CallAppeal).where(CallAppeal.call_id == call_id, CallAppeal.appeal_id == appeal_id)
    ).first()
    if existing is not None:
        return existing
    link = CallAppeal(call_id=call_id, appeal_id=appeal_id, linked_at=now())
    session.add(link)
    if call.citizen_id is None and appeal.citizen_id is not None:
        call.citizen_id = root_of(session, appeal.citizen_id)
    session.flush()
    return link


def appeals_of_call(session: Session, call_id: int) -> list[int]:
    return list(
        session.scalars(
            select(CallAppeal.appeal_id)
            .where(CallAppeal.call_id == call_id)
            .order_by(CallAppeal.appeal_id)
        )
    )


def rating_and_missed_rings(session: Session, call_id: int) -> tuple[int | None, int]:
    """The caller's IVR rating of the call (None if not rated) and the rings it missed."""
    rating = session.scalar(select(OperatorRating.score).where(OperatorRating.call_id == call_id))
    missed = session.scalar(
        select(func.count()).select_from(MissedRing).where(MissedRing.call_id == call_id)
    )
    return rating, int(missed or 0)


def current_call_of(
    session: Session, operator_id: int, *, max_age: timedelta = timedelta(hours=2)
) -> Call | None:
    """The call the operator is talking on now (the console's incoming-call panel).

    A "connected" call answered longer than ``max_age`` ago is a Hangup we never heard
    (the listener was down), not a call: a console reload must not show it forever.
    """
    return session.scalars(
        select(Call)
        .where(
            Call.operator_id == operator_id,
            Call.state == CallState.CONNECTED,
            Call.answered_at >= now() - max_age,
        )
        .order_by(Call.answered_at.desc(), Call.id.desc())
        .limit(1)
    ).first()


def list_calls(
    session: Session,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    queue: str | None = None,
    operator_id: int | None = None,
    citizen_id: int | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[Call]:
    query = select(Call)
    if start is not None:
        query = query.where(Call.started_at >= start)
    if end is not None:
        query = query.where(Call.started_at < end)
    if queue is not None:
        query = query.where(Call.queue == queue)
    if operator_id is not None:
        query = query.where(
            or_(Call.operator_id == operator_id, Call.requested_by_id == operator_id)
        )
    if citizen_id is not None:
        query = query.where(Call.citizen_id == citizen_id)
    if before_id is not None:
        query = query.where(Call.id < before_id)
    return list(session.scalars(query.order_by(Call.id.desc()).limit(max(1, min(limit, 500)))))

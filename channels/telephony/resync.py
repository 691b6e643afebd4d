"""Resync after each (re)login: what Asterisk says now beats what we last heard.

Events sent while the listener was disconnected are lost for good (AMI does not replay
them). So after every login the listener asks for ``CoreShowChannels`` (every live
channel) and ``QueueStatus`` (every queue member) and applies them here, in the event
queue's order: calls we think are live whose channels are gone are ended, members the
queue no longer lists are logged out, listed members are upserted.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from channels.telephony.events import ID_LENGTH, CallState, MemberUpdate, interpret
from channels.telephony.models import Call, QueueMember
from channels.telephony.service import OperatorDirectory, apply_member_update
from core.clock import now


@dataclass(frozen=True)
class Snapshot:
    """What Asterisk listed right after a login (lower-cased keys, as events are)."""

    asked_at: datetime  # when CoreShowChannels was sent: rows touched later are newer
    channels: Sequence[Mapping[str, str]] = field(default_factory=list)
    queue_status: Sequence[Mapping[str, str]] | None = None  # None: QueueStatus did not answer


@dataclass
class ResyncResult:
    calls_closed: int = 0
    members_listed: int = 0
    members_logged_out: int = 0


def apply_snapshot(
    session: Session, snapshot: Snapshot, *, operators: OperatorDirectory
) -> ResyncResult:
    result = ResyncResult()
    # Cut as events are (``events.fit``), so a long Uniqueid still matches its row.
    uniqueids = {str(c.get("uniqueid", ""))[:ID_LENGTH] for c in snapshot.channels}
    linkedids = {str(c.get("linkedid", ""))[:ID_LENGTH] for c in snapshot.channels}
    result.calls_closed = close_gone_calls(
        session, uniqueids=uniqueids, linkedids=linkedids, asked_at=snapshot.asked_at
    )
    if snapshot.queue_status is not None:
        members = list(_members(snapshot.queue_status, snapshot.asked_at))
        for member in members:
            apply_member_update(session, member, operators=operators)
        queues = {
            str(item.get("queue"))
            for item in snapshot.queue_status
            if item.get("event", "").lower() == "queueparams" and item.get("queue")
        }
        result.members_listed = len(members)
        result.members_logged_out = log_out_unlisted_members(
            session, listed={(m.queue, m.interface) for m in members}, queues=queues
        )
    session.flush()
    return result


def _members(items: Iterable[Mapping[str, str]], at: datetime) -> Iterable[MemberUpdate]:
    for item in items:
        if item.get("event", "").lower() != "queuemember":
            continue
        outcome = interpret(item, received_at=at)  # strings already cut to their columns
        if isinstance(outcome, MemberUpdate):
            yield outcome


#: What a call closed on resync says in ``hangup_cause_txt`` (no Hangup was heard).
GONE_AT_RESYNC = "gone at AMI resync"
#: States of calls a resync checks against Asterisk's channels. Callbacks still being
#: placed (requested, originating) are the dispatcher's to fail.
LIVE_STATES = (CallState.RINGING, CallState.IVR, CallState.QUEUED, CallState.CONNECTED)


def close_gone_calls(
    session: Session,
    *,
    uniqueids: Collection[str],
    linkedids: Collection[str],
    asked_at: datetime,
) -> int:
    """After a (re)login: end the calls we think are live whose channels Asterisk no
    longer has (their Hangup came while we were disconnected). A call touched after
    ``asked_at`` (the CoreShowChannels request) is left alone: it is newer than the list.
    Wait and talk times stay unknown rather than guessed."""
    alive = set(uniqueids) | set(linkedids)
    candidates = session.execute(
        select(Call.id, Call.uniqueid, Call.linkedid).where(
            Call.state.in_(LIVE_STATES), Call.updated_at < asked_at
        )
    ).all()
    gone = [
        call_id
        for call_id, uniqueid, linkedid in candidates
        if uniqueid not in alive and (linkedid or uniqueid) not in alive
    ]
    for start in range(0, len(gone), 500):
        session.execute(
            sql_update(Call)
            .where(Call.id.in_(gone[start : start + 500]))
            .values(
                state=CallState.ENDED,
                ended_at=asked_at,
                hangup_cause_txt=GONE_AT_RESYNC,
                updated_at=now(),
            )
            .execution_options(synchronize_session=False)
        )
    session.flush()
    return len(gone)


def log_out_unlisted_members(
    session: Session, *, listed: Collection[tuple[str, str]], queues: Collection[str]
) -> int:
    """After a QueueStatus: members of the listed queues that it did not list have left
    (a QueueMemberRemoved we missed)."""
    if not queues:
        return 0
    rows = session.execute(
        select(QueueMember.id, QueueMember.queue, QueueMember.interface).where(
            QueueMember.queue.in_(sorted(queues)), QueueMember.logged_in.is_(True)
        )
    ).all()
    stale = [row_id for row_id, queue, interface in rows if (queue, interface) not in listed]
    if stale:
        session.execute(
            sql_update(QueueMember)
            .where(QueueMember.id.in_(stale))
            .values(logged_in=False, updated_at=now())
            .execution_options(synchronize_session=False)
        )
    return len(stale)

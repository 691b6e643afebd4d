"""Queue metrics, live and per hour/day, computed from call records (and QueueSummary).

Definitions (docs/call-center.md), over inbound calls that entered a queue in the period:
- offered: calls that joined a queue; answered: connected to an operator; abandoned: the
  caller hung up while waiting (QueueCallerAbandon); abandonment rate = abandoned / offered;
- service level = answered within ``callcenter_service_level_s`` (20 s) / offered;
- ASA (average speed of answer) = mean wait of answered calls;
- AHT (average handling time) = mean talk time of answered calls that finished
  (Asterisk reports no wrap-up time, so AHT here is talk time).
- missed rings: AgentRingNoAnswer, the queue rang an operator who did not answer (per
  period by the ring's time, and per operator in ``operator_stats``).
Periods are cut at Almaty's hours and midnights. Operators logged in/available for one
queue come from its last QueueSummary when it is fresh, else from the QueueMember*
events; across queues always from the members, counted once per interface (an operator
in two queues is one operator, which summing QueueSummary would count twice).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from channels.telephony.events import CallState
from channels.telephony.models import (
    Call,
    CallDirection,
    MissedRing,
    OperatorRating,
    QueueMember,
    QueueSnapshot,
)
from core.clock import local, now
from core.errors import ValidationFailed
from core.settings import Settings, get_settings

Bucket = Literal["hour", "day"]
MAX_BUCKETS = 24 * 93  # a quarter of hourly buckets
WAITING_HORIZON = timedelta(hours=4)  # a "queued" row older than this is a lost Hangup


@dataclass
class _Tally:
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    within_sl: int = 0
    wait_sum: int = 0
    wait_n: int = 0
    talk_sum: int = 0
    talk_n: int = 0
    missed_rings: int = 0

    def add(self, row: Any, service_level_s: int) -> None:
        self.offered += 1
        if row.abandoned:
            self.abandoned += 1
        if row.answered_at is not None:
            self.answered += 1
            wait = row.wait_s if row.wait_s is not None else 0
            self.wait_sum += wait
            self.wait_n += 1
            if wait <= service_level_s:
                self.within_sl += 1
            if row.talk_s is not None and row.ended_at is not None:
                self.talk_sum += row.talk_s
                self.talk_n += 1

    def as_dict(self) -> dict[str, Any]:
        def ratio(part: int, whole: int) -> float | None:
            return round(part / whole, 4) if whole else None

        return {
            "offered": self.offered,
            "answered": self.answered,
            "abandoned": self.abandoned,
            "abandonment_rate": ratio(self.abandoned, self.offered),
            "answered_within_sl": self.within_sl,
            "service_level": ratio(self.within_sl, self.offered),
            "asa_s": round(self.wait_sum / self.wait_n, 1) if self.wait_n else None,
            "aht_s": round(self.talk_sum / self.talk_n, 1) if self.talk_n else None,
            "missed_rings": self.missed_rings,
        }


def _floor(moment: datetime, bucket: Bucket) -> datetime:
    wall = local(moment)
    if bucket == "hour":
        return wall.replace(minute=0, second=0, microsecond=0)
    return wall.replace(hour=0, minute=0, second=0, microsecond=0)


def _next(start: datetime, bucket: Bucket) -> datetime:
    if bucket == "hour":
        return local(start + timedelta(hours=1))
    return local(start + timedelta(days=1, hours=2)).replace(hour=0)  # safe across DST


def _rows(session: Session, start: datetime, end: datetime, queue: str | None) -> Sequence[Any]:
    query = select(
        Call.queued_at, Call.answered_at, Call.ended_at, Call.wait_s, Call.talk_s, Call.abandoned
    ).where(
        Call.direction == CallDirection.INBOUND,
        Call.queued_at.is_not(None),
        Call.queued_at >= start,
        Call.queued_at < end,
    )
    if queue is not None:
        query = query.where(Call.queue == queue)
    return session.execute(query).all()


def queue_metrics(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    bucket: Bucket = "hour",
    queue: str | None = None,
    settings: Settings | None = None,
) -> list[dict[str, Any]]:
    """One dict per hour or Almaty day from ``start`` to ``end`` (empty periods included)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValidationFailed("start and end need a time zone", code="naive_datetime")
    if bucket not in ("hour", "day"):
        raise ValidationFailed("bucket is hour or day", code="invalid_bucket")
    if end <= start:
        raise ValidationFailed("end must be after start", code="invalid_period")
    service_level_s = (settings or get_settings()).callcenter_service_level_s
    tallies: dict[datetime, _Tally] = {}
    cursor = _floor(start, bucket)
    while cursor < end:
        tallies[cursor] = _Tally()
        if len(tallies) > MAX_BUCKETS:
            raise ValidationFailed("the period has too many buckets", code="period_too_long")
        cursor = _next(cursor, bucket)
    for row in _rows(session, start, end, queue):
        tally = tallies.get(_floor(row.queued_at, bucket))
        if tally is not None:
            tally.add(row, service_level_s)
    rings = select(MissedRing.at).where(MissedRing.at >= start, MissedRing.at < end)
    if queue is not None:
        rings = rings.where(MissedRing.queue == queue)
    for (at,) in session.execute(rings):
        tally = tallies.get(_floor(at, bucket))
        if tally is not None:
            tally.missed_rings += 1
    return [
        {"bucket": bucket, "start": moment.isoformat(), "queue": queue} | tally.as_dict()
        for moment, tally in tallies.items()
    ]


def _operators(
    session: Session, queue: str | None, settings: Settings, moment: datetime
) -> dict[str, Any]:
    fresh_after = moment - timedelta(seconds=3 * settings.ami_queue_summary_interval_s + 10)
    snapshots = session.scalars(
        select(QueueSnapshot).where(
            QueueSnapshot.at >= fresh_after,
            *([QueueSnapshot.queue == queue] if queue is not None else []),
        )
    ).all()
    members = session.scalars(
        select(QueueMember).where(
            QueueMember.logged_in.is_(True),
            *([QueueMember.queue == queue] if queue is not None else []),
        )
    ).all()
    # One operator is one interface, however many queues they are in.
    logged_in = {m.interface for m in members}
    available = {m.interface for m in members if not m.paused and not m.in_call and m.status == 1}
    asterisk = {
        "callers_waiting_asterisk": sum(s.callers for s in snapshots) if snapshots else None,
        "longest_hold_time_s": max(s.longest_hold_time_s for s in snapshots) if snapshots else None,
        "at": max(s.at for s in snapshots).isoformat() if snapshots else None,
    }
    if len(snapshots) == 1 and {m.queue for m in members} <= {snapshots[0].queue}:
        # One queue's own count is exact; summing several would count shared members twice.
        return {
            "source": "queue_summary",
            "logged_in": snapshots[0].logged_in,
            "available": snapshots[0].available,
        } | asterisk
    if snapshots and not members:
        # Several queues and no member events yet: the largest queue is a lower bound.
        return {
            "source": "queue_summary_max",
            "logged_in": max(s.logged_in for s in snapshots),
            "available": max(s.available for s in snapshots),
        } | asterisk
    return {
        "source": "member_events",
        "logged_in": len(logged_in),
        "available": len(available),
    } | asterisk


def live_metrics(
    session: Session, *, queue: str | None = None, settings: Settings | None = None
) -> dict[str, Any]:
    """The console header: today so far (Almaty), who is waiting now, operators now."""
    settings = settings or get_settings()
    moment = now()
    midnight = _floor(moment, "day")
    today = queue_metrics(
        session,
        start=midnight,
        end=moment + timedelta(seconds=1),
        bucket="day",
        queue=queue,
        settings=settings,
    )[0]
    waiting_query = select(func.count(), func.min(Call.queued_at)).where(
        Call.state == CallState.QUEUED, Call.queued_at >= moment - WAITING_HORIZON
    )
    talking_query = select(func.count()).where(
        Call.state == CallState.CONNECTED, Call.answered_at >= moment - WAITING_HORIZON
    )
    if queue is not None:
        waiting_query = waiting_query.where(Call.queue == queue)
        talking_query = talking_query.where(Call.queue == queue)
    waiting, oldest = session.execute(waiting_query).one()
    talking = session.scalar(talking_query) or 0
    figures = {key: value for key, value in today.items() if key not in ("bucket", "queue")}
    operators = _operators(session, queue, settings, moment)
    # Flat keys for the console header; "today" and "operators" keep the full picture.
    return figures | {
        "queue": queue,
        "at": moment.isoformat(),
        "service_level_s": settings.callcenter_service_level_s,
        "today": figures,
        "waiting": int(waiting or 0),
        "longest_wait_s": int((moment - oldest).total_seconds()) if oldest is not None else 0,
        "talking": int(talking),
        "logged_in": operators["logged_in"],
        "available": operators["available"],
        "operators": operators,
    }


def operator_stats(
    session: Session, *, start: datetime, end: datetime, operator_id: int | None = None
) -> list[dict[str, Any]]:
    """Per operator over a period: calls answered, rings missed (AgentRingNoAnswer),
    ratings given in the IVR, their average and the satisfaction index (4–5 / all × 100)."""
    rows: dict[int, dict[str, Any]] = {}

    def line(operator: int) -> dict[str, Any]:
        return rows.setdefault(
            operator,
            {
                "operator_id": operator,
                "answered": 0,
                "missed_rings": 0,
                "ratings": 0,
                "average": None,
                "satisfaction_index": None,
            },
        )

    only = operator_id is not None
    answered = (
        select(Call.operator_id, func.count())
        .where(
            Call.operator_id.is_not(None),
            Call.answered_at >= start,
            Call.answered_at < end,
            *([Call.operator_id == operator_id] if only else []),
        )
        .group_by(Call.operator_id)
    )
    for operator, count in session.execute(answered):
        if operator is not None:
            line(operator)["answered"] = int(count)
    missed = (
        select(MissedRing.operator_id, func.count())
        .where(
            MissedRing.operator_id.is_not(None),
            MissedRing.at >= start,
            MissedRing.at < end,
            *([MissedRing.operator_id == operator_id] if only else []),
        )
        .group_by(MissedRing.operator_id)
    )
    for operator, count in session.execute(missed):
        if operator is not None:
            line(operator)["missed_rings"] = int(count)
    for rating in operator_ratings(session, start=start, end=end, operator_id=operator_id):
        line(rating["operator_id"]).update(rating)
    return [rows[key] for key in sorted(rows)]


def operator_ratings(
    session: Session, *, start: datetime, end: datetime, operator_id: int | None = None
) -> list[dict[str, Any]]:
    """Per rated operator over a period: IVR ratings, their average and the satisfaction
    index (ratings of 4 and 5 / all ratings × 100), by operator id."""
    satisfied = func.sum(case((OperatorRating.score >= 4, 1), else_=0))
    rated = (
        select(OperatorRating.operator_id, func.count(), func.avg(OperatorRating.score), satisfied)
        .where(
            OperatorRating.at >= start,
            OperatorRating.at < end,
            *([OperatorRating.operator_id == operator_id] if operator_id is not None else []),
        )
        .group_by(OperatorRating.operator_id)
        .order_by(OperatorRating.operator_id)
    )
    return [
        {
            "operator_id": int(operator),
            "ratings": int(count),
            "average": round(float(average), 2),
            "satisfaction_index": round(100 * int(happy or 0) / int(count), 1),
        }
        for operator, count, average, happy in session.execute(rated)
    ]

"""The call-center supervisors' view: operators' IVR ratings beside their work, per operator
and per queue, over a period.

It joins three rooms, so it lives in the shell: the IVR ratings and calls of
``channels.telephony``, and the quick-answer share of the appeals the operators filed
(``knowledge_base.share``, the KPI's one definition).
Per operator: the callers' ratings (1–5), their average and the satisfaction index
(4–5 ÷ all × 100, with Wilson's 95 % interval), calls handled, missed rings, AHT (talk
time of finished answered calls, as docs/call-center.md defines it) and the quick-answer
share of the appeals they filed. Per queue: calls offered and answered, AHT and the ratings
of calls that came through it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from channels.telephony.metrics import operator_stats
from channels.telephony.models import Call, CallDirection, OperatorRating
from core.models import StaffUser
from knowledge_base.share import quick_answer_share
from ratings.methodology import pct, wilson

SATISFIED = 4


def _index(satisfied: int, ratings: int) -> dict[str, Any]:
    low, high = wilson(satisfied, ratings)
    return {
        "ratings": ratings,
        "satisfied": satisfied,
        "index": round(100 * satisfied / ratings, 1) if ratings else None,
        "ci_low": pct(low) if ratings else None,
        "ci_high": pct(high) if ratings else None,
    }


def _aht_by_operator(session: Session, start: datetime, stop: datetime) -> dict[int, float]:
    query = (
        select(Call.operator_id, func.avg(Call.talk_s))
        .where(
            Call.operator_id.is_not(None),
            Call.answered_at >= start,
            Call.answered_at < stop,
            Call.talk_s.is_not(None),
            Call.ended_at.is_not(None),
        )
        .group_by(Call.operator_id)
    )
    return {int(op): round(float(avg), 1) for op, avg in session.execute(query) if avg is not None}


def _satisfied_by_operator(session: Session, start: datetime, stop: datetime) -> dict[int, int]:
    query = (
        select(OperatorRating.operator_id, func.count())
        .where(
            OperatorRating.at >= start,
            OperatorRating.at < stop,
            OperatorRating.score >= SATISFIED,
        )
        .group_by(OperatorRating.operator_id)
    )
    return {int(op): int(n) for op, n in session.execute(query)}


def _quick_answers(
    session: Session, *, start: datetime, stop: datetime, by_operator: bool
) -> dict[str, dict[str, Any]]:
    """The quick-answer share over the whole period, per operator (by user id) or in all."""
    totals: dict[str, list[int]] = {}
    for row in quick_answer_share(
        session, start=start, stop=stop, period="week", by="operator" if by_operator else "total"
    ):
        total = totals.setdefault(row["key"], [0, 0])
        total[0] += row["appeals"]
        total[1] += row["quick_answered"]
    return {
        key: {
            "appeals": appeals,
            "quick_answered": quick,
            "share": round(100 * quick / appeals, 1) if appeals else None,
        }
        for key, (appeals, quick) in totals.items()
    }


NO_APPEALS: dict[str, Any] = {"appeals": 0, "quick_answered": 0, "share": None}


def operators(
    session: Session, *, start: datetime, stop: datetime, operator_id: int | None = None
) -> list[dict[str, Any]]:
    """One row per operator with calls, ratings or filed appeals in ``[start, stop)``."""
    stats = {row["operator_id"]: row for row in operator_stats(session, start=start, end=stop)}
    aht = _aht_by_operator(session, start, stop)
    satisfied = _satisfied_by_operator(session, start, stop)
    filed = {
        int(key): value
        for key, value in _quick_answers(session, start=start, stop=stop, by_operator=True).items()
    }
    ids = set(stats) | set(filed)
    if operator_id is not None:
        ids &= {operator_id}
    people = {
        user.id: user for user in session.scalars(select(StaffUser).where(StaffUser.id.in_(ids)))
    }
    rows = []
    for user_id in ids:
        line = stats.get(user_id, {})
        ratings = int(line.get("ratings", 0))
        user = people.get(user_id)
        rows.append(
            {
                "operator_id": user_id,
                "username": user.username if user else None,
                "full_name": user.full_name if user else None,
                "calls_handled": int(line.get("answered", 0)),
                "missed_rings": int(line.get("missed_rings", 0)),
                "aht_s": aht.get(user_id),
                "average": line.get("average"),
                **_index(satisfied.get(user_id, 0), ratings),
                "quick_answers": filed.get(user_id, NO_APPEALS),
            }
        )
    rows.sort(key=lambda r: (-(r["index"] or 0), -r["ratings"], str(r["username"])))
    return rows


def queues(session: Session, *, start: datetime, stop: datetime) -> list[dict[str, Any]]:
    """Per queue: inbound calls offered and answered, AHT and the ratings of its calls."""
    answered = Call.answered_at.is_not(None)
    finished = answered & Call.talk_s.is_not(None) & Call.ended_at.is_not(None)
    calls = (
        select(
            Call.queue,
            func.count(),
            func.sum(case((answered, 1), else_=0)),
            func.avg(case((finished, Call.talk_s), else_=None)),
        )
        .where(
            Call.direction == CallDirection.INBOUND,
            Call.queued_at >= start,
            Call.queued_at < stop,
            Call.queue.is_not(None),
        )
        .group_by(Call.queue)
    )
    rows: dict[str, dict[str, Any]] = {}
    for queue, offered, handled, aht in session.execute(calls):
        rows[queue] = {
            "queue": queue,
            "offered": int(offered),
            "answered": int(handled or 0),
            "aht_s": round(float(aht), 1) if aht is not None else None,
        }
    rated = (
        select(
            Call.queue,
            func.count(),
            func.sum(case((OperatorRating.score >= SATISFIED, 1), else_=0)),
            func.avg(OperatorRating.score),
        )
        .join(Call, Call.id == OperatorRating.call_id)
        .where(OperatorRating.at >= start, OperatorRating.at < stop, Call.queue.is_not(None))
        .group_by(Call.queue)
    )
    ratings: dict[str, tuple[int, int, float]] = {
        queue: (int(n), int(good or 0), float(avg))
        for queue, n, good, avg in session.execute(rated)
    }
    for queue in set(rows) | set(ratings):
        line = rows.setdefault(queue, {"queue": queue, "offered": 0, "answered": 0, "aht_s": None})
        n, good, average = ratings.get(queue, (0, 0, 0.0))
        line.update(_index(good, n))
        line["average"] = round(average, 2) if n else None
    return sorted(rows.values(), key=lambda r: str(r["queue"]))


def supervisor_view(
    session: Session, *, start: datetime, stop: datetime, operator_id: int | None = None
) -> dict[str, Any]:
    """Everything the supervisors' page and API show (one operator's own row for an operator)."""
    rows = operators(session, start=start, stop=stop, operator_id=operator_id)
    ratings = sum(r["ratings"] for r in rows)
    satisfied = sum(r["satisfied"] for r in rows)
    handled = sum(r["calls_handled"] for r in rows)
    return {
        "operators": rows,
        "queues": [] if operator_id is not None else queues(session, start=start, stop=stop),
        "total": {"calls_handled": handled, **_index(satisfied, ratings)},
        "quick_answers": _quick_answers(session, start=start, stop=stop, by_operator=False).get(
            "all", NO_APPEALS
        ),
    }

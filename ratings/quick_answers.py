"""The quick-answer share (the city's KPI: 58 % → 66 % in 2023–2026), from the appeals.

Share = appeals answered on the spot (``quick_answered``) ÷ appeals received, over the
period's receipts, per operator who filed them (``submitted_by_id``) and per channel. A
small stand-in computed from the appeals themselves: the knowledge base's own figure (issue
15), where it exists, counts the same thing from its side.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from appeals.lifecycle import Status
from appeals.models import Appeal, Channel


def _share(quick: int, total: int) -> float | None:
    return round(100 * quick / total, 1) if total else None


def quick_answer_share(
    session: Session, *, start: datetime, stop: datetime, channel: Channel | None = None
) -> dict[str, Any]:
    """Over appeals received in ``[start, stop)`` (of one channel, or all)."""
    quick = func.sum(case((Appeal.status == Status.QUICK_ANSWERED, 1), else_=0))
    query = select(func.count(), quick).where(
        Appeal.received_at >= start, Appeal.received_at < stop
    )
    if channel is not None:
        query = query.where(Appeal.channel == channel)
    total, answered = session.execute(query).one()
    total, answered = int(total or 0), int(answered or 0)
    return {"appeals": total, "quick_answered": answered, "share": _share(answered, total)}


def by_operator(session: Session, *, start: datetime, stop: datetime) -> dict[int, dict[str, Any]]:
    """Per staff member who filed appeals in ``[start, stop)`` (the operators' form)."""
    quick = func.sum(case((Appeal.status == Status.QUICK_ANSWERED, 1), else_=0))
    query = (
        select(Appeal.submitted_by_id, func.count(), quick)
        .where(
            Appeal.received_at >= start,
            Appeal.received_at < stop,
            Appeal.submitted_by_id.is_not(None),
        )
        .group_by(Appeal.submitted_by_id)
    )
    return {
        int(user): {
            "appeals": int(total),
            "quick_answered": int(answered or 0),
            "share": _share(int(answered or 0), int(total)),
        }
        for user, total, answered in session.execute(query)
    }

"""The quick-answer share: appeals and calls answered on the spot ÷ all appeals received.

The city's KPI (58 % in 2023 → 66 % in 2026). An appeal counts as answered on the spot
when its history has the step to ``quick_answered`` (a later reopening does not undo the
fact that the citizen got an answer at once); ``with_article`` counts those where the
answer came from a knowledge-base article (an operator's insert or a bot's answer, in
``kb_pairs``). Days and weeks are Almaty's (weeks start on Monday). Per channel, and per
operator: the staff member who filed the appeal (the console's form). Ratings (#16) and
analytics (#17) may call :func:`quick_answer_share`; the console header shows today's.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from appeals.lifecycle import Status
from appeals.models import Appeal, AppealStatusChange
from core.clock import local
from knowledge_base.models import Pair

Period = Literal["day", "week"]
By = Literal["total", "channel", "operator"]


def _period_start(moment: datetime, period: Period) -> date:
    day = local(moment).date()
    return day - timedelta(days=day.weekday()) if period == "week" else day


def quick_answer_share(
    session: Session,
    *,
    start: datetime,
    stop: datetime,
    period: Period = "day",
    by: By = "total",
    operator_id: int | None = None,
) -> list[dict[str, Any]]:
    """Rows ``{period, key, appeals, quick_answered, with_article, share}`` over appeals
    received in ``[start, stop)``, one per period (and channel or operator), oldest first;
    ``share`` in percent (None with no appeals)."""
    quick = exists().where(
        AppealStatusChange.appeal_id == Appeal.id,
        AppealStatusChange.to_status == Status.QUICK_ANSWERED,
    )
    with_article = exists().where(Pair.appeal_id == Appeal.id)
    query = select(
        Appeal.received_at,
        Appeal.channel,
        Appeal.submitted_by_id,
        quick.label("quick"),
        with_article.label("with_article"),
    ).where(Appeal.received_at >= start, Appeal.received_at < stop)
    if operator_id is not None:
        query = query.where(Appeal.submitted_by_id == operator_id)
    counts: dict[tuple[date, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for received_at, channel, submitted_by, was_quick, had_article in session.execute(query):
        if by == "channel":
            key = str(channel.value if hasattr(channel, "value") else channel)
        elif by == "operator":
            if submitted_by is None:
                continue
            key = str(submitted_by)
        else:
            key = "all"
        row = counts[(_period_start(received_at, period), key)]
        row[0] += 1
        row[1] += bool(was_quick)
        row[2] += bool(was_quick and had_article)
    return [
        {
            "period": day.isoformat(),
            "key": key,
            "appeals": total,
            "quick_answered": answered,
            "with_article": from_kb,
            "share": round(100 * answered / total, 1) if total else None,
        }
        for (day, key), (total, answered, from_kb) in sorted(counts.items())
    ]


def today_share(
    session: Session, *, now_at: datetime, operator_id: int | None = None
) -> dict[str, Any]:
    """Today's figure (Almaty's day) for the console header: all, or one operator's."""
    day_start = local(now_at).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = quick_answer_share(
        session, start=day_start, stop=day_start + timedelta(days=1), operator_id=operator_id
    )
    if not rows:
        return {"appeals": 0, "quick_answered": 0, "with_article": 0, "share": None}
    return {key: rows[0][key] for key in ("appeals", "quick_answered", "with_article", "share")}

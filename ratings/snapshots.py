"""Stored tables of closed periods, and the one way the pages and the API get a table.

A closed week, month, quarter or year is read from its snapshot once the worker stored it;
until then (and for the current or a custom period) the table is computed on the spot and
says so (``snapshot: false``, ``final`` whether the period had ended).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import local, now
from core.db import dialect_insert, table_of
from ratings import ranking
from ratings.methodology import Methodology
from ratings.models import RankingSnapshot
from ratings.periods import CLOSING_KINDS, Period, PeriodKind, last_closed


def load(session: Session, period: Period) -> dict[str, Any] | None:
    """The stored table of ``period``, or None."""
    if period.kind is PeriodKind.CUSTOM:
        return None
    stored = session.scalar(
        select(RankingSnapshot.table).where(
            RankingSnapshot.period_kind == period.kind.value,
            RankingSnapshot.period_start == period.start,
        )
    )
    if stored is None:
        return None
    table = dict(stored)
    table["snapshot"] = True
    return table


def store(session: Session, period: Period, table: dict[str, Any]) -> bool:
    """Keep a closed period's table; False when one is already stored (never replaced)."""
    if period.kind is PeriodKind.CUSTOM:
        raise ValueError("only weeks, months, quarters and years are stored")
    if not table.get("final"):
        raise ValueError(f"{period.label} has not closed yet")
    snapshots = table_of(RankingSnapshot)
    statement = (
        dialect_insert(session.get_bind().dialect.name, snapshots)
        .values(
            period_kind=period.kind.value,
            period_start=period.start,
            period_end=period.end,
            label=period.label,
            methodology_version=str(table["methodology"]["version"])[:64],
            organizations=len(table["rows"]),
            table=table,
            computed_at=datetime.fromisoformat(table["computed_at"]),
        )
        .on_conflict_do_nothing(index_elements=[snapshots.c.period_kind, snapshots.c.period_start])
    )
    return bool(getattr(session.execute(statement), "rowcount", 0))


def table_for(
    session: Session,
    period: Period,
    *,
    method: Methodology | None = None,
    moment: datetime | None = None,
) -> dict[str, Any]:
    """The stored table of a closed period, else the table computed now."""
    stored = load(session, period)
    if stored is not None:
        return stored
    return ranking.compute(session, period, method=method, moment=moment)


def ranking_view(
    session: Session,
    period: Period,
    *,
    kind: str | None = None,
    moment: datetime | None = None,
) -> dict[str, Any]:
    """What every reader sees: the period's table for ``kind`` with movements since the
    previous period (its snapshot when stored, else computed)."""
    current = ranking.view(table_for(session, period, moment=moment), kind)
    previous = ranking.view(table_for(session, period.previous(), moment=moment), kind)
    return ranking.with_movement(current, previous)


def store_closed(session: Session, *, today: date | None = None, back: int = 2) -> list[str]:
    """Store each kind's last ``back`` closed periods that are not stored yet (the worker's
    job; cheap when they are: one query per period). Returns the labels stored."""
    today = today or local(now()).date()
    stored: list[str] = []
    for kind in CLOSING_KINDS:
        period = last_closed(kind, today)
        for _ in range(back):
            if load(session, period) is None:
                table = ranking.compute(session, period)
                if store(session, period, table):
                    stored.append(f"{kind.value}:{period.label}")
            period = period.previous()
    session.flush()
    return stored


def listing(
    session: Session, *, kind: PeriodKind | None = None, limit: int = 60
) -> list[dict[str, Any]]:
    """Stored snapshots, newest first (without their tables)."""
    query = select(
        RankingSnapshot.period_kind,
        RankingSnapshot.period_start,
        RankingSnapshot.period_end,
        RankingSnapshot.label,
        RankingSnapshot.methodology_version,
        RankingSnapshot.organizations,
        RankingSnapshot.computed_at,
    ).order_by(RankingSnapshot.period_start.desc(), RankingSnapshot.period_kind)
    if kind is not None:
        query = query.where(RankingSnapshot.period_kind == kind.value)
    return [
        {
            "period_kind": row.period_kind,
            "from": row.period_start.isoformat(),
            "to": date.fromordinal(row.period_end.toordinal() - 1).isoformat(),
            "label": row.label,
            "methodology_version": row.methodology_version,
            "organizations": row.organizations,
            "computed_at": row.computed_at.isoformat(),
        }
        for row in session.execute(query.limit(limit))
    ]

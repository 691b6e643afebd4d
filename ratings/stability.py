"""How stable the ranking is from one week to the next: a ranking that jumps around measures
noise, not executive discipline.

For each pair of consecutive weeks, Spearman's rank correlation (scipy) between the two
weeks' scores of the organizations with at least ``min_appeals`` appeals in both. The goal
(issue 16) is 0.8 or more on steady weeks.
"""

from __future__ import annotations

import statistics
from datetime import date, datetime
from itertools import pairwise
from typing import Any

from sqlalchemy.orm import Session

from ratings.periods import PeriodKind, containing
from ratings.snapshots import table_for


def spearman(first: list[float], second: list[float]) -> float | None:
    """Spearman's ρ (ties get their mean rank); None for fewer than three pairs or no spread."""
    if len(first) < 3 or len(set(first)) < 2 or len(set(second)) < 2:
        return None
    from scipy.stats import spearmanr

    rho = float(spearmanr(first, second).statistic)
    return round(rho, 4)


def weekly_stability(
    session: Session,
    *,
    start: date,
    last_day: date,
    min_appeals: int = 100,
    moment: datetime | None = None,
) -> dict[str, Any]:
    """Rank correlation between consecutive whole weeks from ``start`` to ``last_day``."""
    weeks = []
    week = containing(PeriodKind.WEEK, start)
    if week.start < start:
        week = week.following()
    while week.last_day <= last_day:
        weeks.append(week)
        week = week.following()
    scores: list[dict[str, tuple[int, float]]] = []
    for week in weeks:
        table = table_for(session, week, moment=moment)
        scores.append({row["organization_code"]: (row["n"], row["score"]) for row in table["rows"]})
    pairs: list[dict[str, Any]] = []
    values: list[float] = []
    for (before, after), (earlier, later) in zip(pairwise(weeks), pairwise(scores), strict=True):
        common = sorted(
            code
            for code in earlier.keys() & later.keys()
            if earlier[code][0] >= min_appeals and later[code][0] >= min_appeals
        )
        rho = spearman([earlier[c][1] for c in common], [later[c][1] for c in common])
        pairs.append(
            {"week": before.label, "next": after.label, "organizations": len(common), "rho": rho}
        )
        if rho is not None:
            values.append(rho)
    return {
        "weeks": [week.label for week in weeks],
        "min_appeals": min_appeals,
        "pairs": pairs,
        "median_rho": round(statistics.median(values), 4) if values else None,
        "min_rho": min(values) if values else None,
    }

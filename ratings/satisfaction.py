"""The satisfaction index (the city's KPI) by organization, channel or district.

Index = ratings of 4 and 5 ÷ all ratings × 100, over the ratings given in the period, one
per appeal: the rating of its latest answer (an appeal reopened, answered again and rated
again counts once, with its last word). Each figure comes with its Wilson 95 % interval
and the year's target from data/ranking_weights.yaml. By organization, the call center's
quick answers are a row of their own (``quick_answers``): they are nobody else's answers.
Operators' ratings come from the IVR (channels.telephony) and are put together in the
shell (``civicdesk.ratings_operators``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from appeals.lifecycle import Status
from appeals.models import Appeal
from ratings.methodology import Methodology, pct, wilson
from ratings.models import AnswerRating
from ratings.periods import Period
from ratings.ranking_counts import SATISFIED, latest_rating_conditions
from routing.models import District, Organization

QUICK_ANSWERS = "quick_answers"


class SatisfactionBy(enum.StrEnum):
    ORGANIZATION = "organization"
    OPERATOR = "operator"
    CHANNEL = "channel"
    DISTRICT = "district"


@dataclass(frozen=True)
class SatisfactionIndex:
    """Ratings of 4 and 5 over all ratings × 100 (the city's KPI; target 80 % in 2026)."""

    ratings: int
    satisfied: int

    @property
    def index(self) -> float | None:
        return round(100.0 * self.satisfied / self.ratings, 1) if self.ratings else None

    def as_dict(self) -> dict[str, Any]:
        low, high = wilson(self.satisfied, self.ratings)
        return {
            "ratings": self.ratings,
            "satisfied": self.satisfied,
            "index": self.index,
            "ci_low": pct(low) if self.ratings else None,
            "ci_high": pct(high) if self.ratings else None,
        }


def _satisfied() -> ColumnElement[int]:
    return func.sum(case((AnswerRating.score >= SATISFIED, 1), else_=0))


def index_over(
    session: Session,
    *,
    start: datetime,
    stop: datetime,
    organization_id: int | None = None,
) -> SatisfactionIndex:
    """The index over ratings given in ``[start, stop)``, for one organization or all."""
    query = select(func.count(), _satisfied()).where(*latest_rating_conditions(start, stop))
    if organization_id is not None:
        query = query.where(AnswerRating.organization_id == organization_id)
    total, good = session.execute(query).one()
    return SatisfactionIndex(ratings=int(total or 0), satisfied=int(good or 0))


def _grouped(
    session: Session, key: Any, start: datetime, stop: datetime
) -> dict[Any, SatisfactionIndex]:
    query = (
        select(key.label("key"), func.count(), _satisfied())
        .select_from(AnswerRating)
        .join(Appeal, Appeal.id == AnswerRating.appeal_id)
        .where(*latest_rating_conditions(start, stop))
        .group_by(key)
    )
    return {
        row[0]: SatisfactionIndex(ratings=int(row[1]), satisfied=int(row[2] or 0))
        for row in session.execute(query)
    }


def by_dimension(
    session: Session,
    *,
    period: Period,
    stop: datetime,
    by: SatisfactionBy,
    method: Methodology,
) -> dict[str, Any]:
    """The index per organization, channel or district over ``period`` (cut at ``stop``)."""
    start = period.start_at
    rows: list[dict[str, Any]] = []
    if by is SatisfactionBy.ORGANIZATION:
        key = case((Appeal.status == Status.QUICK_ANSWERED, -1), else_=AnswerRating.organization_id)
        grouped = _grouped(session, key, start, stop)
        names = {
            o.id: (o.code, o.name_ru, o.name_kk)
            for o in session.scalars(
                select(Organization).where(Organization.id.in_([k for k in grouped if k]))
            )
        }
        for key_value, index in grouped.items():
            if key_value == -1:
                code, name, name_kk = QUICK_ANSWERS, None, None
            elif key_value is None:
                code, name, name_kk = None, None, None
            else:
                code, name, name_kk = names[key_value]
            rows.append({"key": code, "name": name, "name_kk": name_kk} | index.as_dict())
    elif by is SatisfactionBy.DISTRICT:
        grouped = _grouped(session, Appeal.district_code, start, stop)
        districts = {d.code: d for d in session.scalars(select(District))}
        for code, index in grouped.items():
            district = districts.get(code)
            rows.append(
                {
                    "key": code,
                    "name": district.name_ru if district else None,
                    "name_kk": district.name_kk if district else None,
                }
                | index.as_dict()
            )
    elif by is SatisfactionBy.CHANNEL:
        grouped = _grouped(session, Appeal.channel, start, stop)
        for channel, index in grouped.items():
            code = channel.value if isinstance(channel, enum.Enum) else channel
            rows.append({"key": code, "name": None, "name_kk": None} | index.as_dict())
    else:
        raise ValueError("operators' ratings come from the call center (civicdesk)")
    rows.sort(key=lambda row: (-(row["index"] or 0), -row["ratings"], str(row["key"])))
    total = index_over(session, start=start, stop=stop)
    return {
        "by": by.value,
        "period": period.as_dict(),
        "rows": rows,
        "total": total.as_dict(),
        "target": target_for(method, period),
    }


def target_for(method: Methodology, period: Period) -> float | None:
    """The KPI's target for the year the period ends in (None where the file sets none)."""
    return method.satisfaction_targets.get(period.last_day.year)

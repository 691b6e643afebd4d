"""What the month left in the database, counted from the tables themselves (not from the
plan): the mix a reviewer checks, the city's KPIs, and the organizations' profiles."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from appeals.lifecycle import OPEN_STATUSES, Status
from appeals.models import Appeal, Assignment, Channel
from channels.telephony.models import CallAppeal, OperatorRating
from ratings.models import AnswerRating
from routing.models import Organization
from sla.models import AnswerReview, AppealPause, ExtensionRequest, ExtensionState, ReviewOutcome


def _count(session: Session, query: Any) -> int:
    return int(session.scalar(query) or 0)


def summarize_month(
    session: Session, *, prefix: str, until: datetime, profiles: dict[str, str]
) -> dict[str, Any]:
    mine = select(Appeal.id).where(Appeal.external_id.startswith(prefix)).scalar_subquery()
    in_month = Appeal.id.in_(mine)
    count = func.count()

    def appeals_where(*conditions: Any) -> int:
        return _count(session, select(count).select_from(Appeal).where(in_month, *conditions))

    open_ = Appeal.status.in_(OPEN_STATUSES)
    answered = and_(Appeal.answered_at.is_not(None), Appeal.status != Status.QUICK_ANSWERED)
    ratings = session.execute(
        select(
            AnswerRating.score,
            case((AnswerRating.answered_at <= Appeal.due_at, True), else_=False),
            case((AnswerRating.answered_at <= Appeal.target_due_at, True), else_=False),
            AnswerRating.reopened_at.is_not(None),
        )
        .join(Appeal, Appeal.id == AnswerRating.appeal_id)
        .where(in_month, Appeal.status != Status.QUICK_ANSWERED)
    ).all()
    quick_ratings = session.scalars(
        select(AnswerRating.score)
        .join(Appeal, Appeal.id == AnswerRating.appeal_id)
        .where(in_month, Appeal.status == Status.QUICK_ANSWERED)
    ).all()
    all_scores = [row[0] for row in ratings] + list(quick_ratings)

    def mean(scores: list[int]) -> float | None:
        return round(sum(scores) / len(scores), 2) if scores else None

    phone = appeals_where(Appeal.channel == Channel.PHONE)
    quick = appeals_where(Appeal.status == Status.QUICK_ANSWERED)
    answered_total = appeals_where(answered)
    by_profile: Counter[str] = Counter()
    per_organization = session.execute(
        select(Organization.code, count)
        .join(Appeal, Appeal.organization_id == Organization.id)
        .where(in_month)
        .group_by(Organization.code)
    ).all()
    organizations: dict[str, dict[str, Any]] = {}
    for code, appeals in sorted(per_organization, key=lambda row: (-int(row[1]), row[0])):
        profile = profiles.get(code, "good")
        organizations[code] = {"appeals": int(appeals), "profile": profile}
        by_profile[profile] += int(appeals)
    calls = _count(
        session,
        select(func.count(func.distinct(CallAppeal.call_id))).where(CallAppeal.appeal_id.in_(mine)),
    )
    return {
        "mix": {
            "open": appeals_where(open_),
            "overdue_open": appeals_where(open_, Appeal.due_at < until, Appeal.paused_at.is_(None)),
            "in_triage": appeals_where(
                Appeal.status == Status.REGISTERED, Appeal.organization_id.is_(None)
            ),
            "answered_by_organizations": answered_total,
            "answered_on_time": appeals_where(answered, Appeal.answered_at <= Appeal.due_at),
            "answered_late": appeals_where(answered, Appeal.answered_at > Appeal.due_at),
            "answered_on_target": appeals_where(
                answered, Appeal.answered_at <= Appeal.target_due_at
            ),
            "quick_answered": quick,
            "rejected": appeals_where(Appeal.status == Status.REJECTED),
            "returned_answers": _count(
                session,
                select(count)
                .select_from(AnswerReview)
                .where(
                    AnswerReview.appeal_id.in_(mine), AnswerReview.outcome == ReviewOutcome.RETURNED
                ),
            ),
            "extensions_approved": _count(
                session,
                select(count)
                .select_from(ExtensionRequest)
                .where(
                    ExtensionRequest.appeal_id.in_(mine),
                    ExtensionRequest.state == ExtensionState.APPROVED,
                ),
            ),
            "extensions_refused": _count(
                session,
                select(count)
                .select_from(ExtensionRequest)
                .where(
                    ExtensionRequest.appeal_id.in_(mine),
                    ExtensionRequest.state == ExtensionState.REFUSED,
                ),
            ),
            "pauses": _count(
                session,
                select(count).select_from(AppealPause).where(AppealPause.appeal_id.in_(mine)),
            ),
            "paused_now": appeals_where(Appeal.paused_at.is_not(None)),
            "forwarded": _count(
                session,
                select(count)
                .select_from(Assignment)
                .where(Assignment.appeal_id.in_(mine), Assignment.end_reason == "forwarded"),
            ),
            "sent_back": _count(
                session,
                select(count)
                .select_from(Assignment)
                .where(Assignment.appeal_id.in_(mine), Assignment.end_reason == "sent_back"),
            ),
            "ping_pong": appeals_where(Appeal.escalation_reason.startswith("ping_pong")),
            "repeats": appeals_where(Appeal.is_repeat.is_(True)),
            "in_incidents": appeals_where(Appeal.incident_id.is_not(None)),
            "incidents": _count(
                session,
                select(func.count(func.distinct(Appeal.incident_id))).where(
                    in_month, Appeal.incident_id.is_not(None)
                ),
            ),
            "rated": len(all_scores),
            "reopened_by_rating": sum(1 for row in ratings if row[3]),
        },
        "kpi": {
            "satisfaction_index": (
                round(100 * sum(1 for s in all_scores if s >= 4) / len(all_scores), 1)
                if all_scores
                else None
            ),
            "quick_answer_share_of_calls": round(100 * quick / phone, 1) if phone else None,
            "on_time_share": round(
                100 * appeals_where(answered, Appeal.answered_at <= Appeal.due_at) / answered_total,
                1,
            )
            if answered_total
            else None,
            "mean_score_on_target": mean([r[0] for r in ratings if r[2]]),
            "mean_score_late_for_target": mean([r[0] for r in ratings if not r[2]]),
            "mean_score_late_for_deadline": mean([r[0] for r in ratings if not r[1]]),
        },
        "calls": {
            "with_an_appeal": calls,
            "operator_ratings": _count(
                session,
                select(count)
                .select_from(OperatorRating)
                .where(
                    OperatorRating.call_id.in_(
                        select(CallAppeal.call_id).where(CallAppeal.appeal_id.in_(mine))
                    )
                ),
            ),
        },
        "organizations": organizations,
        "appeals_by_profile": dict(by_profile),
    }

"""What operators watch: the stream of comments per account and post, and the reply KPI.

The KPI is the time from a comment to the city's first public reply under it, counted in
working hours only (``CIVICDESK_SOCIAL_WORKING_HOURS`` of the Kazakhstan working days, the
SLA calendar with its decree transfers): a comment at 17:30 answered at 09:30 the next
working morning took one hour. The target is a median under one hour; the figure covers
comments that became appeals or were answered by an operator.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from appeals.models import Appeal
from channels.social.models import (
    CommentState,
    Platform,
    SocialComment,
    SocialPost,
)
from core.calendar import WorkingCalendar
from core.clock import local
from core.settings import Settings
from sla.service import deadline_policy

TARGET_MEDIAN_HOURS = 1.0


@dataclass(frozen=True)
class StreamRow:
    comment: SocialComment
    post: SocialPost
    tracking_number: str | None


def stream(
    session: Session,
    *,
    state: CommentState | None = None,
    platform: Platform | None = None,
    account: str | None = None,
    post_id: int | None = None,
    limit: int = 100,
) -> list[StreamRow]:
    """The newest comments first, filtered; with their post and appeal's tracking number."""
    query = (
        select(SocialComment, SocialPost, Appeal.tracking_number)
        .join(SocialPost, SocialPost.id == SocialComment.post_id)
        .outerjoin(Appeal, Appeal.id == SocialComment.appeal_id)
        .order_by(SocialComment.created_at.desc(), SocialComment.id.desc())
        .limit(limit)
    )
    if state is not None:
        query = query.where(SocialComment.state == state)
    if platform is not None:
        query = query.where(SocialComment.platform == platform)
    if account:
        query = query.where(SocialComment.account_id == account)
    if post_id is not None:
        query = query.where(SocialComment.post_id == post_id)
    return [StreamRow(c, p, t) for c, p, t in session.execute(query).all()]


def comment_view(row: StreamRow) -> dict[str, Any]:
    """A comment as operators see it: its public handle and text (it is public), its fate."""
    comment = row.comment
    return {
        "id": comment.id,
        "platform": comment.platform.value,
        "account_id": comment.account_id,
        "post": {
            "id": row.post.id,
            "external_id": row.post.external_id,
            "text": row.post.text,
            "permalink": row.post.permalink,
        },
        "external_id": comment.external_id,
        "parent_external_id": comment.parent_external_id,
        "author_handle": comment.author_handle,
        "text": comment.text,
        "language": comment.language,
        "created_at": comment.created_at,
        "edited_at": comment.edited_at,
        "deleted": comment.deleted_at is not None,
        "state": comment.state.value,
        "probability": round(comment.probability, 4),
        "decided_by_operator": comment.decided_by_id is not None,
        "appeal_id": comment.appeal_id,
        "tracking_number": row.tracking_number,
        "first_public_reply_at": comment.first_public_reply_at,
        "via": [
            name
            for name, flag in (("webhook", comment.via_webhook), ("poll", comment.via_poll))
            if flag
        ],
    }


def counts(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(SocialComment.state, func.count()).group_by(SocialComment.state)
    ).all()
    found = {state.value: int(n) for state, n in rows}
    return {state.value: found.get(state.value, 0) for state in CommentState}


def accounts_and_posts(session: Session, *, limit: int = 30) -> list[dict[str, Any]]:
    """Posts with comments, newest activity first, with their counts per state."""
    rows = session.execute(
        select(
            SocialPost.id,
            SocialPost.platform,
            SocialPost.account_id,
            SocialPost.text,
            SocialComment.state,
            func.count(),
            func.max(SocialComment.created_at),
        )
        .join(SocialComment, SocialComment.post_id == SocialPost.id)
        .group_by(
            SocialPost.id,
            SocialPost.platform,
            SocialPost.account_id,
            SocialPost.text,
            SocialComment.state,
        )
    ).all()
    posts: dict[int, dict[str, Any]] = {}
    for post_id, platform, account_id, text, state, n, latest in rows:
        item = posts.setdefault(
            post_id,
            {
                "id": post_id,
                "platform": platform.value,
                "account_id": account_id,
                "text": text,
                "counts": {s.value: 0 for s in CommentState},
                "latest": latest,
            },
        )
        item["counts"][state.value] = int(n)
        item["latest"] = max(item["latest"], latest)
    return sorted(posts.values(), key=lambda p: p["latest"], reverse=True)[:limit]


def _hours(window: str) -> tuple[time, time]:
    start, _, end = window.partition("-")
    return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())


def working_hours_between(
    start: datetime, end: datetime, *, calendar: WorkingCalendar, window: str
) -> float:
    """Hours of ``window`` on working days between two moments (Almaty time)."""
    if end <= start:
        return 0.0
    opens, closes = _hours(window)
    first, last = local(start), local(end)
    total = 0.0
    day: date = first.date()
    while day <= last.date():
        if calendar.is_working_day(day):
            day_open = datetime.combine(day, opens, tzinfo=first.tzinfo)
            day_close = datetime.combine(day, closes, tzinfo=first.tzinfo)
            begin, finish = max(first, day_open), min(last, day_close)
            if finish > begin:
                total += (finish - begin).total_seconds() / 3600
        day += timedelta(days=1)
    return total


def reply_kpi(session: Session, *, since: datetime | None, settings: Settings) -> dict[str, Any]:
    """Median (and 90th percentile) working hours to the first public reply."""
    query = select(SocialComment.created_at, SocialComment.first_public_reply_at).where(
        SocialComment.state.in_((CommentState.APPEAL, CommentState.ANSWERED))
    )
    if since is not None:
        query = query.where(SocialComment.created_at >= since)
    rows = session.execute(query).all()
    calendar = deadline_policy().calendar
    durations = sorted(
        working_hours_between(
            created, replied, calendar=calendar, window=settings.social_working_hours
        )
        for created, replied in rows
        if replied is not None
    )
    waiting = sum(1 for _, replied in rows if replied is None)
    median = statistics.median(durations) if durations else None
    p90 = durations[min(len(durations) - 1, int(0.9 * len(durations)))] if durations else None
    return {
        "replied": len(durations),
        "waiting": waiting,
        "median_working_hours": round(median, 3) if median is not None else None,
        "p90_working_hours": round(p90, 3) if p90 is not None else None,
        "target_median_hours": TARGET_MEDIAN_HOURS,
        "met": median is not None and median < TARGET_MEDIAN_HOURS,
        "working_hours": settings.social_working_hours,
    }

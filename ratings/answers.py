"""Citizens rate the answers they receive: 1–5 with an optional comment.

The bots (rating buttons), the portal API and the staff pages all call
``rate_answer``. A low rating asks for the appeal to be reopened: it records a ``rating.low``
event in the rating's transaction, and the channels' event handler asks ``should_reopen``
and reopens through ``appeals.actions.reopen_on_low_rating`` after commit (with the
notifications the reopening sends).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals.lifecycle import ANSWER_VISIBLE
from appeals.models import Appeal
from core import events
from core.clock import now
from core.db import dialect_insert, table_of
from core.errors import Conflict, NotFound, ValidationFailed
from core.settings import get_settings
from ratings.models import AnswerRating
from ratings.satisfaction import SatisfactionIndex, index_over

#: Statuses whose answer the citizen has received (appeals.lifecycle.ANSWER_VISIBLE).
RATEABLE_STATUSES = ("closed", "quick_answered")
SATISFIED_SCORES = (4, 5)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


def rate_answer(
    session: Session, *, appeal_id: int, score: int, comment: str | None, channel: str
) -> AnswerRating:
    """Record the citizen's rating of the appeal's current answer; rating it again replaces.

    Refused (with a stable code) when the appeal has no answer the citizen could have
    seen, or the score is not 1–5.
    """
    settings = get_settings()
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        raise ValidationFailed("the rating must be a whole number from 1 to 5", code="bad_score")
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > settings.rating_comment_max_chars:
        raise ValidationFailed(
            f"the comment must have at most {settings.rating_comment_max_chars} characters",
            code="comment_too_long",
        )
    appeal = session.execute(
        select(Appeal.status, Appeal.answered_at, Appeal.organization_id).where(
            Appeal.id == appeal_id
        )
    ).first()
    if appeal is None:
        raise NotFound(f"appeal {appeal_id} not found", code="appeal_not_found")
    status, answered_at, organization_id = appeal
    if status not in ANSWER_VISIBLE or answered_at is None:
        raise Conflict("this appeal has no answer to rate yet", code="not_answered")
    previous = session.scalar(
        select(AnswerRating.score).where(
            AnswerRating.appeal_id == appeal_id, AnswerRating.answered_at == answered_at
        )
    )
    moment = now()
    ratings = table_of(AnswerRating)
    statement = dialect_insert(session.get_bind().dialect.name, ratings).values(
        appeal_id=appeal_id,
        answered_at=answered_at,
        organization_id=organization_id,
        score=score,
        comment=comment,
        channel=channel[:16],
        rated_at=moment,
        changes=0,
    )
    statement = statement.on_conflict_do_update(
        index_elements=[ratings.c.appeal_id, ratings.c.answered_at],
        set_={
            "score": score,
            "comment": comment,
            "channel": channel[:16],
            "rated_at": moment,
            "changes": ratings.c.changes + 1,
        },
    ).returning(ratings.c.id)
    rating_id = int(session.execute(statement).scalar_one())
    rating = session.get(AnswerRating, rating_id, populate_existing=True)
    assert rating is not None
    newly_low = score <= settings.rating_reopen_max_score and (
        previous is None or previous > settings.rating_reopen_max_score
    )
    if newly_low and rating.reopened_at is None:
        events.record(session, events.LOW_RATING, appeal_id=appeal_id, rating_id=rating_id)
    return rating


def should_reopen(rating: AnswerRating, *, moment: datetime | None = None) -> bool:
    """A low rating reopens the appeal once, and only soon after the answer was given.

    Later the citizen files a new appeal (a repeat, linked by intake); reopening a
    year-old answer would distort the organization's figures for nothing.
    """
    settings = get_settings()
    moment = moment or now()
    window = timedelta(days=settings.rating_reopen_window_days)
    return (
        rating.score <= settings.rating_reopen_max_score
        and rating.reopened_at is None
        and moment - rating.answered_at <= window
    )


def mark_reopened(session: Session, rating: AnswerRating) -> None:
    """Remember that this rating reopened the appeal, so it never does it twice."""
    rating.reopened_at = now()
    session.flush()


def rating_for(session: Session, *, appeal_id: int) -> AnswerRating | None:
    """The rating of the appeal's latest rated answer, if any."""
    return session.scalar(
        select(AnswerRating)
        .where(AnswerRating.appeal_id == appeal_id)
        .order_by(AnswerRating.answered_at.desc())
        .limit(1)
    )


def satisfaction_index(
    session: Session,
    *,
    organization_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> SatisfactionIndex:
    """The satisfaction index over ratings given in [since, until), for one organization or
    all; one rating per appeal, its latest answer's (``ratings.satisfaction``)."""
    return index_over(
        session,
        start=since or EARLIEST,
        stop=until or now() + timedelta(days=1),
        organization_id=organization_id,
    )

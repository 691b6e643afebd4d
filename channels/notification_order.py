"""The order of an appeal's notifications: the rating request follows its answer.

Both are written by the same status change (``notifications.plan``) with the same key,
and may share a delivery batch; asking to rate an answer the citizen has not received
makes no sense, so ``notifications.claim_many`` holds a rating request until its answer
is sent, and these helpers fail it when the answer cannot be delivered and find the
requests an answer just released.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, select, update
from sqlalchemy.orm import Session, aliased

from channels.notification_models import DeliveryState, Notification, NotificationKind


def answer_of_rating(*states: DeliveryState) -> ColumnElement[bool]:
    """EXISTS: the answer notification a rating request follows (same appeal and key),
    in one of ``states`` (any state when none is given)."""
    answer = aliased(Notification)
    conditions = [
        answer.appeal_id == Notification.appeal_id,
        answer.kind == NotificationKind.ANSWER,
        answer.key == Notification.key,
    ]
    if states:
        conditions.append(answer.state.in_(states))
    return exists().where(*conditions)


def release_rating_requests(session: Session, notification_ids: list[int]) -> None:
    """A rating request asks about the answer, so it goes only after the answer was sent:
    one whose answer could not be delivered (failed, undeliverable) is failed here; one
    whose answer is still pending or sending is left out of ``claim_many``."""
    session.execute(
        update(Notification)
        .where(
            Notification.id.in_(notification_ids),
            Notification.kind == NotificationKind.RATING_REQUEST,
            Notification.state == DeliveryState.PENDING,
            answer_of_rating(DeliveryState.FAILED, DeliveryState.UNDELIVERABLE),
        )
        .values(
            state=DeliveryState.FAILED,
            next_attempt_at=None,
            last_error="the answer was not delivered, so its rating is not asked for",
        )
        .execution_options(synchronize_session=False)
    )


def rating_requests_after(session: Session, answer_ids: list[int]) -> list[int]:
    """The pending rating requests that were waiting for these answers (just sent, or
    just failed: ``claim_many`` then fails the request instead of sending it)."""
    if not answer_ids:
        return []
    answer = aliased(Notification)
    return list(
        session.scalars(
            select(Notification.id)
            .join(
                answer,
                and_(answer.appeal_id == Notification.appeal_id, answer.key == Notification.key),
            )
            .where(
                answer.id.in_(answer_ids),
                answer.kind == NotificationKind.ANSWER,
                Notification.kind == NotificationKind.RATING_REQUEST,
                Notification.state == DeliveryState.PENDING,
            )
            .order_by(Notification.id)
        ).all()
    )

"""RQ jobs of the channels: turn domain events into notifications, and deliver them.

Top-level functions taking ids (JSON serializer). Each owns its transactions:
services flush, these commit.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals import actions
from appeals.lifecycle import ANSWER_VISIBLE
from appeals.models import Appeal
from appeals.reasons import Reason
from channels import notifications
from channels.notification_models import DeliveryState, Notification, NotificationKind
from channels.notification_order import rating_requests_after
from channels.rate_limit import limiter
from channels.senders import ChannelSender, DeliveryError
from core import db, events, jobs
from core.clock import now
from core.settings import get_settings
from ratings import answers
from ratings.models import AnswerRating

log = logging.getLogger(__name__)


def handle_events(event_list: list[dict[str, Any]], *, outbox_id: int | None = None) -> int:
    """The subscriber of ``core.events``: notifications for status changes, reopen on low
    ratings. Returns how many notifications it queued."""
    with db.transaction() as session:
        if not jobs.claim(session, outbox_id):
            return 0
        for event in event_list:
            if event.get("name") == events.LOW_RATING:
                reopen_after_low_rating(session, rating_id=int(event["rating_id"]))
        queued = notifications.create_for_events(session, event_list)
        if get_settings().social_reply_on_close:
            # An appeal from a comment, closed: its answer's summary under the comment.
            from channels.social.jobs import on_status_changes

            on_status_changes(session, event_list)
        return len(queued)


def reopen_after_low_rating(session: Session, *, rating_id: int) -> bool:
    """Reopen the appeal if ``ratings.answers.should_reopen`` says so and the rated answer
    is still the appeal's answer; the status change goes through the lifecycle action."""
    rating = session.get(AnswerRating, rating_id)
    if rating is None or not answers.should_reopen(rating):
        return False
    appeal = session.get(Appeal, rating.appeal_id)
    if appeal is None or appeal.status not in ANSWER_VISIBLE:
        return False
    if appeal.answered_at != rating.answered_at:
        return False
    actions.reopen_on_low_rating(
        session,
        appeal,
        reason=Reason("low_rating", {"score": rating.score, "comment": rating.comment or ""}),
    )
    answers.mark_reopened(session, rating)
    _tell_staff_of_low_rating(session, appeal, rating)
    return True


#: The inbox notice of a reopening by a low rating (issue 14, item 5), ru and kk.
LOW_RATING_NOTICE = {
    "ru": "Обращение {tn} возобновлено: заявитель оценил ответ на {score} из 5.",
    "kk": "{tn} өтініші қайта қаралуда: өтініш беруші жауапты {score}/5 деп бағалады.",
}
LOW_RATING_COMMENT = {"ru": " Комментарий заявителя: «{comment}»", "kk": " Пікірі: «{comment}»"}


def _tell_staff_of_low_rating(session: Session, appeal: Appeal, rating: AnswerRating) -> None:
    """The executor's organization and the inspectors learn at once why the appeal is
    back, in the citizen's words; contacts typed in the comment are masked (an inbox
    text carries no personal data)."""
    from core.pii import mask_text
    from sla.workflow import notify

    comment = (mask_text(rating.comment) or "").strip()[:500]
    text = tuple(
        LOW_RATING_NOTICE[language].format(tn=appeal.tracking_number, score=rating.score)
        + (LOW_RATING_COMMENT[language].format(comment=comment) if comment else "")
        for language in ("ru", "kk")
    )
    recipients: list[dict[str, Any]] = [{"role": "inspector"}]
    if appeal.organization_id is not None:
        recipients.append({"role": "executor", "organization_id": appeal.organization_id})
    for recipient in recipients:
        notify(
            session, kind="low_rating", appeal_id=appeal.id, text=(text[0], text[1]), **recipient
        )


def _close(sender: object) -> None:
    close = getattr(sender, "close", None)
    if callable(close):
        close()


def deliver(notification_ids: list[int], *, outbox_id: int | None = None) -> int:
    """Deliver these notifications (each at most once); returns how many were sent."""
    if outbox_id is not None:
        with db.transaction() as session:
            # Marks the outbox row done; each notification's own claim prevents double sends.
            if not jobs.claim(session, outbox_id):
                return 0
    senders: dict[str, ChannelSender | None] = {}
    batch = get_settings().notify_batch_size
    sent = 0
    try:
        for start in range(0, len(notification_ids), batch):
            chunk = notification_ids[start : start + batch]
            outcomes = deliver_batch(chunk, senders)
            sent += sum(1 for outcome in outcomes.values() if outcome == "sent")
            if outbox_id is None:  # a scheduled retry: one that ran early waits for its time
                _reschedule_early([i for i in chunk if i not in outcomes])
    finally:
        for transport in senders.values():
            _close(transport)
    return sent


def _reschedule_early(unclaimed: list[int]) -> None:
    """A retry that ran before its ``next_attempt_at`` (another machine's clock a little
    behind) is put back for that moment rather than left to the sweep (up to 30 s late)."""
    if not unclaimed or get_settings().jobs_inline:
        return
    with db.transaction() as session:
        moment = now()
        early = session.execute(
            select(Notification.id, Notification.next_attempt_at).where(
                Notification.id.in_(unclaimed),
                Notification.state == DeliveryState.PENDING,
                Notification.next_attempt_at > moment,
            )
        ).all()
    for notification_id, due_at in early:
        if due_at is not None:  # the query asked for a time; this tells mypy
            _schedule_retry(notification_id, (due_at - moment).total_seconds())


def deliver_batch(
    notification_ids: list[int], senders: dict[str, ChannelSender | None]
) -> dict[int, str]:
    """Claim a batch (one commit), send each through its channel's rate limit, record the
    outcomes (one commit): "sent", "retry" or "failed" per claimed id.

    Two commits per batch instead of two per message. A crash while sending leaves the
    batch's unrecorded rows "sending": the sweep fails them ("interrupted") rather than
    risk a second copy, so the batch (about a second of sending) bounds what a crash costs.

    Rating requests wait for their answer (``notifications.claim_many``); those waiting
    for an answer this batch sent go right after it (or fail, if the answer failed).
    """
    with db.transaction() as session:
        claimed = notifications.claim_many(session, notification_ids)
    results: list[tuple[notifications.Claimed, str | DeliveryError]] = []
    for item in claimed:
        channel = item.message.channel
        if channel not in senders:
            senders[channel] = notifications.sender(channel)
        transport = senders[channel]
        try:
            if transport is None:
                raise DeliveryError(f"no transport for channel {channel}", retryable=True)
            limiter().acquire(channel)
            results.append((item, transport.send(item.message)))
        except DeliveryError as error:
            results.append((item, error))
        except Exception as error:
            # An unexpected transport error: retryable, and never left "sending".
            log.exception(
                "notification %s: unexpected error from the transport", item.notification_id
            )
            results.append((item, DeliveryError(type(error).__name__, retryable=True)))
    outcomes: dict[int, str] = {}
    retries: list[tuple[int, int]] = []
    followers: list[int] = []
    with db.transaction() as session:
        sent = [
            (item.notification_id, str(r or ""))
            for item, r in results
            if not isinstance(r, DeliveryError)
        ]
        notifications.record_sent_many(session, sent)
        outcomes.update((notification_id, "sent") for notification_id, _ in sent)
        for item, result in results:
            if not isinstance(result, DeliveryError):
                continue
            delay = notifications.record_failure(
                session, item.notification_id, attempt=item.attempt, error=result
            )
            log.warning(
                "notification %s attempt %s on %s failed (%s); retry in %s s",
                item.notification_id,
                item.attempt,
                item.message.channel,
                "retryable" if result.retryable else "permanent",
                delay,
            )
            outcomes[item.notification_id] = "failed" if delay is None else "retry"
            if delay is not None:
                retries.append((item.notification_id, delay))
        answers_done = [
            item.notification_id
            for item, _ in results
            if item.kind is NotificationKind.ANSWER and outcomes[item.notification_id] != "retry"
        ]
        if answers_done:
            followers = rating_requests_after(session, answers_done)
    for notification_id, delay in retries:
        _schedule_retry(notification_id, delay)
    if followers:
        outcomes.update(deliver_batch(followers, senders))
    return outcomes


def _schedule_retry(notification_id: int, delay_s: float) -> None:
    """With RQ, the worker's scheduler runs the retry when due; inline, the sweep does.

    RQ's scheduler keeps whole seconds (the time is truncated), so a retry asked for in 5 s
    could start up to a second before the row's ``next_attempt_at``, find nothing due and
    leave the row to the sweep: the job is put at the next whole second after it is due.
    """
    settings = get_settings()
    if settings.jobs_inline:
        return
    due = datetime.now(UTC) + timedelta(seconds=max(delay_s, 0.0))
    at = due.replace(microsecond=0) + timedelta(seconds=1)
    try:
        jobs.queue(settings).enqueue_at(
            at,
            notifications.DELIVER_JOB,
            [notification_id],
            job_timeout=jobs.JOB_TIMEOUT_S,
            result_ttl=600,
        )
    except Exception:
        # The row is pending with its next_attempt_at: the sweep will pick it up.
        log.exception("could not schedule the retry of notification %s", notification_id)


def sweep_notifications(limit: int = 500) -> int:
    """Deliver what is due (retries, rows a lost job left) and fail interrupted sends.

    Run periodically by the worker, or ``civicdesk notifications sweep``.
    """
    with db.transaction() as session:
        due = notifications.sweep(session, limit=limit)
    return deliver(due) if due else 0

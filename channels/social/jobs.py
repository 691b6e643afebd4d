"""Jobs of social-media monitoring: send replies, sweep and poll, answer at closing.

Top-level functions taking ids (RQ's JSON serializer); each owns its transactions.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals.lifecycle import ANSWER_VISIBLE, Status
from appeals.models import Appeal, Channel
from channels.social import replies, service, texts
from channels.social.models import ReplyKind, SocialComment
from core import db, events, jobs
from core.settings import Settings, get_settings

log = logging.getLogger(__name__)
_last_poll = 0.0
_poll_lock = threading.Lock()


def send_replies(reply_ids: list[int], *, outbox_id: int | None = None) -> dict[str, int]:
    """Send these replies (each at most once); the outbox row is claimed first."""
    if outbox_id is not None:
        with db.transaction() as session:
            if not jobs.claim(session, outbox_id):
                return {"sent": 0, "retry": 0, "failed": 0}
    return replies.send_due(get_settings(), reply_ids=[int(i) for i in reply_ids])


def sweep(settings: Settings | None = None, *, with_poll: bool = True) -> dict[str, Any]:
    """The worker's periodic round: interrupted sends failed, due retries sent, and a
    poll of the accounts when its interval has passed (``with_poll``)."""
    settings = settings or get_settings()
    with db.transaction() as session:
        interrupted = replies.fail_interrupted(session, lease_s=settings.notify_sending_lease_s)
    sent = replies.send_due(settings)
    report: dict[str, Any] = {"interrupted": interrupted, **sent}
    if with_poll and settings.social_accounts and _poll_due(settings):
        from channels.social.poller import poll

        result = poll(settings)
        report.update(polled_posts=result.posts, new_comments=result.comments_new)
    return report


def _poll_due(settings: Settings) -> bool:
    """Once per ``social_poll_interval_s`` across the deployment (a Redis key), or per
    process without Redis."""
    global _last_poll
    if settings.redis_url:
        from redis import Redis

        key = f"{settings.queue_name}:social-poll"
        connection = Redis.from_url(settings.redis_url)
        return bool(connection.set(key, "1", nx=True, ex=settings.social_poll_interval_s))
    with _poll_lock:
        if time.monotonic() - _last_poll < settings.social_poll_interval_s:
            return False
        _last_poll = time.monotonic()
        return True


def on_status_changes(session: Session, event_list: list[dict[str, Any]]) -> int:
    """Called by ``channels.jobs.handle_events`` in its transaction: when the city chose so
    (``CIVICDESK_SOCIAL_REPLY_ON_CLOSE``), an appeal from a comment that is closed gets the
    answer's summary under that comment. Returns how many replies were queued."""
    settings = get_settings()
    if not settings.social_reply_on_close:
        return 0
    closed = {
        int(event["appeal_id"])
        for event in event_list
        if event.get("name") == events.STATUS_CHANGED
        and Status(str(event.get("to_status"))) in ANSWER_VISIBLE
    }
    if not closed:
        return 0
    rows = session.execute(
        select(SocialComment, Appeal.tracking_number, Appeal.answer_text)
        .join(Appeal, Appeal.id == SocialComment.appeal_id)
        .where(
            SocialComment.appeal_id.in_(closed),
            Appeal.channel == Channel.SOCIAL,
            SocialComment.deleted_at.is_(None),
        )
    ).all()
    queued: list[int] = []
    for comment, tracking, answer in rows:
        if answer is None or not answer.strip():
            continue
        text = texts.text(
            "answer", comment.language, tracking=tracking, summary=texts.summary(answer)
        )
        queued.append(service.queue_reply(session, comment, ReplyKind.ANSWER, text))
    if queued:
        jobs.defer(session, service.SEND_JOB, queued)
    return len(queued)

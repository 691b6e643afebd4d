"""The outbox: a job recorded with its transaction runs once, even when enqueueing failed."""

from __future__ import annotations

import uuid
from typing import Any

from redis import Redis
from rq import SimpleWorker
from sqlalchemy.orm import Session

from core import db, jobs
from core.settings import get_settings, override_settings


def record_delivery(key: str, *, outbox_id: int | None = None) -> str:
    """A job with an effect outside the database (as a notification would have)."""
    with db.transaction() as session:
        if not jobs.claim(session, outbox_id):
            return "already done"
        redis_url = get_settings().redis_url
        assert redis_url is not None
        Redis.from_url(redis_url).rpush(key, "sent")
        return "sent"


def run_worker(settings: Any) -> None:
    queue = jobs.queue(settings)
    SimpleWorker([queue], connection=queue.connection, serializer=queue.serializer).work(burst=True)


def test_outbox_job_runs_once_after_commit_and_never_twice(
    session: Session, rq_settings: Any
) -> None:
    key = f"civicdesk-test-delivery-{uuid.uuid4().hex}"
    redis = Redis.from_url(rq_settings.redis_url)
    message = jobs.defer(session, "tests.test_jobs.record_delivery", key)
    assert jobs.queue(rq_settings).count == 0  # nothing leaves before commit
    session.commit()
    assert jobs.queue(rq_settings).count == 1
    run_worker(rq_settings)
    assert redis.lrange(key, 0, -1) == [b"sent"]
    # Delivered again (a relay, a retry): the claimed outbox row stops it.
    assert record_delivery(key, outbox_id=message.id) == "already done"
    assert redis.llen(key) == 1
    redis.delete(key)


def test_rolled_back_work_enqueues_nothing(session: Session, rq_settings: Any) -> None:
    jobs.defer(session, "tests.test_jobs.record_delivery", "never")
    session.rollback()
    assert jobs.queue(rq_settings).count == 0


def test_failed_enqueue_is_relayed_and_runs_once(session: Session, rq_settings: Any) -> None:
    key = f"civicdesk-test-delivery-{uuid.uuid4().hex}"
    redis = Redis.from_url(rq_settings.redis_url)
    with override_settings(rq_settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})):
        jobs.defer(session, "tests.test_jobs.record_delivery", key)
        session.commit()  # enqueue fails: logged, the row stays pending
    assert jobs.pending_count(session) >= 1
    assert jobs.relay_pending(session, older_than_s=0) >= 1
    assert jobs.relay_pending(session, older_than_s=0) >= 1  # relayed twice: two deliveries
    run_worker(rq_settings)
    assert redis.lrange(key, 0, -1) == [b"sent"]
    redis.delete(key)

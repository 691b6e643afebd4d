"""Notification delivery order and resumption: the rating request follows its answer
(also after the inspector's review), every send takes a rate-limiter slot, and a long
message's retry starts at the first part the provider did not accept."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session
from test_notifications import FakeSender, rows, telegram, telegram_appeal, the

from appeals import actions
from appeals.lifecycle import Status
from channels import jobs as channel_jobs
from channels import senders
from channels.notification_models import DeliveryState, Notification, NotificationKind
from channels.senders import DeliveryError
from core.clock import frozen, now
from core.models import Role
from core.settings import Settings

__all__ = ["telegram"]  # the fixture, shared with test_notifications


# --- the rating request follows the answer -------------------------------------------------


def test_the_rating_request_waits_until_the_answer_is_sent(
    session: Session, submit_appeal: Any, telegram: FakeSender, make_user: Any, settings: Settings
) -> None:
    appeal = telegram_appeal(submit_appeal)
    admin, _ = make_user(Role.ADMIN)
    telegram.script = [DeliveryError("telegram sendMessage 502: Bad Gateway", retryable=True)]
    moment = now()
    with frozen(moment):
        actions.quick_answer(session, appeal, user=admin, text="Утечку устранили сегодня утром.")
        session.commit()
    rating = the(session, appeal, NotificationKind.RATING_REQUEST)
    assert (rating.state, rating.attempts) == (DeliveryState.PENDING, 0)
    assert len(telegram.sent) == 1  # the receipt only: no rating request before the answer
    with frozen(moment + timedelta(seconds=1)):
        assert channel_jobs.sweep_notifications() == 0  # still waiting for the answer
    with frozen(moment + timedelta(seconds=settings.notify_retry_delays_s[0] + 1)):
        assert channel_jobs.sweep_notifications() == 2
    assert the(session, appeal, NotificationKind.RATING_REQUEST).state is DeliveryState.SENT
    answer_message, rating_message = telegram.sent[1:]
    assert "Утечку устранили" in answer_message.text
    assert rating_message.buttons


def test_no_rating_request_when_the_answer_could_not_be_delivered(
    session: Session, submit_appeal: Any, telegram: FakeSender, make_user: Any
) -> None:
    appeal = telegram_appeal(submit_appeal)
    admin, _ = make_user(Role.ADMIN)
    telegram.script = [DeliveryError("telegram sendMessage 403: bot was blocked", retryable=False)]
    actions.quick_answer(session, appeal, user=admin, text="Утечку устранили сегодня утром.")
    session.commit()
    assert the(session, appeal, NotificationKind.ANSWER).state is DeliveryState.FAILED
    rating = the(session, appeal, NotificationKind.RATING_REQUEST)
    assert rating.state is DeliveryState.FAILED
    assert rating.last_error is not None and "answer was not delivered" in rating.last_error
    with frozen(now() + timedelta(days=1)):
        channel_jobs.sweep_notifications()
    assert len(telegram.sent) == 1  # the receipt


def test_the_answer_reaches_the_citizen_after_the_inspectors_review(
    session: Session, submit_appeal: Any, telegram: FakeSender, make_user: Any
) -> None:
    """Executor answers → the inspector returns it → the executor answers again → the
    inspector accepts (CLOSED): the citizen gets the accepted answer, once, then the
    rating request; nothing while the answer is under review."""
    from sla import actions as sla_actions

    appeal = telegram_appeal(submit_appeal)
    assert appeal.organization_id is not None
    from routing.models import Organization

    organization = session.get(Organization, appeal.organization_id)
    assert organization is not None
    executor, _ = make_user(Role.EXECUTOR, organization.code)
    inspector, _ = make_user(Role.INSPECTOR)
    actions.accept(session, appeal, user=executor)
    actions.answer(session, appeal, user=executor, text="Посмотрим, когда будет время.")
    session.commit()
    sla_actions.return_answer(
        session,
        appeal,
        user=inspector,
        reason_code="missing_work_deadline",
        comment="Нет срока работ",
    )
    session.commit()
    actions.answer(
        session, appeal, user=executor, text="Трубу заменят до 15 числа, бригада уже выехала."
    )
    session.commit()
    assert all("Трубу заменят" not in message.text for message in telegram.sent)
    sla_actions.accept_answer(session, appeal, user=inspector)
    session.commit()
    assert appeal.status is Status.CLOSED
    answers = [row for row in rows(session, appeal) if row.kind is NotificationKind.ANSWER]
    assert [row.state for row in answers] == [DeliveryState.SENT]
    texts = [message.text for message in telegram.sent]
    assert sum("Трубу заменят до 15 числа" in text for text in texts) == 1
    assert all("Посмотрим" not in text for text in texts)
    assert telegram.sent[-1].buttons  # the rating request, after the answer


# --- the rate limiter is on the delivery path -------------------------------------------


def test_delivery_takes_its_slots_from_the_channels_rate_limiter(
    session: Session,
    submit_appeal: Any,
    telegram: FakeSender,
    settings: Settings,
    redis_url: str,
) -> None:
    from redis import Redis

    from core.settings import override_settings

    appeal = telegram_appeal(submit_appeal)
    owed = [
        Notification(
            appeal_id=appeal.id,
            kind=NotificationKind.STATUS_CHANGED,
            key=f"in_progress@test-{n}",
            channel="telegram",
            language="ru",
            payload={"status": "in_progress"},
            state=DeliveryState.PENDING,
            attempts=0,
            next_attempt_at=now(),
        )
        for n in range(2)
    ]
    session.add_all(owed)
    session.commit()
    queue = f"civicdesk-test-{uuid.uuid4().hex[:8]}"
    connection = Redis.from_url(redis_url)
    # A worker of a deployment with Redis: its limiter counts in Redis, shared by all.
    with override_settings(
        settings.model_copy(update={"redis_url": redis_url, "queue_name": queue})
    ):
        assert channel_jobs.deliver([row.id for row in owed]) == 2
    keys = connection.keys(f"{queue}:notify-rate:telegram:*")
    try:
        assert sum(int(connection.get(key) or 0) for key in keys) == 2
    finally:
        if keys:
            connection.delete(*keys)


# --- long messages: a retry never resends a delivered part --------------------------------


@pytest.fixture
def bot_api(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Any:
    from core.settings import override_settings
    from tests.fakes import telegram_bot_api as tg

    monkeypatch.setattr(senders, "_factories", {})  # the real TelegramSender, from settings
    with tg.FakeTelegramBotAPI() as server:
        configured = settings.model_copy(
            update={"telegram_bot_token": server.token, "telegram_api_base": server.base_url}
        )
        with override_settings(configured):
            yield server


def test_a_long_answer_resumes_at_the_part_that_failed(
    session: Session, submit_appeal: Any, bot_api: Any, make_user: Any, settings: Settings
) -> None:
    appeal = telegram_appeal(submit_appeal)
    first = "Первая часть ответа о ремонте водопровода. " * 70
    second = "Вторая часть ответа о сроках и подрядчике. " * 70
    admin, _ = make_user(Role.ADMIN)
    bot_api.fail("sendMessage", 502, "Bad Gateway", after=1)  # the answer's second part, once
    moment = now()
    with frozen(moment):
        actions.quick_answer(session, appeal, user=admin, text=f"{first.strip()}\n{second.strip()}")
        session.commit()
    answer = the(session, appeal, NotificationKind.ANSWER)
    assert (answer.state, answer.payload["parts_sent"]) == (DeliveryState.PENDING, 1)
    with frozen(moment + timedelta(seconds=settings.notify_retry_delays_s[0] + 1)):
        channel_jobs.sweep_notifications()
    assert the(session, appeal, NotificationKind.ANSWER).state is DeliveryState.SENT
    texts = [message["text"] for message in bot_api.delivered()]
    assert sum(first.strip() in text for text in texts) == 1
    assert sum(second.strip() in text for text in texts) == 1
    assert [first.strip() in text or second.strip() in text for text in texts] == [
        False,  # the receipt
        True,
        True,
        False,  # the rating request, after both parts
    ]

"""Outbound notifications: triggered by status changes, sent once, retried, rate-limited."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals import actions
from appeals.lifecycle import Status
from appeals.models import Appeal, Channel
from channels import jobs as channel_jobs
from channels import notification_texts, notifications, senders
from channels.notification_models import DeliveryState, Notification, NotificationKind
from channels.rate_limit import MemoryWindow, RateLimiter, RedisWindow
from channels.senders import DeliveryError, OutboundMessage
from core import events
from core.clock import frozen, now
from core.models import OutboxMessage, Role
from core.settings import Settings
from intake.schemas import CitizenContact
from sla import actions as sla_actions

WATER_LEAK = "На улице Жандосова прорвало трубу водопровода, вода течёт по дороге уже сутки"


class FakeSender:
    """A transport that follows a script: DeliveryErrors to raise, then accepts."""

    def __init__(self) -> None:
        self.script: list[DeliveryError] = []
        self.sent: list[OutboundMessage] = []
        self.calls = 0

    def send(self, message: OutboundMessage) -> str:
        self.calls += 1
        if self.script:
            raise self.script.pop(0)
        self.sent.append(message)
        return f"msg-{len(self.sent)}"


@pytest.fixture
def telegram(monkeypatch: pytest.MonkeyPatch) -> FakeSender:
    fake = FakeSender()
    monkeypatch.setattr(senders, "_factories", dict(senders._factories))
    senders.register_sender("telegram", lambda: fake)
    return fake


def telegram_appeal(submit_appeal: Any, *, language: str | None = None, **fields: Any) -> Appeal:
    user_id = str(uuid.uuid4().int % 10**9)
    appeal: Appeal = submit_appeal(
        WATER_LEAK,
        channel=Channel.TELEGRAM,
        external_id=f"update-{user_id}",
        language=language,
        citizen=CitizenContact(telegram_user_id=user_id, full_name="Асель"),
        **fields,
    )
    return appeal


def rows(session: Session, appeal: Appeal) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.appeal_id == appeal.id)
            .order_by(Notification.id)
            .execution_options(populate_existing=True)
        )
    )


def the(session: Session, appeal: Appeal, kind: NotificationKind) -> Notification:
    found = [row for row in rows(session, appeal) if row.kind is kind]
    assert len(found) == 1, found
    return found[0]


def test_registration_sends_one_receipt_on_the_appeal_channel(
    session: Session, submit_appeal: Any, telegram: FakeSender
) -> None:
    appeal = telegram_appeal(submit_appeal)
    assert appeal.status is Status.ASSIGNED
    receipt = the(session, appeal, NotificationKind.RECEIPT)
    assert receipt.state is DeliveryState.SENT
    assert receipt.attempts == 1
    assert receipt.provider_message_id == "msg-1"
    assert len(telegram.sent) == 1
    message = telegram.sent[0]
    assert message.channel == "telegram"
    assert message.address == appeal_citizen_telegram(session, appeal)
    assert appeal.tracking_number in message.text
    assert "зарегистрировано" in message.text
    # Registered and assigned in one pipeline step: one receipt, not a second status message.
    assert [row.kind for row in rows(session, appeal)] == [NotificationKind.RECEIPT]


def appeal_citizen_telegram(session: Session, appeal: Appeal) -> str:
    from appeals.models import Citizen

    citizen = session.get(Citizen, appeal.citizen_id)
    assert citizen is not None and citizen.telegram_user_id
    return citizen.telegram_user_id


def test_a_notification_that_fails_twice_then_succeeds_is_sent_exactly_once(
    session: Session, submit_appeal: Any, telegram: FakeSender, settings: Settings
) -> None:
    telegram.script = [
        DeliveryError("telegram sendMessage 429: Too Many Requests", retryable=True),
        DeliveryError("telegram sendMessage: ConnectError", retryable=True),
    ]
    start = now()
    with frozen(start):
        appeal = telegram_appeal(submit_appeal)
    receipt = the(session, appeal, NotificationKind.RECEIPT)
    first_delay, second_delay = settings.notify_retry_delays_s[:2]
    assert receipt.state is DeliveryState.PENDING
    assert receipt.attempts == 1
    assert receipt.next_attempt_at == start + timedelta(seconds=first_delay)
    assert receipt.last_error is not None and receipt.last_error.startswith("retryable")

    # Not due yet: the sweep leaves it alone.
    with frozen(start + timedelta(seconds=first_delay - 1)):
        assert channel_jobs.sweep_notifications() == 0
    assert telegram.calls == 1

    second = start + timedelta(seconds=first_delay + 1)
    with frozen(second):
        assert channel_jobs.sweep_notifications() == 0
    receipt = the(session, appeal, NotificationKind.RECEIPT)
    assert receipt.attempts == 2
    assert receipt.next_attempt_at == second + timedelta(seconds=second_delay)

    third = second + timedelta(seconds=second_delay + 1)
    with frozen(third):
        assert channel_jobs.sweep_notifications() == 1
        # Swept and delivered again: nothing left to send.
        assert channel_jobs.sweep_notifications() == 0
        assert channel_jobs.deliver([receipt.id]) == 0
    receipt = the(session, appeal, NotificationKind.RECEIPT)
    assert receipt.state is DeliveryState.SENT
    assert receipt.attempts == 3
    assert receipt.sent_at == third
    assert receipt.last_error is None
    assert telegram.calls == 3
    assert len(telegram.sent) == 1


def test_a_permanent_failure_is_recorded_and_not_retried(
    session: Session, submit_appeal: Any, telegram: FakeSender
) -> None:
    telegram.script = [DeliveryError("telegram sendMessage 403: bot was blocked", retryable=False)]
    appeal = telegram_appeal(submit_appeal)
    receipt = the(session, appeal, NotificationKind.RECEIPT)
    assert receipt.state is DeliveryState.FAILED
    assert receipt.attempts == 1
    assert receipt.last_error == "permanent: telegram sendMessage 403: bot was blocked"
    with frozen(now() + timedelta(days=1)):
        assert channel_jobs.sweep_notifications() == 0
    assert telegram.calls == 1


def test_retries_stop_when_the_schedule_is_exhausted(
    session: Session, submit_appeal: Any, telegram: FakeSender, settings: Settings
) -> None:
    attempts = len(settings.notify_retry_delays_s) + 1
    telegram.script = [DeliveryError("5xx", retryable=True) for _ in range(attempts + 2)]
    moment = now()
    with frozen(moment):
        appeal = telegram_appeal(submit_appeal)
    for _ in range(attempts + 2):
        moment += timedelta(days=1)
        with frozen(moment):
            channel_jobs.sweep_notifications()
    receipt = the(session, appeal, NotificationKind.RECEIPT)
    assert receipt.state is DeliveryState.FAILED
    assert receipt.attempts == attempts
    assert telegram.calls == attempts


def test_a_replayed_event_does_not_send_again(
    session: Session, submit_appeal: Any, telegram: FakeSender
) -> None:
    appeal = telegram_appeal(submit_appeal)
    assert len(telegram.sent) == 1
    recorded = [
        message
        for message in session.scalars(
            select(OutboxMessage).where(OutboxMessage.job == events.EVENTS_JOB)
        )
        if any(event.get("appeal_id") == appeal.id for event in message.args[0])
    ]
    assert recorded, "the status change recorded no event"
    for message in recorded:
        # A relayed copy (outbox row already done) and a bare re-run: neither sends.
        assert channel_jobs.handle_events(message.args[0], outbox_id=message.id) == 0
        assert channel_jobs.handle_events(message.args[0]) == 0
    assert len(telegram.sent) == 1
    assert len(rows(session, appeal)) == 1


def test_the_citizen_language_is_used(
    session: Session, submit_appeal: Any, telegram: FakeSender
) -> None:
    kazakh = telegram_appeal(submit_appeal, language="kk")
    russian = telegram_appeal(submit_appeal, language="ru")
    by_tracking = {message.text.split("\n")[1].split(": ")[1]: message for message in telegram.sent}
    assert by_tracking[kazakh.tracking_number].language == "kk"
    assert by_tracking[kazakh.tracking_number].text.startswith("Өтінішіңіз тіркелді")
    assert by_tracking[russian.tracking_number].language == "ru"
    assert by_tracking[russian.tracking_number].text.startswith("Ваше обращение")


def test_the_answer_then_the_rating_request_with_buttons(
    session: Session, submit_appeal: Any, telegram: FakeSender, make_user: Any
) -> None:
    appeal = telegram_appeal(submit_appeal)
    admin, _ = make_user(Role.ADMIN)
    answer = "Бригада «Алматы Су» устранила утечку, покрытие восстановлено."
    actions.quick_answer(session, appeal, user=admin, text=answer)
    session.commit()
    kinds = [row.kind for row in rows(session, appeal)]
    assert kinds == [
        NotificationKind.RECEIPT,
        NotificationKind.ANSWER,
        NotificationKind.RATING_REQUEST,
    ]
    assert all(row.state is DeliveryState.SENT for row in rows(session, appeal))
    answer_message, rating_message = telegram.sent[1:]
    assert answer in answer_message.text
    assert answer_message.template == Settings().whatsapp_template_answer
    assert [button.payload for button in rating_message.buttons] == [
        f"rate:{appeal.tracking_number}:{score}" for score in range(1, 6)
    ]


def test_an_extension_notice_is_sent_and_its_time_recorded(
    session: Session, submit_appeal: Any, telegram: FakeSender, make_user: Any
) -> None:
    appeal = telegram_appeal(submit_appeal)
    admin, _ = make_user(Role.ADMIN)
    actions.accept(session, appeal, user=admin)
    assert appeal.due_at is not None
    new_due = appeal.due_at + timedelta(days=10)
    sla_actions.extend(session, appeal, user=admin, new_due=new_due, reason="нужна экспертиза")
    session.commit()
    notice = the(session, appeal, NotificationKind.EXTENSION_NOTICE)
    assert notice.state is DeliveryState.SENT
    assert notifications.extension_notice_sent_at(session, appeal_id=appeal.id) == notice.sent_at
    text = telegram.sent[-1].text
    assert "продлён" in text and "нужна экспертиза" in text
    # The acceptance itself told the citizen the appeal is being worked on.
    status = the(session, appeal, NotificationKind.STATUS_CHANGED)
    assert status.payload == {"status": "in_progress"}


def test_channels_without_a_push_transport_are_recorded_undeliverable(
    session: Session, submit_appeal: Any, telegram: FakeSender
) -> None:
    appeal: Appeal = submit_appeal(WATER_LEAK)  # the portal
    receipt = the(session, appeal, NotificationKind.RECEIPT)
    assert receipt.state is DeliveryState.UNDELIVERABLE
    assert receipt.channel == "portal"
    assert receipt.last_error is not None and "portal" in receipt.last_error
    assert telegram.calls == 0
    anonymous: Appeal = submit_appeal(
        WATER_LEAK, channel=Channel.TELEGRAM, citizen=CitizenContact()
    )
    for row in rows(session, anonymous):
        assert row.state is DeliveryState.UNDELIVERABLE
    assert telegram.calls == 0


def test_an_interrupted_send_is_failed_not_resent(
    session: Session, submit_appeal: Any, telegram: FakeSender, settings: Settings
) -> None:
    telegram.script = [DeliveryError("timeout", retryable=True)]
    moment = now()
    with frozen(moment):
        appeal = telegram_appeal(submit_appeal)
    receipt = the(session, appeal, NotificationKind.RECEIPT)
    later = moment + timedelta(seconds=settings.notify_retry_delays_s[0] + 1)
    with frozen(later):
        # A worker claims it and dies before recording the outcome.
        from core import db

        with db.transaction() as claim_session:
            assert notifications.claim(claim_session, receipt.id) is not None
    with frozen(later + timedelta(seconds=settings.notify_sending_lease_s + 1)):
        assert channel_jobs.sweep_notifications() == 0
    receipt = the(session, appeal, NotificationKind.RECEIPT)
    assert receipt.state is DeliveryState.FAILED
    assert receipt.last_error is not None and receipt.last_error.startswith("interrupted")
    assert telegram.calls == 1


def test_rate_limit_holds_per_channel_in_memory(settings: Settings) -> None:
    clock = [1_000.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    limited = settings.model_copy(update={"notify_rate_telegram_per_s": 3})
    limiter = RateLimiter(MemoryWindow(), limited, clock=lambda: clock[0], sleep=sleep)
    seconds = []
    for _ in range(10):
        limiter.acquire("telegram")
        seconds.append(int(clock[0]))
        clock[0] += 0.01
    per_second = {second: seconds.count(second) for second in set(seconds)}
    assert max(per_second.values()) == 3
    assert len(per_second) == 4  # 3 + 3 + 3 + 1
    assert len(slept) == 3
    # Another channel has its own budget.
    limiter.acquire("whatsapp")
    assert len(slept) == 3


def test_rate_limit_is_shared_through_redis(settings: Settings, redis_url: str) -> None:
    from redis import Redis

    connection = Redis.from_url(redis_url)
    prefix = f"civicdesk-test-{uuid.uuid4().hex[:8]}"
    limited = settings.model_copy(update={"notify_rate_whatsapp_per_s": 2})
    clock = [2_000_000.5]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock[0] += seconds

    # Two workers, one budget.
    first = RateLimiter(
        RedisWindow(connection, prefix), limited, clock=lambda: clock[0], sleep=sleep
    )
    second = RateLimiter(
        RedisWindow(connection, prefix), limited, clock=lambda: clock[0], sleep=sleep
    )
    first.acquire("whatsapp")
    second.acquire("whatsapp")
    assert waits == []
    first.acquire("whatsapp")
    assert len(waits) == 1 and int(clock[0]) == 2_000_001
    connection.delete(*connection.keys(f"{prefix}:*"))


def test_texts_exist_in_both_languages_with_the_same_placeholders() -> None:
    import string

    for key, entry in notification_texts.TEXTS.items():
        assert set(entry) == {"ru", "kk"}, key
        names = [
            {name for _, name, _, _ in string.Formatter().parse(entry[lang]) if name}
            for lang in ("ru", "kk")
        ]
        assert names[0] == names[1], key


def test_a_retry_is_scheduled_on_rq(
    session: Session, submit_appeal: Any, telegram: FakeSender, rq_settings: Settings
) -> None:
    from rq.registry import ScheduledJobRegistry

    from core import jobs

    telegram.script = [DeliveryError("429", retryable=True)]
    appeal = telegram_appeal(submit_appeal)
    # With Redis the jobs are queued, not run: run what the queue holds, as a worker would.
    queue = jobs.queue(rq_settings)
    assert queue.get_jobs()
    for _ in range(3):
        for job in queue.get_jobs():
            job.perform()
            queue.remove(job)
    receipt = the(session, appeal, NotificationKind.RECEIPT)
    assert receipt.attempts == 1 and receipt.state is DeliveryState.PENDING
    scheduled = ScheduledJobRegistry(queue=queue)  # type: ignore[no-untyped-call]  # rq is untyped here
    assert len(scheduled.get_job_ids()) == 1


def test_through_the_real_telegram_sender_against_a_local_bot_api(
    session: Session,
    submit_appeal: Any,
    settings: Settings,
    make_user: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The bot token in the settings is all it takes; 429 twice, then one delivery."""
    from core.settings import override_settings
    from tests.fakes import telegram_bot_api as tg

    monkeypatch.setattr(senders, "_factories", {})  # no registered transport: from settings
    with tg.FakeTelegramBotAPI() as server:
        configured = settings.model_copy(
            update={"telegram_bot_token": server.token, "telegram_api_base": server.base_url}
        )
        with override_settings(configured):
            server.fail("sendMessage", 429, "Too Many Requests: retry after 1", times=2)
            moment = now()
            with frozen(moment):
                appeal = telegram_appeal(submit_appeal, language="kk")
            for delay in configured.notify_retry_delays_s[:2]:
                moment += timedelta(seconds=delay + 1)
                with frozen(moment):
                    channel_jobs.sweep_notifications()
            receipt = the(session, appeal, NotificationKind.RECEIPT)
            assert (receipt.state, receipt.attempts) == (DeliveryState.SENT, 3)
            calls = server.sent("sendMessage")
            assert len(calls) == 3  # two refused, one accepted
            chat = appeal_citizen_telegram(session, appeal)
            assert {str(call["chat_id"]) for call in calls} == {chat}
            assert calls[-1]["text"].startswith("Өтінішіңіз тіркелді")
            assert receipt.provider_message_id is not None

            admin, _ = make_user(Role.ADMIN)
            actions.quick_answer(
                session, appeal, user=admin, text="Утечку устранили, покрытие восстановлено."
            )
            session.commit()
            calls = server.sent("sendMessage")
            assert len(calls) == 5
            keyboard = calls[-1]["reply_markup"]["inline_keyboard"]
            assert [button["callback_data"] for row in keyboard for button in row] == [
                f"rate:{appeal.tracking_number}:{score}" for score in range(1, 6)
            ]


def test_the_bot_chat_and_its_language_win_over_the_citizen_record(
    session: Session, submit_appeal: Any, telegram: FakeSender, make_user: Any
) -> None:
    """A citizen who chose Kazakh in the bot hears in Kazakh, in the chat they use."""
    from channels.models import BotContact

    appeal = telegram_appeal(submit_appeal, language="ru")
    session.add(
        BotContact(
            channel="telegram",
            address="chat-4242",
            language="kk",
            citizen_id=appeal.citizen_id,
            last_inbound_at=now(),
        )
    )
    session.commit()
    admin, _ = make_user(Role.ADMIN)
    actions.accept(session, appeal, user=admin)
    session.commit()
    message = telegram.sent[-1]
    assert message.address == "chat-4242"
    assert message.language == "kk"
    assert message.text == f"{appeal.tracking_number} өтініші: Орындалуда."

"""The Telegram bot end to end: the real aiogram client against a local Bot API server.

Webhook mode goes through our FastAPI app (secret-token header, aiogram dispatcher,
conversation service, PostgreSQL); one test runs aiogram's long polling against the
fake, which honours ``getUpdates`` offsets like Telegram.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fakes import telegram_bot_api as tg
from fastapi.testclient import TestClient
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session, sessionmaker

from appeals import actions
from appeals.models import Appeal, Channel, Citizen
from channels.models import BotContact, BotMedia
from channels.senders import Button, DeliveryError, OutboundMessage
from channels.telegram.sender import TelegramSender
from core import db
from core.settings import Settings, override_settings

SECRET = "webhook-secret-0123456789abcdef"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
APPEAL_TEXT = "Во дворе дома 12 на улице Жарокова прорвало трубу, вода течёт по тротуару"


@pytest.fixture
def fake() -> Iterator[tg.FakeTelegramBotAPI]:
    with tg.FakeTelegramBotAPI() as server:
        yield server


@pytest.fixture
def bot_settings(settings: Settings, fake: tg.FakeTelegramBotAPI) -> Iterator[Settings]:
    current = settings.model_copy(
        update={
            "telegram_bot_token": fake.token,
            "telegram_webhook_secret": SECRET,
            "telegram_api_base": fake.base_url,
            "bot_state_backend": "memory",
        }
    )
    with override_settings(current):
        yield current


@pytest.fixture
def bot_client(connection: Connection, bot_settings: Settings) -> Iterator[TestClient]:
    from channels import bot_state
    from civicdesk.app import create_app

    bot_state._stores.clear()  # each test starts with no unfinished drafts

    app = create_app(bot_settings)
    db._session_factory = sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )
    with TestClient(app) as client:
        yield client


class TelegramUser:
    """One Telegram user writing to the bot through Telegram's webhook."""

    def __init__(self, client: TestClient, fake: tg.FakeTelegramBotAPI, user_id: int) -> None:
        self.client, self.fake, self.user_id = client, fake, user_id

    def post(self, update: dict[str, Any], headers: dict[str, str] = HEADERS) -> Any:
        return self.client.post("/webhooks/telegram", json=update, headers=headers)

    def send(self, build: Any, *args: Any, **kw: Any) -> dict[str, Any]:
        update = build(self.fake.next_update_id(), *args, user_id=self.user_id, **kw)
        response = self.post(update)
        assert response.status_code == 200, response.text
        return update

    def last_text(self) -> str:
        return str(self.fake.sent()[-1]["text"])


@pytest.fixture
def user(bot_client: TestClient, fake: tg.FakeTelegramBotAPI) -> TelegramUser:
    return TelegramUser(bot_client, fake, tg.USER_ID)


def _callback_data(message: dict[str, Any]) -> list[str]:
    keyboard = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [button["callback_data"] for row in keyboard for button in row]


def test_filing_through_the_webhook(user: TelegramUser, session: Session) -> None:
    fake = user.fake
    user.send(tg.text_update, "/start")
    assert _callback_data(fake.sent()[-1]) == ["lang:ru", "lang:kk"]
    user.send(tg.callback_update, "lang:ru")
    assert fake.sent("answerCallbackQuery"), "the button's spinner is stopped"
    assert "Язык: русский" in fake.sent()[-2]["text"]
    user.send(tg.callback_update, "menu:new")
    share = fake.sent()[-1]["reply_markup"]["keyboard"][0]
    assert share[0]["request_contact"] and share[1]["request_location"]
    user.send(tg.text_update, APPEAL_TEXT)
    user.send(tg.photo_update, caption="Фото с места")
    user.send(tg.location_update, 43.2567, 76.9286)
    user.send(tg.contact_update, "+7 701 765 43 21")
    assert "Номер телефона сохранён" in user.last_text()
    confirm = user.send(tg.callback_update, "draft:send")
    appeal = session.scalar(
        select(Appeal).where(Appeal.external_id == f"{tg.BOT_ID}:{confirm['update_id']}")
    )
    assert appeal is not None
    assert appeal.tracking_number in user.last_text()
    assert appeal.channel == Channel.TELEGRAM
    assert (appeal.latitude, appeal.longitude) == (pytest.approx(43.2567), pytest.approx(76.9286))
    assert "Фото с места" in appeal.text
    citizen = session.get(Citizen, appeal.citizen_id)
    assert citizen is not None
    assert citizen.phone_e164 == "+77017654321"
    assert citizen.telegram_user_id == str(tg.USER_ID)
    media = session.scalars(select(BotMedia).where(BotMedia.appeal_id == appeal.id)).all()
    assert [m.reference for m in media] == ["AgACAgIAAxkBAAIBQ2Vlarge"]  # the largest size

    user.send(tg.callback_update, "menu:mine")
    assert appeal.tracking_number in user.last_text()


def test_redelivered_update_gives_one_appeal_and_one_reply(
    user: TelegramUser, session: Session
) -> None:
    user.send(tg.callback_update, "lang:ru")
    user.send(tg.text_update, APPEAL_TEXT)
    confirm = tg.callback_update(user.fake.next_update_id(), "draft:send")
    assert user.post(confirm).status_code == 200
    # The receipt with the tracking number (the notification service may add its own
    # registration notice after the pipeline ran).
    after_first = user.fake.sent()
    assert sum("Номер для отслеживания" in m["text"] for m in after_first) == 1
    assert user.post(confirm).status_code == 200  # Telegram retried the webhook
    assert user.fake.sent() == after_first
    count = session.scalar(
        select(func.count())
        .select_from(Appeal)
        .where(Appeal.external_id == f"{tg.BOT_ID}:{confirm['update_id']}")
    )
    assert count == 1


def test_wrong_or_missing_secret_token_is_refused(user: TelegramUser) -> None:
    update = tg.text_update(user.fake.next_update_id(), APPEAL_TEXT)
    wrong = user.post(update, headers={"X-Telegram-Bot-Api-Secret-Token": "guess"})
    missing = user.post(update, headers={})
    assert (wrong.status_code, missing.status_code) == (401, 401)
    assert wrong.json()["error"]["code"] == "bad_secret_token"
    assert user.fake.sent() == []


def test_malformed_and_unknown_updates(user: TelegramUser) -> None:
    broken = user.client.post(
        "/webhooks/telegram",
        content=b'{"update_id": 1, "message": ',
        headers={**HEADERS, "Content-Type": "application/json"},
    )
    assert broken.status_code == 400
    not_an_update = user.post({"hello": "world"})
    assert not_an_update.status_code == 400
    # A poll answer is a real update type we do not handle: 200, so Telegram stops retrying.
    poll_answer = {
        "update_id": user.fake.next_update_id(),
        "poll_answer": {
            "poll_id": "5875433",
            "user": {"id": tg.USER_ID, "is_bot": False, "first_name": "Асель"},
            "option_ids": [0],
            "option_persistent_ids": ["a"],
        },
    }
    assert user.post(poll_answer).status_code == 200
    # An update this aiogram cannot read (a newer Bot API shape) is skipped, not retried.
    future = {"update_id": user.fake.next_update_id(), "message": {"message_id": "x"}}
    assert user.post(future).status_code == 200
    assert user.fake.sent() == []


def test_sticker_gets_a_polite_reply_in_the_citizens_language(user: TelegramUser) -> None:
    user.send(tg.callback_update, "lang:kk")
    user.send(tg.sticker_update)
    assert "қабылдай алмаймын" in user.last_text()


def test_rating_button_press_is_stored(
    user: TelegramUser, session: Session, make_user: Any
) -> None:
    from ratings.answers import rating_for

    user.send(tg.callback_update, "lang:ru")
    user.send(tg.text_update, APPEAL_TEXT)
    confirm = user.send(tg.callback_update, "draft:send")
    appeal = session.scalar(
        select(Appeal).where(Appeal.external_id == f"{tg.BOT_ID}:{confirm['update_id']}")
    )
    assert appeal is not None
    admin, _ = make_user("admin")
    actions.quick_answer(session, appeal, user=admin, text="Аварийная бригада выехала на место.")
    session.commit()
    user.send(tg.callback_update, f"rate:{appeal.tracking_number}:5")
    user.send(tg.callback_update, "rate:skip")
    session.expire_all()
    rating = rating_for(session, appeal_id=appeal.id)
    assert rating is not None and (rating.score, rating.comment) == (5, None)


def test_long_polling_with_the_real_aiogram_client(
    connection: Connection, bot_settings: Settings, fake: tg.FakeTelegramBotAPI
) -> None:
    """``civicdesk bots telegram-polling`` runs ``run_polling``: it removes the webhook
    first (Telegram serves one or the other), then polls for our two update types."""
    from channels.telegram.bot import ALLOWED_UPDATES, run_polling

    db._session_factory = sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )

    async def run() -> None:
        polling = asyncio.create_task(run_polling(bot_settings, handle_signals=False))
        fake.push(tg.text_update(fake.next_update_id(), "/start"))
        fake.push(tg.callback_update(fake.next_update_id(), "lang:kk"))
        for _ in range(200):
            if len(fake.sent()) >= 3:
                break
            await asyncio.sleep(0.05)
        polling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await polling

    asyncio.run(run())
    assert len(fake.sent("deleteWebhook")) == 1
    first_call = next(name for name, _ in fake.calls if name in {"deleteWebhook", "sendMessage"})
    assert first_call == "deleteWebhook"  # before anything else
    assert fake.polls and all(p.get("allowed_updates") == ALLOWED_UPDATES for p in fake.polls)
    texts = [message["text"] for message in fake.sent()]
    assert len(texts) == 3, texts  # each update handled once although getUpdates repeats
    assert "Тілді таңдаңыз" in texts[0]
    assert "Тіл: қазақша" in texts[1]


def test_sender_inline_keyboard_and_errors(fake: tg.FakeTelegramBotAPI) -> None:
    sender = TelegramSender(token=fake.token, api_base=fake.base_url)
    buttons = tuple(Button(f"rate:2611-ABCDEFGH:{n}", str(n)) for n in range(1, 6))
    message_id = sender.send(
        OutboundMessage(channel="telegram", address="412345678", text="Оцените", buttons=buttons)
    )
    assert message_id
    sent = fake.sent()[-1]
    assert sent["chat_id"] == "412345678"
    assert [b["callback_data"] for b in sent["reply_markup"]["inline_keyboard"][0]] == [
        f"rate:2611-ABCDEFGH:{n}" for n in range(1, 6)
    ]
    fake.fail("sendMessage", 429, "Too Many Requests: retry after 1")
    with pytest.raises(DeliveryError) as throttled:
        sender.send(OutboundMessage(channel="telegram", address="412345678", text="x"))
    assert throttled.value.retryable
    fake.fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
    with pytest.raises(DeliveryError) as blocked:
        sender.send(OutboundMessage(channel="telegram", address="412345678", text="x"))
    assert not blocked.value.retryable
    long_text = "строка\n" * 1000
    sender.send(OutboundMessage(channel="telegram", address="412345678", text=long_text))
    assert all(len(m["text"]) <= 4096 for m in fake.sent())
    sender.close()


def test_cli_sets_the_webhook_with_the_secret_token(
    bot_settings: Settings, fake: tg.FakeTelegramBotAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    from civicdesk.cli import main

    url = "https://civicdesk.example.kz/webhooks/telegram"
    assert main(["bots", "telegram-set-webhook", url]) == 0
    call = fake.sent("setWebhook")[-1]
    assert (call["url"], call["secret_token"]) == (url, SECRET)
    assert call["allowed_updates"] == ["message", "edited_message", "callback_query"]
    assert main(["bots", "telegram-set-webhook", "http://insecure.example/hook"]) == 2
    assert main(["bots", "telegram-delete-webhook"]) == 0
    assert fake.sent("deleteWebhook")


def test_production_refuses_a_bot_without_its_secrets() -> None:
    secret_key = "x" * 40
    with pytest.raises(ValueError, match="TELEGRAM_WEBHOOK_SECRET"):
        Settings(environment="production", secret_key=secret_key, telegram_bot_token=tg.TOKEN)
    with pytest.raises(ValueError, match="WHATSAPP_APP_SECRET"):
        Settings(environment="production", secret_key=secret_key, whatsapp_access_token="EAAG")
    ok = Settings(
        environment="production",
        secret_key=secret_key,
        telegram_bot_token=tg.TOKEN,
        telegram_webhook_secret=SECRET,
    )
    assert ok.telegram_webhook_secret == SECRET


# --- groups, retries, the rate limiter, long replies, busy chats ----------------------------


def test_group_chats_are_not_served(user: TelegramUser, session: Session) -> None:
    """In a group every member would see the replies: nothing is said, nothing stored."""
    fake = user.fake
    for update in (
        tg.group_text_update(fake.next_update_id(), "/start"),
        tg.group_text_update(fake.next_update_id(), APPEAL_TEXT),
        tg.group_callback_update(fake.next_update_id(), "menu:mine"),
    ):
        assert user.post(update).status_code == 200
    assert fake.sent() == []
    contact = session.scalar(
        select(BotContact).where(
            BotContact.channel == "telegram", BotContact.address == str(tg.GROUP_CHAT_ID)
        )
    )
    assert contact is None


def test_a_reply_refused_with_429_is_sent_once_more(user: TelegramUser) -> None:
    user.fake.fail("sendMessage", 429, "Too Many Requests: retry after 1")
    user.send(tg.text_update, "/start")
    delivered = user.fake.delivered()
    assert len(delivered) == 1
    assert "Тілді таңдаңыз" in delivered[0]["text"]


def test_replies_take_their_slots_from_the_rate_limiter(
    user: TelegramUser, bot_settings: Settings, redis_url: str
) -> None:
    from redis import Redis

    queue = f"civicdesk-test-{uuid.uuid4().hex[:8]}"
    shared = bot_settings.model_copy(update={"redis_url": redis_url, "queue_name": queue})
    connection = Redis.from_url(redis_url)
    with override_settings(shared):
        user.send(tg.callback_update, "lang:ru")  # two replies: language set, the menu
    keys = connection.keys(f"{queue}:notify-rate:telegram:*")
    try:
        assert len(user.fake.delivered()) == 2
        assert sum(int(connection.get(key) or 0) for key in keys) == 2
    finally:
        if keys:
            connection.delete(*keys)


class _LongAnswers:
    def answer(self, text: str, language: str) -> str | None:
        return "\n".join(f"{n}. Пункт инструкции о получении справки в ЦОН." for n in range(120))


def test_a_reply_longer_than_one_message_goes_in_parts(user: TelegramUser) -> None:
    from channels import conversation

    conversation.set_quick_answerer(_LongAnswers())
    try:
        user.send(tg.callback_update, "lang:ru")
        before = len(user.fake.sent())
        user.send(tg.text_update, "Как получить справку о составе семьи?")
    finally:
        conversation.set_quick_answerer(conversation.NullQuickAnswerer())
    parts = user.fake.sent()[before:]
    assert len(parts) == 2
    assert all(len(part["text"]) <= 4096 for part in parts)
    assert "reply_markup" not in parts[0]
    assert "draft:send" in _callback_data(parts[1])  # the buttons come with the last part
    joined = "\n".join(part["text"] for part in parts)
    assert "0. Пункт" in joined and "119. Пункт" in joined


def test_an_update_whose_chat_stays_busy_is_refused_and_handled_when_redelivered(
    user: TelegramUser, bot_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from channels import bot_state

    monkeypatch.setattr(bot_state, "LOCK_WAIT_S", 0.2)
    store = bot_state.state_store(bot_settings)
    update = tg.text_update(user.fake.next_update_id(), "/start")
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with store.lock(f"telegram:{tg.USER_ID}"):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    try:
        busy = user.post(update)
    finally:
        release.set()
        holder.join()
    assert busy.status_code == 503
    assert busy.json()["error"]["code"] == "chat_busy"
    assert user.fake.sent() == []
    assert user.post(update).status_code == 200  # Telegram delivers it again
    assert len(user.fake.sent()) == 1


def test_a_missing_webhook_secret_is_warned_about_at_startup(
    connection: Connection,
    bot_settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from civicdesk.app import create_app

    unprotected = bot_settings.model_copy(update={"telegram_webhook_secret": None})
    with (
        override_settings(unprotected),
        caplog.at_level(logging.WARNING),
        TestClient(create_app(unprotected)),
    ):
        pass
    assert any("TELEGRAM_WEBHOOK_SECRET is not set" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING), TestClient(create_app(bot_settings)):
        pass
    assert not any("TELEGRAM_WEBHOOK_SECRET" in r.getMessage() for r in caplog.records)

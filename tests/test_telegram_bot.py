"""The Telegram bot end to end: the real aiogram client against a local Bot API server.

Webhook mode goes through our FastAPI app (secret-token header, aiogram dispatcher,
conversation service, PostgreSQL); one test runs aiogram's long polling against the
fake, which honours ``getUpdates`` offsets like Telegram.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from fakes import telegram_bot_api as tg
from fastapi.testclient import TestClient
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session, sessionmaker

from channels.models import BotMedia
from channels.senders import Button, DeliveryError, OutboundMessage
from channels.telegram.bot import TelegramRuntime
from channels.telegram.sender import TelegramSender
from core import db
from core.settings import Settings, override_settings
from intake import actions
from intake.models import Appeal, Channel, Citizen

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
    from civicdesk.app import create_app

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
    db._session_factory = sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )

    async def run() -> None:
        runtime = TelegramRuntime(bot_settings)
        polling = asyncio.create_task(
            runtime.dispatcher.start_polling(
                runtime.bot, handle_signals=False, handle_as_tasks=False, polling_timeout=1
            )
        )
        fake.push(tg.text_update(fake.next_update_id(), "/start"))
        fake.push(tg.callback_update(fake.next_update_id(), "lang:kk"))
        for _ in range(200):
            if len(fake.sent()) >= 3:
                break
            await asyncio.sleep(0.05)
        await runtime.dispatcher.stop_polling()
        await polling

    asyncio.run(run())
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
    assert call["allowed_updates"] == ["message", "callback_query"]
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

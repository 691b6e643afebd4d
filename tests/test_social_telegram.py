"""Comments under the city's Telegram channel, through the running bot (its discussion group).

Updates have the Bot API's shapes: the channel post reaches the linked group as an automatic
forward (``is_automatic_forward``, ``sender_chat`` the channel), and a comment replies to it in
its thread (``message_thread_id``). The bot answers in the group, under the comment.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes import telegram_bot_api as tg
from social_support import make_client, social_model_dir, social_settings  # noqa: F401
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from appeals.models import Appeal, Citizen
from channels.social.models import CommentState, SocialComment
from core.settings import Settings, override_settings

SECRET = "telegram-webhook-secret-for-social"
GROUP = -1001987654321
CHANNEL = -1001555000111
POST_TEXT = "С 1 октября в Алматы начинается отопительный сезон. Подача тепла будет поэтапной."


@pytest.fixture
def fake() -> Iterator[tg.FakeTelegramBotAPI]:
    with tg.FakeTelegramBotAPI() as server:
        yield server


@pytest.fixture
def client(
    connection: Connection,
    settings: Settings,
    fake: tg.FakeTelegramBotAPI,
    social_model_dir: Path,  # noqa: F811
) -> Iterator[Any]:
    from channels import bot_state

    bot_state._stores.clear()
    current = social_settings(
        settings,
        social_model_dir,
        telegram_bot_token=fake.token,
        telegram_webhook_secret=SECRET,
        telegram_api_base=fake.base_url,
        bot_state_backend="memory",
        social_telegram_chat_id=str(GROUP),
    )
    with override_settings(current):
        yield from make_client(connection, current)


def _user(user_id: int, username: str | None) -> dict[str, Any]:
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": "Мадина"}
    if username:
        user["username"] = username
    return user


def _group() -> dict[str, Any]:
    return {"id": GROUP, "title": "Акимат Алматы — обсуждение", "type": "supergroup"}


def _forwarded_post(message_id: int) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "sender_chat": {"id": CHANNEL, "title": "Акимат Алматы", "type": "channel"},
        "chat": _group(),
        "date": int(time.time()) - 600,
        "is_automatic_forward": True,
        "forward_origin": {
            "type": "channel",
            "chat": {"id": CHANNEL, "title": "Акимат Алматы", "type": "channel"},
            "message_id": 812,
            "date": int(time.time()) - 600,
        },
        "text": POST_TEXT,
    }


def _send(client: Any, update: dict[str, Any]) -> None:
    response = client.post(
        "/webhooks/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
    )
    assert response.status_code == 200, response.text


def _comment_update(
    update_id: int, message_id: int, text: str, *, post_id: int, user_id: int, edited: bool = False
) -> dict[str, Any]:
    message = {
        "message_id": message_id,
        "from": _user(user_id, "madina_a"),
        "chat": _group(),
        "date": int(time.time()),
        "message_thread_id": post_id,
        "reply_to_message": _forwarded_post(post_id),
        "text": text,
    }
    if edited:
        message["edit_date"] = int(time.time())
    return {"update_id": update_id, "edited_message" if edited else "message": message}


def test_a_comment_in_the_discussion_group_becomes_an_appeal_of_the_bots_user(
    client: Any, fake: tg.FakeTelegramBotAPI, session: Session
) -> None:
    _send(client, {"update_id": 500, "message": _forwarded_post(70)})
    text = "В Орбите-3 дом 28 батареи холодные, дома 16 градусов, дети болеют"
    _send(client, _comment_update(501, 71, text, post_id=70, user_id=555001))
    comment = session.scalar(select(SocialComment))
    assert comment is not None
    assert comment.external_id == f"{GROUP}:71" and comment.author_handle == "@madina_a"
    assert comment.state is CommentState.APPEAL
    appeal = session.get(Appeal, comment.appeal_id)
    assert appeal is not None and POST_TEXT[:30] in appeal.text
    citizen = session.get(Citizen, appeal.citizen_id)
    assert citizen is not None and citizen.telegram_user_id == "555001"  # the bot's user too
    replies = fake.sent("sendMessage")
    assert len(replies) == 1  # the receipt under the comment, nothing else from the bot
    assert str(replies[0]["chat_id"]) == str(GROUP)
    assert replies[0]["reply_parameters"]["message_id"] == 71
    assert appeal.tracking_number in replies[0]["text"]


def test_chat_in_the_group_and_the_forwarded_post_are_not_appeals(
    client: Any, fake: tg.FakeTelegramBotAPI, session: Session
) -> None:
    _send(client, {"update_id": 510, "message": _forwarded_post(80)})
    _send(client, _comment_update(511, 81, "Ура, наконец-то 🔥🔥", post_id=80, user_id=555002))
    comment = session.scalar(select(SocialComment))
    assert comment is not None and comment.state is CommentState.NOT_APPEAL
    assert fake.sent("sendMessage") == []
    # A message in some other group the bot is in stays the bot's business (it says nothing).
    _send(client, tg.group_text_update(512, "В подъезде нет света третий день"))
    assert session.scalar(select(func.count()).select_from(SocialComment)) == 1


def test_an_edited_comment_is_updated(client: Any, session: Session) -> None:
    _send(client, _comment_update(520, 91, "👍", post_id=90, user_id=555003))
    edited = "Калкаман, улица Жандосова 12 — тепла нет неделю, когда дадут?"
    _send(client, _comment_update(521, 91, edited, post_id=90, user_id=555003, edited=True))
    comment = session.scalar(select(SocialComment).execution_options(populate_existing=True))
    assert comment is not None and comment.text == edited and comment.edited_at is not None
    assert comment.state is CommentState.APPEAL

"""The Telegram bot on aiogram 3: thin handlers over ``channels.conversation``.

A handler parses the aiogram object into an ``Inbound``, runs the synchronous
conversation service in a worker thread (it owns its transaction), then sends the
replies through the Bot API. The same router serves the webhook (``bots_api``) and
long polling (``civicdesk bots telegram-polling``). The external id of an update is
``<bot id>:<update_id>``, so a re-delivered update is recognised as such.

Only private chats are served: in a group every member would see the replies (the
tracking numbers, "my appeals"), so a group's updates are answered with nothing.
Replies take their slots from the same per-channel rate limiter as notifications, and
a reply part refused with 429 or 5xx (or lost on the network) is tried once more after
a short pause; after that it is logged and dropped: the update itself was handled, and
what matters most, the tracking number, also reaches the citizen in the registration
notification, which is durable and retried.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)

from appeals.models import Channel
from channels.bot_state import StateStore, state_store
from channels.conversation import MAX_PHOTO_MB, Inbound, Reply, process
from channels.conversation_texts import t
from channels.rate_limit import limiter
from channels.social import telegram_group
from channels.telegram.sender import inline_keyboard, split_text
from core.clock import now
from core.settings import Settings, get_settings

log = logging.getLogger(__name__)
MAX_PHOTO_BYTES = MAX_PHOTO_MB * 1024 * 1024
# edited_message: comments edited in the city channel's discussion group (channels.social).
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
#: A reply part refused as retryable waits this long (Telegram's retry_after, at most
#: ``REPLY_MAX_PAUSE_S``) and is sent once more.
REPLY_RETRY_PAUSE_S = 0.5
REPLY_MAX_PAUSE_S = 3.0


def _external_id(bot: Bot, update: Update) -> str:
    return f"{bot.id}:{update.update_id}"


def inbound_from_message(message: Message, *, external_id: str) -> Inbound:
    """What a Telegram message means to the conversation (no personal data is logged)."""
    user = message.from_user
    base: dict[str, Any] = {
        "channel": Channel.TELEGRAM,
        "external_id": external_id,
        "address": str(message.chat.id),
        "user_id": str(user.id) if user else None,
        "full_name": user.full_name if user else None,
        "received_at": now(),
    }
    if message.text is not None:
        if message.text.startswith("/"):
            return Inbound(kind="command", text=message.text, **base)
        return Inbound(kind="text", text=message.text, **base)
    if message.photo:
        largest = message.photo[-1]
        if (largest.file_size or 0) > MAX_PHOTO_BYTES:
            return Inbound(kind="too_big", **base)
        return Inbound(kind="photo", media_ref=largest.file_id, text=message.caption or "", **base)
    if message.document is not None:
        document = message.document
        if (document.file_size or 0) > MAX_PHOTO_BYTES:
            return Inbound(kind="too_big", **base)
        if (document.mime_type or "").startswith("image/"):
            return Inbound(
                kind="photo", media_ref=document.file_id, text=message.caption or "", **base
            )
        return Inbound(kind="unsupported", **base)
    if message.location is not None:
        return Inbound(
            kind="location",
            latitude=message.location.latitude,
            longitude=message.location.longitude,
            **base,
        )
    if message.contact is not None:
        contact = message.contact
        own = user is not None and contact.user_id == user.id
        return Inbound(kind="contact", phone=contact.phone_number, own_phone=own, **base)
    return Inbound(kind="unsupported", **base)


def _markup(reply: Reply, language: str) -> Any:
    if reply.buttons:
        rows = inline_keyboard(reply.buttons)["inline_keyboard"]
        return InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text=i["text"], callback_data=i["callback_data"]) for i in r]
                for r in rows
            ]
        )
    if reply.keyboard == "share":
        return ReplyKeyboardMarkup(
            keyboard=[
                [
                    KeyboardButton(text=t("button.share_phone", language), request_contact=True),
                    KeyboardButton(
                        text=t("button.share_location", language), request_location=True
                    ),
                ]
            ],
            resize_keyboard=True,
        )
    if reply.keyboard == "remove":
        return ReplyKeyboardRemove()
    return None


async def _send_part(bot: Bot, chat_id: str, text: str, markup: Any) -> bool:
    """One ``sendMessage`` through the rate limiter, tried twice if Telegram asks."""
    for attempt in (1, 2):
        await asyncio.to_thread(limiter().acquire, "telegram")
        try:
            await bot.send_message(chat_id=chat_id, text=text, reply_markup=markup)
            return True
        except TelegramRetryAfter as error:
            pause = min(float(error.retry_after), REPLY_MAX_PAUSE_S)
        except (TelegramServerError, TelegramNetworkError):
            pause = REPLY_RETRY_PAUSE_S
        except TelegramAPIError as error:
            log.warning("telegram reply not delivered: %s", type(error).__name__)
            return False
        if attempt == 1:
            await asyncio.sleep(pause)
    log.warning("telegram reply not delivered after a retry")
    return False


async def send_replies(bot: Bot, chat_id: str, replies: list[Reply], language: str) -> None:
    """Send after commit, in order; the rest is dropped once a part could not be sent."""
    for reply in replies:
        parts = split_text(reply.text)
        for index, part in enumerate(parts):
            markup = _markup(reply, language) if index == len(parts) - 1 else None
            if not await _send_part(bot, chat_id, part, markup):
                return


def _private(chat_type: str | None) -> bool:
    if chat_type == "private":
        return True
    log.info("telegram: an update from a %s chat is not served", chat_type)
    return False


def build_router(store: StateStore) -> Router:
    """A fresh router (aiogram attaches a router to one dispatcher only)."""
    router = Router(name="civicdesk")

    @router.message()
    async def on_message(message: Message, bot: Bot, event_update: Update) -> None:
        settings = get_settings()
        if telegram_group.is_discussion(message, settings):
            # A comment under the city's channel (the bot is an admin of its discussion
            # group): social-media monitoring stores it; the bot itself says nothing.
            await asyncio.to_thread(telegram_group.handle_message, message, settings)
            return
        if not _private(message.chat.type):
            return
        inbound = inbound_from_message(message, external_id=_external_id(bot, event_update))
        outcome = await asyncio.to_thread(process, inbound, store=store)
        if outcome.duplicate:
            return
        await send_replies(bot, inbound.address, outcome.replies, outcome.language)

    @router.callback_query()
    async def on_button(callback: CallbackQuery, bot: Bot, event_update: Update) -> None:
        origin = callback.message
        if origin is not None and not _private(origin.chat.type):
            return
        chat_id = str(origin.chat.id if origin is not None else callback.from_user.id)
        inbound = Inbound(
            channel=Channel.TELEGRAM,
            external_id=_external_id(bot, event_update),
            address=chat_id,
            kind="button",
            payload=callback.data or "",
            user_id=str(callback.from_user.id),
            full_name=callback.from_user.full_name,
            received_at=now(),
        )
        outcome = await asyncio.to_thread(process, inbound, store=store)
        if outcome.duplicate:
            return
        try:
            await callback.answer()
        except TelegramAPIError as error:
            log.info("callback answer failed: %s", type(error).__name__)
        await send_replies(bot, chat_id, outcome.replies, outcome.language)

    @router.edited_message()
    async def on_edit(message: Message) -> None:
        if telegram_group.is_discussion(message, get_settings()):
            await asyncio.to_thread(telegram_group.handle_edit, message)

    return router


class TelegramRuntime:
    """One Bot (its HTTP session) and one Dispatcher, living in one event loop."""

    def __init__(self, settings: Settings) -> None:
        if not settings.telegram_bot_token:
            raise ValueError("CIVICDESK_TELEGRAM_BOT_TOKEN is not set")
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
        self.bot = Bot(settings.telegram_bot_token, session=session)
        self.dispatcher = Dispatcher()
        self.dispatcher.include_router(build_router(state_store(settings)))

    async def close(self) -> None:
        await self.bot.session.close()


_runtimes: dict[tuple[str, str], tuple[asyncio.AbstractEventLoop, TelegramRuntime]] = {}


def runtime_for(settings: Settings) -> TelegramRuntime | None:
    """The webhook's runtime for these settings in the running loop (None: no bot)."""
    if not settings.telegram_bot_token:
        return None
    loop = asyncio.get_running_loop()
    key = (settings.telegram_bot_token, settings.telegram_api_base)
    held = _runtimes.get(key)
    if held is None or held[0] is not loop:
        held = (loop, TelegramRuntime(settings))
        _runtimes[key] = held
    return held[1]


async def close_runtimes() -> None:
    """Close the HTTP sessions opened in this loop (the app's shutdown)."""
    loop = asyncio.get_running_loop()
    for key, (owner, runtime) in list(_runtimes.items()):
        if owner is loop:
            await runtime.close()
            del _runtimes[key]


async def run_polling(settings: Settings, *, handle_signals: bool = True) -> None:
    """Long polling for local runs: removes a webhook first (Telegram allows one or the other)."""
    runtime = TelegramRuntime(settings)
    try:
        await runtime.bot.delete_webhook(drop_pending_updates=False)
        await runtime.dispatcher.start_polling(
            runtime.bot,
            handle_signals=handle_signals,
            handle_as_tasks=False,  # one update at a time keeps each chat's order
            allowed_updates=ALLOWED_UPDATES,
            close_bot_session=False,
        )
    finally:
        await runtime.close()


async def set_webhook(settings: Settings, url: str) -> bool:
    """Point Telegram at our webhook, with the secret token it must echo back."""
    runtime = TelegramRuntime(settings)
    try:
        return await runtime.bot.set_webhook(
            url,
            secret_token=settings.telegram_webhook_secret,
            allowed_updates=ALLOWED_UPDATES,
        )
    finally:
        await runtime.close()

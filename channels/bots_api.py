"""Webhook endpoints of the Telegram and WhatsApp bots (thin: check, parse, hand over).

- ``POST /webhooks/telegram``: the ``X-Telegram-Bot-Api-Secret-Token`` header must
  equal ``CIVICDESK_TELEGRAM_WEBHOOK_SECRET`` (401 otherwise); the update goes to the
  aiogram dispatcher.
- ``GET /webhooks/whatsapp``: Meta's verification handshake.
- ``POST /webhooks/whatsapp``: ``X-Hub-Signature-256`` checked on every delivery (401).

Malformed JSON is a 400; updates we do not handle are a 200, so the sender stops
retrying; an update whose chat is locked by another for too long is a 503, so the
messenger delivers it again. Logs carry ids and counts, never texts, names or phone
numbers.

Replies go through the per-channel rate limiter; a reply refused as retryable is sent
once more after a short pause, then dropped (see ``channels.telegram.bot``).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from aiogram.types import Update
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import ValidationError

from channels.bot_state import ChatBusy, state_store
from channels.conversation import Inbound, process
from channels.notifications import record_provider_status
from channels.rate_limit import limiter
from channels.senders import DeliveryError, OutboundMessage
from channels.telegram.bot import close_runtimes, runtime_for
from channels.whatsapp import webhook
from channels.whatsapp.sender import WhatsAppSender
from core import db
from core.settings import Settings, get_settings

log = logging.getLogger(__name__)
TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
WHATSAPP_SIGNATURE_HEADER = "X-Hub-Signature-256"


REPLY_RETRY_PAUSE_S = 0.5


def warn_if_unprotected(settings: Settings) -> bool:
    """Outside production a bot token without a webhook secret is allowed (a laptop), but
    then anyone can post updates to /webhooks/telegram: say so at startup."""
    if settings.telegram_bot_token and not settings.telegram_webhook_secret:
        log.warning(
            "CIVICDESK_TELEGRAM_WEBHOOK_SECRET is not set: /webhooks/telegram accepts "
            "updates without the secret-token check (allowed only outside production)"
        )
        return True
    return False


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    warn_if_unprotected(get_settings())
    yield
    await close_runtimes()


router = APIRouter(prefix="/webhooks", tags=["bots"], lifespan=_lifespan)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None


@router.post("/telegram", include_in_schema=False)
async def telegram_webhook(request: Request) -> Response:
    settings = get_settings()
    runtime = runtime_for(settings)
    if runtime is None:
        return _error(404, "bot_not_configured", "the Telegram bot is not configured")
    expected = settings.telegram_webhook_secret
    given = request.headers.get(TELEGRAM_SECRET_HEADER, "")
    if expected and not hmac.compare_digest(given.encode(), expected.encode()):
        log.warning("telegram webhook: wrong secret token")
        return _error(401, "bad_secret_token", "the secret token does not match")
    data = _json(await request.body())
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        return _error(400, "malformed_update", "the body is not a Telegram update")
    try:
        update = Update.model_validate(data, context={"bot": runtime.bot})
    except ValidationError:
        # Valid JSON with an update id that this aiogram cannot read (a newer Bot API
        # shape): not ours to handle, and a 4xx would make Telegram retry it for hours.
        log.warning("telegram webhook: update %s does not parse; skipped", data["update_id"])
        return JSONResponse({"ok": True, "handled": False})
    try:
        await runtime.dispatcher.feed_update(runtime.bot, update)
    except ChatBusy:
        log.warning("telegram webhook: update %s waited too long for its chat", data["update_id"])
        return _error(503, "chat_busy", "another update of this chat is being handled")
    return JSONResponse({"ok": True})


@router.get("/whatsapp", include_in_schema=False)
def whatsapp_verify(request: Request) -> Response:
    challenge = webhook.verify_handshake(
        dict(request.query_params), get_settings().whatsapp_verify_token
    )
    if challenge is None:
        return _error(403, "bad_verify_token", "the verify token does not match")
    return PlainTextResponse(challenge)


_senders: dict[tuple[str, str, str], WhatsAppSender] = {}


def _reply_sender(settings: Settings) -> WhatsAppSender:
    """Replies answer a message just received: always inside the service window."""
    key = (
        settings.whatsapp_access_token or "",
        settings.whatsapp_phone_number_id or "",
        settings.whatsapp_graph_base,
    )
    if key not in _senders:
        _senders[key] = WhatsAppSender.from_settings(settings, window_open=lambda _address: True)
    return _senders[key]


def handle_whatsapp(messages: list[Inbound], settings: Settings) -> int:
    """Run each message through the conversation and send its replies; how many were new."""
    store = state_store(settings)
    handled = 0
    for inbound in messages:
        outcome = process(inbound, store=store)
        if outcome.duplicate:
            continue
        handled += 1
        if not outcome.replies:
            continue
        sender = _reply_sender(settings)
        for reply in outcome.replies:
            message = OutboundMessage(
                channel="whatsapp",
                address=inbound.address,
                text=reply.text,
                language=outcome.language,
                buttons=reply.buttons,
            )
            if not _send_reply(sender, message):
                break
    return handled


def _send_reply(sender: WhatsAppSender, message: OutboundMessage) -> bool:
    """One reply through the rate limiter; a retryable refusal is tried once more, from
    the first part Graph did not accept."""
    for attempt in (1, 2):
        limiter().acquire("whatsapp")
        try:
            sender.send(message)
            return True
        except DeliveryError as error:
            if not error.retryable or attempt == 2:
                log.warning("whatsapp reply not delivered (retryable=%s)", error.retryable)
                return False
            message = replace(message, skip_parts=error.parts_sent)
        time.sleep(REPLY_RETRY_PAUSE_S)
    return False


def record_whatsapp_statuses(statuses: list[webhook.StatusUpdate]) -> int:
    """Delivery statuses onto their notifications, in one transaction; how many matched."""
    with db.transaction() as session:
        return sum(
            record_provider_status(
                session,
                channel="whatsapp",
                provider_message_id=status.message_id,
                status=status.status,
                error=status.error,
            )
            for status in statuses
        )


@router.post("/whatsapp", include_in_schema=False)
async def whatsapp_webhook(request: Request) -> Response:
    settings = get_settings()
    if not settings.whatsapp_app_secret:
        return _error(404, "bot_not_configured", "the WhatsApp bot is not configured")
    raw = await request.body()
    if not webhook.signature_valid(
        raw, request.headers.get(WHATSAPP_SIGNATURE_HEADER), settings.whatsapp_app_secret
    ):
        log.warning("whatsapp webhook: bad or missing signature")
        return _error(401, "bad_signature", "X-Hub-Signature-256 does not match")
    data = _json(raw)
    if data is None:
        return _error(400, "malformed_json", "the body is not valid JSON")
    try:
        messages, statuses = webhook.parse(data)
    except webhook.MalformedPayload as error:
        log.warning("whatsapp webhook: malformed payload (%s)", error)
        return _error(400, "malformed_payload", "the body is not a WhatsApp webhook")
    try:
        handled = await asyncio.to_thread(handle_whatsapp, messages, settings) if messages else 0
    except ChatBusy:
        log.warning("whatsapp webhook: a message waited too long for its chat")
        return _error(503, "chat_busy", "another message of this chat is being handled")
    if statuses:
        await asyncio.to_thread(record_whatsapp_statuses, statuses)
    log.info(
        "whatsapp webhook: %d messages (%d new), %d statuses",
        len(messages),
        handled,
        len(statuses),
    )
    return JSONResponse({"ok": True})

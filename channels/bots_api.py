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
once more after a short pause, then dropped (``channels.telegram.bot``,
``channels.whatsapp.replies``).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiogram.types import Update
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import ValidationError

from channels.bot_state import ChatBusy
from channels.telegram.bot import close_runtimes, runtime_for
from channels.whatsapp import webhook
from channels.whatsapp.replies import handle_whatsapp, record_whatsapp_statuses
from core.settings import Settings, get_settings

log = logging.getLogger(__name__)
TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
WHATSAPP_SIGNATURE_HEADER = "X-Hub-Signature-256"


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
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: JSON nested deeper than the parser's recursion limit.
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

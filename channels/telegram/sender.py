"""``TelegramSender``: one ``OutboundMessage`` → Bot API ``sendMessage`` (inline keyboard).

Synchronous (httpx) because its callers are RQ jobs and services, not the event loop.
Long texts are split at Telegram's 4096-character limit; the buttons go with the last
part. A failure after some parts were delivered says how many (``parts_sent``), and a
retry with ``skip_parts`` sends only the rest: no part reaches the citizen twice.
429 and 5xx are retryable, 400/403 (chat not found, bot blocked) are not.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from channels.senders import Button, DeliveryError, OutboundMessage
from channels.senders import split_text as _split
from core.settings import Settings

log = logging.getLogger(__name__)
MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64  # bytes, Bot API limit
BUTTONS_PER_ROW = 5


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """The parts of ``text`` that each fit one Telegram message."""
    return _split(text, limit)


def inline_keyboard(buttons: tuple[Button, ...]) -> dict[str, Any]:
    """Short buttons (scores 1–5) share a row; longer ones get a row each."""
    rows: list[list[dict[str, str]]] = []
    row: list[dict[str, str]] = []
    for button in buttons:
        if len(button.payload.encode()) > MAX_CALLBACK_DATA:
            raise DeliveryError("button payload longer than 64 bytes", retryable=False)
        item = {"text": button.title, "callback_data": button.payload}
        if len(button.title) <= 3:
            row.append(item)
            if len(row) == BUTTONS_PER_ROW:
                rows.append(row)
                row = []
            continue
        if row:
            rows.append(row)
            row = []
        rows.append([item])
    if row:
        rows.append(row)
    return {"inline_keyboard": rows}


class TelegramSender:
    """Bot API transport; ``address`` is the chat id."""

    def __init__(
        self, *, token: str, api_base: str = "https://api.telegram.org", timeout_s: float = 10.0
    ) -> None:
        self._url = f"{api_base.rstrip('/')}/bot{token}"
        self._client = httpx.Client(timeout=timeout_s)

    @classmethod
    def from_settings(cls, settings: Settings) -> TelegramSender:
        if not settings.telegram_bot_token:
            raise DeliveryError("no Telegram bot token configured", retryable=False)
        return cls(token=settings.telegram_bot_token, api_base=settings.telegram_api_base)

    def close(self) -> None:
        self._client.close()

    def call(self, method: str, payload: dict[str, Any]) -> Any:
        """One Bot API method; raises DeliveryError with the right ``retryable``."""
        try:
            response = self._client.post(f"{self._url}/{method}", json=payload)
        except httpx.HTTPError as error:
            raise DeliveryError(
                f"telegram {method}: {type(error).__name__}", retryable=True
            ) from error
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code == 200 and isinstance(body, dict) and body.get("ok"):
            return body.get("result")
        code = body.get("error_code", response.status_code) if isinstance(body, dict) else 0
        retryable = code == 429 or response.status_code >= 500
        # The description names the problem (chat not found, blocked); it carries no text.
        description = body.get("description", "") if isinstance(body, dict) else ""
        raise DeliveryError(f"telegram {method} {code}: {description}", retryable=retryable)

    def send(self, message: OutboundMessage) -> str:
        """Send the parts from ``message.skip_parts`` on; the last part's message id."""
        parts = split_text(message.text)
        keyboard = inline_keyboard(message.buttons) if message.buttons else None
        message_id = ""
        # The last part (with the buttons) is always sent, even if a retry's count is off.
        for index in range(min(message.skip_parts, len(parts) - 1), len(parts)):
            payload: dict[str, Any] = {"chat_id": message.address, "text": parts[index]}
            if keyboard is not None and index == len(parts) - 1:
                payload["reply_markup"] = keyboard
            try:
                result = self.call("sendMessage", payload)
            except DeliveryError as error:
                error.parts_sent = index
                raise
            message_id = str(result.get("message_id", "")) if isinstance(result, dict) else ""
        return message_id

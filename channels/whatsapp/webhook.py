"""WhatsApp Cloud API webhooks: the verification handshake, the signature, the parsing.

Meta signs every POST with ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw
body with the app secret>``; we compare in constant time before reading anything.
One delivery may carry several messages and delivery statuses; messages become
``Inbound`` objects for the conversation, statuses update the matching
notification's delivery record (``notifications.record_provider_status``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from appeals.models import Channel
from channels.conversation import Inbound, InboundKind
from core.clock import now

log = logging.getLogger(__name__)
# Words that open the menu, as WhatsApp has no bot commands.
MENU_WORDS = {"меню", "menu", "мәзір", "start", "/start", "старт", "бастау"}


def signature_valid(raw_body: bytes, header: str | None, app_secret: str) -> bool:
    """``X-Hub-Signature-256`` check, constant-time."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header.removeprefix("sha256=").lower(), expected)


def sign(raw_body: bytes, app_secret: str) -> str:
    """The header value Meta would send (used by the fake Graph server and the bench)."""
    return "sha256=" + hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()


def verify_handshake(params: dict[str, str], verify_token: str | None) -> str | None:
    """GET ``hub.mode=subscribe&hub.verify_token=…&hub.challenge=…``: the challenge or None."""
    if not verify_token or params.get("hub.mode") != "subscribe":
        return None
    given = params.get("hub.verify_token", "")
    if not hmac.compare_digest(given.encode(), verify_token.encode()):
        return None
    return params.get("hub.challenge")


@dataclass(frozen=True)
class StatusUpdate:
    message_id: str
    status: str  # sent, delivered, read, failed
    error: str | None = None  # a failed one's first error: "<code> <title>" (no personal data)


class MalformedPayload(ValueError):
    """The body is JSON but not a WhatsApp webhook (answered 400)."""


def _received_at(message: dict[str, Any]) -> datetime:
    try:
        return datetime.fromtimestamp(int(message.get("timestamp", "")), tz=UTC)
    except (TypeError, ValueError):
        return now()


def inbound_from_message(message: dict[str, Any], *, names: dict[str, str]) -> Inbound:
    """One entry of ``value.messages`` as the conversation sees it."""
    sender = str(message.get("from", ""))
    message_id = str(message.get("id", ""))
    if not sender or not message_id:
        raise MalformedPayload("message without from/id")
    kind: InboundKind = "unsupported"
    fields: dict[str, Any] = {}
    message_type = message.get("type")
    if message_type == "text":
        body = str((message.get("text") or {}).get("body", ""))
        if body.strip().lower() in MENU_WORDS:
            kind, fields = "command", {"text": "/start"}
        else:
            kind, fields = "text", {"text": body}
    elif message_type == "image":
        image = message.get("image") or {}
        kind = "photo"
        fields = {"media_ref": str(image.get("id", "")), "text": str(image.get("caption", ""))}
    elif message_type == "location":
        location = message.get("location") or {}
        try:
            fields = {
                "latitude": float(location["latitude"]),
                "longitude": float(location["longitude"]),
            }
            kind = "location"
        except (KeyError, TypeError, ValueError):
            kind = "unsupported"
    elif message_type == "interactive":
        interactive = message.get("interactive") or {}
        reply = interactive.get("button_reply") or interactive.get("list_reply") or {}
        if reply.get("id"):
            kind, fields = "button", {"payload": str(reply["id"])}
    elif message_type == "button":  # a template's quick-reply button
        payload = (message.get("button") or {}).get("payload")
        if payload:
            kind, fields = "button", {"payload": str(payload)}
    elif message_type == "contacts":
        cards = message.get("contacts") or []
        phones = (cards[0].get("phones") or []) if cards else []
        if phones:
            phone = phones[0]
            kind = "contact"
            fields = {
                "phone": str(phone.get("phone") or phone.get("wa_id") or ""),
                "own_phone": str(phone.get("wa_id", "")) == sender,
            }
    return Inbound(
        channel=Channel.WHATSAPP,
        external_id=message_id,
        address=sender,
        kind=kind,
        full_name=names.get(sender),
        received_at=_received_at(message),
        **fields,
    )


def _status_error(status: dict[str, Any]) -> str | None:
    errors = status.get("errors")
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
        return None
    first = errors[0]
    return f"{first.get('code', '')} {first.get('title', '')}".strip()[:200] or None


def parse(payload: Any) -> tuple[list[Inbound], list[StatusUpdate]]:
    """All messages and statuses of one webhook delivery, in order."""
    if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
        raise MalformedPayload("not a WhatsApp webhook")
    messages: list[Inbound] = []
    statuses: list[StatusUpdate] = []
    for entry in payload["entry"]:
        if not isinstance(entry, dict):
            raise MalformedPayload("entry is not an object")
        for change in entry.get("changes") or []:
            if not isinstance(change, dict) or change.get("field") != "messages":
                continue  # other fields (templates, quality) are not ours to handle
            value = change.get("value") or {}
            if not isinstance(value, dict):
                raise MalformedPayload("value is not an object")
            names = {
                str(c.get("wa_id")): str((c.get("profile") or {}).get("name", ""))
                for c in value.get("contacts") or []
                if isinstance(c, dict)
            }
            for message in value.get("messages") or []:
                if not isinstance(message, dict):
                    raise MalformedPayload("message is not an object")
                messages.append(inbound_from_message(message, names=names))
            for status in value.get("statuses") or []:
                if isinstance(status, dict) and status.get("id"):
                    statuses.append(
                        StatusUpdate(
                            str(status["id"]), str(status.get("status")), _status_error(status)
                        )
                    )
    return messages, statuses

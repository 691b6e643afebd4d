"""A local WhatsApp Cloud API (Graph API) for tests and the bench.

Receives ``POST /<version>/<phone-number-id>/messages`` with a Bearer token, as
Graph does, and answers ``{"messaging_product": "whatsapp", "contacts": [...],
"messages": [{"id": "wamid..."}]}`` or a Graph error object. Like the real service it
refuses free-form messages (text, interactive) to a user who has not written in the
last 24 hours with error 131047, and accepts templates at any time, but only the
approved ones (``TEMPLATES``), with Meta's checks of their parameters and its real error
codes: unknown template or language 132001, a wrong number of parameters 132000, an
empty parameter 131008, new lines, tabs or more than four spaces in a row 132018, a
filled-in body over 1024 characters 132005.

It also plays Meta's side of the webhook: ``deliver()`` signs a recorded-shape
payload with the app secret (``X-Hub-Signature-256``) and POSTs it to our app through
any httpx-style client (a ``TestClient`` or an ``httpx.Client`` on a live server).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import threading
import time
from typing import Any

from aiohttp import web

from .aiohttp_server import LocalAiohttpServer

VERSION = "v26.0"
PHONE_NUMBER_ID = "106540352242922"
DISPLAY_PHONE = "77273001308"
ACCESS_TOKEN = "EAAG-test-access-token"
APP_SECRET = "graph-fake-app-secret-0123456789"
VERIFY_TOKEN = "civicdesk-verify-token"
WA_ID = "77011234567"
WINDOW_S = 24 * 3600
#: The templates approved for the test business (the deployment's default names), in
#: both languages: (body with {{n}} placeholders, number of quick-reply buttons).
TEMPLATES: dict[str, tuple[str, int]] = {
    "civicdesk_notification": ("Обращение {{1}}: {{2}}.", 0),
    "civicdesk_answer": (
        "Ответ на обращение {{1}}:\n\n{{2}}\n\nПолный ответ — на портале по номеру обращения.",
        0,
    ),
    "civicdesk_rating_request": (
        "Оцените, пожалуйста, ответ на обращение {{1}}: от 1 до 5.",
        5,
    ),
}
TEMPLATE_LANGUAGES = ("ru", "kk")
MAX_TEMPLATE_BODY = 1024


class FakeWhatsAppGraphAPI(LocalAiohttpServer):
    thread_name = "fake-graph"

    def __init__(self, *, app_secret: str = APP_SECRET, access_token: str = ACCESS_TOKEN) -> None:
        super().__init__()
        self.app_secret = app_secret
        self.access_token = access_token
        self.requests: list[dict[str, Any]] = []
        # [(posts to let through first, status, error body)]
        self.failures: list[tuple[int, int, dict[str, Any]]] = []
        # The window as the real service sees it: when each user last wrote to us.
        self.last_user_message: dict[str, float] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        # Media users sent: media id -> (mime type, bytes), served like Graph's media API.
        self.media: dict[str, tuple[str, bytes]] = {}

    @property
    def graph_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/{VERSION}"

    def _setup(self, app: web.Application) -> None:
        app.router.add_post("/{version}/{phone_number_id}/messages", self._messages)
        app.router.add_get("/whatsapp_business/attachments/", self._media_download)
        app.router.add_get("/{version}/{media_id}", self._media_url)

    # --- what the tests look at ---------------------------------------------------------
    def sent(self, kind: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.requests if kind is None or r.get("type") == kind]

    def fail(self, status: int, code: int, message: str, times: int = 1, *, after: int = 0) -> None:
        """``times`` posts answer this Graph error, once ``after`` more went through."""
        error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "Afake"}
        self.failures.extend(
            [(after, status, {"error": error})] + [(0, status, {"error": error})] * (times - 1)
        )

    def add_media(self, media_id: str, data: bytes, mime_type: str = "image/jpeg") -> None:
        """Make ``media_id`` retrievable: ``GET /<version>/<media id>`` then its ``url``."""
        with self._lock:
            self.media[media_id] = (mime_type, data)

    # --- the Graph API ----------------------------------------------------------------
    async def _media_url(self, request: web.Request) -> web.Response:
        """Retrieve media URL: a lookaside-style URL (valid 5 minutes at Meta), sizes as strings."""
        if request.headers.get("Authorization") != f"Bearer {self.access_token}":
            return self._error(401, 190, "Invalid OAuth access token.")
        media_id = request.match_info["media_id"]
        found = self.media.get(media_id)
        if found is None:
            return self._error(400, 100, "Unsupported get request. Object does not exist.")
        mime_type, data = found
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "url": f"http://127.0.0.1:{self.port}/whatsapp_business/attachments/"
                f"?mid={media_id}&ext={int(time.time())}&hash=ATfake",
                "mime_type": mime_type,
                "sha256": hashlib.sha256(data).hexdigest(),
                "file_size": str(len(data)),
                "id": media_id,
            }
        )

    async def _media_download(self, request: web.Request) -> web.Response:
        """The download itself needs the same bearer token (401 without it, as at Meta)."""
        if request.headers.get("Authorization") != f"Bearer {self.access_token}":
            return web.Response(status=401)
        found = self.media.get(request.query.get("mid", ""))
        if found is None:
            return web.Response(status=404)
        mime_type, data = found
        return web.Response(body=data, content_type=mime_type)

    async def _messages(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.access_token}":
            return self._error(401, 190, "Invalid OAuth access token.")
        if request.match_info["phone_number_id"] != PHONE_NUMBER_ID:
            return self._error(400, 100, "Unsupported post request.")
        body = await request.json()
        if body.get("messaging_product") != "whatsapp" or not body.get("to"):
            return self._error(400, 100, "Invalid parameter")
        failure: tuple[int, dict[str, Any]] | None = None
        with self._lock:
            if self.failures:
                let_through, status, error = self.failures[0]
                if let_through:
                    self.failures[0] = (let_through - 1, status, error)
                else:
                    self.failures.pop(0)
                    failure = (status, error)
        if failure is not None:
            return web.json_response(failure[1], status=failure[0])
        kind = body.get("type", "text")
        last = self.last_user_message.get(str(body["to"]))
        if kind != "template" and (last is None or time.time() - last > WINDOW_S):
            return self._error(400, 131047, "Re-engagement message: more than 24 hours have passed")
        if kind == "template":
            refused = _check_template(body["template"])
            if refused is not None:
                code, message, details = refused
                return self._error(400, code, message, details=details)
        problem = _validate(body)
        if problem:
            return self._error(400, 131009, problem)
        with self._lock:
            self.requests.append(body)
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                "messages": [{"id": f"wamid.HBgLNzcwMTEyMzQ1NjcVAgARGBI{next(self._ids):08d}"}],
            }
        )

    @staticmethod
    def _error(status: int, code: int, message: str, *, details: str = "") -> web.Response:
        error: dict[str, Any] = {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "fbtrace_id": "Af",
        }
        if details:
            error["error_data"] = {"messaging_product": "whatsapp", "details": details}
        return web.json_response({"error": error}, status=status)

    # --- Meta's side of the webhook ---------------------------------------------------
    def sign(self, raw: bytes) -> str:
        return "sha256=" + hmac.new(self.app_secret.encode(), raw, hashlib.sha256).hexdigest()

    def deliver(
        self, client: Any, payload: dict[str, Any], *, path: str = "/webhooks/whatsapp"
    ) -> Any:
        """POST a signed webhook to our app; users who wrote open their service window."""
        for entry in payload.get("entry", []):
            for change in entry.get("changes", []):
                for message in change.get("value", {}).get("messages", []) or []:
                    self.last_user_message[str(message["from"])] = float(message["timestamp"])
        raw = json.dumps(payload, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": self.sign(raw)}
        return client.post(path, content=raw, headers=headers)


_BAD_PARAMETER = re.compile(r"[\n\t]| {5,}")


def _check_template(template: dict[str, Any]) -> tuple[int, str, str] | None:
    """Meta's checks of a template message: (code, message, details) when refused."""
    name = template.get("name")
    language = (template.get("language") or {}).get("code")
    if name not in TEMPLATES or language not in TEMPLATE_LANGUAGES:
        return (
            132001,
            "(#132001) Template name does not exist in the translation",
            f"template name ({name}) does not exist in {language}",
        )
    body_text, buttons = TEMPLATES[str(name)]
    components = template.get("components") or []
    parameters = [
        p for c in components if c.get("type") == "body" for p in c.get("parameters") or []
    ]
    expected = len(re.findall(r"\{\{\d+\}\}", body_text))
    if len(parameters) != expected:
        return (
            132000,
            "(#132000) Number of parameters does not match the expected number of params",
            f"body: number of localizable_params ({len(parameters)}) does not match the "
            f"expected number of params ({expected})",
        )
    quick_replies = [c for c in components if c.get("type") == "button"]
    if len(quick_replies) > buttons:
        return (
            132000,
            "(#132000) Number of parameters does not match the expected number of params",
            f"buttons: {len(quick_replies)} given, the template has {buttons}",
        )
    filled = body_text
    for index, parameter in enumerate(parameters, start=1):
        value = parameter.get("text")
        if parameter.get("type") != "text" or not isinstance(value, str) or not value.strip():
            return (
                131008,
                "(#131008) Required parameter is missing",
                "Parameter of type text is missing text value",
            )
        if _BAD_PARAMETER.search(value):
            return (
                132018,
                "(#132018) There's an issue with the parameters in your template",
                "Param text cannot have new-line/tab characters or more than 4 consecutive spaces",
            )
        filled = filled.replace(f"{{{{{index}}}}}", value)
    if len(filled) > MAX_TEMPLATE_BODY:
        return (
            132005,
            "(#132005) Translated text too long",
            f"the filled-in body is {len(filled)} characters, at most {MAX_TEMPLATE_BODY}",
        )
    return None


def _validate(body: dict[str, Any]) -> str | None:
    """The limits Graph enforces on what we send."""
    if body.get("type") == "interactive":
        interactive = body["interactive"]
        if interactive["type"] == "button":
            buttons = interactive["action"]["buttons"]
            if not 1 <= len(buttons) <= 3:
                return "buttons: 1 to 3"
            if any(len(b["reply"]["title"]) > 20 for b in buttons):
                return "button title longer than 20"
        if interactive["type"] == "list":
            rows = [r for s in interactive["action"]["sections"] for r in s["rows"]]
            if len(rows) > 10 or any(len(r["title"]) > 24 for r in rows):
                return "list rows: at most 10, titles at most 24"
        if len(interactive["body"]["text"]) > 1024:
            return "body longer than 1024"
    if body.get("type") == "text" and len(body["text"]["body"]) > 4096:
        return "text longer than 4096"
    if body.get("type") == "template" and not body["template"].get("name"):
        return "template name missing"
    return None


# --- recorded-shape webhook payloads (Cloud API "messages" field) -------------------------

_message_ids = itertools.count(1)


def new_message_id() -> str:
    return f"wamid.HBgLNzcwMTEyMzQ1NjcVAgASGBQzQUZGRkI{next(_message_ids):06d}A=="


def webhook(
    *, messages: list[dict[str, Any]] | None = None, statuses: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": DISPLAY_PHONE, "phone_number_id": PHONE_NUMBER_ID},
    }
    if messages:
        value["contacts"] = [
            {"profile": {"name": "Асель"}, "wa_id": m["from"]} for m in messages[:1]
        ]
        value["messages"] = messages
    if statuses:
        value["statuses"] = statuses
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}],
    }


def _message(kind: str, content: dict[str, Any], *, wa_id: str, message_id: str | None) -> Any:
    return {
        "from": wa_id,
        "id": message_id or new_message_id(),
        "timestamp": str(int(time.time())),
        "type": kind,
        **content,
    }


def text(body: str, *, wa_id: str = WA_ID, message_id: str | None = None) -> dict[str, Any]:
    return _message("text", {"text": {"body": body}}, wa_id=wa_id, message_id=message_id)


def image(
    *, caption: str | None = None, wa_id: str = WA_ID, message_id: str | None = None
) -> dict[str, Any]:
    content: dict[str, Any] = {
        "mime_type": "image/jpeg",
        "sha256": "sBO1HBa7RW0vN4Vf3bW9OZxk5A0aNdoSCBEWWWy0WU0=",
        "id": "1003383421387256",
    }
    if caption:
        content["caption"] = caption
    return _message("image", {"image": content}, wa_id=wa_id, message_id=message_id)


def location(
    latitude: float, longitude: float, *, wa_id: str = WA_ID, message_id: str | None = None
) -> dict[str, Any]:
    content = {"location": {"latitude": latitude, "longitude": longitude}}
    return _message("location", content, wa_id=wa_id, message_id=message_id)


def button_reply(
    payload: str, title: str = "…", *, wa_id: str = WA_ID, message_id: str | None = None
) -> dict[str, Any]:
    content = {
        "context": {"from": DISPLAY_PHONE, "id": "wamid.HBgLcontext"},
        "interactive": {"type": "button_reply", "button_reply": {"id": payload, "title": title}},
    }
    return _message("interactive", content, wa_id=wa_id, message_id=message_id)


def list_reply(
    payload: str, title: str = "…", *, wa_id: str = WA_ID, message_id: str | None = None
) -> dict[str, Any]:
    content = {
        "context": {"from": DISPLAY_PHONE, "id": "wamid.HBgLcontext"},
        "interactive": {"type": "list_reply", "list_reply": {"id": payload, "title": title}},
    }
    return _message("interactive", content, wa_id=wa_id, message_id=message_id)


def sticker(*, wa_id: str = WA_ID, message_id: str | None = None) -> dict[str, Any]:
    content = {
        "sticker": {"mime_type": "image/webp", "sha256": "abc=", "id": "2003", "animated": False}
    }
    return _message("sticker", content, wa_id=wa_id, message_id=message_id)


def status(message_id: str, state: str = "delivered", *, wa_id: str = WA_ID) -> dict[str, Any]:
    return {
        "id": message_id,
        "status": state,
        "timestamp": str(int(time.time())),
        "recipient_id": wa_id,
    }


def contacts(
    phone: str,
    *,
    card_wa_id: str | None,
    wa_id: str = WA_ID,
    message_id: str | None = None,
) -> dict[str, Any]:
    """A shared contact card; ``card_wa_id`` is the card's WhatsApp id (None: not on WhatsApp)."""
    entry: dict[str, Any] = {"phone": phone, "type": "CELL"}
    if card_wa_id:
        entry["wa_id"] = card_wa_id
    card = {"name": {"formatted_name": "Асель Нурланова", "first_name": "Асель"}, "phones": [entry]}
    return _message("contacts", {"contacts": [card]}, wa_id=wa_id, message_id=message_id)

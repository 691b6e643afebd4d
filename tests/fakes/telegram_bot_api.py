"""A local Telegram Bot API server for tests and the bench (aiohttp, 127.0.0.1, free port).

Speaks the real wire protocol: ``POST /bot<token>/<method>`` with form data (what
aiogram sends; ``reply_markup`` arrives as a JSON string) or JSON (what httpx
senders send), answering ``{"ok": true, "result": ...}`` or ``{"ok": false,
"error_code": ..., "description": ...}``. ``getUpdates`` honours ``offset`` and
long-polls up to ``timeout`` seconds (capped at 1 s here), so aiogram's polling
loop behaves as against Telegram. Update builders give recorded-shape updates.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
from typing import Any

from aiohttp import web

from .aiohttp_server import LocalAiohttpServer

BOT_ID = 7000000001
TOKEN = f"{BOT_ID}:AAE-test-token-for-the-fake-bot-api00"


class FakeTelegramBotAPI(LocalAiohttpServer):
    thread_name = "fake-telegram"

    def __init__(self, token: str = TOKEN) -> None:
        super().__init__()
        self.token = token
        self.bot_id = int(token.split(":")[0])
        self.calls: list[tuple[str, dict[str, Any]]] = []
        # method -> [(calls to let through first, status, description)]
        self.failures: dict[str, list[tuple[int, int, str]]] = {}
        # The calls answered "ok" (what actually reached the chat), in order.
        self.accepted: list[tuple[str, dict[str, Any]]] = []
        # getUpdates calls, with their parameters (offset, timeout, allowed_updates).
        self.polls: list[dict[str, Any]] = []
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(100000)
        self._message_ids = itertools.count(1)
        self._new_update: asyncio.Event | None = None
        self._lock = threading.Lock()
        # Files the bot may download: file_id -> (file_path, bytes), as getFile serves them.
        self.files: dict[str, tuple[str, bytes]] = {}
        self.downloads: list[str] = []

    # --- lifecycle --------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _setup(self, app: web.Application) -> None:
        self._new_update = asyncio.Event()
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._file)

    # --- what the tests look at ---------------------------------------------------------
    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        with self._lock:
            return [params for name, params in self.calls if name == method]

    def fail(
        self, method: str, status: int, description: str, times: int = 1, *, after: int = 0
    ) -> None:
        """``times`` calls of ``method`` answer this error, once ``after`` more went through
        (``after=1``: the second part of a long message fails)."""
        queued = self.failures.setdefault(method, [])
        queued.extend([(after, status, description)] + [(0, status, description)] * (times - 1))

    def delivered(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        """The calls of ``method`` Telegram accepted (failed ones are left out)."""
        with self._lock:
            return [params for name, params in self.accepted if name == method]

    def wait_for(self, count: int, method: str = "sendMessage", timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.sent(method)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} {method}, got {len(self.sent(method))}")
            time.sleep(0.02)

    def add_file(self, file_id: str, data: bytes, *, extension: str = "jpg") -> None:
        """Make ``file_id`` downloadable (``getFile`` + ``/file/bot<token>/<file_path>``)."""
        with self._lock:
            self.files[file_id] = (f"photos/file_{len(self.files)}.{extension}", data)

    # --- updates ----------------------------------------------------------------------
    def next_update_id(self) -> int:
        return next(self._update_ids)

    def push(self, update: dict[str, Any]) -> None:
        """Queue an update for getUpdates (polling)."""
        with self._lock:
            self._updates.append(update)
        if self._loop is not None and self._new_update is not None:
            self._loop.call_soon_threadsafe(self._new_update.set)

    # --- the protocol -----------------------------------------------------------------
    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.method == "GET":
            return dict(request.query)  # getFile?file_id=… and the like
        if request.content_type == "application/json":
            body = await request.json()
            return dict(body) if isinstance(body, dict) else {}
        form = await request.post()
        params: dict[str, Any] = {}
        for key, value in form.items():
            if not isinstance(value, str):
                continue  # uploaded files are not part of these tests
            if key in {"reply_markup", "allowed_updates"}:
                params[key] = json.loads(value)
            else:
                params[key] = value
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        params = await self._params(request)
        with self._lock:
            if method == "getUpdates":
                self.polls.append(params)
            else:
                self.calls.append((method, params))
            queued = self.failures.get(method)
            failure: tuple[int, str] | None = None
            if queued:
                let_through, status, description = queued[0]
                if let_through:
                    queued[0] = (let_through - 1, status, description)
                else:
                    queued.pop(0)
                    failure = (status, description)
        if failure is not None:
            status, description = failure
            body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
            if status == 429:
                body["parameters"] = {"retry_after": 1}
            return web.json_response(body, status=status)
        if method == "getFile":
            found = self.files.get(str(params.get("file_id", "")))
            if found is None:
                body = {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: invalid file_id",
                }
                return web.json_response(body, status=400)
            file_path, data = found
            result: Any = {
                "file_id": params["file_id"],
                "file_unique_id": f"AQAD{abs(hash(file_path)) % 10**6}",
                "file_size": len(data),
                "file_path": file_path,
            }
            return web.json_response({"ok": True, "result": result})
        result = await self._result(method, params)
        if method != "getUpdates":
            with self._lock:
                self.accepted.append((method, params))
        return web.json_response({"ok": True, "result": result})

    async def _file(self, request: web.Request) -> web.Response:
        """File downloads: ``/file/bot<token>/<file_path>``, 404 for an unknown path."""
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        wanted = request.match_info["file_path"]
        with self._lock:
            self.downloads.append(wanted)
            found = [data for path, data in self.files.values() if path == wanted]
        if not found:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        return web.Response(body=found[0], content_type="application/octet-stream")

    async def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {
                "id": self.bot_id,
                "is_bot": True,
                "first_name": "Ашық Алматы",
                "username": "open_almaty_test_bot",
            }
        if method == "getUpdates":
            return await self._get_updates(params)
        if method == "sendMessage":
            return {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": {"id": int(params["chat_id"]), "type": "private"},
                "from": {"id": self.bot_id, "is_bot": True, "first_name": "Ашық Алматы"},
                "text": params.get("text", ""),
            }
        return True  # setWebhook, deleteWebhook, answerCallbackQuery, …

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = min(float(params.get("timeout") or 0), 1.0)
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                # Telegram forgets updates below the offset: they were confirmed.
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                ready = list(self._updates)
            if ready or time.monotonic() >= deadline:
                return ready
            assert self._new_update is not None
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._new_update.wait(), timeout=max(deadline - time.monotonic(), 0.01)
                )


# --- recorded-shape updates (Bot API "Update" objects) -------------------------------------

USER_ID = 412345678
FIRST_NAME = "Асель"


def _user(user_id: int) -> dict[str, Any]:
    return {
        "id": user_id,
        "is_bot": False,
        "first_name": FIRST_NAME,
        "last_name": "Нурланова",
        "username": "asel_n",
        "language_code": "ru",
    }


def message_update(
    update_id: int, *, user_id: int = USER_ID, message_id: int = 1, **content: Any
) -> dict[str, Any]:
    """A private-chat message; ``content`` is ``text=…``, ``photo=[…]``, ``location=…`` …"""
    return {
        "update_id": update_id,
        "message": {
            "message_id": message_id,
            "from": _user(user_id),
            "chat": {
                "id": user_id,
                "first_name": FIRST_NAME,
                "last_name": "Нурланова",
                "username": "asel_n",
                "type": "private",
            },
            "date": int(time.time()),
            **content,
        },
    }


def text_update(update_id: int, text: str, **kw: Any) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if text.startswith("/"):
        extra["entities"] = [{"offset": 0, "length": len(text.split()[0]), "type": "bot_command"}]
    return message_update(update_id, text=text, **extra, **kw)


def photo_update(update_id: int, *, caption: str | None = None, **kw: Any) -> dict[str, Any]:
    sizes = [
        {
            "file_id": "AgACAgIAAxkBAAIBQ2Vsmall",
            "file_unique_id": "AQADs1",
            "file_size": 1289,
            "width": 90,
            "height": 67,
        },
        {
            "file_id": "AgACAgIAAxkBAAIBQ2Vlarge",
            "file_unique_id": "AQADl1",
            "file_size": 81234,
            "width": 1280,
            "height": 960,
        },
    ]
    content: dict[str, Any] = {"photo": sizes}
    if caption:
        content["caption"] = caption
    return message_update(update_id, **content, **kw)


def location_update(update_id: int, latitude: float, longitude: float, **kw: Any) -> dict[str, Any]:
    return message_update(update_id, location={"latitude": latitude, "longitude": longitude}, **kw)


def contact_update(
    update_id: int, phone: str, *, contact_user_id: int = USER_ID, **kw: Any
) -> dict[str, Any]:
    return message_update(
        update_id,
        contact={"phone_number": phone, "first_name": FIRST_NAME, "user_id": contact_user_id},
        **kw,
    )


def sticker_update(update_id: int, **kw: Any) -> dict[str, Any]:
    sticker = {
        "file_id": "CAACAgIAAxkBAAIBR2Vsticker",
        "file_unique_id": "AgADst",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "emoji": "👍",
    }
    return message_update(update_id, sticker=sticker, **kw)


def callback_update(update_id: int, data: str, *, user_id: int = USER_ID) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"{user_id}{update_id}",
            "from": _user(user_id),
            "message": {
                "message_id": 5,
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Ашық Алматы"},
                "chat": {"id": user_id, "first_name": FIRST_NAME, "type": "private"},
                "date": int(time.time()),
                "text": "…",
            },
            "chat_instance": "-8123456789012345678",
            "data": data,
        },
    }


GROUP_CHAT_ID = -1001234567890


def group_text_update(update_id: int, text: str, *, user_id: int = USER_ID) -> dict[str, Any]:
    """A message in a supergroup the bot was added to (the chat is the group, not the user)."""
    update = message_update(update_id, text=text, user_id=user_id)
    update["message"]["chat"] = {
        "id": GROUP_CHAT_ID,
        "title": "Соседи дома 12 на Жарокова",
        "type": "supergroup",
    }
    return update


def group_callback_update(update_id: int, data: str, *, user_id: int = USER_ID) -> dict[str, Any]:
    update = callback_update(update_id, data, user_id=user_id)
    update["callback_query"]["message"]["chat"] = {
        "id": GROUP_CHAT_ID,
        "title": "Соседи дома 12 на Жарокова",
        "type": "supergroup",
    }
    return update

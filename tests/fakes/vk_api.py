"""A local VK API for ``wall.createComment``, and VK's Callback API side of the community.

``POST /method/wall.createComment`` takes form data (``owner_id``, ``post_id``,
``from_group``, ``message``, ``reply_to_comment``, ``access_token``, ``v``) and answers
``{"response": {"comment_id": N, "parents_stack": [...]}}`` or VK's error object
``{"error": {"error_code", "error_msg", "request_params"}}`` (HTTP 200, as VK does): 5 for a
bad token, 6 "Too many requests per second", 213 "Access to status replies denied", queued
with ``fail()``.

``deliver()`` POSTs a Callback API event (``type``, ``group_id``, ``event_id``, ``v``,
``secret``, ``object``) to our app; the builders follow VK's callback schema
(callback/objects.json of VKCOM/vk-api-schema).
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from typing import Any

from aiohttp import web

from .aiohttp_server import LocalAiohttpServer

GROUP_ID = 219876543
ACCESS_TOKEN = "vk1.a.community-token-fake"
SECRET = "vk-callback-secret-7f3a"
CONFIRMATION = "b2c7e1f0"
API_VERSION = "5.199"


class FakeVkAPI(LocalAiohttpServer):
    thread_name = "fake-vk"

    def __init__(self) -> None:
        super().__init__()
        self.comments: list[dict[str, str]] = []
        self._failures: list[tuple[int, str]] = []
        self._ids = itertools.count(9001)
        self._lock = threading.Lock()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/method"

    def fail(self, code: int, message: str, times: int = 1) -> None:
        with self._lock:
            self._failures.extend([(code, message)] * times)

    def _setup(self, app: web.Application) -> None:
        app.router.add_post("/method/wall.createComment", self._create_comment)

    async def _create_comment(self, request: web.Request) -> web.Response:
        form = {key: str(value) for key, value in (await request.post()).items()}
        params = [{"key": k, "value": v} for k, v in form.items() if k != "access_token"]
        if form.get("access_token") != ACCESS_TOKEN:
            return web.json_response(
                {
                    "error": {
                        "error_code": 5,
                        "error_msg": "User authorization failed: invalid access_token (4).",
                        "request_params": params,
                    }
                }
            )
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            return web.json_response(
                {
                    "error": {
                        "error_code": failure[0],
                        "error_msg": failure[1],
                        "request_params": params,
                    }
                }
            )
        if not form.get("message") or not form.get("post_id") or not form.get("owner_id"):
            return web.json_response(
                {
                    "error": {
                        "error_code": 100,
                        "error_msg": "One of the parameters specified was missing or invalid",
                        "request_params": params,
                    }
                }
            )
        comment_id = next(self._ids)
        with self._lock:
            self.comments.append({**form, "comment_id": str(comment_id)})
        stack = [int(form["reply_to_comment"])] if form.get("reply_to_comment") else []
        return web.json_response({"response": {"comment_id": comment_id, "parents_stack": stack}})


def event(
    kind: str, obj: dict[str, Any] | None, *, secret: str | None = SECRET, group_id: int = GROUP_ID
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": kind,
        "group_id": group_id,
        "event_id": uuid.uuid4().hex[:40],
        "v": API_VERSION,
    }
    if obj is not None:
        body["object"] = obj
    if secret is not None:
        body["secret"] = secret
    return body


def wall_reply(
    *,
    comment_id: int,
    post_id: int,
    text: str,
    from_id: int = 712345678,
    reply_to_comment: int | None = None,
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": comment_id,
        "from_id": from_id,
        "date": int(time.time()),
        "text": text,
        "post_id": post_id,
        "owner_id": -GROUP_ID,
        "post_owner_id": -GROUP_ID,
        "parents_stack": [reply_to_comment] if reply_to_comment else [],
        "thread": {"count": 0, "items": [], "can_post": False, "show_reply_button": False},
    }
    if reply_to_comment:
        obj["reply_to_comment"] = reply_to_comment
        obj["reply_to_user"] = 700000001
    return obj


def wall_post(*, post_id: int, text: str, from_id: int = -GROUP_ID) -> dict[str, Any]:
    return {
        "id": post_id,
        "owner_id": -GROUP_ID,
        "from_id": from_id,
        "created_by": 100500 if from_id == -GROUP_ID else from_id,
        "date": int(time.time()),
        "text": text,
        "post_type": "post",
        "comments": {"count": 0, "can_post": 1},
    }


def deliver(client: Any, payload: dict[str, Any], *, path: str = "/webhooks/vk") -> Any:
    return client.post(path, json=payload)

"""A local Graph API for Instagram and Facebook Pages, as social-media monitoring uses it.

It serves what the poller reads and what the replies write, with Graph's shapes:

- ``GET /<v>/<ig-user-id>/media`` and ``GET /<v>/<page-id>/posts``: recent posts;
- ``GET /<v>/<object-id>``: one media/post, or ``mentioned_comment.comment_id(<id>){...}``
  on the Instagram user;
- ``GET /<v>/<post-id>/comments``: newest first, ``limit`` per page, Graph's cursor paging
  (``paging.cursors.after`` and ``paging.next`` while older comments remain); Instagram
  expands ``replies``, Facebook with ``filter=stream`` lists replies flat;
- ``POST /<v>/<ig-comment-id>/replies``, ``POST /<v>/<ig-user-id>/mentions``,
  ``POST /<v>/<fb-object-id>/comments``: public replies (Instagram refuses a reply to a reply,
  code 100, as the real API does);
- ``POST /<v>/<page-id>/messages`` with ``recipient.comment_id``: the private reply, once per
  comment (10900 "Activity already replied to") and within 7 days (code 10, subcode 2534022).

Every call needs the Page access token (190 otherwise). ``fail()`` queues Graph errors for the
next calls whose path contains a given part. ``deliver()`` plays Meta's webhook side: it signs
a payload with the app secret (``X-Hub-Signature-256``) and POSTs it to our app. The payload
builders below follow the shapes in Meta's webhook reference (Instagram ``comments`` and
``mentions``, Page ``feed``, ``messaging``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from .aiohttp_server import LocalAiohttpServer

VERSION = "v26.0"
IG_USER_ID = "17841405309211844"
PAGE_ID = "108324521756392"
ACCESS_TOKEN = "EAAG-page-access-token-social"
APP_SECRET = "meta-fake-app-secret-social-0123"
VERIFY_TOKEN = "civicdesk-social-verify"
PRIVATE_REPLY_WINDOW_S = 7 * 24 * 3600


def graph_time(at: float) -> str:
    return datetime.fromtimestamp(at, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


@dataclass
class FakeComment:
    id: str
    text: str
    at: float
    user_id: str
    username: str
    parent_id: str | None = None


@dataclass
class FakePost:
    id: str
    platform: str  # instagram | facebook
    text: str
    at: float
    comments: list[FakeComment] = field(default_factory=list)


class FakeMetaGraphAPI(LocalAiohttpServer):
    thread_name = "fake-meta-graph"

    def __init__(self) -> None:
        super().__init__()
        self.posts: dict[str, FakePost] = {}
        self.replies: list[dict[str, Any]] = []  # public replies we received
        self.private_replies: list[dict[str, Any]] = []
        self.reads: list[str] = []  # paths of GETs, in order
        self._failures: list[tuple[str, int, dict[str, Any]]] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    @property
    def graph_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/{VERSION}"

    # --- test-side data ---------------------------------------------------------------------
    def add_post(self, post_id: str, platform: str, text: str, *, at: float | None = None) -> None:
        with self._lock:
            self.posts[post_id] = FakePost(post_id, platform, text, at or time.time() - 3600)

    def add_comment(
        self,
        post_id: str,
        comment_id: str,
        text: str,
        *,
        at: float | None = None,
        user_id: str = "17841400000000001",
        username: str = "aigerim.almaty",
        parent_id: str | None = None,
    ) -> FakeComment:
        comment = FakeComment(comment_id, text, at or time.time(), user_id, username, parent_id)
        with self._lock:
            self.posts[post_id].comments.append(comment)
        return comment

    def fail(
        self,
        path_part: str,
        *,
        status: int = 400,
        code: int,
        message: str,
        subcode: int | None = None,
        transient: bool = False,
        times: int = 1,
    ) -> None:
        error: dict[str, Any] = {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "fbtrace_id": "AfakeTrace",
        }
        if subcode is not None:
            error["error_subcode"] = subcode
        if transient:
            error["is_transient"] = True
        with self._lock:
            self._failures.extend([(path_part, status, {"error": error})] * times)

    # --- the Graph API ----------------------------------------------------------------------
    def _setup(self, app: web.Application) -> None:
        app.router.add_get("/{version}/{object_id}/media", self._media)
        app.router.add_get("/{version}/{object_id}/posts", self._page_posts)
        app.router.add_get("/{version}/{object_id}/comments", self._comments)
        app.router.add_get("/{version}/{object_id}", self._object)
        app.router.add_post("/{version}/{object_id}/replies", self._ig_reply)
        app.router.add_post("/{version}/{object_id}/mentions", self._ig_mention_reply)
        app.router.add_post("/{version}/{object_id}/comments", self._fb_reply)
        app.router.add_post("/{version}/{object_id}/messages", self._private_reply)

    @staticmethod
    def _error(status: int, code: int, message: str, subcode: int | None = None) -> web.Response:
        error: dict[str, Any] = {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "fbtrace_id": "AfakeTrace",
        }
        if subcode is not None:
            error["error_subcode"] = subcode
        return web.json_response({"error": error}, status=status)

    def _refused(self, request: web.Request) -> web.Response | None:
        if request.query.get("access_token") != ACCESS_TOKEN:
            return self._error(400, 190, "Invalid OAuth access token - Cannot parse access token")
        with self._lock:
            for index, (part, status, body) in enumerate(self._failures):
                if part in request.path:
                    self._failures.pop(index)
                    return web.json_response(body, status=status)
        return None

    def _find_comment(self, comment_id: str) -> tuple[FakePost, FakeComment] | None:
        for post in self.posts.values():
            for comment in post.comments:
                if comment.id == comment_id:
                    return post, comment
        return None

    async def _media(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        self.reads.append(request.path)
        if request.match_info["object_id"] != IG_USER_ID:
            return self._error(400, 100, "Unsupported get request.")
        items = [p for p in self.posts.values() if p.platform == "instagram"]
        items.sort(key=lambda p: p.at, reverse=True)
        limit = int(request.query.get("limit", "25"))
        data = [
            {
                "id": p.id,
                "caption": p.text,
                "timestamp": graph_time(p.at),
                "permalink": f"https://www.instagram.com/p/{p.id}/",
            }
            for p in items[:limit]
        ]
        return web.json_response({"data": data})

    async def _page_posts(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        self.reads.append(request.path)
        if request.match_info["object_id"] != PAGE_ID:
            return self._error(400, 100, "Unsupported get request.")
        items = [p for p in self.posts.values() if p.platform == "facebook"]
        items.sort(key=lambda p: p.at, reverse=True)
        limit = int(request.query.get("limit", "25"))
        data = [
            {
                "id": p.id,
                "message": p.text,
                "created_time": graph_time(p.at),
                "permalink_url": f"https://www.facebook.com/{p.id}",
            }
            for p in items[:limit]
        ]
        return web.json_response({"data": data})

    def _comment_json(self, post: FakePost, comment: FakeComment) -> dict[str, Any]:
        if post.platform == "instagram":
            item: dict[str, Any] = {
                "id": comment.id,
                "text": comment.text,
                "timestamp": graph_time(comment.at),
                "username": comment.username,
                "from": {"id": comment.user_id, "username": comment.username},
            }
            if comment.parent_id:
                item["parent_id"] = comment.parent_id
            return item
        item = {
            "id": comment.id,
            "message": comment.text,
            "created_time": graph_time(comment.at),
            "from": {"id": comment.user_id, "name": comment.username},
        }
        if comment.parent_id:
            item["parent"] = {"id": comment.parent_id}
        return item

    async def _comments(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        self.reads.append(f"{request.path}?after={request.query.get('after', '')}")
        post = self.posts.get(request.match_info["object_id"])
        if post is None:
            return self._error(400, 100, "Unsupported get request. Object does not exist.", 33)
        limit = min(int(request.query.get("limit", "25")), 100)
        if post.platform == "instagram":
            top = [c for c in post.comments if c.parent_id is None]
        else:
            top = list(post.comments)  # filter=stream: replies flat, in time order
        top.sort(key=lambda c: (c.at, c.id), reverse=True)
        start = 0
        after = request.query.get("after")
        if after:
            start = int(base64.b64decode(after).decode())
        page = top[start : start + limit]
        data = []
        for comment in page:
            item = self._comment_json(post, comment)
            if post.platform == "instagram":
                children = sorted(
                    (c for c in post.comments if c.parent_id == comment.id), key=lambda c: c.at
                )
                if children:
                    item["replies"] = {"data": [self._comment_json(post, c) for c in children]}
            data.append(item)
        body: dict[str, Any] = {"data": data}
        if page:
            cursors = {
                "before": base64.b64encode(str(start).encode()).decode(),
                "after": base64.b64encode(str(start + len(page)).encode()).decode(),
            }
            body["paging"] = {"cursors": cursors}
            if start + len(page) < len(top):
                body["paging"]["next"] = (
                    f"{self.graph_base}/{post.id}/comments?after={cursors['after']}&limit={limit}"
                )
        return web.json_response(body)

    async def _object(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        self.reads.append(request.path)
        object_id = request.match_info["object_id"]
        fields = request.query.get("fields", "")
        if object_id == IG_USER_ID and fields.startswith("mentioned_comment.comment_id("):
            comment_id = fields.split("(", 1)[1].split(")", 1)[0]
            found = self._find_comment(comment_id)
            if found is None:
                return self._error(400, 100, "Unsupported get request. Object does not exist.", 33)
            post, comment = found
            return web.json_response(
                {
                    "mentioned_comment": {
                        "id": comment.id,
                        "text": comment.text,
                        "timestamp": graph_time(comment.at),
                        "username": comment.username,
                        "media": {"id": post.id, "caption": post.text},
                    },
                    "id": IG_USER_ID,
                }
            )
        post = self.posts.get(object_id)
        if post is None:
            return self._error(400, 100, "Unsupported get request. Object does not exist.", 33)
        if post.platform == "instagram":
            return web.json_response(
                {"id": post.id, "caption": post.text, "timestamp": graph_time(post.at)}
            )
        return web.json_response(
            {"id": post.id, "message": post.text, "created_time": graph_time(post.at)}
        )

    def _record_reply(self, kind: str, target: str, message: str, **extra: Any) -> web.Response:
        reply_id = f"1789{next(self._ids):011d}"
        with self._lock:
            self.replies.append(
                {"kind": kind, "target": target, "message": message, "id": reply_id, **extra}
            )
        return web.json_response({"id": reply_id})

    async def _ig_reply(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        target = request.match_info["object_id"]
        found = self._find_comment(target)
        if found is None:
            return self._error(400, 100, "Unsupported post request. Object does not exist.", 33)
        if found[1].parent_id is not None:
            return self._error(400, 100, "Invalid parameter: cannot reply to a reply")
        message = request.query.get("message", "")
        if not message:
            return self._error(400, 100, "(#100) The parameter message is required")
        return self._record_reply("instagram_reply", target, message)

    async def _ig_mention_reply(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        comment_id = request.query.get("comment_id", "")
        media_id = request.query.get("media_id", "")
        if self._find_comment(comment_id) is None or not media_id:
            return self._error(400, 100, "Invalid parameter")
        return self._record_reply(
            "instagram_mention_reply",
            comment_id,
            request.query.get("message", ""),
            media_id=media_id,
        )

    async def _fb_reply(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        target = request.match_info["object_id"]
        if self._find_comment(target) is None and target not in self.posts:
            return self._error(400, 100, "Unsupported post request. Object does not exist.", 33)
        return self._record_reply("facebook_comment", target, request.query.get("message", ""))

    async def _private_reply(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        body = await request.json()
        comment_id = (body.get("recipient") or {}).get("comment_id")
        text = (body.get("message") or {}).get("text")
        found = self._find_comment(str(comment_id)) if comment_id else None
        if found is None or not text:
            return self._error(400, 100, "(#100) Invalid parameter")
        if time.time() - found[1].at > PRIVATE_REPLY_WINDOW_S:
            return self._error(400, 10, "This message is sent outside of allowed window.", 2534022)
        with self._lock:
            if any(r["comment_id"] == comment_id for r in self.private_replies):
                return self._error(400, 10900, "Activity already replied to")
            self.private_replies.append(
                {"comment_id": comment_id, "text": text, "page": request.match_info["object_id"]}
            )
        return web.json_response(
            {"recipient_id": found[1].user_id, "message_id": f"m_fake{next(self._ids)}"}
        )

    # --- Meta's side of the webhook -----------------------------------------------------------
    def sign(self, raw: bytes, secret: str = APP_SECRET) -> str:
        return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()

    def deliver(
        self,
        client: Any,
        payload: dict[str, Any],
        *,
        path: str = "/webhooks/meta",
        signature: str | None = None,
    ) -> Any:
        raw = json.dumps(payload, ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": signature if signature is not None else self.sign(raw),
        }
        if signature == "":
            del headers["X-Hub-Signature-256"]
        return client.post(path, content=raw, headers=headers)


# --- recorded-shape webhook payloads ---------------------------------------------------------


def instagram_comment(
    *,
    media_id: str,
    comment_id: str,
    text: str,
    user_id: str = "17841400000000001",
    username: str = "aigerim.almaty",
    parent_id: str | None = None,
    at: float | None = None,
    account_id: str = IG_USER_ID,
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "from": {"id": user_id, "username": username},
        "media": {"id": media_id, "media_product_type": "FEED"},
        "id": comment_id,
        "text": text,
    }
    if parent_id:
        value["parent_id"] = parent_id
    return {
        "object": "instagram",
        "entry": [
            {
                "id": account_id,
                "time": int(at or time.time()),
                "changes": [{"field": "comments", "value": value}],
            }
        ],
    }


def instagram_mention(*, comment_id: str, media_id: str) -> dict[str, Any]:
    return {
        "object": "instagram",
        "entry": [
            {
                "id": IG_USER_ID,
                "time": int(time.time()),
                "changes": [
                    {"field": "mentions", "value": {"comment_id": comment_id, "media_id": media_id}}
                ],
            }
        ],
    }


def instagram_message(*, sender_id: str, text: str) -> dict[str, Any]:
    now_ms = int(time.time() * 1000)
    return {
        "object": "instagram",
        "entry": [
            {
                "id": IG_USER_ID,
                "time": now_ms,
                "messaging": [
                    {
                        "sender": {"id": sender_id},
                        "recipient": {"id": IG_USER_ID},
                        "timestamp": now_ms,
                        "message": {"mid": f"aWdfZAG1faWQ{now_ms}", "text": text},
                    }
                ],
            }
        ],
    }


def page_feed(
    *,
    item: str,
    verb: str,
    post_id: str,
    message: str | None = None,
    comment_id: str | None = None,
    parent_id: str | None = None,
    user_id: str = "6812345678901234",
    name: str = "Ерлан Сапаров",
    at: float | None = None,
) -> dict[str, Any]:
    created = int(at or time.time())
    value: dict[str, Any] = {
        "from": {"id": user_id, "name": name},
        "item": item,
        "post_id": post_id,
        "verb": verb,
        "created_time": created,
        "post": {
            "status_type": "added_photos",
            "is_published": True,
            "id": post_id,
            "updated_time": graph_time(created),
            "promotion_status": "inactive",
            "permalink_url": f"https://www.facebook.com/{post_id}",
        },
    }
    if message is not None:
        value["message"] = message
    if comment_id is not None:
        value["comment_id"] = comment_id
        value["parent_id"] = parent_id or post_id
    return {
        "object": "page",
        "entry": [{"id": PAGE_ID, "time": created, "changes": [{"field": "feed", "value": value}]}],
    }

"""VK's Callback API (the community's wall) and the one method we call, ``wall.createComment``.

A delivery is ``{type, group_id, event_id, v, secret, object}`` (VK's schema,
callback/objects.json); ``confirmation`` must be answered with the configured string, every
other event with ``ok`` (else VK retries it). Handled: ``wall_reply_new`` (a comment),
``wall_reply_edit``, ``wall_reply_delete``, ``wall_post_new`` (the community's own post is the
context of its comments; a post someone else put on the wall is what they wrote).

Ids: a comment is ``<wall owner>_<comment id>`` and a post ``<wall owner>_<post id>``
(VK numbers comments per wall). The community's own comments (``from_id`` = ``-group``) are
our replies and are left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from channels.social.models import Platform
from channels.social.service import IncomingComment
from core.clock import now

RETRYABLE_ERRORS = frozenset({1, 6, 9, 10})


class MalformedEvent(ValueError):
    """JSON, but not a Callback API event."""


@dataclass
class Event:
    type: str
    group_id: int
    secret: str | None
    comments: list[IncomingComment] = field(default_factory=list)
    edits: list[tuple[Platform, str, str]] = field(default_factory=list)
    deletions: list[tuple[Platform, str]] = field(default_factory=list)
    post: tuple[str, str] | None = None  # the community's own post: (id, text)


def _time(value: Any) -> datetime:
    if isinstance(value, int) and value > 0:
        return datetime.fromtimestamp(value, tz=UTC)
    return now()


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedEvent(f"{what} is not a number")
    return value


def comment_key(owner_id: int, comment_id: int) -> str:
    return f"{owner_id}_{comment_id}"


def parse(payload: Any) -> Event:
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        raise MalformedEvent("not a Callback API event")
    group_id = _int(payload.get("group_id"), "group_id")
    secret = payload.get("secret")
    event = Event(str(payload["type"]), group_id, str(secret) if secret is not None else None)
    body = payload.get("object")
    if event.type == "confirmation":
        return event
    if not isinstance(body, dict):
        raise MalformedEvent(f"{event.type} without an object")
    if event.type == "wall_reply_new":
        _reply(event, body)
    elif event.type == "wall_reply_edit":
        owner = _int(body.get("post_owner_id", body.get("owner_id", -group_id)), "owner")
        key = comment_key(owner, _int(body.get("id"), "id"))
        event.edits.append((Platform.VK, key, str(body.get("text") or "")))
    elif event.type == "wall_reply_delete":
        owner = _int(body.get("owner_id", -group_id), "owner_id")
        event.deletions.append((Platform.VK, comment_key(owner, _int(body.get("id"), "id"))))
    elif event.type == "wall_post_new":
        _post(event, body)
    return event


def _reply(event: Event, body: dict[str, Any]) -> None:
    owner = _int(body.get("post_owner_id", body.get("owner_id", -event.group_id)), "owner")
    author = _int(body.get("from_id"), "from_id")
    if author == -event.group_id:
        return  # the community's own reply
    parent = body.get("reply_to_comment")
    event.comments.append(
        IncomingComment(
            platform=Platform.VK,
            account_id=str(event.group_id),
            external_id=comment_key(owner, _int(body.get("id"), "id")),
            post_external_id=comment_key(owner, _int(body.get("post_id"), "post_id")),
            text=str(body.get("text") or ""),
            created_at=_time(body.get("date")),
            author_id=str(author),
            author_handle=f"vk.com/id{author}" if author > 0 else f"vk.com/club{-author}",
            parent_external_id=comment_key(owner, parent) if isinstance(parent, int) else None,
        )
    )


def _post(event: Event, body: dict[str, Any]) -> None:
    owner = _int(body.get("owner_id", -event.group_id), "owner_id")
    key = comment_key(owner, _int(body.get("id"), "id"))
    author = body.get("from_id")
    text = str(body.get("text") or "")
    if author == -event.group_id or author is None:
        event.post = (key, text)
        return
    if not text.strip():
        return
    author_id = _int(author, "from_id")
    event.comments.append(
        IncomingComment(
            platform=Platform.VK,
            account_id=str(event.group_id),
            external_id=key,
            post_external_id=key,
            text=text,
            created_at=_time(body.get("date")),
            author_id=str(author_id),
            author_handle=f"vk.com/id{author_id}",
            is_post=True,
            post_text=text,
            post_by_visitor=True,
        )
    )


class VkError(Exception):
    def __init__(self, code: int | None, message: str, *, transport: bool = False) -> None:
        super().__init__(f"vk {code}: {message}"[:300])
        self.code = code
        self.retryable = transport or code in RETRYABLE_ERRORS


class VkClient:
    """``wall.createComment`` on the community's wall, as the community."""

    def __init__(self, base: str, token: str, version: str, *, timeout: float = 10.0) -> None:
        self.base = base.rstrip("/")
        self.token = token
        self.version = version
        self._http = httpx.Client(timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def create_comment(
        self, *, group_id: int, post_key: str, reply_to: str | None, message: str
    ) -> str:
        owner, post_id = post_key.rsplit("_", 1)
        data: dict[str, Any] = {
            "owner_id": owner,
            "post_id": post_id,
            "from_group": group_id,
            "message": message,
            "access_token": self.token,
            "v": self.version,
        }
        if reply_to and reply_to != post_key:
            data["reply_to_comment"] = reply_to.rsplit("_", 1)[1]
        try:
            response = self._http.post(f"{self.base}/wall.createComment", data=data)
            body = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise VkError(None, type(error).__name__, transport=True) from error
        if response.status_code >= 500:
            raise VkError(None, f"HTTP {response.status_code}", transport=True)
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            problem = body["error"]
            raise VkError(problem.get("error_code"), str(problem.get("error_msg", "")))
        reply = (body or {}).get("response") or {}
        return comment_key(int(owner), int(reply.get("comment_id", 0)))

"""Meta's webhooks for Instagram and Facebook Pages: what one signed delivery says.

Recorded shapes (tests/fakes/meta_graph_api.py holds them):

- Instagram, ``object: instagram``, field ``comments``: ``value = {id, text, from: {id,
  username}, media: {id, media_product_type}, parent_id?}`` (no time: the entry's ``time``);
  field ``mentions``: ``value = {comment_id, media_id}`` only, the comment is read from
  ``GET /{ig-user-id}?fields=mentioned_comment.comment_id(...)``; ``messaging`` entries are
  direct messages (a phone sent in answer to our private reply).
- Pages, ``object: page``, field ``feed``: ``value = {item, verb, comment_id?, post_id,
  parent_id?, message, from: {id, name}, created_time}``; ``item`` is ``comment`` for
  comments and ``status``/``post``/``photo``/``video`` for posts (a visitor's post when
  ``from`` is not the Page); ``verb`` is ``add``, ``edited``, ``remove``, ``hide``.

The Page's or account's own comments (our replies coming back) are left out. Signature and
handshake are WhatsApp's (the same Meta app mechanism): ``channels.whatsapp.webhook``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from channels.social.models import Platform
from channels.social.service import IncomingComment
from core.clock import now

POST_ITEMS = frozenset({"status", "post", "photo", "video", "share"})


class MalformedPayload(ValueError):
    """JSON, but not a Meta webhook delivery (answered 400)."""


@dataclass(frozen=True)
class Mention:
    account_id: str
    comment_id: str | None
    media_id: str


@dataclass(frozen=True)
class DirectMessage:
    account_id: str
    sender_id: str
    text: str


@dataclass
class Delivery:
    comments: list[IncomingComment] = field(default_factory=list)
    edits: list[tuple[Platform, str, str]] = field(default_factory=list)
    deletions: list[tuple[Platform, str]] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)
    messages: list[DirectMessage] = field(default_factory=list)
    ignored: int = 0


def _time(value: Any) -> datetime:
    """Graph sends seconds (webhooks) or ISO 8601 with "+0000" (the API)."""
    if isinstance(value, int | float) and value > 0:
        seconds = value / 1000 if value > 10**11 else value  # some entries carry milliseconds
        return datetime.fromtimestamp(seconds, tz=UTC)
    if isinstance(value, str) and value:
        try:
            return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z").astimezone(UTC)
        except ValueError:
            pass
    return now()


def graph_time(value: Any) -> datetime:
    return _time(value)


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedPayload(f"{what} is not an object")
    return value


def _changes(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """Facebook Login apps get ``entry.changes``; Business Login ones ``entry.field/value``."""
    changes = entry.get("changes")
    if isinstance(changes, list):
        return [_object(change, "a change") for change in changes]
    if "field" in entry and "value" in entry:
        return [{"field": entry["field"], "value": entry["value"]}]
    return []


def parse(payload: Any) -> Delivery:
    if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
        raise MalformedPayload("not a Meta webhook")
    kind = payload.get("object")
    delivery = Delivery()
    for raw_entry in payload["entry"]:
        entry = _object(raw_entry, "an entry")
        account_id = str(entry.get("id", ""))
        if not account_id:
            raise MalformedPayload("an entry without id")
        when = _time(entry.get("time"))
        for change in _changes(entry):
            value = _object(change.get("value") or {}, "a change's value")
            topic = change.get("field")
            if kind == "instagram" and topic in ("comments", "live_comments"):
                _instagram_comment(delivery, account_id, value, when)
            elif kind == "instagram" and topic == "mentions":
                media_id = value.get("media_id")
                if not media_id:
                    raise MalformedPayload("a mention without media_id")
                comment_id = value.get("comment_id")
                delivery.mentions.append(
                    Mention(account_id, str(comment_id) if comment_id else None, str(media_id))
                )
            elif kind == "page" and topic == "feed":
                _page_feed(delivery, account_id, value)
            else:
                delivery.ignored += 1
        for raw_message in entry.get("messaging") or []:
            message = _object(raw_message, "a messaging event")
            sender = (message.get("sender") or {}).get("id")
            text = (message.get("message") or {}).get("text")
            if sender and text and str(sender) != account_id:
                delivery.messages.append(DirectMessage(account_id, str(sender), str(text)))
            else:
                delivery.ignored += 1
    return delivery


def _instagram_comment(
    delivery: Delivery, account_id: str, value: dict[str, Any], when: datetime
) -> None:
    comment_id = value.get("id")
    media = value.get("media") or {}
    if not comment_id or not isinstance(media, dict) or not media.get("id"):
        raise MalformedPayload("an Instagram comment without id or media")
    author = value.get("from") or {}
    author_id = str(author.get("id", "")) or None
    if author_id == account_id:
        delivery.ignored += 1  # the account's own comment: our reply coming back
        return
    delivery.comments.append(
        IncomingComment(
            platform=Platform.INSTAGRAM,
            account_id=account_id,
            external_id=str(comment_id),
            post_external_id=str(media["id"]),
            text=str(value.get("text") or ""),
            created_at=when,
            author_id=author_id,
            author_handle=f"@{author['username']}" if author.get("username") else None,
            parent_external_id=str(value["parent_id"]) if value.get("parent_id") else None,
        )
    )


def _page_feed(delivery: Delivery, page_id: str, value: dict[str, Any]) -> None:
    item, verb = value.get("item"), value.get("verb")
    author = value.get("from") or {}
    author_id = str(author.get("id", "")) or None
    if author_id == page_id:
        delivery.ignored += 1  # the Page's own post or reply
        return
    if item == "comment":
        comment_id, post_id = value.get("comment_id"), value.get("post_id")
        if not comment_id or not post_id:
            raise MalformedPayload("a feed comment without comment_id or post_id")
        if verb == "add":
            parent = value.get("parent_id")
            delivery.comments.append(
                IncomingComment(
                    platform=Platform.FACEBOOK,
                    account_id=page_id,
                    external_id=str(comment_id),
                    post_external_id=str(post_id),
                    text=str(value.get("message") or ""),
                    created_at=_time(value.get("created_time")),
                    author_id=author_id,
                    author_handle=str(author["name"]) if author.get("name") else None,
                    parent_external_id=str(parent) if parent and parent != post_id else None,
                )
            )
        elif verb == "edited":
            delivery.edits.append((Platform.FACEBOOK, str(comment_id), str(value.get("message"))))
        elif verb == "remove":
            delivery.deletions.append((Platform.FACEBOOK, str(comment_id)))
        else:
            delivery.ignored += 1
        return
    if item in POST_ITEMS and value.get("post_id"):
        post_id = str(value["post_id"])
        if verb == "add" and value.get("message"):
            delivery.comments.append(
                IncomingComment(
                    platform=Platform.FACEBOOK,
                    account_id=page_id,
                    external_id=post_id,
                    post_external_id=post_id,
                    text=str(value["message"]),
                    created_at=_time(value.get("created_time")),
                    author_id=author_id,
                    author_handle=str(author["name"]) if author.get("name") else None,
                    is_post=True,
                    post_text=str(value["message"]),
                    post_by_visitor=True,
                )
            )
            return
        if verb == "edited" and value.get("message"):
            delivery.edits.append((Platform.FACEBOOK, post_id, str(value["message"])))
            return
        if verb == "remove":
            delivery.deletions.append((Platform.FACEBOOK, post_id))
            return
    delivery.ignored += 1  # likes, reactions, shares without text, hides

"""Comments under the city's Telegram channel: messages in its linked discussion group.

The bot (``channels.telegram``) is an admin of the group, so it receives every message
there. A channel post reaches the group as an automatic forward (``is_automatic_forward``):
that message is the post, and the comments are the messages replying to it, directly or
in its thread (``message_thread_id``). Edits come as ``edited_message``; Telegram tells
bots nothing of deletions. The author's Telegram id makes them the same citizen as in the
bot (``CitizenContact.telegram_user_id``).
"""

from __future__ import annotations

import logging
from datetime import UTC

from aiogram.types import Message

from channels.social.models import Platform
from channels.social.service import IncomingComment, apply_edit, ingest, remember_post
from core import db
from core.clock import now
from core.settings import Settings

log = logging.getLogger(__name__)


def is_discussion(message: Message, settings: Settings) -> bool:
    """A message of the configured discussion group."""
    chat_id = settings.social_telegram_chat_id
    return bool(chat_id) and str(message.chat.id) == str(chat_id)


def key(message: Message) -> str:
    return f"{message.chat.id}:{message.message_id}"


def comment_of(message: Message) -> IncomingComment | None:
    """The comment this group message is, or None (a post, a service message, the city's own
    message, a message with no text)."""
    text = message.text or message.caption or ""
    if message.is_automatic_forward or not text.strip():
        return None
    user = message.from_user
    if user is None or user.is_bot or message.sender_chat is not None:
        return None  # the channel or an anonymous admin speaking: the city itself
    reply = message.reply_to_message
    root = message.message_thread_id
    if root is None and reply is not None:
        root = reply.message_id if reply.is_automatic_forward else reply.message_thread_id
    if root is None:
        return None  # a message in the group that answers no post: not a comment
    post_text = None
    if reply is not None and reply.is_automatic_forward:
        post_text = reply.text or reply.caption or None
    parent = None
    if reply is not None and not reply.is_automatic_forward and reply.message_id != root:
        parent = f"{message.chat.id}:{reply.message_id}"
    created = message.date.astimezone(UTC) if message.date else now()
    return IncomingComment(
        platform=Platform.TELEGRAM,
        account_id=str(message.chat.id),
        external_id=key(message),
        post_external_id=f"{message.chat.id}:{root}",
        text=text,
        created_at=created,
        author_id=str(user.id),
        author_handle=f"@{user.username}" if user.username else user.full_name,
        parent_external_id=parent,
        post_text=post_text,
        telegram_user_id=str(user.id),
    )


def handle_message(message: Message, settings: Settings) -> bool:
    """Store a discussion-group message (a comment, or a post's text); True when new."""
    if message.is_automatic_forward:
        _remember_post(message)
        return False
    comment = comment_of(message)
    if comment is None:
        return False
    with db.transaction() as session:
        result = ingest(session, [comment], settings=settings)[0]
    return result.created


def handle_edit(message: Message) -> bool:
    text = message.text or message.caption or ""
    if not text.strip():
        return False
    with db.transaction() as session:
        return apply_edit(session, Platform.TELEGRAM, key(message), text)


def _remember_post(message: Message) -> None:
    """The channel post forwarded into the group: the context of the comments to come."""
    with db.transaction() as session:
        remember_post(
            session,
            platform=Platform.TELEGRAM,
            external_id=key(message),
            account_id=str(message.chat.id),
            text=message.text or message.caption or "",
            posted_at=message.date.astimezone(UTC) if message.date else None,
        )

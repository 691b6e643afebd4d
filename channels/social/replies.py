"""Sending our replies under comments, at most once each, with their outcome recorded.

The same discipline as notifications (``channels.notifications``): a batch of due replies
is claimed in one commit (pending → sending, attempts + 1), sent through the platform's
rate limit (``channels.rate_limit``, per platform), and the outcomes recorded in a second
commit: ``sent`` with the platform's id of our reply (and the comment's first public reply
time, the monitoring KPI), back to ``pending`` with the next attempt's time after a
retryable error (throttling, 5xx, the network), or ``failed`` with the error's code. A
crash between the platform accepting and the second commit leaves the row ``sending``;
the sweep fails it ("interrupted") rather than risk a second copy under the comment.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from channels.rate_limit import limiter
from channels.senders import DeliveryError
from channels.social import config
from channels.social.graph import GraphClient, GraphError
from channels.social.models import (
    PUBLIC_REPLIES,
    Platform,
    ReplyKind,
    ReplyState,
    SocialComment,
    SocialPost,
    SocialReply,
)
from channels.social.vk import VkClient, VkError
from core import db
from core.clock import now
from core.settings import Settings

log = logging.getLogger(__name__)
RATE_CHANNEL = "social_{platform}"


@dataclass(frozen=True)
class Claimed:
    reply_id: int
    comment_id: int
    kind: ReplyKind
    text: str
    attempt: int
    platform: Platform
    account_id: str
    comment_external_id: str
    parent_external_id: str | None
    post_external_id: str
    is_post: bool
    post_by_visitor: bool


def _claim(session: Session, reply_ids: list[int] | None, limit: int) -> list[Claimed]:
    query = (
        select(SocialReply, SocialComment, SocialPost)
        .join(SocialComment, SocialComment.id == SocialReply.comment_id)
        .join(SocialPost, SocialPost.id == SocialComment.post_id)
        .where(
            SocialReply.state == ReplyState.PENDING,
            (SocialReply.next_attempt_at.is_(None)) | (SocialReply.next_attempt_at <= now()),
        )
        .order_by(SocialReply.id)
        .limit(limit)
    )
    if reply_ids is not None:
        query = query.where(SocialReply.id.in_(reply_ids))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=SocialReply, skip_locked=True)
    claimed: list[Claimed] = []
    for reply, comment, post in session.execute(query).all():
        reply.state = ReplyState.SENDING
        reply.attempts += 1
        reply.next_attempt_at = now()  # while sending: when the send began
        claimed.append(
            Claimed(
                reply_id=reply.id,
                comment_id=comment.id,
                kind=reply.kind,
                text=reply.text,
                attempt=reply.attempts,
                platform=comment.platform,
                account_id=comment.account_id,
                comment_external_id=comment.external_id,
                parent_external_id=comment.parent_external_id,
                post_external_id=post.external_id,
                is_post=comment.is_post,
                post_by_visitor=post.by_visitor,
            )
        )
    session.flush()
    return claimed


class Transports:
    """The platforms' clients, made on first use and closed together."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._graph: GraphClient | None = None
        self._vk: VkClient | None = None
        self._http: httpx.Client | None = None

    def close(self) -> None:
        for client in (self._graph, self._vk, self._http):
            if client is not None:
                client.close()

    def send(self, item: Claimed) -> str:
        """Our reply's id on the platform; ``DeliveryError`` when it was not posted."""
        try:
            if item.platform in (Platform.INSTAGRAM, Platform.FACEBOOK):
                return self._meta(item)
            if item.platform is Platform.VK:
                return self._vk_reply(item)
            return self._telegram(item)
        except GraphError as error:
            raise DeliveryError(error.summary, retryable=error.retryable) from error
        except VkError as error:
            raise DeliveryError(str(error), retryable=error.retryable) from error

    def _meta(self, item: Claimed) -> str:
        account = config.account_for(self.settings, item.platform, item.account_id)
        if account is None:
            raise DeliveryError(f"no configured account {item.account_id}", retryable=False)
        if self._graph is None:
            self._graph = GraphClient(self.settings.social_graph_base)
        if item.kind is ReplyKind.PHONE_REQUEST:
            return self._graph.reply_private(
                account, comment_id=item.comment_external_id, text=item.text
            )
        target = item.comment_external_id
        if item.platform is Platform.INSTAGRAM and item.parent_external_id:
            target = item.parent_external_id  # Instagram threads are one level deep
        return self._graph.reply_public(
            account,
            comment_id=target,
            text=item.text,
            on_own_media=not item.post_by_visitor,
            media_id=item.post_external_id,
        )

    def _vk_reply(self, item: Claimed) -> str:
        settings = self.settings
        if not settings.social_vk_access_token or settings.social_vk_group_id is None:
            raise DeliveryError("VK is not configured", retryable=False)
        if item.kind is ReplyKind.PHONE_REQUEST:
            raise DeliveryError("VK has no private reply to a comment", retryable=False)
        if self._vk is None:
            self._vk = VkClient(
                settings.social_vk_api_base,
                settings.social_vk_access_token,
                settings.social_vk_api_version,
            )
        return self._vk.create_comment(
            group_id=settings.social_vk_group_id,
            post_key=item.post_external_id,
            reply_to=None if item.is_post else item.comment_external_id,
            message=item.text,
        )

    def _telegram(self, item: Claimed) -> str:
        settings = self.settings
        if not settings.telegram_bot_token:
            raise DeliveryError("the Telegram bot is not configured", retryable=False)
        if item.kind is ReplyKind.PHONE_REQUEST:
            raise DeliveryError("no private reply in a Telegram group", retryable=False)
        if self._http is None:
            self._http = httpx.Client(timeout=10.0)
        chat_id, message_id = item.comment_external_id.rsplit(":", 1)
        url = f"{settings.telegram_api_base}/bot{settings.telegram_bot_token}/sendMessage"
        body: dict[str, Any] = {
            "chat_id": chat_id,
            "text": item.text,
            "reply_parameters": {
                "message_id": int(message_id),
                "allow_sending_without_reply": True,
            },
        }
        try:
            response = self._http.post(url, json=body)
            answer = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise DeliveryError(type(error).__name__, retryable=True) from error
        if not answer.get("ok"):
            code = int(answer.get("error_code") or response.status_code)
            raise DeliveryError(f"telegram {code}", retryable=code == 429 or code >= 500)
        return f"{chat_id}:{answer['result']['message_id']}"


def _record(
    session: Session,
    item: Claimed,
    outcome: str | DeliveryError,
    delays: list[int],
    at: datetime,
) -> str:
    reply = session.get(SocialReply, item.reply_id)
    if reply is None:
        return "failed"
    if not isinstance(outcome, DeliveryError):
        reply.state = ReplyState.SENT
        reply.provider_id = outcome[:128] or None
        reply.sent_at = at
        reply.last_error = None
        if item.kind in PUBLIC_REPLIES:
            session.execute(
                update(SocialComment)
                .where(SocialComment.id == item.comment_id)
                .values(
                    first_public_reply_at=func.coalesce(SocialComment.first_public_reply_at, at)
                )
            )
        return "sent"
    reply.last_error = str(outcome)[:300]
    if outcome.retryable and item.attempt <= len(delays):
        reply.state = ReplyState.PENDING
        reply.next_attempt_at = at + timedelta(seconds=delays[item.attempt - 1])
        return "retry"
    reply.state = ReplyState.FAILED
    return "failed"


def send_due(
    settings: Settings, *, reply_ids: list[int] | None = None, limit: int = 50
) -> dict[str, int]:
    """Send what is due (these ids only, when given): counts of sent, retry and failed."""
    counts = {"sent": 0, "retry": 0, "failed": 0}
    transports = Transports(settings)
    try:
        while True:
            with db.transaction() as session:
                claimed = _claim(session, reply_ids, limit)
            if not claimed:
                break
            results: list[tuple[Claimed, str | DeliveryError]] = []
            for item in claimed:
                try:
                    limiter(settings).acquire(RATE_CHANNEL.format(platform=item.platform.value))
                    results.append((item, transports.send(item)))
                except DeliveryError as error:
                    results.append((item, error))
                except Exception as error:  # never leave a claimed row "sending"
                    log.exception("social reply %s: unexpected transport error", item.reply_id)
                    results.append((item, DeliveryError(type(error).__name__, retryable=True)))
            with db.transaction() as session:
                at = now()
                for item, outcome in results:
                    state = _record(
                        session, item, outcome, settings.social_reply_retry_delays_s, at
                    )
                    counts[state] += 1
                    if state != "sent":
                        log.warning(
                            "social reply %s (%s on %s) %s: %s",
                            item.reply_id,
                            item.kind.value,
                            item.platform.value,
                            state,
                            outcome,
                        )
            if len(claimed) < limit:
                break
    finally:
        transports.close()
    return counts


def fail_interrupted(session: Session, *, lease_s: int) -> int:
    """Replies left "sending" by a crash: failed, never sent twice."""
    result = session.execute(
        update(SocialReply)
        .where(
            SocialReply.state == ReplyState.SENDING,
            SocialReply.next_attempt_at < now() - timedelta(seconds=lease_s),
        )
        .values(state=ReplyState.FAILED, last_error="interrupted")
    )
    return int(getattr(result, "rowcount", 0) or 0)

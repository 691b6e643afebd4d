"""What a checked, parsed delivery does: store comments, edits, deletions, mentions, phones.

The webhook endpoints (``channels.social.api``) check the signature or secret and parse;
this runs what arrived, in one transaction per delivery (the platform retries a delivery
we did not answer 200, and a retried one is the same rows).
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.social import config, identity, meta, service, vk
from channels.social.graph import GraphClient, GraphError
from channels.social.models import Platform, SocialPost
from core import db
from core.errors import ValidationFailed
from core.settings import Settings

log = logging.getLogger(__name__)
_PHONE = re.compile(r"(?:\+?7|8)[\s(-]*\d{3}[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}")


def _known_post_texts(platform: Platform, ids: set[str]) -> dict[str, str]:
    with db.transaction() as session:
        rows = session.execute(
            select(SocialPost.external_id, SocialPost.text).where(
                SocialPost.platform == platform, SocialPost.external_id.in_(ids)
            )
        ).all()
    return {external_id: text for external_id, text in rows if text}


def _with_posts(
    comments: list[service.IncomingComment], settings: Settings, graph: GraphClient
) -> list[service.IncomingComment]:
    """Instagram's and the Page's webhooks do not carry the post: read each unknown post's
    caption once (the context of every comment under it). Best effort: a comment is
    stored even when its post cannot be read."""
    out: list[service.IncomingComment] = []
    cache: dict[tuple[Platform, str], str | None] = {}
    for platform in {c.platform for c in comments}:
        known = _known_post_texts(platform, {c.post_external_id for c in comments})
        cache.update({(platform, k): v for k, v in known.items()})
    for comment in comments:
        key = (comment.platform, comment.post_external_id)
        if comment.post_text or comment.is_post:
            out.append(comment)
            continue
        if key not in cache:
            account = config.account_for(settings, comment.platform, comment.account_id)
            cache[key] = None
            if account is not None and account.token:
                try:
                    cache[key] = graph.post(account, comment.post_external_id).text or None
                except GraphError as error:
                    log.info(
                        "social: post %s not read (%s)", comment.post_external_id, error.summary
                    )
        out.append(replace(comment, post_text=cache[key]) if cache[key] else comment)
    return out


def _mentions(
    delivery: meta.Delivery, settings: Settings, graph: GraphClient
) -> list[service.IncomingComment]:
    """A comment that @mentions the account on someone else's media: read it by its id."""
    found: list[service.IncomingComment] = []
    for mention in delivery.mentions:
        account = config.account_for(settings, Platform.INSTAGRAM, mention.account_id)
        if account is None or mention.comment_id is None:
            continue  # a caption mention has no comment to answer under
        try:
            comment = graph.mentioned_comment(account, mention.comment_id)
        except GraphError as error:
            log.warning("social: mentioned comment not read (%s)", error.summary)
            continue
        found.append(
            service.IncomingComment(
                platform=Platform.INSTAGRAM,
                account_id=account.id,
                external_id=comment.external_id,
                post_external_id=mention.media_id,
                text=comment.text,
                created_at=comment.created_at,
                author_id=comment.author_id,
                author_handle=comment.author_handle,
                post_by_visitor=True,
            )
        )
    return found


def handle_meta(delivery: meta.Delivery, settings: Settings) -> int:
    """Run one Meta delivery; how many comments were new."""
    graph = GraphClient(settings.social_graph_base)
    try:
        comments = _with_posts(delivery.comments, settings, graph) + _mentions(
            delivery, settings, graph
        )
    finally:
        graph.close()
    new = 0
    with db.transaction() as session:
        if comments:
            new = sum(1 for r in service.ingest(session, comments, settings=settings) if r.created)
        for platform, external_id, text in delivery.edits:
            service.apply_edit(session, platform, external_id, text)
        for platform, external_id in delivery.deletions:
            service.mark_deleted(session, platform, external_id)
        for message in delivery.messages:
            _phone_from_message(session, message)
    return new


def _phone_from_message(session: Session, message: meta.DirectMessage) -> None:
    """A direct message with a phone, answering our private reply: link it to the handle."""
    found = _PHONE.search(message.text)
    if found is None:
        return
    try:
        identity.link_phone(session, Platform.INSTAGRAM, message.sender_id, found.group())
    except ValidationFailed:
        log.info("social: a direct message with a number that is no phone")


def handle_vk(event: vk.Event, settings: Settings) -> int:
    new = 0
    with db.transaction() as session:
        if event.post is not None:
            post_key, text = event.post
            service.remember_post(
                session,
                platform=Platform.VK,
                external_id=post_key,
                account_id=str(event.group_id),
                text=text,
            )
        if event.comments:
            results = service.ingest(session, event.comments, settings=settings)
            new = sum(1 for r in results if r.created)
        for platform, external_id, text in event.edits:
            service.apply_edit(session, platform, external_id, text)
        for platform, external_id in event.deletions:
            service.mark_deleted(session, platform, external_id)
    return new

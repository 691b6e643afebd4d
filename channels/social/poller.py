"""The "automatic online monitoring": read the accounts' recent posts' comments by the API.

Webhooks miss things (app review pending, an outage, a comment on a post the webhook was
not subscribed for), so a pass reads each watched post's comments through the Graph API,
newest first, page by page, and stores what is new through the same ``service.ingest`` as
the webhook (a comment both brought is one contact).

The cursor per post (``social_posts.poll_*``): a pass stops at the first comment older than
``poll_seen_until`` (the newest time the last finished pass saw). A pass cut short by
``CIVICDESK_SOCIAL_POLL_MAX_PAGES`` keeps Graph's ``after`` cursor and the newest time it
saw, and the next pass resumes from that page. Each page is one transaction, so a crash
loses at most the page being read (and reads it again).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update

from channels.social import config
from channels.social.graph import GraphClient, GraphComment, GraphError, Post
from channels.social.models import SocialPost
from channels.social.service import IncomingComment, ingest
from core import db
from core.clock import now
from core.db import dialect_insert, table_of
from core.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class PollReport:
    posts: int = 0
    pages: int = 0
    comments_read: int = 0
    comments_new: int = 0
    appeals: int = 0
    errors: list[str] = field(default_factory=list)


def poll(settings: Settings, *, client: GraphClient | None = None) -> PollReport:
    """One pass over every configured account."""
    own = client is None
    graph = client or GraphClient(settings.social_graph_base)
    report = PollReport()
    try:
        for account in config.accounts(settings):
            poll_account(graph, account, settings, report)
    finally:
        if own:
            graph.close()
    return report


def poll_account(
    graph: GraphClient, account: config.Account, settings: Settings, report: PollReport
) -> None:
    try:
        posts = {
            p.external_id: p for p in graph.recent_posts(account, settings.social_poll_recent_posts)
        }
        for extra in account.posts:
            if extra not in posts:
                posts[extra] = graph.post(account, extra)
    except GraphError as error:
        log.warning(
            "social poll: %s %s posts not read (%s)", account.platform, account.id, error.summary
        )
        report.errors.append(f"{account.platform.value}:{account.id}: {error.summary}")
        return
    for post in posts.values():
        try:
            poll_post(graph, account, post, settings, report)
        except GraphError as error:
            log.warning("social poll: post %s not read (%s)", post.external_id, error.summary)
            report.errors.append(f"{account.platform.value}:{post.external_id}: {error.summary}")


def _post_row(
    account: config.Account, post: Post
) -> tuple[int, datetime | None, str | None, datetime | None]:
    with db.transaction() as session:
        dialect = session.get_bind().dialect.name
        session.execute(
            dialect_insert(dialect, table_of(SocialPost))
            .values(
                platform=account.platform,
                external_id=post.external_id,
                account_id=account.id,
                text=post.text,
                permalink=post.permalink,
                by_visitor=False,
                posted_at=post.posted_at,
                first_seen_at=now(),
            )
            .on_conflict_do_nothing(index_elements=["platform", "external_id"])
        )
        row = session.scalar(
            select(SocialPost).where(
                SocialPost.platform == account.platform, SocialPost.external_id == post.external_id
            )
        )
        assert row is not None
        if post.text and row.text != post.text:
            row.text = post.text
        if post.permalink and not row.permalink:
            row.permalink = post.permalink
        if post.posted_at and not row.posted_at:
            row.posted_at = post.posted_at
        return row.id, row.poll_seen_until, row.poll_after, row.poll_pass_newest


def _incoming(account: config.Account, post: Post, comment: GraphComment) -> IncomingComment:
    return IncomingComment(
        platform=account.platform,
        account_id=account.id,
        external_id=comment.external_id,
        post_external_id=post.external_id,
        text=comment.text,
        created_at=comment.created_at,
        author_id=comment.author_id,
        author_handle=comment.author_handle,
        parent_external_id=comment.parent_external_id,
        post_text=post.text or None,
        post_permalink=post.permalink,
        via="poll",
    )


def poll_post(
    graph: GraphClient,
    account: config.Account,
    post: Post,
    settings: Settings,
    report: PollReport,
) -> None:
    post_id, seen_until, after, pass_newest = _post_row(account, post)
    report.posts += 1
    for _page in range(settings.social_poll_max_pages):
        comments, next_after = graph.comments_page(account, post.external_id, after=after)
        report.pages += 1
        report.comments_read += len(comments)
        mine = [c for c in comments if c.author_id != account.id]
        fresh = [c for c in mine if seen_until is None or c.created_at >= seen_until]
        reached = seen_until is not None and any(c.created_at < seen_until for c in comments)
        for comment in comments:
            if pass_newest is None or comment.created_at > pass_newest:
                pass_newest = comment.created_at
        finished = reached or next_after is None
        with db.transaction() as session:
            results = ingest(
                session, [_incoming(account, post, c) for c in fresh], settings=settings
            )
            values: dict[str, object] = {"polled_at": now()}
            if finished:
                newest = (
                    max(d for d in (seen_until, pass_newest) if d is not None)
                    if (seen_until or pass_newest)
                    else None
                )
                values.update(poll_seen_until=newest, poll_after=None, poll_pass_newest=None)
            else:
                values.update(poll_after=next_after, poll_pass_newest=pass_newest)
            session.execute(update(SocialPost).where(SocialPost.id == post_id).values(**values))
        report.comments_new += sum(1 for r in results if r.created)
        report.appeals += sum(1 for r in results if r.created and r.appeal_id is not None)
        if finished:
            return
        after = next_after

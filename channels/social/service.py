"""From a comment to a stored, classified contact, and from an appeal-like one to an appeal.

Every source (Meta's webhooks, the Graph poller, VK's Callback API, the Telegram discussion
group) hands ``ingest`` the same ``IncomingComment``. A comment is stored once per
(platform, id): ``INSERT ... ON CONFLICT DO NOTHING``, so the webhook and the poller
bringing the same comment, even at the same moment, make one row and one appeal. A new
comment is classified in the batch (``channels.social.classifier``, the post as context):

- ``appeal`` → ``intake.submit`` (channel ``social``, external id
  ``platform:comment id``), the public receipt under the comment and, on Instagram, a
  private reply asking for a phone;
- ``doubtful`` → the moderation queue (``channels.social.moderation``);
- ``not_appeal`` → stored and shown in the monitoring view, nothing else.

Services flush; the webhook request, the poller's pass or the job owns the transaction, and
the replies are sent by a job after commit (``channels.social.jobs``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from appeals.models import Channel
from channels.social import classifier, identity, texts
from channels.social.models import (
    CommentState,
    Platform,
    ReplyKind,
    ReplyState,
    SocialComment,
    SocialPost,
    SocialReply,
)
from core import jobs
from core.clock import now
from core.db import dialect_insert, table_of
from core.errors import ValidationFailed
from core.settings import REPO_ROOT, Settings, get_settings
from intake.schemas import CitizenContact, IncomingContact
from intake.service import submit
from nlp.language import detect_language

log = logging.getLogger(__name__)
SEND_JOB = "channels.social.jobs.send_replies"
POST_CONTEXT_CHARS = 300
PLATFORM_NAMES = {
    Platform.INSTAGRAM: "Instagram",
    Platform.FACEBOOK: "Facebook",
    Platform.TELEGRAM: "Telegram",
    Platform.VK: "VK",
}


@dataclass(frozen=True)
class IncomingComment:
    """One comment (or a visitor's post) as its source parsed it."""

    platform: Platform
    account_id: str
    external_id: str
    post_external_id: str
    text: str
    created_at: datetime
    author_id: str | None = None
    author_handle: str | None = None
    parent_external_id: str | None = None
    is_post: bool = False
    post_text: str | None = None  # the post's caption when the source carries it
    post_permalink: str | None = None
    post_by_visitor: bool = False
    via: Literal["webhook", "poll"] = "webhook"
    telegram_user_id: str | None = None  # a Telegram author is the bot's user too


@dataclass(frozen=True)
class Ingested:
    comment_id: int
    created: bool
    state: CommentState
    appeal_id: int | None = None
    tracking_number: str | None = None


@dataclass
class _Batch:
    posts: dict[tuple[Platform, str], int] = field(default_factory=dict)
    replies: list[int] = field(default_factory=list)


def model_dir(settings: Settings) -> Path:
    path = Path(settings.social_model_dir)
    return (path if path.is_absolute() else REPO_ROOT / path).resolve()


def verdicts(pairs: Sequence[tuple[str, str]], settings: Settings) -> list[classifier.Verdict]:
    """The deployment's verdict on each (comment, post)."""
    model, metadata = classifier.current(
        model_dir(settings), engine=settings.social_classifier, data_dir=settings.data_dir
    )
    out: list[classifier.Verdict] = []
    for (text, _context), probability in zip(
        pairs, classifier.probabilities(model, pairs), strict=True
    ):
        decision = classifier.decide(
            probability, appeal_at=settings.social_appeal_at, doubt_below=settings.social_doubt_from
        )
        reason = None if probability > 0 or classifier.has_words(text) else "no_words"
        out.append(classifier.Verdict(probability, decision, metadata.version, reason))
    return out


def _upsert_posts(session: Session, comments: Sequence[IncomingComment], batch: _Batch) -> None:
    dialect = session.get_bind().dialect.name
    posts = table_of(SocialPost)
    for comment in comments:
        key = (comment.platform, comment.post_external_id)
        if key in batch.posts:
            continue
        session.execute(
            dialect_insert(dialect, posts)
            .values(
                platform=comment.platform,
                external_id=comment.post_external_id,
                account_id=comment.account_id,
                text=comment.post_text or "",
                permalink=comment.post_permalink,
                by_visitor=comment.post_by_visitor,
                first_seen_at=now(),
            )
            .on_conflict_do_nothing(index_elements=["platform", "external_id"])
        )
        post = session.execute(
            select(SocialPost.id, SocialPost.text).where(
                SocialPost.platform == comment.platform,
                SocialPost.external_id == comment.post_external_id,
            )
        ).one()
        if comment.post_text and not post.text:
            session.execute(
                update(SocialPost).where(SocialPost.id == post.id).values(text=comment.post_text)
            )
        batch.posts[key] = post.id


def remember_post(
    session: Session,
    *,
    platform: Platform,
    external_id: str,
    account_id: str,
    text: str,
    posted_at: datetime | None = None,
) -> int:
    """A post of the city's (a channel post, a VK wall post): the context of its comments."""
    session.execute(
        dialect_insert(session.get_bind().dialect.name, table_of(SocialPost))
        .values(
            platform=platform,
            external_id=external_id,
            account_id=account_id,
            text=text,
            by_visitor=False,
            posted_at=posted_at,
            first_seen_at=now(),
        )
        .on_conflict_do_nothing(index_elements=["platform", "external_id"])
    )
    row = session.scalar(
        select(SocialPost).where(
            SocialPost.platform == platform, SocialPost.external_id == external_id
        )
    )
    assert row is not None
    if text and row.text != text:
        row.text = text
    session.flush()
    return row.id


def _post_text(session: Session, post_id: int) -> str:
    return session.scalar(select(SocialPost.text).where(SocialPost.id == post_id)) or ""


def ingest(
    session: Session, comments: Sequence[IncomingComment], *, settings: Settings | None = None
) -> list[Ingested]:
    """Store, classify and act on these comments; the same comment twice is one row."""
    settings = settings or get_settings()
    batch = _Batch()
    _upsert_posts(session, comments, batch)
    existing = _existing(session, comments)
    fresh = [c for c in comments if (c.platform, c.external_id) not in existing]
    fresh = list({(c.platform, c.external_id): c for c in fresh}.values())
    contexts = {key: _post_text(session, post_id) for key, post_id in batch.posts.items()}
    judged = verdicts(
        [(c.text, contexts[(c.platform, c.post_external_id)]) for c in fresh], settings
    )
    results: dict[tuple[Platform, str], Ingested] = {}
    for comment in comments:
        row = existing.get((comment.platform, comment.external_id))
        if row is not None:
            results[(comment.platform, comment.external_id)] = _seen_again(
                session, row, comment, settings, batch
            )
    for comment, verdict in zip(fresh, judged, strict=True):
        results[(comment.platform, comment.external_id)] = _store_new(
            session, comment, verdict, batch, settings, contexts
        )
    if batch.replies:
        jobs.defer(session, SEND_JOB, batch.replies)
    return [results[(c.platform, c.external_id)] for c in comments]


def _existing(
    session: Session, comments: Sequence[IncomingComment]
) -> dict[tuple[Platform, str], SocialComment]:
    found: dict[tuple[Platform, str], SocialComment] = {}
    by_platform: dict[Platform, list[str]] = {}
    for comment in comments:
        by_platform.setdefault(comment.platform, []).append(comment.external_id)
    for platform, ids in by_platform.items():
        rows = session.scalars(
            select(SocialComment).where(
                SocialComment.platform == platform, SocialComment.external_id.in_(ids)
            )
        )
        found.update(((platform, row.external_id), row) for row in rows)
    return found


def _seen_again(
    session: Session,
    row: SocialComment,
    comment: IncomingComment,
    settings: Settings,
    batch: _Batch,
) -> Ingested:
    """A comment we have: note the path it came by; a changed text is an edit."""
    if comment.via == "poll":
        row.via_poll = True
    else:
        row.via_webhook = True
    if comment.text.strip() and comment.text != row.text and row.deleted_at is None:
        _apply_edit(session, row, comment.text, settings, batch)
    session.flush()
    return Ingested(row.id, False, row.state, row.appeal_id, None)


def _apply_edit(
    session: Session, row: SocialComment, new_text: str, settings: Settings, batch: _Batch
) -> None:
    """Edits update the comment. One not yet an appeal and not judged by an operator is
    judged again (a comment edited into a complaint becomes an appeal); an appeal's text
    stays as it was received."""
    row.text = new_text
    row.edited_at = now()
    row.language = detect_language(new_text)
    if row.appeal_id is not None or row.decided_by_id is not None:
        return
    verdict = verdicts([(new_text, _post_text(session, row.post_id))], settings)[0]
    row.probability = verdict.probability
    row.model_version = verdict.model
    row.state = CommentState(verdict.decision)
    if row.state is CommentState.APPEAL:
        register_appeal(session, row, settings=settings, batch_replies=batch.replies)


def _store_new(
    session: Session,
    comment: IncomingComment,
    verdict: classifier.Verdict,
    batch: _Batch,
    settings: Settings,
    contexts: dict[tuple[Platform, str], str],
) -> Ingested:
    dialect = session.get_bind().dialect.name
    received = now()
    inserted = session.execute(
        dialect_insert(dialect, table_of(SocialComment))
        .values(
            platform=comment.platform,
            external_id=comment.external_id,
            account_id=comment.account_id,
            post_id=batch.posts[(comment.platform, comment.post_external_id)],
            parent_external_id=comment.parent_external_id,
            is_post=comment.is_post,
            author_id=comment.author_id,
            author_handle=comment.author_handle,
            text=comment.text,
            language=detect_language(comment.text),
            created_at=comment.created_at,
            received_at=received,
            via_webhook=comment.via == "webhook",
            via_poll=comment.via == "poll",
            state=CommentState(verdict.decision),
            probability=verdict.probability,
            model_version=verdict.model,
        )
        .on_conflict_do_nothing(index_elements=["platform", "external_id"])
        .returning(table_of(SocialComment).c.id)
    ).first()
    row = session.scalar(
        select(SocialComment).where(
            SocialComment.platform == comment.platform,
            SocialComment.external_id == comment.external_id,
        )
    )
    assert row is not None
    if inserted is None:  # a concurrent delivery of the same comment stored it first
        return Ingested(row.id, False, row.state, row.appeal_id)
    if comment.author_id:
        identity.remember(session, comment.platform, comment.author_id, comment.author_handle)
    tracking = None
    if row.state is CommentState.APPEAL:
        tracking = register_appeal(
            session,
            row,
            settings=settings,
            batch_replies=batch.replies,
            telegram_user_id=comment.telegram_user_id,
            context=contexts.get((comment.platform, comment.post_external_id), ""),
        )
    return Ingested(row.id, True, row.state, row.appeal_id, tracking)


def appeal_text(row: SocialComment, context: str) -> str:
    """The comment, and what it answers: an executor reading "а у нас когда?" needs the
    post. The platform and the post's head; never the author's name."""
    text = row.text.strip()
    if context.strip():
        post = " ".join(context.split())
        if len(post) > POST_CONTEXT_CHARS:
            post = post[: POST_CONTEXT_CHARS - 1] + "…"
        line = texts.text("context", row.language, platform=PLATFORM_NAMES[row.platform], post=post)
        text = f"{text}\n\n{line}"
    return text


def register_appeal(
    session: Session,
    row: SocialComment,
    *,
    settings: Settings,
    batch_replies: list[int],
    telegram_user_id: str | None = None,
    context: str | None = None,
) -> str | None:
    """Submit the comment as an appeal and queue its replies; the tracking number, or None
    when the text cannot be an appeal (then the comment waits for an operator)."""
    if context is None:
        context = _post_text(session, row.post_id)
    handle = row.author_handle
    contact = IncomingContact(
        channel=Channel.SOCIAL,
        external_id=f"{row.platform.value}:{row.external_id}"[:128],
        text=appeal_text(row, context)[: settings.max_appeal_chars],
        language=row.language if row.language in ("ru", "kk") else None,
        citizen=CitizenContact(
            full_name=(f"{handle} ({PLATFORM_NAMES[row.platform]})" if handle else None),
            telegram_user_id=telegram_user_id,
        ),
        received_at=row.created_at,
    )
    try:
        result = submit(session, contact)
    except ValidationFailed as error:
        log.info("social comment %s is no appeal as written (%s)", row.id, error.code)
        row.state = CommentState.DOUBTFUL
        return None
    row.state = CommentState.APPEAL
    row.appeal_id = result.appeal_id
    if row.author_id:
        identity.attach_appeal(session, row.platform, row.author_id, result.appeal_id)
    batch_replies.append(
        queue_reply(
            session,
            row,
            ReplyKind.RECEIPT,
            texts.text("receipt", row.language, tracking=result.tracking_number),
        )
    )
    if _wants_phone(session, row, settings):
        batch_replies.append(
            queue_reply(
                session,
                row,
                ReplyKind.PHONE_REQUEST,
                texts.text("phone_request", row.language, tracking=result.tracking_number),
            )
        )
    session.flush()
    return result.tracking_number


def _wants_phone(session: Session, row: SocialComment, settings: Settings) -> bool:
    """Instagram allows one private reply to a comment within 7 days; ask for a phone
    there, unless this author already gave one."""
    if not settings.social_private_reply or row.platform is not Platform.INSTAGRAM:
        return False
    if not row.author_id or row.is_post:
        return False
    if identity.has_phone(session, row.platform, row.author_id):
        return False
    asked = (
        select(SocialReply.id)
        .join(SocialComment, SocialComment.id == SocialReply.comment_id)
        .where(
            SocialComment.platform == row.platform,
            SocialComment.author_id == row.author_id,
            SocialReply.kind == ReplyKind.PHONE_REQUEST,
        )
        .limit(1)
    )
    return session.scalar(asked) is None  # asked once per author, not under every comment


def queue_reply(
    session: Session,
    row: SocialComment,
    kind: ReplyKind,
    text: str,
    *,
    created_by_id: int | None = None,
) -> int:
    """One reply of this kind under this comment (a second of the same kind is the first)."""
    dialect = session.get_bind().dialect.name
    replies = table_of(SocialReply)
    session.execute(
        dialect_insert(dialect, replies)
        .values(
            comment_id=row.id,
            kind=kind,
            text=text,
            language=row.language,
            state=ReplyState.PENDING,
            attempts=0,
            created_by_id=created_by_id,
            created_at=now(),
        )
        .on_conflict_do_nothing(index_elements=["comment_id", "kind"])
    )
    reply_id = session.scalar(
        select(SocialReply.id).where(SocialReply.comment_id == row.id, SocialReply.kind == kind)
    )
    assert reply_id is not None
    return int(reply_id)


def mark_deleted(session: Session, platform: Platform, external_id: str) -> bool:
    """The author deleted it: the comment is marked (an appeal made from it stays), and
    replies not yet sent under it will not be."""
    row = session.scalar(
        select(SocialComment).where(
            SocialComment.platform == platform, SocialComment.external_id == external_id
        )
    )
    if row is None or row.deleted_at is not None:
        return False
    row.deleted_at = now()
    session.execute(
        update(SocialReply)
        .where(SocialReply.comment_id == row.id, SocialReply.state == ReplyState.PENDING)
        .values(state=ReplyState.FAILED, last_error="comment deleted")
    )
    session.flush()
    return True


def apply_edit(session: Session, platform: Platform, external_id: str, new_text: str) -> bool:
    """An edit reported on its own (Page ``verb: edited``, VK ``wall_reply_edit``)."""
    row = session.scalar(
        select(SocialComment).where(
            SocialComment.platform == platform, SocialComment.external_id == external_id
        )
    )
    if row is None or row.deleted_at is not None or new_text == row.text:
        return False
    batch = _Batch()
    _apply_edit(session, row, new_text, get_settings(), batch)
    if batch.replies:
        jobs.defer(session, SEND_JOB, batch.replies)
    session.flush()
    return True

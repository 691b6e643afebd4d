"""Social-media monitoring's records: posts, comments, replies and the authors' handles.

A comment is stored once per (platform, its id): the webhook and the poller may both
bring it, an edit updates it, a deletion marks it. Its fate is one state:
``appeal`` (it went through ``intake.submit``), ``not_appeal``, ``doubtful`` (waiting in
the moderation queue) or ``answered`` (an operator answered it without an appeal); who
decided (the model or an operator) and the model's probability stay beside it, so the
operators' decisions are training data.

Every reply we post (the receipt under the comment, the private request for a phone, the
answer's summary at closing, an operator's answer) is a row with its outcome, sent at most
once per (comment, kind).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import now
from core.db import Base, str_enum


class Platform(enum.StrEnum):
    INSTAGRAM = "instagram"
    FACEBOOK = "facebook"
    TELEGRAM = "telegram"
    VK = "vk"


class CommentState(enum.StrEnum):
    APPEAL = "appeal"
    NOT_APPEAL = "not_appeal"
    DOUBTFUL = "doubtful"
    ANSWERED = "answered"  # an operator answered it publicly without registering an appeal


class ReplyKind(enum.StrEnum):
    RECEIPT = "receipt"  # public: registered, the tracking number, the term
    PHONE_REQUEST = "phone_request"  # private (Instagram): a phone to reach the author
    ANSWER = "answer"  # public: the answer's summary when the appeal is closed
    OPERATOR = "operator"  # public: an operator's answer without an appeal


class ReplyState(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


PUBLIC_REPLIES = (ReplyKind.RECEIPT, ReplyKind.ANSWER, ReplyKind.OPERATOR)


class SocialPost(Base):
    """A post (Instagram media, Page post, channel post, VK wall post) comments stand under.

    ``poll_*`` is the poller's cursor for this post: comments come newest first, so a pass
    reads pages until it meets ``poll_seen_until`` (the newest comment of the last finished
    pass); a pass cut short by the page limit keeps ``poll_after`` (Graph's ``after``
    cursor) and the newest time it saw, and the next pass resumes there.
    """

    __tablename__ = "social_posts"
    __table_args__ = (
        UniqueConstraint("platform", "external_id", name="uq_social_posts_platform_external_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[Platform] = mapped_column(str_enum(Platform, 16))
    external_id: Mapped[str] = mapped_column(String(128))
    account_id: Mapped[str] = mapped_column(String(64), index=True)
    text: Mapped[str] = mapped_column(Text, default="")
    permalink: Mapped[str | None] = mapped_column(String(500))
    by_visitor: Mapped[bool] = mapped_column(Boolean, default=False)
    posted_at: Mapped[datetime | None]
    first_seen_at: Mapped[datetime] = mapped_column(default=now)
    poll_seen_until: Mapped[datetime | None]
    poll_after: Mapped[str | None] = mapped_column(String(512))
    poll_pass_newest: Mapped[datetime | None]
    polled_at: Mapped[datetime | None]


class SocialComment(Base):
    __tablename__ = "social_comments"
    __table_args__ = (
        UniqueConstraint("platform", "external_id", name="uq_social_comments_platform_external_id"),
        Index("ix_social_comments_state_created", "state", "created_at"),
        Index("ix_social_comments_post_created", "post_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[Platform] = mapped_column(str_enum(Platform, 16))
    external_id: Mapped[str] = mapped_column(String(128))
    account_id: Mapped[str] = mapped_column(String(64), index=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("social_posts.id"))
    parent_external_id: Mapped[str | None] = mapped_column(String(128))  # the comment replied to
    # A visitor's post (Facebook) or a caption that mentions the account is stored as a
    # "comment" too: it is what the citizen wrote.
    is_post: Mapped[bool] = mapped_column(Boolean, default=False)
    author_id: Mapped[str | None] = mapped_column(String(64))  # the platform's user id
    author_handle: Mapped[str | None] = mapped_column(String(200))  # public @name or name
    text: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(2), default="ru")
    created_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=now)
    edited_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    via_webhook: Mapped[bool] = mapped_column(Boolean, default=False)
    via_poll: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[CommentState] = mapped_column(str_enum(CommentState, 16))
    probability: Mapped[float] = mapped_column(Float, default=0.0)
    model_version: Mapped[str | None] = mapped_column(String(64))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    decided_at: Mapped[datetime | None]
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeals.id"), index=True)
    first_public_reply_at: Mapped[datetime | None]


class SocialReply(Base):
    __tablename__ = "social_replies"
    __table_args__ = (
        UniqueConstraint("comment_id", "kind", name="uq_social_replies_comment_id"),
        Index("ix_social_replies_state_next", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("social_comments.id", ondelete="CASCADE"))
    kind: Mapped[ReplyKind] = mapped_column(str_enum(ReplyKind, 16))
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(2))
    state: Mapped[ReplyState] = mapped_column(str_enum(ReplyState, 16))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    provider_id: Mapped[str | None] = mapped_column(String(128))
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)
    sent_at: Mapped[datetime | None]


class SocialHandle(Base):
    """An author on a platform (their user id and public handle) and the citizen they are.

    The first appeal of a handle makes its citizen; later ones join that citizen's group
    (``intake.repeats.identity``), and a phone given later joins the phone's citizen.
    """

    __tablename__ = "social_handles"
    __table_args__ = (
        UniqueConstraint("platform", "author_id", name="uq_social_handles_platform_author_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[Platform] = mapped_column(str_enum(Platform, 16))
    author_id: Mapped[str] = mapped_column(String(64))
    handle: Mapped[str | None] = mapped_column(String(200))
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizens.id"), index=True)
    phone_linked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=now)

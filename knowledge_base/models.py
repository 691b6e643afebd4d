"""The knowledge base's tables: articles and life situations, their versions, what was learned.

- ``kb_articles``: the current text of each article (ru and kk), its status (draft,
  published, archived: never deleted, so old answers keep their article), who answers for
  it, where it came from and when it was last checked; ``example`` marks the seed set a
  city replaces.
- ``kb_article_versions``: every edit, a full snapshot with who and why.
- ``kb_pairs``: (question, article) pairs learned from operators' choices and citizens'
  "helped / didn't help"; the ones that helped become paraphrases on the next index build.
- ``kb_embeddings``: encoded texts by hash, so an index build re-encodes only what changed.
- ``kb_proposals``: clusters of appeals answered without an article, for an editor.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import now
from core.db import Base, str_enum


class ArticleStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class ArticleKind(enum.StrEnum):
    ARTICLE = "article"  # a quick answer: who is responsible, phone numbers, rules
    LIFE_SITUATION = "life_situation"  # how to get a service, step by step


class PairSource(enum.StrEnum):
    OPERATOR = "operator"  # an operator inserted the article's answer for a caller
    CITIZEN = "citizen"  # a citizen pressed «Помогло» / «Подать обращение» in a bot
    PORTAL = "portal"  # a citizen on the portal found the answer before filing
    EDITOR = "editor"  # an editor linked a question to an article


class Article(Base):
    __tablename__ = "kb_articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[ArticleKind] = mapped_column(str_enum(ArticleKind, 24))
    status: Mapped[ArticleStatus] = mapped_column(str_enum(ArticleStatus, 16), index=True)
    title_ru: Mapped[str] = mapped_column(String(300))
    title_kk: Mapped[str] = mapped_column(String(300), default="")
    body_ru: Mapped[str] = mapped_column(Text)
    body_kk: Mapped[str] = mapped_column(Text, default="")
    steps_ru: Mapped[list[str]] = mapped_column(JSON, default=list)
    steps_kk: Mapped[list[str]] = mapped_column(JSON, default=list)
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    category_code: Mapped[str | None] = mapped_column(String(64))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)
    checked_on: Mapped[date | None] = mapped_column(Date)
    example: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now, index=True)


class ArticleVersion(Base):
    __tablename__ = "kb_article_versions"
    __table_args__ = (
        Index("ix_kb_article_versions_article", "article_id", "version", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    edited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    edited_by: Mapped[str] = mapped_column(String(120))  # the name, kept if the user goes
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=now)


class Pair(Base):
    __tablename__ = "kb_pairs"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("kb_articles.id", ondelete="CASCADE"), index=True
    )
    question: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8))
    source: Mapped[PairSource] = mapped_column(str_enum(PairSource, 16))
    helped: Mapped[bool | None] = mapped_column(Boolean)  # None: not told (an operator's use)
    channel: Mapped[str | None] = mapped_column(String(32))
    operator_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), index=True
    )
    appeal_id: Mapped[int | None] = mapped_column(
        ForeignKey("appeals.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=now, index=True)


class Embedding(Base):
    __tablename__ = "kb_embeddings"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=now)


class ProposalStatus(enum.StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"  # an editor made a draft article of it
    DISMISSED = "dismissed"


class Proposal(Base):
    __tablename__ = "kb_proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    questions: Mapped[list[str]] = mapped_column(JSON)  # a few of the cluster's texts
    answers: Mapped[list[str]] = mapped_column(JSON)  # what staff answered them
    appeal_ids: Mapped[list[int]] = mapped_column(JSON)
    size: Mapped[int] = mapped_column(Integer)
    status: Mapped[ProposalStatus] = mapped_column(str_enum(ProposalStatus, 16), index=True)
    article_id: Mapped[int | None] = mapped_column(
        ForeignKey("kb_articles.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=now)

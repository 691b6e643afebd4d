"""Articles and life situations: create, edit (each edit a version with who and why),
publish and archive, list and read; the (question, article) pairs the knowledge base learns.

Services flush; the entry point (the request, the CLI) commits. Editors are admins and
inspectors (``EDITOR_ROLES``): the people who already own the answers' quality; a city
wanting a separate role gives those users the inspector role.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.clock import now
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.models import Role, StaffUser
from knowledge_base.models import (
    Article,
    ArticleKind,
    ArticleStatus,
    ArticleVersion,
    Pair,
    PairSource,
)
from knowledge_base.schemas import ArticleIn, ArticleOut, VersionOut
from routing.models import Organization

EDITOR_ROLES = frozenset({Role.ADMIN, Role.INSPECTOR})
READER_ROLES = frozenset({Role.ADMIN, Role.INSPECTOR, Role.OPERATOR, Role.ANALYST})
MAX_REASON = 1000


def require_editor(user: StaffUser) -> None:
    if user.role not in EDITOR_ROLES:
        raise PermissionDenied(
            "editing the knowledge base needs the admin or inspector role", code="kb_not_editor"
        )


def _organization_id(session: Session, code: str | None) -> int | None:
    if not code:
        return None
    found = session.scalar(select(Organization.id).where(Organization.code == code))
    if found is None:
        raise ValidationFailed(f"unknown organization: {code}", code="kb_unknown_organization")
    return found


def organization_codes(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Organization.id, Organization.code)).all())


def snapshot(article: Article, org_code: str | None) -> dict[str, Any]:
    """Every field an editor sets, as plain JSON (what a version keeps)."""
    return {
        "slug": article.slug,
        "kind": article.kind.value,
        "status": article.status.value,
        "title_ru": article.title_ru,
        "title_kk": article.title_kk,
        "body_ru": article.body_ru,
        "body_kk": article.body_kk,
        "steps_ru": list(article.steps_ru),
        "steps_kk": list(article.steps_kk),
        "organization": org_code,
        "category": article.category_code,
        "tags": list(article.tags),
        "sources": list(article.sources),
        "checked_on": article.checked_on.isoformat() if article.checked_on else None,
        "example": article.example,
    }


def to_out(article: Article, org_code: str | None) -> ArticleOut:
    data = snapshot(article, org_code)
    data["checked_on"] = article.checked_on
    return ArticleOut(id=article.id, version=article.version, **data)


def _apply(session: Session, article: Article, data: ArticleIn) -> None:
    article.slug = data.slug
    article.kind = ArticleKind(data.kind)
    article.status = ArticleStatus(data.status)
    article.title_ru = data.title_ru
    article.title_kk = data.title_kk
    article.body_ru = data.body_ru
    article.body_kk = data.body_kk
    article.steps_ru = list(data.steps_ru)
    article.steps_kk = list(data.steps_kk)
    article.organization_id = _organization_id(session, data.organization)
    article.category_code = data.category
    article.tags = list(data.tags)
    article.sources = list(data.sources)
    article.checked_on = data.checked_on
    article.example = data.example


def _record_version(
    session: Session, article: Article, *, user: StaffUser | None, by: str, reason: str
) -> None:
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("say why (the version keeps the reason)", code="kb_reason_missing")
    session.add(
        ArticleVersion(
            article_id=article.id,
            version=article.version,
            snapshot=snapshot(article, _code_of(session, article.organization_id)),
            edited_by_id=user.id if user else None,
            edited_by=(user.username if user else by)[:120],
            reason=reason[:MAX_REASON],
        )
    )


def _code_of(session: Session, organization_id: int | None) -> str | None:
    if organization_id is None:
        return None
    return session.scalar(select(Organization.code).where(Organization.id == organization_id))


def create_article(
    session: Session,
    *,
    data: ArticleIn,
    user: StaffUser | None,
    by: str = "",
    reason: str = "created",
) -> Article:
    """A new article at version 1 (``user`` None: an import, recorded as ``by``)."""
    if user is not None:
        require_editor(user)
    if session.scalar(select(Article.id).where(Article.slug == data.slug)) is not None:
        raise Conflict(f"an article with the slug {data.slug} exists", code="kb_slug_taken")
    article = Article(version=1, created_at=now(), updated_at=now())
    _apply(session, article, data)
    session.add(article)
    session.flush()
    _record_version(session, article, user=user, by=by, reason=reason)
    session.flush()
    return article


def update_article(
    session: Session,
    article: Article,
    *,
    data: ArticleIn,
    user: StaffUser | None,
    by: str = "",
    reason: str,
    expected_version: int | None = None,
) -> bool:
    """A new version when anything changed (False: identical, nothing written).

    ``expected_version``: the version the editor opened; another editor's save in between
    is refused (409) rather than silently overwritten.
    """
    if user is not None:
        require_editor(user)
    if expected_version is not None and expected_version != article.version:
        raise Conflict(
            f"the article changed since you opened it (now version {article.version})",
            code="kb_version_conflict",
        )
    if data.slug != article.slug and session.scalar(
        select(Article.id).where(Article.slug == data.slug)
    ):
        raise Conflict(f"an article with the slug {data.slug} exists", code="kb_slug_taken")
    before = snapshot(article, _code_of(session, article.organization_id))
    _apply(session, article, data)
    if snapshot(article, _code_of(session, article.organization_id)) == before:
        return False
    article.version += 1
    article.updated_at = now()
    session.flush()
    _record_version(session, article, user=user, by=by, reason=reason)
    session.flush()
    return True


def set_status(
    session: Session, article: Article, status: ArticleStatus, *, user: StaffUser, reason: str
) -> None:
    """Publish, archive or return to draft: a version like any edit."""
    require_editor(user)
    if article.status == status:
        return
    article.status = status
    article.version += 1
    article.updated_at = now()
    session.flush()
    _record_version(session, article, user=user, by="", reason=reason)
    session.flush()


def get_article(session: Session, article_id: int) -> Article:
    article = session.get(Article, article_id)
    if article is None:
        raise NotFound("no such article", code="kb_article_not_found")
    return article


def article_exists(session: Session, article_id: int) -> bool:
    """Whether the article is there (an answer is recorded even if it was deleted meanwhile)."""
    return session.get(Article, article_id) is not None


def by_slug(session: Session, slug: str) -> Article | None:
    return session.scalar(select(Article).where(Article.slug == slug))


def list_articles(
    session: Session,
    *,
    status: ArticleStatus | None = None,
    text: str = "",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Article], int]:
    """Articles by last change (newest first), filtered by status and words of the title."""
    query = select(Article)
    if status is not None:
        query = query.where(Article.status == status)
    words = [w for w in text.lower().split() if w][:5]
    for word in words:
        like = f"%{word}%"
        query = query.where(
            or_(
                func.lower(Article.title_ru).like(like),
                func.lower(Article.title_kk).like(like),
                func.lower(Article.slug).like(like),
            )
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Article.updated_at.desc(), Article.id.desc()).limit(limit).offset(offset)
    ).all()
    return list(rows), int(total)


def versions(session: Session, article: Article) -> list[VersionOut]:
    rows = session.scalars(
        select(ArticleVersion)
        .where(ArticleVersion.article_id == article.id)
        .order_by(ArticleVersion.version.desc())
    ).all()
    return [
        VersionOut(
            version=row.version,
            edited_by=row.edited_by,
            reason=row.reason,
            created_at=row.created_at.isoformat(),
            status=str(row.snapshot.get("status", "")),
        )
        for row in rows
    ]


def record_pair(
    session: Session,
    *,
    article_id: int,
    question: str,
    language: str,
    source: PairSource,
    helped: bool | None = None,
    channel: str | None = None,
    operator_id: int | None = None,
    appeal_id: int | None = None,
) -> Pair:
    """Remember that this article answered (or did not answer) this question."""
    question = question.strip()
    if len(question) < 2:
        raise ValidationFailed("the question is empty", code="kb_question_empty")
    if session.get(Article, article_id) is None:
        raise NotFound("no such article", code="kb_article_not_found")
    pair = Pair(
        article_id=article_id,
        question=question[:5000],
        language=language if language in ("ru", "kk") else "ru",
        source=source,
        helped=helped,
        channel=channel,
        operator_id=operator_id,
        appeal_id=appeal_id,
        created_at=now(),
    )
    session.add(pair)
    session.flush()
    return pair


def learned_pairs(session: Session) -> Sequence[tuple[str, int]]:
    """(question, article id) of every pair that did not fail: the index's paraphrases."""
    rows = session.execute(
        select(Pair.question, Pair.article_id)
        .join(Article, Article.id == Pair.article_id)
        .where(or_(Pair.helped.is_(None), Pair.helped.is_(True)))
        .where(Article.status == ArticleStatus.PUBLISHED)
        .order_by(Pair.id)
    )
    return list(rows.all())


def checked_before(session: Session, day: date) -> int:
    """Published articles not checked since ``day`` (the editor's list shows them first)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Article)
            .where(Article.status == ArticleStatus.PUBLISHED)
            .where(or_(Article.checked_on.is_(None), Article.checked_on < day))
        )
        or 0
    )

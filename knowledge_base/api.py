"""The knowledge base over HTTP: articles for editors, search for everyone.

``GET /api/v1/kb/search?q=…&lang=…`` is public (the portal and the mobile app show likely
answers before a citizen files) and returns only published articles. Articles are read by
staff (operators, inspectors, analysts, admins) and written by editors (admins and
inspectors); every write is a version with who and why.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from core.api_deps import CurrentUser, DbSession
from core.errors import PermissionDenied
from core.models import StaffUser
from knowledge_base import search as kb_search
from knowledge_base import service
from knowledge_base.models import ArticleStatus, PairSource
from knowledge_base.schemas import ArticleIn, ArticleOut, HitOut, PairIn, SearchOut, VersionOut

router = APIRouter(prefix="/api/v1/kb", tags=["knowledge base"])


class ArticlesOut(BaseModel):
    total: int
    articles: list[ArticleOut]


class ArticleEdit(ArticleIn):
    reason: str = Field(min_length=3, max_length=1000)
    expected_version: int | None = None


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["draft", "published", "archived"]
    reason: str = Field(min_length=3, max_length=1000)


def _reader(user: StaffUser) -> None:
    if user.role not in service.READER_ROLES:
        raise PermissionDenied("the knowledge base is for the office's staff", code="kb_not_reader")


@router.get("/search", response_model=SearchOut)
def search(
    session: DbSession,
    q: Annotated[str, Query(min_length=2, max_length=2000)],
    lang: Annotated[str, Query(pattern="^(ru|kk)$")] = "ru",
    k: Annotated[int, Query(ge=1, le=20)] = 5,
) -> SearchOut:
    hits = kb_search.search(session, q, language=lang, k=k)
    codes = service.organization_codes(session)
    return SearchOut(
        query=q,
        lang=lang,
        retriever=kb_search.retriever_name(session),
        hits=[
            HitOut(
                id=h.article_id,
                slug=h.slug,
                title=h.title,
                answer=h.answer,
                confidence=h.confidence,
                confidence_words=h.words,
                sure=h.sure,
                organization=codes.get(h.organization_id or -1),
            )
            for h in hits
        ],
    )


@router.get("/articles", response_model=ArticlesOut)
def articles(
    session: DbSession,
    user: CurrentUser,
    status: Annotated[str | None, Query(pattern="^(draft|published|archived)$")] = None,
    q: Annotated[str, Query(max_length=200)] = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ArticlesOut:
    _reader(user)
    rows, total = service.list_articles(
        session,
        status=ArticleStatus(status) if status else None,
        text=q,
        limit=limit,
        offset=offset,
    )
    codes = service.organization_codes(session)
    return ArticlesOut(
        total=total,
        articles=[service.to_out(a, codes.get(a.organization_id or -1)) for a in rows],
    )


@router.post("/articles", response_model=ArticleOut, status_code=201)
def create(session: DbSession, user: CurrentUser, body: ArticleIn) -> ArticleOut:
    article = service.create_article(session, data=body, user=user)
    return service.to_out(article, body.organization)


@router.get("/articles/{article_id}", response_model=ArticleOut)
def read(session: DbSession, user: CurrentUser, article_id: int) -> ArticleOut:
    _reader(user)
    article = service.get_article(session, article_id)
    return service.to_out(
        article, service.organization_codes(session).get(article.organization_id or -1)
    )


@router.put("/articles/{article_id}", response_model=ArticleOut)
def update(session: DbSession, user: CurrentUser, article_id: int, body: ArticleEdit) -> ArticleOut:
    article = service.get_article(session, article_id)
    data = ArticleIn.model_validate(body.model_dump(exclude={"reason", "expected_version"}))
    service.update_article(
        session,
        article,
        data=data,
        user=user,
        reason=body.reason,
        expected_version=body.expected_version,
    )
    return service.to_out(article, data.organization)


@router.post("/articles/{article_id}/status", response_model=ArticleOut)
def change_status(
    session: DbSession, user: CurrentUser, article_id: int, body: StatusIn
) -> ArticleOut:
    article = service.get_article(session, article_id)
    service.set_status(session, article, ArticleStatus(body.status), user=user, reason=body.reason)
    return service.to_out(
        article, service.organization_codes(session).get(article.organization_id or -1)
    )


@router.get("/articles/{article_id}/versions", response_model=list[VersionOut])
def versions(session: DbSession, user: CurrentUser, article_id: int) -> list[VersionOut]:
    _reader(user)
    return service.versions(session, service.get_article(session, article_id))


@router.post("/articles/{article_id}/pairs", status_code=201)
def record_choice(
    session: DbSession, user: CurrentUser, article_id: int, body: PairIn
) -> dict[str, int]:
    """An operator's choice of this article for a question (learned on the next build)."""
    _reader(user)
    pair = service.record_pair(
        session,
        article_id=article_id,
        question=body.question,
        language=body.lang,
        source=PairSource.OPERATOR,
        helped=body.helped,
        channel="phone",
        operator_id=user.id,
    )
    return {"id": pair.id}

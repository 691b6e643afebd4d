"""Editor pages of the knowledge base: list and search, edit with preview, versions, status,
and the proposed articles (appeals answered without an article, clustered).

Editors are admins and inspectors (``knowledge_base.service.EDITOR_ROLES``); the pages are
thin: every change goes through ``knowledge_base.service`` (a version with who and why).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from civicdesk.web.kb.texts import kb_t
from civicdesk.web.rendering import page_language, redirect, render, templates
from civicdesk.web.staff_auth import StaffUserDep, csrf_ok
from civicdesk.web.staff_frame import staff_error_page, staff_frame
from core.api_deps import DbSession
from core.errors import DomainError
from core.models import StaffUser
from knowledge_base import proposals, service
from knowledge_base.models import Article, ArticleStatus
from knowledge_base.schemas import ArticleIn
from knowledge_base.search import answer_text
from routing.models import Organization

router = APIRouter(include_in_schema=False)
templates.env.globals["kb_t"] = kb_t
PAGE = "/staff/kb"


def _guard(request: Request, session: Session, user: StaffUser, language: str) -> Response | None:
    if user.role in service.EDITOR_ROLES:
        return None
    return staff_error_page(
        request,
        session,
        user,
        language=language,
        status_code=403,
        message_key="staff_error.role_not_allowed",
        message=kb_t(language, "kb.forbidden"),
        active="kb",
    )


@router.get(PAGE, name="kb_list")
def kb_list(
    request: Request, session: DbSession, user: StaffUserDep, q: str = "", status: str = ""
) -> Response:
    language = page_language(request)
    refused = _guard(request, session, user, language)
    if refused is not None:
        return refused
    chosen = ArticleStatus(status) if status in {s.value for s in ArticleStatus} else None
    rows, total = service.list_articles(session, status=chosen, text=q[:200], limit=200)
    return render(
        request,
        "kb/list.html",
        language=language,
        private=True,
        articles=rows,
        total=total,
        q=q,
        status=chosen.value if chosen else "",
        proposals=proposals.open_proposals(session),
        **staff_frame(request, session, user, language, active="kb"),
    )


def _organizations(session: Session, language: str) -> list[tuple[str, str]]:
    rows = session.scalars(
        select(Organization).where(Organization.retired_on.is_(None)).order_by(Organization.code)
    ).all()
    return [(org.code, org.name(language)) for org in rows]


def _edit_page(
    request: Request,
    session: Session,
    user: StaffUser,
    language: str,
    *,
    article: Article | None,
    values: dict[str, Any],
    error: str | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> Response:
    preview = None
    if article is not None:
        preview = {lang: answer_text(article, lang) for lang in ("ru", "kk")}
    return render(
        request,
        "kb/edit.html",
        language=language,
        status_code=status_code,
        private=True,
        article=article,
        values=values,
        error=error,
        done=done,
        preview=preview,
        versions=service.versions(session, article) if article is not None else [],
        organizations=_organizations(session, language),
        **staff_frame(request, session, user, language, active="kb"),
    )


_DOTTED = re.compile(r"\d{2}\.\d{2}\.\d{4}")


def _shown_day(iso: str | None) -> str:
    """дд.мм.гггг in the form: a ``type=date`` field is drawn in the browser's locale
    (11/30/2026 on a Russian page), so "checked on" is a text field, as on the SLA board."""
    if not iso:
        return ""
    year, month, day = iso.split("-")
    return f"{day}.{month}.{year}"


def _typed_day(value: str) -> str | None:
    """The typed day as ISO for the schema (which refuses an impossible one with a reason)."""
    value = value.strip()
    if _DOTTED.fullmatch(value):
        day, month, year = value.split(".")
        return f"{year}-{month}-{day}"
    return value or None


def _values(article: Article, session: Session) -> dict[str, Any]:
    codes = service.organization_codes(session)
    data = service.snapshot(article, codes.get(article.organization_id or -1))
    return {
        **data,
        "steps_ru": "\n".join(data["steps_ru"]),
        "steps_kk": "\n".join(data["steps_kk"]),
        "tags": ", ".join(data["tags"]),
        "sources": "\n".join(data["sources"]),
        "checked_on": _shown_day(data["checked_on"]),
        "organization": data["organization"] or "",
        "category": data["category"] or "",
        "version": article.version,
    }


@router.get(PAGE + "/new", name="kb_new")
def kb_new(request: Request, session: DbSession, user: StaffUserDep) -> Response:
    language = page_language(request)
    refused = _guard(request, session, user, language)
    if refused is not None:
        return refused
    return _edit_page(
        request,
        session,
        user,
        language,
        article=None,
        values={"kind": "article", "status": "draft"},
    )


@router.get(PAGE + "/{article_id}", name="kb_edit")
def kb_edit(
    request: Request, session: DbSession, user: StaffUserDep, article_id: int, done: str = ""
) -> Response:
    language = page_language(request)
    refused = _guard(request, session, user, language)
    if refused is not None:
        return refused
    article = session.get(Article, article_id)
    if article is None:
        return staff_error_page(
            request, session, user, language=language, status_code=404,
            message_key="staff_error.not_found",
        )  # fmt: skip
    message = None
    if done == "saved":
        message = kb_t(language, "kb.saved", version=article.version)
    elif done == "unchanged":
        message = kb_t(language, "kb.unchanged")
    return _edit_page(
        request, session, user, language, article=article, values=_values(article, session),
        done=message,
    )  # fmt: skip


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


@router.post(PAGE + "/save", name="kb_save")
def kb_save(
    request: Request,
    session: DbSession,
    user: StaffUserDep,
    csrf: Annotated[str, Form()] = "",
    article_id: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "",
    slug: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "article",
    status: Annotated[str, Form()] = "draft",
    title_ru: Annotated[str, Form()] = "",
    title_kk: Annotated[str, Form()] = "",
    body_ru: Annotated[str, Form()] = "",
    body_kk: Annotated[str, Form()] = "",
    steps_ru: Annotated[str, Form()] = "",
    steps_kk: Annotated[str, Form()] = "",
    organization: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "",
    tags: Annotated[str, Form()] = "",
    sources: Annotated[str, Form()] = "",
    checked_on: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    language = page_language(request)
    refused = _guard(request, session, user, language)
    if refused is not None:
        return refused
    if not csrf_ok(request, csrf):
        return staff_error_page(
            request, session, user, language=language, status_code=403,
            message_key="staff_error.csrf",
        )  # fmt: skip
    values: dict[str, Any] = {
        "slug": slug, "kind": kind, "status": status, "title_ru": title_ru,
        "title_kk": title_kk, "body_ru": body_ru, "body_kk": body_kk, "steps_ru": steps_ru,
        "steps_kk": steps_kk, "organization": organization, "category": category,
        "tags": tags, "sources": sources, "checked_on": checked_on, "reason": reason,
        "version": version,
    }  # fmt: skip
    article = session.get(Article, int(article_id)) if article_id.isdigit() else None
    try:
        data = ArticleIn.model_validate(
            {
                "slug": slug.strip(),
                "kind": kind,
                "status": status,
                "title_ru": title_ru,
                "title_kk": title_kk,
                "body_ru": body_ru,
                "body_kk": body_kk,
                "steps_ru": _lines(steps_ru),
                "steps_kk": _lines(steps_kk),
                "organization": organization.strip() or None,
                "category": category.strip() or None,
                "tags": [tag.strip() for tag in tags.split(",") if tag.strip()],
                "sources": _lines(sources),
                "checked_on": _typed_day(checked_on),
                "example": article.example if article is not None else False,
            }
        )
        if article is None:
            article = service.create_article(
                session, data=data, user=user, reason=reason.strip() or "created"
            )
            changed = True
        else:
            changed = service.update_article(
                session,
                article,
                data=data,
                user=user,
                reason=reason,
                expected_version=int(version) if version.isdigit() else None,
            )
    except ValidationError as error:
        first = error.errors()[0]
        message = f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
        session.rollback()
        return _reshow(request, session, user, language, article_id, values, message)
    except DomainError as error:
        session.rollback()
        return _reshow(request, session, user, language, article_id, values, error.message)
    return redirect(f"{PAGE}/{article.id}?done={'saved' if changed else 'unchanged'}", private=True)


def _reshow(
    request: Request,
    session: Session,
    user: StaffUser,
    language: str,
    article_id: str,
    values: dict[str, Any],
    message: str,
) -> Response:
    """The form again with everything typed kept and the reason for the refusal."""
    article = session.get(Article, int(article_id)) if article_id.isdigit() else None
    return _edit_page(
        request, session, user, language, article=article, values=values,
        error=kb_t(language, "kb.error", message=message), status_code=422,
    )  # fmt: skip


@router.post(PAGE + "/{article_id}/status", name="kb_status")
def kb_status(
    request: Request,
    session: DbSession,
    user: StaffUserDep,
    article_id: int,
    csrf: Annotated[str, Form()] = "",
    status: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    language = page_language(request)
    refused = _guard(request, session, user, language)
    if refused is not None:
        return refused
    article = session.get(Article, article_id)
    if (
        not csrf_ok(request, csrf)
        or article is None
        or status not in {s.value for s in ArticleStatus}
    ):
        return staff_error_page(
            request, session, user, language=language, status_code=400,
            message_key="staff_error.csrf" if article is not None else "staff_error.not_found",
        )  # fmt: skip
    service.set_status(
        session, article, ArticleStatus(status), user=user, reason=reason.strip() or status
    )
    return redirect(f"{PAGE}/{article.id}?done=saved", private=True)


@router.post(PAGE + "/proposals/{proposal_id}", name="kb_proposal")
def kb_proposal(
    request: Request,
    session: DbSession,
    user: StaffUserDep,
    proposal_id: int,
    csrf: Annotated[str, Form()] = "",
    decision: Annotated[str, Form()] = "",
) -> Response:
    language = page_language(request)
    refused = _guard(request, session, user, language)
    if refused is not None:
        return refused
    if not csrf_ok(request, csrf):
        return staff_error_page(
            request, session, user, language=language, status_code=403,
            message_key="staff_error.csrf",
        )  # fmt: skip
    try:
        if decision == "accept":
            article = proposals.accept(session, proposal_id, user=user)
            return redirect(f"{PAGE}/{article.id}", private=True)
        proposals.dismiss(session, proposal_id, user=user)
    except DomainError:
        session.rollback()
    return redirect(PAGE, private=True)

"""The operators' monitoring page: comments per account and post, the moderation buttons,
and the time to the first public reply (issue 18).

Thin over ``channels.social``: the stream and the KPI come from ``monitoring``, the three
decisions («Это обращение» / «Не обращение» / «Ответить без обращения») from
``moderation.decide``, the same calls as the staff API under ``/api/v1/social``. Operators
and admins only, as the API: the comments are public, but the queue is their work.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from channels.social import config, moderation, monitoring
from channels.social.models import CommentState, Platform
from channels.social.service import PLATFORM_NAMES
from civicdesk.web.rendering import page_language, redirect, render, templates
from civicdesk.web.social.texts import SOCIAL_TEXTS, social_t
from civicdesk.web.staff_auth import StaffUserDep, csrf_ok
from civicdesk.web.staff_frame import staff_error_page, staff_frame
from core.api_deps import DbSession
from core.clock import now
from core.errors import DomainError
from core.models import Role, StaffUser
from core.settings import get_settings

router = APIRouter(include_in_schema=False)
templates.env.globals["social_t"] = social_t
PAGE = "/staff/social"
ROLES = (Role.OPERATOR, Role.ADMIN)
KPI_DAYS = 30
DECISIONS = ("appeal", "not_appeal", "answer")


def _guard(request: Request, session: Session, user: StaffUser, language: str) -> Response | None:
    if user.role in ROLES:
        return None
    return staff_error_page(
        request,
        session,
        user,
        language=language,
        status_code=403,
        message_key="staff_error.role_not_allowed",
        message=social_t(language, "social.forbidden"),
        active="social",
    )


def _account_names() -> dict[tuple[str, str], str]:
    """The names a deployment gave its Meta accounts (a bad configuration names none)."""
    try:
        found = config.accounts(get_settings())
    except config.ConfigError:
        return {}
    return {(a.platform.value, a.id): a.name for a in found}


def _query(**values: object) -> str:
    kept = {k: v for k, v in values.items() if v not in (None, "")}
    return f"{PAGE}?{urlencode(kept)}" if kept else PAGE


@router.get(PAGE, name="social_monitor")
def social_monitor(
    request: Request,
    session: DbSession,
    user: StaffUserDep,
    state: str = "",
    post: str = "",
    platform: str = "",
    done: str = "",
    error: str = "",
) -> Response:
    language = page_language(request)
    refused = _guard(request, session, user, language)
    if refused is not None:
        return refused
    chosen = CommentState(state) if state in {s.value for s in CommentState} else None
    chosen_platform = Platform(platform) if platform in {p.value for p in Platform} else None
    post_id = int(post) if post.isdigit() and len(post) < 10 else None
    rows = monitoring.stream(
        session, state=chosen, platform=chosen_platform, post_id=post_id, limit=200
    )
    settings = get_settings()
    kpi = monitoring.reply_kpi(session, since=now() - timedelta(days=KPI_DAYS), settings=settings)
    error_key = f"social.error.{error}"
    return render(
        request,
        "social/monitor.html",
        language=language,
        private=True,
        comments=[monitoring.comment_view(row) for row in rows],
        counts=monitoring.counts(session),
        posts=monitoring.accounts_and_posts(session),
        account_names=_account_names(),
        platform_names={p.value: name for p, name in PLATFORM_NAMES.items()},
        kpi=kpi,
        state=chosen.value if chosen else "",
        post=post_id,
        platform=chosen_platform.value if chosen_platform else "",
        done=f"social.done.{done}" if done in DECISIONS else None,
        error=error_key if error_key in SOCIAL_TEXTS else ("social.error.other" if error else None),
        link=_query,
        **staff_frame(request, session, user, language, active="social"),
    )


@router.post(PAGE + "/{comment_id}/decision", name="social_decide")
def social_decide(
    request: Request,
    session: DbSession,
    user: StaffUserDep,
    comment_id: int,
    csrf: Annotated[str, Form()] = "",
    decision: Annotated[str, Form()] = "",
    reply_text: Annotated[str, Form(max_length=4000)] = "",
    back_state: Annotated[str, Form(max_length=20)] = "",
    back_post: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    language = page_language(request)
    refused = _guard(request, session, user, language)
    if refused is not None:
        return refused
    if not csrf_ok(request, csrf):
        return staff_error_page(
            request, session, user, language=language, status_code=403,
            message_key="staff_error.csrf", active="social",
        )  # fmt: skip
    back: dict[str, Any] = {"state": back_state, "post": back_post}
    if decision not in DECISIONS:
        return redirect(_query(**back, error="other"), private=True)
    try:
        moderation.decide(
            session,
            comment_id=comment_id,
            decision=decision,  # type: ignore[arg-type]  # checked against DECISIONS above
            by=user,
            reply_text=reply_text,
        )
    except DomainError as failure:
        session.rollback()
        return redirect(_query(**back, error=failure.code), private=True)
    return redirect(_query(**back, done=decision), private=True)

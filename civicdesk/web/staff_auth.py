"""Staff sign-in for the web pages: a session cookie, a CSRF token bound to it, and the login form.

The cookie holds the same opaque token the API issues (only its hash is stored);
it is HttpOnly, SameSite=Lax, and Secure in production. Every state-changing
staff form carries ``csrf = HMAC(secret_key, session token)``; the login form,
which has no session yet, uses a double-submit cookie instead.
"""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from civicdesk.web.rendering import page_language, redirect, render
from core.api_deps import SESSION_COOKIE, DbSession
from core.errors import NotAuthenticated, TooManyAttempts
from core.models import StaffUser
from core.security import (
    check_csrf,
    csrf_token,
    issue_token,
    revoke_token,
    sign_in,
    user_for_token,
)
from core.settings import get_settings

router = APIRouter(include_in_schema=False)

LOGIN_CSRF_COOKIE = "civicdesk_login_csrf"
LOGIN_PATH = "/staff/login"
HOME_PATH = "/staff/appeals"
MAX_USERNAME = 64


class LoginRequired(Exception):
    """Raised by :func:`staff_user` when there is no valid session; answered with a redirect."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def _secure_cookies() -> bool:
    return get_settings().environment == "production"


def safe_next(value: str | None) -> str:
    """Only our own staff pages are valid targets after sign-in (no open redirect)."""
    if value and value.startswith("/staff") and not value.startswith("//") and "\\" not in value:
        return value
    return HOME_PATH


def session_token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or None


def _return_path(request: Request) -> str:
    """Where to go after sign-in: this page, or for a form post the page the form was on."""
    path = request.url.path
    if request.method in ("GET", "HEAD"):
        return path
    return path.split("/actions/", 1)[0] if "/actions/" in path else HOME_PATH


def staff_user(request: Request, session: DbSession) -> StaffUser:
    """The signed-in staff member, from the session cookie (pages do not take bearer tokens)."""
    token = session_token(request)
    if token is None:
        raise LoginRequired(_return_path(request))
    try:
        return user_for_token(session, token)
    except NotAuthenticated:
        raise LoginRequired(_return_path(request)) from None


StaffUserDep = Annotated[StaffUser, Depends(staff_user)]


def form_csrf(request: Request) -> str:
    """The CSRF value to put in this session's forms."""
    token = session_token(request)
    return csrf_token(get_settings().secret_key, token) if token else ""


def csrf_ok(request: Request, submitted: str) -> bool:
    token = session_token(request)
    if token is None or not submitted or not submitted.isascii():
        return False
    return check_csrf(get_settings().secret_key, token, submitted)


def install_login_redirect(app: FastAPI) -> None:
    async def to_login(request: Request, error: Exception) -> Response:
        assert isinstance(error, LoginRequired)
        target = safe_next(error.next_path)
        response = redirect(f"{LOGIN_PATH}?next={quote(target, safe='/')}", private=True)
        if request.cookies.get(SESSION_COOKIE):
            response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    app.add_exception_handler(LoginRequired, to_login)


def _login_page(
    request: Request,
    *,
    language: str,
    next_path: str,
    username: str = "",
    problem: str | None = None,
    problem_values: dict[str, object] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    login_csrf = secrets.token_urlsafe(24)
    response = render(
        request,
        "staff/login.html",
        language=language,
        status_code=status_code,
        private=True,
        switch_path=LOGIN_PATH,
        next_path=next_path,
        username=username,
        problem=problem,
        problem_values=problem_values or {},
        notice=notice,
        login_csrf=login_csrf,
        user=None,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        login_csrf,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=_secure_cookies(),
        path=LOGIN_PATH,
    )
    return response


def _signed_in(session: Session, request: Request) -> bool:
    token = session_token(request)
    if token is None:
        return False
    try:
        user_for_token(session, token)
    except NotAuthenticated:
        return False
    return True


@router.get(LOGIN_PATH, name="staff_login")
def login_form(
    request: Request,
    session: DbSession,
    next_path: Annotated[str, Query(alias="next")] = "",
    out: str = "",
) -> Response:
    language = page_language(request)
    if _signed_in(session, request):
        return redirect(safe_next(next_path), private=True)
    notice = "login.signed_out" if out == "1" else None
    return _login_page(request, language=language, next_path=safe_next(next_path), notice=notice)


@router.post(LOGIN_PATH, name="staff_login_submit")
def login(
    request: Request,
    session: DbSession,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next_path: Annotated[str, Form(alias="next")] = "",
    login_csrf: Annotated[str, Form()] = "",
) -> Response:
    language = page_language(request)
    target = safe_next(next_path)
    username = username.strip()[:MAX_USERNAME]
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not login_csrf.isascii() or not secrets.compare_digest(expected, login_csrf):
        return _login_page(
            request,
            language=language,
            next_path=target,
            username=username,
            problem="login.stale_form",
            status_code=403,
        )
    address = request.client.host if request.client else None
    try:
        # Throttled per account and address (core.throttle); a megabyte "password" is
        # refused before hashing.
        user = sign_in(session, username=username, password=password, address=address)
    except TooManyAttempts as error:
        wait = error.retry_after_s
        minutes = wait > 90
        response = _login_page(
            request,
            language=language,
            next_path=target,
            username=username,
            problem="login.throttled_min" if minutes else "login.throttled_s",
            problem_values={"n": -(-wait // 60) if minutes else wait},
            status_code=429,
        )
        response.headers["Retry-After"] = str(wait)
        return response
    except NotAuthenticated:
        return _login_page(
            request,
            language=language,
            next_path=target,
            username=username,
            problem="login.bad_credentials",
            status_code=401,
        )
    settings = get_settings()
    token = issue_token(session, user=user, ttl_hours=settings.token_ttl_hours)
    response = redirect(target, private=True)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.token_ttl_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=_secure_cookies(),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=LOGIN_PATH)
    return response


@router.post("/staff/logout", name="staff_logout")
def logout(
    request: Request,
    session: DbSession,
    user: StaffUserDep,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    language = page_language(request)
    if not csrf_ok(request, csrf):
        return render(
            request,
            "staff/error.html",
            language=language,
            status_code=403,
            private=True,
            user=user,
            csrf=form_csrf(request),
            message=None,
            message_key="staff_error.csrf",
        )
    token = session_token(request)
    if token is not None:
        revoke_token(session, token)
    response = redirect(f"{LOGIN_PATH}?out=1", private=True)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response

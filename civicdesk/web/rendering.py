"""Templates, the page language, and the headers every page carries."""

from __future__ import annotations

from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from civicdesk.web.texts import DEFAULT_LANGUAGE, LANGUAGES, has, normalize_language, t
from core.clock import local
from core.settings import get_settings

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
LANG_COOKIE = "lang"
LANG_COOKIE_MAX_AGE_S = 365 * 24 * 3600

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.trim_blocks = True
templates.env.lstrip_blocks = True

# Pages never load anything from elsewhere and are never framed; no inline script or style.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Tracking numbers are in our URLs: never send them to another site as a referrer.
    "Referrer-Policy": "same-origin",
}


def almaty_time(moment: datetime | None) -> str:
    """'05.03.2026 14:30' in Almaty time; '' for None."""
    return f"{local(moment):%d.%m.%Y %H:%M}" if moment is not None else ""


def almaty_date(moment: datetime | date | None) -> str:
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        moment = local(moment).date()
    return f"{moment:%d.%m.%Y}"


templates.env.filters["almaty"] = almaty_time
templates.env.filters["day"] = almaty_date
templates.env.globals["has_text"] = has


def page_language(request: Request, submitted: str | None = None) -> str:
    """A form's own field, then ``?lang=``, then the ``lang`` cookie, then Russian."""
    for candidate in (
        submitted,
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
    ):
        language = normalize_language(candidate)
        if language is not None:
            return language
    return DEFAULT_LANGUAGE


def remember_language(request: Request, response: Response, language: str) -> None:
    """Keep the citizen's choice in a cookie when it differs from what the cookie says."""
    if request.cookies.get(LANG_COOKIE) == language:
        return
    response.set_cookie(
        LANG_COOKIE,
        language,
        max_age=LANG_COOKIE_MAX_AGE_S,
        httponly=True,
        samesite="lax",
        secure=get_settings().environment == "production",
        path="/",
    )


def language_links(request: Request, path: str | None = None) -> list[dict[str, str]]:
    """Links to this page in each language; ``path`` overrides it (pages rendered by a POST)."""
    links = []
    for language in LANGUAGES:
        if path is None:
            url = str(request.url.include_query_params(lang=language))
            url = url.removeprefix(f"{request.url.scheme}://{request.url.netloc}")
        else:
            url = f"{path}?lang={language}"
        links.append({"code": language, "url": url, "label": t(f"lang.{language}", language)})
    return links


def secure(response: Response, *, private: bool = False) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if private:
        # Staff pages hold personal data: never keep them in a shared or back-button cache.
        response.headers["Cache-Control"] = "no-store"
    return response


def render(
    request: Request,
    template: str,
    *,
    language: str,
    status_code: int = 200,
    private: bool = False,
    switch_path: str | None = None,
    **context: Any,
) -> Response:
    """Render ``template`` in ``language``; ``t(key, **values)`` is available in templates."""
    context.update(
        lang=language,
        t=partial(t_for, language),
        language_links=language_links(request, switch_path),
    )
    response = templates.TemplateResponse(request, template, context, status_code=status_code)
    remember_language(request, response, language)
    return secure(response, private=private)


def t_for(language: str, key: str, /, **values: object) -> str:
    return t(key, language, **values)


def redirect(url: str, *, private: bool = False) -> RedirectResponse:
    """303 See Other: after a POST the browser follows with a GET."""
    response = RedirectResponse(url, status_code=303)
    secure(response, private=private)
    return response

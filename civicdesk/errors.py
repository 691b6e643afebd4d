"""Errors become HTTP responses here and only here: a stable code and a clear reason.

Bad input is never a 500.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import DomainError

log = logging.getLogger(__name__)
_HTML_ERROR = """<!doctype html><html lang="ru"><head><meta charset="utf-8">
<title>{status}</title><link rel="stylesheet" href="/static/app.css"></head>
<body><main class="container"><h1>{status}</h1>
<p>Страница не найдена или недоступна. <a href="/">На главную</a></p>
<p lang="kk">Бет табылмады немесе қолжетімсіз. <a href="/?lang=kk">Басты бетке</a></p>
</main></body></html>"""


def _body(code: str, message: str, details: object = None) -> dict[str, object]:
    error: dict[str, object] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"error": error}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, error: DomainError) -> JSONResponse:
        return JSONResponse(
            _body(error.code, error.message, error.details), status_code=error.http_status
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            {
                "field": ".".join(str(part) for part in item.get("loc", ()) if part != "body"),
                "problem": item.get("msg", ""),
                "type": item.get("type", ""),
            }
            for item in error.errors()
        ]
        malformed = any(problem["type"] == "json_invalid" for problem in problems)
        code = "malformed_json" if malformed else "validation_failed"
        message = "the request body is not valid JSON" if malformed else "the request is invalid"
        return JSONResponse(_body(code, message, problems), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
            "accept", ""
        ):
            # A person in a browser gets a page in both languages, not JSON.
            return HTMLResponse(_HTML_ERROR.format(status=error.status_code), error.status_code)
        code = {404: "not_found", 405: "method_not_allowed", 401: "not_authenticated"}.get(
            error.status_code, "http_error"
        )
        return JSONResponse(_body(code, str(error.detail)), status_code=error.status_code)

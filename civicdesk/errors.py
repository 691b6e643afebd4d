"""Errors become HTTP responses here and only here: a stable code and a clear reason.

Bad input is never a 500. Three families of exceptions come from input the handlers could
not have told apart from good input before asking the database, and are mapped here, once,
for every route:

- a value the database cannot hold — an id past INTEGER/BIGINT, an offset of 2^70, a date
  outside what the column or Python's ``date`` can represent, a NUL character (refused by
  ``core.db`` before the statement is sent): 422 ``value_out_of_range`` / ``nul_character``;
- JSON nested deeper than the parser's recursion limit: 400 ``malformed_json``;
- the database or Redis being unreachable (a restart, a failover): 503 with ``Retry-After``,
  so clients retry the same request (with the same Idempotency-Key) instead of giving up.

Anything else unexpected is answered by ``civicdesk.http_guard`` (500, same envelope).
A person in a browser gets a page in Russian and Kazakh instead of JSON.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from civicdesk.http_guard import envelope, error_page, wants_page
from core.errors import DomainError
from core.settings import get_settings

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "request_too_large",
}


def _body(code: str, message: str, details: object = None) -> dict[str, object]:
    return envelope(code, message, details)


def _is_page(request: Request) -> bool:
    return wants_page(request.url.path, request.headers.get("accept", ""))


def _answer(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: object = None,
    headers: dict[str, str] | None = None,
) -> Response:
    if _is_page(request):
        return HTMLResponse(error_page(status), status, headers=headers)
    return JSONResponse(_body(code, message, details), status_code=status, headers=headers)


def _retry_after(error: DomainError) -> dict[str, str] | None:
    seconds = getattr(error, "retry_after_s", None)
    return {"Retry-After": str(int(seconds))} if seconds else None


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, error: DomainError) -> Response:
        return _answer(
            request,
            error.http_status,
            error.code,
            error.message,
            error.details,
            headers=_retry_after(error),
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
        code = _HTTP_CODES.get(error.status_code, "http_error")
        return _answer(
            request,
            error.status_code,
            code,
            str(error.detail),
            headers=dict(error.headers) if error.headers else None,
        )

    @app.exception_handler(sa_exc.DataError)
    async def data_error(request: Request, error: sa_exc.DataError) -> Response:
        # psycopg: 22003 numeric out of range (an id past INTEGER), 22008 datetime overflow,
        # 22P05 "\u0000" inside JSON, NUL in text. Never the values: they stay out of logs.
        state = getattr(error.orig, "sqlstate", None)
        log.info("refused a value the database cannot hold (sqlstate %s)", state)
        return _out_of_range(request)

    @app.exception_handler(OverflowError)
    async def overflow_error(request: Request, error: OverflowError) -> Response:
        # SQLite's "Python int too large to convert", or date arithmetic past year 9999/1.
        return _out_of_range(request)

    @app.exception_handler(RecursionError)
    async def too_deep(request: Request, error: RecursionError) -> Response:
        return _answer(request, 400, "malformed_json", "the JSON is nested too deeply")

    async def unavailable(request: Request, error: Exception) -> Response:
        seconds = get_settings().outage_retry_after_s
        log.warning("a backing service is unavailable (%s); answered 503", error.__class__.__name__)
        return _answer(
            request,
            503,
            "service_unavailable",
            f"the service is briefly unavailable; retry in {seconds} s "
            "(with the same Idempotency-Key when filing an appeal)",
            headers={"Retry-After": str(seconds)},
        )

    for outage in _outage_errors():
        app.add_exception_handler(outage, unavailable)


def _out_of_range(request: Request) -> Response:
    return _answer(
        request,
        422,
        "value_out_of_range",
        "a number, id or date in the request is outside the range that can be stored",
    )


def _outage_errors() -> tuple[type[Exception], ...]:
    """The database or Redis cannot be reached: connection refused, reset, pool exhausted."""
    from redis import exceptions as redis_exc

    return (
        sa_exc.OperationalError,
        sa_exc.InterfaceError,
        sa_exc.DisconnectionError,
        sa_exc.TimeoutError,
        redis_exc.ConnectionError,
        redis_exc.TimeoutError,
    )

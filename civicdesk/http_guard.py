"""The edge of every HTTP request: body size and read time, headers, and the last net for errors.

One pure ASGI middleware, outermost inside Starlette's own error middleware, so that:

- a body larger than ``CIVICDESK_HTTP_MAX_BODY_BYTES`` (uploads: the attachment limit) is
  refused with 413 from its ``Content-Length`` before a byte is read, and a chunked body is
  cut off with 413 as soon as it passes the limit;
- a client that declares a body and never sends it (or trickles it) gets 408 after
  ``CIVICDESK_HTTP_BODY_TIMEOUT_S`` instead of holding a connection forever;
- every response carries the security headers and, outside ``/static``, ``Cache-Control:
  no-store`` (API answers hold personal data and tracking numbers);
- an error nothing else handled becomes a 500 in the JSON error envelope (or the bilingual
  page for a browser) without re-raising, so the server keeps the client's keep-alive
  connection instead of resetting it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Iterable
from typing import Any

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("civicdesk.http")

# The headers of the HTML pages (civicdesk.web.rendering) for every answer; JSON is never
# framed, sniffed or sent on as a referrer either.
API_SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
# JSON and files get a policy that allows nothing at all; pages set their own.
API_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")

_PAGE = """<!doctype html><html lang="ru"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{status}</title><link rel="stylesheet" href="/static/app.css"></head>
<body><main class="container"><h1>{status}</h1>
<p>{ru} <a href="/">На главную</a></p>
<p lang="kk">{kk} <a href="/?lang=kk">Басты бетке</a></p>
</main></body></html>"""

# What a person reads on a page for each status this module (and civicdesk.errors) answers.
PAGE_TEXTS: dict[int, tuple[str, str]] = {
    400: (
        "Запрос не удалось разобрать. Проверьте адрес и попробуйте ещё раз.",
        "Сұрауды оқу мүмкін болмады. Мекенжайды тексеріп, қайталап көріңіз.",
    ),
    404: (
        "Страница не найдена или недоступна.",
        "Бет табылмады немесе қолжетімсіз.",
    ),
    408: (
        "Запрос пришёл не полностью за отведённое время. Отправьте его ещё раз.",
        "Сұрау белгіленген уақытта толық келмеді. Оны қайта жіберіңіз.",
    ),
    413: (
        "Отправлено слишком много данных. Сократите текст или уменьшите файл.",
        "Тым көп дерек жіберілді. Мәтінді қысқартыңыз немесе файлды кішірейтіңіз.",
    ),
    422: (
        "В запросе есть недопустимое значение: слишком большой номер, дата вне "
        "допустимого диапазона или непечатаемый символ.",
        "Сұрауда жарамсыз мән бар: тым үлкен нөмір, рұқсат етілген аралықтан тыс күн "
        "немесе басып шығарылмайтын таңба.",
    ),
    429: (
        "Слишком много попыток. Повторите позже.",
        "Әрекет тым көп болды. Кейінірек қайталаңыз.",
    ),
    500: (
        "Произошла внутренняя ошибка. Мы уже знаем о ней; попробуйте ещё раз чуть позже.",
        "Ішкі қате орын алды. Біз бұл туралы білеміз; сәлден соң қайталап көріңіз.",
    ),
    503: (
        "Сервис временно недоступен. Ваши данные не потеряны — повторите через несколько секунд.",
        "Қызмет уақытша қолжетімсіз. Деректеріңіз жоғалған жоқ — бірнеше секундтан соң қайталаңыз.",
    ),
}


def wants_page(path: str, accept: str) -> bool:
    """A person in a browser (not the JSON API, not a webhook) gets a page, not JSON."""
    if path.startswith(("/api/", "/webhooks/", "/openapi.json")):
        return False
    return "text/html" in accept


def error_page(status: int) -> str:
    ru, kk = PAGE_TEXTS.get(status, PAGE_TEXTS[400 if status < 500 else 500])
    return _PAGE.format(status=status, ru=ru, kk=kk)


def envelope(code: str, message: str, details: object = None) -> dict[str, object]:
    """The JSON error body every error uses: ``{"error": {"code", "message", "details"?}}``."""
    error: dict[str, object] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"error": error}


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a chunked body passes the limit (FastAPI lets an
    HTTPException from the body read through; the handlers answer it 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


class BodyTimeout(HTTPException):
    def __init__(self, timeout_s: float) -> None:
        super().__init__(408, f"the request body did not arrive within {timeout_s:g} s")


def _header_list(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return list(headers)


class HttpGuard:
    """See the module docstring. ``upload_limit`` applies to ``multipart/form-data``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        upload_limit: int,
        body_timeout_s: float,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.upload_limit = max(upload_limit, max_body_bytes)
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        path: str = scope.get("path", "")
        page = wants_page(path, headers.get("accept", ""))
        content_type = headers.get("content-type", "")
        limit = (
            self.upload_limit
            if content_type.lower().startswith("multipart/form-data")
            else self.max_body_bytes
        )
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await self._answer(
                    send, 400, "bad_content_length", "Content-Length is not a number", page
                )
                return
            if int(declared) > limit:
                # Refused before a byte of the body is read; the server then closes the
                # connection, since the body it announced was never consumed.
                await self._answer(
                    send,
                    413,
                    "request_too_large",
                    f"the request body is larger than {limit} bytes",
                    page,
                    details={"max_bytes": limit},
                )
                return
        state = {"started": False, "received": 0, "body_done": False}
        timeout = self.body_timeout_s

        async def guarded_receive() -> Message:
            if state["body_done"]:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), timeout)
            except TimeoutError:
                raise BodyTimeout(timeout) from None
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    raise BodyTooLarge(limit)
                if not message.get("more_body", False):
                    state["body_done"] = True
            else:
                state["body_done"] = True
            return message

        static = path.startswith("/static/") or path.startswith("/docs/assets/")

        async def guarded_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
                message["headers"] = _with_security_headers(message.get("headers", ()), static)
            await send(message)

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except BodyTooLarge:
            if state["started"]:
                raise
            await self._answer(
                send, 413, "request_too_large", "the request body is too large", page
            )
        except BodyTimeout:
            if state["started"]:
                raise
            await self._answer(
                send, 408, "request_timeout", "the request body did not arrive in time", page
            )
        except Exception:
            # The traceback goes to the log (SQL parameters are hidden by the engine); the
            # client gets the envelope, and its connection stays usable.
            log.exception("unhandled error on %s %s", scope.get("method"), _loggable(path))
            if state["started"]:
                raise
            await self._answer(
                send,
                500,
                "internal_error",
                "an unexpected error occurred; it has been logged",
                page,
            )

    async def _answer(
        self,
        send: Send,
        status: int,
        code: str,
        message: str,
        page: bool,
        *,
        details: object = None,
    ) -> None:
        if page:
            body = error_page(status).encode()
            content_type = b"text/html; charset=utf-8"
        else:
            body = json.dumps(envelope(code, message, details)).encode()
            content_type = b"application/json"
        headers = [
            (b"content-type", content_type),
            (b"content-length", str(len(body)).encode()),
        ]
        if status in (408, 413):
            # The body was not read: the connection cannot carry another request.
            headers.append((b"connection", b"close"))
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": _with_security_headers(headers, static=False),
            }
        )
        await send({"type": "http.response.body", "body": body})


def _with_security_headers(
    headers: Iterable[tuple[bytes, bytes]], static: bool
) -> list[tuple[bytes, bytes]]:
    result = _header_list(headers)
    present = {name.lower() for name, _ in result}
    for name, value in API_SECURITY_HEADERS:
        if name not in present:
            result.append((name, value))
    if b"content-security-policy" not in present:
        result.append(API_CSP)
    if not static and b"cache-control" not in present:
        result.append((b"cache-control", b"no-store"))
    return result


# --- the access log: tracking numbers open an appeal's answer, so they never reach a log ------

# Tracking numbers ("2611-7KQ3M9XA": month and 8 random characters, see intake.service), also
# typed with spaces or in lower case; the path segment after /track/ or a portal /appeals/,
# and the tracking form's ?number=, whatever they hold.
_TRACKING = re.compile(r"(?i)\b\d{4}[-\s]?[0-9A-Z]{8}\b")
_TRACKING_PATHS = re.compile(r"(?i)(/track/|/portal/appeals/|^/appeals/)([^/?#]+)")
_TRACKING_QUERY = re.compile(r"(?i)([?&]number=)[^&#]*")


def redact_path(path: str) -> str:
    """``/api/v1/appeals/track/2611-7KQ3M9XA?lang=kk`` → ``/api/v1/appeals/track/***?lang=kk``."""
    path = _TRACKING_PATHS.sub(r"\1***", path)
    path = _TRACKING_QUERY.sub(r"\1***", path)
    return _TRACKING.sub("***", path)


def _loggable(path: str) -> str:
    return redact_path(path)


class AccessLogRedaction(logging.Filter):
    """On ``uvicorn.access``: the request line's path with tracking numbers hidden."""

    def filter(self, record: logging.LogRecord) -> bool:
        args: Any = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_path(args[2]), *args[3:])
        return True


def install_access_log_redaction() -> None:
    """Idempotent: the filter is attached to uvicorn's access logger once per process."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(existing, AccessLogRedaction) for existing in logger.filters):
        logger.addFilter(AccessLogRedaction())

"""Open311 GeoReport v2 at ``/open311/v2/``: JSON and XML, errors in the spec's own format.

Thin handlers over :mod:`analytics.open311`. The format is the path's suffix
(``services.xml``, ``requests/{id}.json``); XML is ``text/xml; charset=utf-8`` with the XML
declaration, JSON ``application/json; charset=utf-8``, as the specification asks. Every
error, including a bad argument, answers 400/403/404 with ``errors/error/{code,
description}`` in the requested format (never FastAPI's 422 shape: Open311 clients parse the
spec's). ``?lang=kk`` (an extension) gives names and notes in Kazakh; Russian by default.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, Final
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from analytics.open311 import (
    Open311Error,
    discovery,
    file_request,
    find_requests,
    one_request,
    parse_query,
    service_definition,
    services,
)
from analytics.pseudonym import Pseudonymizer
from core.api_deps import DbSession
from core.clock import now

router = APIRouter(tags=["open311"])
FORMATS: Final = ("json", "xml")
MEDIA: Final = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
# Root and item elements of each answer in XML (JSON is the list / object itself).
ROOTS: Final = {
    "services": ("services", "service"),
    "requests": ("service_requests", "request"),
    "errors": ("errors", "error"),
}


def _language(request: Request) -> str:
    return "kk" if request.query_params.get("lang", "").strip().lower() == "kk" else "ru"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(parent: ET.Element, name: str, value: Any) -> None:
    element = ET.SubElement(parent, name)
    if isinstance(value, dict):
        for key, inner in value.items():
            _fill(element, key, inner)
    elif isinstance(value, list):
        singular = {
            "attributes": "attribute",
            "values": "value",
            "endpoints": "endpoint",
            "formats": "format",
        }.get(name, "item")
        for inner in value:
            _fill(element, singular, inner)
    else:
        element.text = _text(value)


def to_xml(kind: str, payload: Any) -> bytes:
    if kind in ROOTS:
        root_name, item_name = ROOTS[kind]
        root = ET.Element(root_name)
        for item in payload:
            _fill(root, item_name, item)
    else:  # one object: service_definition, discovery
        root = ET.Element(kind)
        for key, value in payload.items():
            _fill(root, key, value)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body


def answer(fmt: str, kind: str, payload: Any, *, status_code: int = 200) -> Response:
    import json

    if fmt == "xml":
        body = to_xml(kind, payload)
    else:
        body = json.dumps(payload, ensure_ascii=False).encode()
    response = Response(content=body, status_code=status_code, media_type=MEDIA[fmt])
    response.headers["Content-Type"] = MEDIA[fmt]
    return response


def error(fmt: str, problem: Open311Error) -> Response:
    payload = [{"code": problem.code, "description": problem.description}]
    return answer(fmt if fmt in FORMATS else "xml", "errors", payload, status_code=problem.status)


def _guarded(fmt: str, build: Callable[[], tuple[str, Any]]) -> Response:
    if fmt not in FORMATS:
        return error("xml", Open311Error(404, f"format {fmt!r} is not served: use xml or json"))
    try:
        kind, payload = build()
    except Open311Error as problem:
        return error(fmt, problem)
    return answer(fmt, kind, payload)


@router.get("/open311/discovery.{fmt}", summary="Open311 Service Discovery")
def get_discovery(fmt: str, request: Request) -> Response:
    base = str(request.base_url).rstrip("/")
    return _guarded(
        fmt, lambda: ("discovery", discovery(base, changeset=date(2026, 12, 7).isoformat()))
    )


@router.get("/open311/v2/services.{fmt}", summary="GET Service List")
def get_services(fmt: str, request: Request, session: DbSession) -> Response:
    return _guarded(fmt, lambda: ("services", services(session, language=_language(request))))


@router.get("/open311/v2/services/{code}.{fmt}", summary="GET Service Definition")
def get_service_definition(code: str, fmt: str, session: DbSession) -> Response:
    return _guarded(fmt, lambda: ("service_definition", service_definition(session, code)))


@router.get("/open311/v2/requests.{fmt}", summary="GET Service Requests")
def get_requests(fmt: str, request: Request, session: DbSession) -> Response:
    def build() -> tuple[str, Any]:
        pseudonyms = Pseudonymizer()
        query = parse_query(dict(request.query_params), pseudonyms=pseudonyms, moment=now())
        found = find_requests(session, query, language=_language(request), pseudonyms=pseudonyms)
        return "requests", found

    return _guarded(fmt, build)


@router.get("/open311/v2/requests/{request_id}.{fmt}", summary="GET Service Request")
def get_request(request_id: str, fmt: str, request: Request, session: DbSession) -> Response:
    def build() -> tuple[str, Any]:
        found = one_request(
            session, request_id, language=_language(request), pseudonyms=Pseudonymizer()
        )
        return "requests", [found]

    return _guarded(fmt, build)


@router.post("/open311/v2/requests.{fmt}", summary="POST Service Request (API key)")
async def post_request(fmt: str, request: Request, session: DbSession) -> Response:
    if fmt not in FORMATS:
        return error("xml", Open311Error(404, f"format {fmt!r} is not served: use xml or json"))
    try:
        form = await request.form()
    except Exception:  # a body that is not a form: the spec's "general service error"
        return error(fmt, Open311Error(400, "the body must be application/x-www-form-urlencoded"))
    fields = {name: value for name, value in form.items() if isinstance(value, str)}
    for name in ("api_key",):
        fields.setdefault(name, request.query_params.get(name, ""))

    def build() -> tuple[str, Any]:
        created = file_request(
            session,
            fields,
            idempotency_key=request.headers.get("Idempotency-Key"),
            language=_language(request),
            pseudonyms=Pseudonymizer(),
        )
        return "requests", [created]

    return await run_in_threadpool(_guarded, fmt, build)

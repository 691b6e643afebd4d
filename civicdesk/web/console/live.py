"""The console's live parts: the screen-pop event stream and the queue-metrics header.

``/staff/console/events`` is Server-Sent Events per signed-in operator, fed by the
screen-pop bus (``channels.telephony.screen_pop``): ``ready`` once subscribed, one
``pop`` per call connected to them, a comment line as heartbeat. ``/staff/console/metrics``
is today's queue figures formatted for the header. ``console.js`` uses both.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlalchemy.orm import Session

from channels.telephony.metrics import live_metrics as queue_live_metrics
from channels.telephony.screen_pop import ScreenPop, ScreenPopBus, screen_pop_bus
from civicdesk.web.rendering import page_language, secure
from civicdesk.web.staff_auth import StaffUserDep
from civicdesk.web.texts import t
from core.api_deps import DbSession
from core.clock import now
from core.models import Role, StaffUser
from core.settings import get_settings
from knowledge_base.share import today_share

router = APIRouter(include_in_schema=False)

CONSOLE_PATH = "/staff/console"
CONSOLE_ROLES = frozenset({Role.OPERATOR, Role.ADMIN})


def allowed(user: StaffUser) -> bool:
    """The console is for the call center's operators (and admins)."""
    return user.role in CONSOLE_ROLES


# --- the queue-metrics header --------------------------------------------------------------


#: The header's cells: name, the keys ``live_metrics`` may give it under, and its unit.
METRIC_CELLS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("offered", ("offered",), ""),
    ("answered", ("answered",), ""),
    ("abandoned", ("abandoned",), ""),
    ("abandonment_rate", ("abandonment_rate",), "%"),
    ("service_level", ("service_level",), "%"),
    ("asa", ("asa_s",), "s"),
    ("aht", ("aht_s",), "s"),
    ("missed_rings", ("missed_rings",), ""),
    ("logged_in", ("logged_in",), ""),
    ("available", ("available",), ""),
    ("waiting", ("waiting",), ""),
    ("quick_share", ("quick_share",), "%"),  # the knowledge base's KPI (issue 15)
)


def metric_cells(raw: dict[str, Any], language: str) -> list[dict[str, str]]:
    """The header's figures formatted for people ("12.5%", "34 с", "—" when unknown)."""
    cells = []
    for name, keys, unit in METRIC_CELLS:
        value = next((raw[key] for key in keys if raw.get(key) is not None), None)
        if not isinstance(value, int | float):
            text = "—"
        elif unit == "%":
            text = f"{value * 100:.1f}%"  # rates come as fractions (0.125)
        elif unit == "s":
            text = t("console.metrics.seconds", language, value=round(value))
        else:
            text = str(round(value))
        cells.append({"name": name, "label": t(f"console.metrics.{name}", language), "text": text})
    return cells


def live_metrics(session: Session) -> dict[str, Any]:
    """Today's queue figures for the header (channels.telephony.metrics), and today's share
    of appeals answered on the spot (knowledge_base.share, as a fraction like the rates)."""
    figures = dict(queue_live_metrics(session))
    share = today_share(session, now_at=now())["share"]
    figures["quick_share"] = None if share is None else share / 100
    return figures


@router.get(f"{CONSOLE_PATH}/metrics", name="console_metrics")
def console_metrics(request: Request, session: DbSession, user: StaffUserDep) -> Response:
    """The header's queue figures as JSON (today, Almaty)."""
    if not allowed(user):
        return secure(JSONResponse({"error": "forbidden"}, status_code=403), private=True)
    raw = live_metrics(session)
    body = {
        "cells": metric_cells(raw, page_language(request)),
        "raw": json.loads(json.dumps(raw, default=str)),
    }
    return secure(JSONResponse(body), private=True)


# --- the screen-pop stream -----------------------------------------------------------------


def pop_event(pop: ScreenPop) -> str:
    """One SSE message for a pop: ids only; the panel fetched next shows who is calling."""
    data = {
        "call_id": pop.call_id,
        "queue": pop.queue,
        "connected_at": pop.connected_at.isoformat(),
    }
    return f"event: pop\nid: {pop.call_id}\ndata: {json.dumps(data)}\n\n"


async def pop_stream(
    bus: ScreenPopBus,
    operator_id: int,
    *,
    heartbeat_s: float,
    disconnected: Callable[[], Awaitable[bool]] | None = None,
) -> AsyncGenerator[str, None]:
    """Server-Sent Events for one operator: ``ready`` once subscribed, ``pop`` per call
    connected to them, a comment line every ``heartbeat_s`` so idle proxies keep it open."""
    pops = aiter(bus.subscribe(operator_id))
    pending: asyncio.Future[ScreenPop] = asyncio.ensure_future(anext(pops))
    try:
        await asyncio.sleep(0)  # let the subscription register before saying "ready"
        yield "retry: 2000\nevent: ready\ndata: {}\n\n"
        while True:
            done, _ = await asyncio.wait({pending}, timeout=heartbeat_s)
            if pending in done:
                pop = pending.result()
                pending = asyncio.ensure_future(anext(pops))
                yield pop_event(pop)
            else:
                if disconnected is not None and await disconnected():
                    return
                yield ": ping\n\n"
    finally:
        pending.cancel()
        with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
            await pending
        aclose = getattr(pops, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(RuntimeError):
                await aclose()


@router.get(f"{CONSOLE_PATH}/events", name="console_events")
async def console_events(request: Request, user: StaffUserDep) -> Response:
    """The screen-pop stream of the signed-in operator (EventSource in console.js)."""
    if not allowed(user):
        return secure(Response("forbidden", status_code=403), private=True)
    settings = get_settings()
    stream = pop_stream(
        screen_pop_bus(settings),
        user.id,
        heartbeat_s=settings.console_heartbeat_s,
        disconnected=request.is_disconnected,
    )
    response = StreamingResponse(stream, media_type="text/event-stream")
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return secure(response, private=True)

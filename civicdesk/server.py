"""``civicdesk serve``: uvicorn with the time limits and headers a public server needs.

- No ``server: uvicorn`` header (what we run is nobody's business).
- A connection must send a whole request head within ``CIVICDESK_HTTP_HEADER_TIMEOUT_S`` of
  opening (or of its previous response): uvicorn itself waits for ever, so a thousand
  half-open connections (slowloris) would hold a thousand sockets.
- Idle keep-alive connections close after ``CIVICDESK_HTTP_KEEPALIVE_TIMEOUT_S``.
- Request bodies are limited in size and time by ``civicdesk.http_guard`` in the app.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from core.settings import get_settings


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request head."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_timeout_s = get_settings().http_header_timeout_s
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        self._disarm_head_timer()
        waiting_on = self.cycle
        self._head_timer = self.loop.call_later(
            self.head_timeout_s, self._head_deadline, waiting_on
        )

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_deadline(self, waiting_on: object) -> None:
        """No new request head since the timer was armed, and nothing is being answered."""
        self._head_timer = None
        idle = self.cycle is None or self.cycle.response_complete
        if self.cycle is waiting_on and idle and not self.transport.is_closing():
            self.transport.close()


def uvicorn_options() -> dict[str, Any]:
    """What ``civicdesk serve`` passes to uvicorn (tests start a server with the same)."""
    settings = get_settings()
    return {
        "http": GuardedH11Protocol,
        "server_header": False,
        "timeout_keep_alive": settings.http_keepalive_timeout_s,
        "h11_max_incomplete_event_size": 16 * 1024,  # a request head past 16 KiB: 400
    }

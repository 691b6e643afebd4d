"""The AMI connection: a thin adapter over panoramisk, the one place that knows it exists.

Why panoramisk (docs/call-center.md): it is native asyncio, so the listener, the
QueueSummary poller and Originate share one event loop; actions are awaitable with
multi-part replies collected by ActionID; it logs in again by itself after a drop.
asterisk-ami (named in the design) is synchronous with a reader thread, has no
reconnect and only reads messages that start with ``Event:``/``Response:``. panoramisk
has had no release since 2021, so everything else in CivicDesk talks to ``AmiClient``,
and what we rely on is small: ``Manager``, ``AMIProtocol.handle_message``,
``send_action``.

What the adapter adds: exponential backoff between reconnects (panoramisk retries at a
fixed interval), a retry when Asterisk refuses the login, framing that survives a UTF-8
character split across TCP reads (panoramisk decodes each read on its own and drops
what it cannot), and a count of blocks that are no AMI message at all.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from panoramisk import Manager
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from channels.telephony.events import BANNER_PREFIX
from channels.telephony.originate import OriginateRequest, OriginateResult
from core.settings import Settings

log = logging.getLogger(__name__)
EOM = b"\r\n\r\n"


class _RedactActions(logging.Filter):
    """panoramisk logs whole actions now and then ("Adding action … to awaiting list",
    "Fail to send"): an Originate carries the citizen's number, a Login the secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else (record.args,)
        if any(not isinstance(arg, str | int | float | type(None)) for arg in args):
            record.msg = str(record.msg).split("%", 1)[0] + "[action withheld]"
            record.args = ()
        return True


# panoramisk's own messages go to a child logger whose records are redacted.
library_log = logging.getLogger(f"{__name__}.panoramisk")
library_log.addFilter(_RedactActions())
FIRST_RETRY_S = 0.5


class AmiUnavailable(Exception):
    """Not connected or not logged in to Asterisk right now."""


def _as_dict(message: Any) -> dict[str, str]:
    """A panoramisk Message as {lower-cased key: value}; repeated keys keep the first value."""
    result: dict[str, str] = {}
    for key, value in message.items():
        if isinstance(value, list):
            value = value[0] if value else ""
        result[str(key).lower()] = str(value)
    return result


class _Protocol(AMIProtocol):  # type: ignore[misc]  # panoramisk ships no type hints
    """AMI framing on bytes: a block is decoded only once it is complete."""

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._pending = b""

    def data_received(self, data: bytes) -> None:
        self._pending += data
        while (end := self._pending.find(EOM)) >= 0:
            raw, self._pending = self._pending[:end], self._pending[end + len(EOM) :]
            text = raw.decode("utf-8", "replace")
            if text.startswith(BANNER_PREFIX):
                banner, _, text = text.partition("\r\n")
                self.version = banner.partition("/")[2].strip()
            text = text.strip()
            if not text:
                continue
            message = Message.from_line(text)
            if message is None:
                client = getattr(self.factory, "client", None)
                if client is not None:
                    client.unreadable_block()
                continue
            self.handle_message(message)


class _Manager(Manager):  # type: ignore[misc]  # panoramisk ships no type hints
    """panoramisk's Manager with backoff and a retry after a refused login."""

    def __init__(self, client: AmiClient, **config: Any) -> None:
        super().__init__(**config)
        self.client = client
        self.stopped = False

    def connect(self, *args: Any, **kwargs: Any) -> Any:
        if self.stopped:  # a reconnect scheduled before close() must not reopen the session
            return None
        return super().connect(*args, **kwargs)

    def connection_made(self, future: Any) -> None:
        if not future.cancelled() and future.exception() is not None:
            self.reconnect_timeout = self.client.next_delay()
        super().connection_made(future)

    def connection_lost(self, exc: Any) -> None:
        self.client.lost()
        self.reconnect_timeout = self.client.next_delay()
        super().connection_lost(exc)

    def login(self, future: Any) -> bool:
        if future.cancelled() or future.exception() is not None:
            return False
        accepted = bool(super().login(future))
        if not accepted:
            delay = self.client.next_delay()
            log.error("AMI: Asterisk refused the login; trying again in %.1f s", delay)
            self.close()
            self.loop.call_later(delay, self.connect)
        return accepted


class AmiClient:
    """One AMI session: events to ``on_event``, actions awaitable, reconnects by itself.

    Create and ``start`` it inside the running event loop (panoramisk binds to it).
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str,
        secret: str,
        on_event: Callable[[dict[str, str]], None],
        on_unreadable: Callable[[], None] | None = None,
        reconnect_max_s: float = 30.0,
        ping_interval_s: int = 10,
    ) -> None:
        self.host, self.port = host, port
        self._username, self._secret = username, secret
        self._on_event = on_event
        self._on_unreadable = on_unreadable
        self.reconnect_max_s = reconnect_max_s
        self._delay = min(FIRST_RETRY_S, reconnect_max_s)
        self._ping_interval_s = ping_interval_s
        self.logins = 0
        self.ready = asyncio.Event()
        self._manager: _Manager | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        on_event: Callable[[dict[str, str]], None],
        on_unreadable: Callable[[], None] | None = None,
    ) -> AmiClient:
        if not settings.ami_host:
            raise AmiUnavailable("CIVICDESK_AMI_HOST is not set")
        return cls(
            host=settings.ami_host,
            port=settings.ami_port,
            username=settings.ami_username,
            secret=settings.ami_secret,
            on_event=on_event,
            on_unreadable=on_unreadable,
            reconnect_max_s=settings.ami_reconnect_max_s,
        )

    # --- connection ----------------------------------------------------------------------

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._manager = _Manager(
            self,
            host=self.host,
            port=self.port,
            username=self._username,
            secret=self._secret,
            events="on",
            loop=loop,
            ping_delay=self._ping_interval_s,
            ping_interval=self._ping_interval_s,
            reconnect_timeout=1,
            protocol_factory=_Protocol,
            on_login=self._logged_in,
            log=library_log,
        )
        self._manager.register_event("*", self._dispatch)
        self._manager.connect()

    async def wait_ready(self, timeout: float) -> None:
        await asyncio.wait_for(self.ready.wait(), timeout)

    def close(self) -> None:
        if self._manager is not None:
            manager, self._manager = self._manager, None
            manager.stopped = True
            manager.callbacks.clear()
            manager.patterns.clear()
            manager.close()
        self.ready.clear()

    def next_delay(self) -> float:
        """Backoff: 0.5 s, 1 s, 2 s … up to ``reconnect_max_s``; reset by a login."""
        delay = self._delay
        self._delay = min(self._delay * 2, self.reconnect_max_s)
        return delay

    def lost(self) -> None:
        if self.ready.is_set():
            log.warning("AMI: connection to Asterisk lost; reconnecting")
        self.ready.clear()

    def unreadable_block(self) -> None:
        if self._on_unreadable is not None:
            self._on_unreadable()

    def _logged_in(self, manager: Any) -> None:
        self.logins += 1
        self._delay = min(FIRST_RETRY_S, self.reconnect_max_s)
        self.ready.set()
        log.info("AMI: logged in to %s:%s (login %d)", self.host, self.port, self.logins)

    def _dispatch(self, manager: Any, message: Any) -> None:
        try:
            self._on_event(_as_dict(message))
        except Exception:  # one bad event must never stop the stream
            log.exception("AMI: event handler failed")

    # --- actions -------------------------------------------------------------------------

    def _require(self) -> _Manager:
        if self._manager is None or not self.ready.is_set() or self._manager.protocol is None:
            raise AmiUnavailable("not logged in to Asterisk")
        return self._manager

    async def queue_summary(
        self, queue: str | None = None, *, timeout: float = 5.0
    ) -> list[dict[str, str]]:
        """The QueueSummary events of one poll (one per queue)."""
        action: dict[str, str] = {"Action": "QueueSummary"}
        if queue:
            action["Queue"] = queue
        reply = await asyncio.wait_for(self._require().send_action(action), timeout)
        messages = reply if isinstance(reply, list) else [reply]
        return [
            _as_dict(message)
            for message in messages
            if str(message.get("Event", "")).lower() == "queuesummary"
        ]

    async def originate(self, request: OriginateRequest) -> OriginateResult:
        """Originate: ring the operator's phone, then the dialplan dials the citizen."""
        action = {
            "Action": "Originate",
            "Channel": request.channel,
            "Context": request.context,
            "Exten": request.exten,
            "Priority": "1",
            "CallerID": request.caller_id,
            "Timeout": str(request.timeout_s * 1000),
            "ChannelId": request.uniqueid,
            "Async": "true",
            "Variable": [f"{key}={value}" for key, value in request.variables.items()],
        }
        try:
            reply = await asyncio.wait_for(
                self._require().send_action(action), request.timeout_s + 5
            )
        except TimeoutError:
            return OriginateResult(ok=False, reason="no_answer_from_asterisk")
        messages = reply if isinstance(reply, list) else [reply]
        final = _as_dict(messages[-1])
        if final.get("response", "").lower() == "success":
            return OriginateResult(ok=True, reason=None)
        return OriginateResult(
            ok=False,
            reason=(final.get("message") or f"reason {final.get('reason', '?')}")[:120],
        )

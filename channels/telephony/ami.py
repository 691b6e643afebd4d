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
what it cannot), a count of blocks that are no AMI message at all, a Ping that must be
answered (panoramisk sends one and never looks at the reply, so a half-open link went
unnoticed), an Originate that is never sent twice (panoramisk re-sends unanswered
actions after a reconnect: the citizen would be dialled twice), and redaction of
panoramisk's own log lines (it logs whole actions: a number, the login secret).
"""

from __future__ import annotations

import asyncio
import logging
import re
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


# Action and event headers whose values are personal data or secrets. panoramisk logs
# actions as "Key: value" lines (str), as a dict repr ('Key': 'value', %r) and messages
# as Key='value' (Message repr); all three forms are masked.
SENSITIVE_HEADERS = (
    "secret",
    "key",
    "exten",
    "extension",
    "callerid",
    "calleridnum",
    "calleridname",
    "connectedlinenum",
    "connectedlinename",
    "destcalleridnum",
    "destcalleridname",
    "destconnectedlinenum",
    "destconnectedlinename",
    "channel",
    "destchannel",
    "variable",
    "value",
    "data",
    "applicationdata",
    "dialstring",
    "score",
)
_HEADER_VALUE = re.compile(
    r"(?i)(?P<key>['\"]?\b(?:" + "|".join(SENSITIVE_HEADERS) + r")\b['\"]?\s*[:=]\s*)"
    r"(?P<value>'[^']*'|\"[^\"]*\"|\[[^\]]*\]|[^\r\n,}>]*)"
)
_LONG_NUMBER = re.compile(r"\+?\d{7,}")  # a phone number wherever it hides
MASK = "***"


def redact(text: str, secrets: frozenset[str] = frozenset()) -> str:
    """``text`` with sensitive header values, long digit runs and known secrets masked."""
    for secret in secrets:
        if len(secret) >= 6:  # a real secret is long; masking "a" would mangle every line
            text = text.replace(secret, MASK)
    text = _HEADER_VALUE.sub(lambda match: match.group("key") + MASK, text)
    return _LONG_NUMBER.sub(MASK, text)


class RedactAmiRecords(logging.Filter):
    """Masks panoramisk's log records by what they say, whatever form the action took.

    panoramisk logs pending actions on a dropped connection ("Adding action … to awaiting
    list: %s", str(action)) and failed sends pre-formatted ('Fail to send %r' % data): an
    Originate carries the citizen's number, a Login the secret. The rendered message
    (and any traceback) is masked and replaces the record's message.
    """

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = frozenset(self.secrets)
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not fit its format
            message = str(record.msg)
        record.msg, record.args = redact(message, secrets), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, secrets)
        return True


redactor = RedactAmiRecords()
# panoramisk's messages go to a child logger of ours (passed to the Manager); the
# library's own module loggers get the same filter for what it logs before that.
library_log = logging.getLogger(f"{__name__}.panoramisk")
for _name in (library_log.name, "panoramisk", "panoramisk.manager", "panoramisk.ami_protocol"):
    logging.getLogger(_name).addFilter(redactor)
FIRST_RETRY_S = 0.5


class AmiUnavailable(Exception):
    """Not connected or not logged in to Asterisk right now."""


class AmiConnectionLost(AmiUnavailable):
    """The connection dropped while an action waited for its reply (its outcome is unknown)."""


def next_backoff(delay: float, cap: float) -> float:
    """The wait after ``delay``: doubled, never above ``cap`` (0.5 s, 1 s, 2 s … cap)."""
    return min(delay * 2, cap)


def first_backoff(cap: float) -> float:
    return min(FIRST_RETRY_S, cap)


#: Actions panoramisk must never send again after a reconnect: a re-sent Originate
#: dials the citizen a second time. Their callers learn of the drop instead.
NEVER_RESEND = frozenset({"originate"})


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
        self.log = library_log
        self._pending = b""

    def close(self) -> None:
        """Fail the unanswered actions that must not be re-sent before panoramisk queues
        the others again (it skips actions whose future is done)."""
        for action in list(getattr(self, "responses", {}).values()):
            if str(action.get("action", "")).lower() in NEVER_RESEND and not action.future.done():
                action.future.set_exception(
                    AmiConnectionLost("the connection dropped before Asterisk answered")
                )
        super().close()

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
    """panoramisk's Manager with backoff, a retry after a refused login, a Ping that must
    be answered, and no second Originate."""

    def __init__(self, client: AmiClient, **config: Any) -> None:
        super().__init__(**config)
        self.client = client
        self.stopped = False
        # panoramisk int()s these; sub-second values (tests) must stay what they are.
        self.ping_delay = self.ping_interval = client.ping_interval_s

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

    async def send_awaiting_actions(self, *args: Any) -> None:
        """After a login panoramisk re-sends what a drop left unanswered; never an Originate."""
        kept = []
        for action in self.awaiting_actions:
            if str(action.get("action", "")).lower() in NEVER_RESEND:
                if not action.future.done():
                    action.future.set_exception(
                        AmiConnectionLost("the connection dropped before Asterisk answered")
                    )
            else:
                kept.append(action)
        self.awaiting_actions.clear()
        self.awaiting_actions.extend(kept)
        await super().send_awaiting_actions(*args)

    def ping(self) -> None:
        """Ping, and reconnect if no reply comes within ``ping_timeout_s``: a half-open TCP
        link (a firewall dropped the state, Asterisk's host vanished) writes without error
        and never reads again. Any reply counts, Asterisk's "Permission denied" too."""
        self.pinger = self.loop.call_later(self.ping_interval, self.ping)
        protocol = self.protocol
        if protocol is None or getattr(protocol, "closed", True):
            return
        reply = protocol.send({"Action": "Ping"})
        self.loop.call_later(self.client.ping_timeout_s, self._check_pong, reply, protocol)

    def _check_pong(self, reply: Any, protocol: Any) -> None:
        if reply.done() or protocol is not self.protocol or getattr(protocol, "closed", True):
            return
        reply.cancel()
        if self.stopped:
            return
        delay = self.client.next_delay()
        log.warning(
            "AMI: no reply to Ping within %.1f s: the link is dead; reconnecting in %.1f s",
            self.client.ping_timeout_s,
            delay,
        )
        self.client.lost()
        self.client.dead_links += 1
        if self.pinger is not None:
            self.pinger.cancel()
            self.pinger = None
        self._connected = False
        self.authenticated = False
        # Closing it ourselves: panoramisk will not call connection_lost for it, so the
        # reconnect is ours to schedule.
        protocol.close()
        self.loop.call_later(delay, self.connect)


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
        on_login: Callable[[], None] | None = None,
        reconnect_max_s: float = 30.0,
        ping_interval_s: float = 10.0,
        ping_timeout_s: float = 5.0,
    ) -> None:
        self.host, self.port = host, port
        self._username, self._secret = username, secret
        redactor.secrets.add(secret)
        self._on_event = on_event
        self._on_unreadable = on_unreadable
        self._on_login = on_login
        self.reconnect_max_s = reconnect_max_s
        self._delay = first_backoff(reconnect_max_s)
        self.ping_interval_s = ping_interval_s
        self.ping_timeout_s = ping_timeout_s
        self.logins = 0
        self.dead_links = 0  # reconnects forced by an unanswered Ping
        self.ready = asyncio.Event()
        self._manager: _Manager | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        on_event: Callable[[dict[str, str]], None],
        on_unreadable: Callable[[], None] | None = None,
        on_login: Callable[[], None] | None = None,
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
            on_login=on_login,
            reconnect_max_s=settings.ami_reconnect_max_s,
            ping_interval_s=settings.ami_ping_interval_s,
            ping_timeout_s=settings.ami_ping_timeout_s,
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
        self._delay = next_backoff(self._delay, self.reconnect_max_s)
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
        self._delay = first_backoff(self.reconnect_max_s)
        self.ready.set()
        log.info("AMI: logged in to %s:%s (login %d)", self.host, self.port, self.logins)
        if self._on_login is not None:
            self._on_login()

    def _dispatch(self, manager: Any, message: Any) -> None:
        try:
            self._on_event(_as_dict(message))
        except Exception as error:  # one bad event must never stop the stream
            log.error("AMI: event handler failed (%s)", type(error).__name__)

    # --- actions -------------------------------------------------------------------------

    def _require(self) -> _Manager:
        if self._manager is None or not self.ready.is_set() or self._manager.protocol is None:
            raise AmiUnavailable("not logged in to Asterisk")
        return self._manager

    async def _list(
        self, action: dict[str, str], item_events: frozenset[str], timeout: float
    ) -> list[dict[str, str]]:
        """An action answered by a list of events (``EventList: start`` … ``…Complete``)."""
        reply = await asyncio.wait_for(self._require().send_action(action), timeout)
        messages = reply if isinstance(reply, list) else [reply]
        return [
            _as_dict(message)
            for message in messages
            if str(message.get("Event", "")).lower() in item_events
        ]

    async def queue_summary(
        self, queue: str | None = None, *, timeout: float = 5.0
    ) -> list[dict[str, str]]:
        """The QueueSummary events of one poll (one per queue)."""
        action: dict[str, str] = {"Action": "QueueSummary"}
        if queue:
            action["Queue"] = queue
        return await self._list(action, frozenset({"queuesummary"}), timeout)

    async def core_show_channels(self, *, timeout: float = 10.0) -> list[dict[str, str]]:
        """Every channel Asterisk has now (CoreShowChannel events): what a resync trusts."""
        return await self._list(
            {"Action": "CoreShowChannels"}, frozenset({"coreshowchannel"}), timeout
        )

    async def queue_status(self, *, timeout: float = 10.0) -> list[dict[str, str]]:
        """QueueStatus: QueueParams, one QueueMember per member and queue, QueueEntry per
        waiting caller (the members' state to start from after a login)."""
        return await self._list(
            {"Action": "QueueStatus"},
            frozenset({"queueparams", "queuemember", "queueentry"}),
            timeout,
        )

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
        except AmiConnectionLost:
            return OriginateResult(ok=False, reason="ami_connection_lost")
        messages = reply if isinstance(reply, list) else [reply]
        final = _as_dict(messages[-1])
        if final.get("response", "").lower() == "success":
            return OriginateResult(ok=True, reason=None)
        return OriginateResult(ok=False, reason=originate_failure(final))


#: OriginateResponse's Reason (Asterisk's control frame of the operator's leg) → our code.
ORIGINATE_REASONS = {
    "0": "originate_failed",  # no such channel or extension, or Asterisk could not place it
    "1": "operator_hung_up",
    "3": "operator_no_answer",  # rang until Originate's Timeout
    "5": "operator_busy",
    "8": "congestion",
}


def originate_failure(final: dict[str, str]) -> str:
    """A stable code for a refused Originate (the console says it in ru/kk)."""
    if final.get("event", "").lower() == "originateresponse":
        return ORIGINATE_REASONS.get(final.get("reason", ""), "originate_failed")
    return "originate_refused"  # Response: Error to the action itself (permissions, syntax)

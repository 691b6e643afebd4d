"""A local Asterisk Manager Interface server speaking the real wire protocol, for tests.

What it does as Asterisk 20 does: the ``Asterisk Call Manager/…`` banner on connect;
``Login`` answered with ``Response: Success`` (or ``Error``) carrying the ActionID, then
a ``FullyBooted`` event; ``Ping``; ``QueueSummary`` as a response, one ``QueueSummary``
event per queue and ``QueueSummaryComplete``, all with the ActionID; ``Originate``
(Async) answered with "successfully queued" and later an ``OriginateResponse`` event;
``CoreShowChannels`` (one ``CoreShowChannel`` per live channel, then
``CoreShowChannelsComplete``) and ``QueueStatus`` (``QueueParams``, ``QueueMember`` with
Name/Location as app_queue writes them, ``QueueEntry``, ``QueueStatusComplete``);
events only to sessions logged in with events on. ``emit`` pushes event blocks (and,
like Asterisk, the server knows the channels their Newchannel/Hangup made and ended);
``drop`` cuts every connection, as a restarting Asterisk does; ``freeze`` keeps the
sockets open but answers nothing more on them (a half-open link); ``hold_originates``
reads an Originate and never answers it (Asterisk still placing the call).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

BANNER = "Asterisk Call Manager/6.0.0\r\n"


@dataclass
class QueueStats:
    logged_in: int = 3
    available: int = 2
    callers: int = 0
    hold_time: int = 9
    talk_time: int = 80
    longest_hold_time: int = 0


@dataclass
class Member:
    """A queue member as QueueStatus lists it."""

    queue: str
    interface: str
    name: str
    status: int = 1  # 1 not in use, 2 in use, …
    paused: bool = False
    in_call: bool = False


@dataclass
class _Session:
    writer: asyncio.StreamWriter
    authenticated: bool = False
    events: bool = True
    frozen: bool = False
    # Asterisk writes each message whole: a reply never lands inside a split event block.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass
class FakeAmiServer:
    username: str = "civicdesk"
    secret: str = "test-secret"
    queues: dict[str, QueueStats] = field(default_factory=lambda: {"1308": QueueStats()})
    originate_result: str = "Success"  # or "Failure"
    originate_reason: str = ""  # OriginateResponse Reason; "" = 4 on success, 0 on failure
    hold_originates: bool = False
    # Live channels by Uniqueid (CoreShowChannel fields), kept from emitted events.
    channels: dict[str, dict[str, str]] = field(default_factory=dict)
    members: list[Member] = field(default_factory=list)
    logins: int = 0
    failed_logins: int = 0
    actions: list[dict[str, str]] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None
    _sessions: list[_Session] = field(default_factory=list)
    _handlers: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> FakeAmiServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        self.drop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._handlers:
            await asyncio.wait(list(self._handlers), timeout=2)

    async def wait_for_logins(self, count: int, timeout: float = 10.0) -> None:
        async def reached() -> None:
            while self.logins < count:
                await asyncio.sleep(0.02)

        await asyncio.wait_for(reached(), timeout)

    # --- what a test drives --------------------------------------------------------------

    async def emit(self, *blocks: str) -> None:
        """Send raw event blocks (already in wire format) to every logged-in session."""
        text = "".join(blocks)
        self._track(text)
        data = text.encode("utf-8")
        for session in self._listening():
            session.writer.write(data)
            await session.writer.drain()

    async def emit_split(self, text: str, *, chunk: int = 7) -> None:
        """Send a stream cut into small TCP writes (a block may arrive in pieces)."""
        self._track(text)
        data = text.encode("utf-8")
        sessions = self._listening()
        async with contextlib.AsyncExitStack() as stack:
            for session in sessions:
                await stack.enter_async_context(session.lock)
            for start in range(0, len(data), chunk):
                for session in sessions:
                    if not session.writer.is_closing():
                        session.writer.write(data[start : start + chunk])
                        await session.writer.drain()
                await asyncio.sleep(0)

    def freeze(self) -> None:
        """The open sessions go silent (no replies, no events) but stay connected."""
        for session in self._sessions:
            session.frozen = True

    def _listening(self) -> list[_Session]:
        return [
            session
            for session in self._sessions
            if session.authenticated
            and session.events
            and not session.frozen
            and not session.writer.is_closing()
        ]

    def _track(self, text: str) -> None:
        """What Asterisk knows: a Newchannel makes a channel, its Hangup ends it."""
        for block in text.split("\r\n\r\n"):
            event = _parse(block)
            name, uniqueid = event.get("event", "").lower(), event.get("uniqueid", "")
            if not uniqueid:
                continue
            if name == "newchannel":
                self.channels[uniqueid] = {
                    key: event.get(key.lower(), "")
                    for key in (
                        "Channel",
                        "ChannelState",
                        "ChannelStateDesc",
                        "CallerIDNum",
                        "CallerIDName",
                        "Context",
                        "Exten",
                        "Uniqueid",
                        "Linkedid",
                    )
                }
            elif name == "hangup":
                self.channels.pop(uniqueid, None)

    def drop(self) -> None:
        """Cut every connection (Asterisk restarting, a network blip)."""
        for session in list(self._sessions):
            with contextlib.suppress(Exception):
                session.writer.close()
        self._sessions.clear()

    def originates(self) -> list[dict[str, str]]:
        return [
            action for action in self.actions if action.get("action", "").lower() == "originate"
        ]

    # --- the protocol ------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = _Session(writer=writer)
        self._sessions.append(session)
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)
        writer.write(BANNER.encode())
        try:
            while True:
                raw = await reader.readuntil(b"\r\n\r\n")
                action = _parse(raw.decode("utf-8", "replace"))
                self.actions.append(action)
                if not session.frozen:
                    async with session.lock:
                        await self._answer(session, action)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            if session in self._sessions:
                self._sessions.remove(session)
            with contextlib.suppress(Exception):
                writer.close()

    async def _answer(self, session: _Session, action: dict[str, str]) -> None:
        name = action.get("action", "").lower()
        action_id = action.get("actionid", "")
        write = session.writer.write
        if name == "login":
            if action.get("username") == self.username and action.get("secret") == self.secret:
                session.authenticated = True
                session.events = action.get("events", "on").lower() not in {"off", "no"}
                self.logins += 1
                write(
                    _block(
                        Response="Success", ActionID=action_id, Message="Authentication accepted"
                    )
                )
                write(
                    _block(
                        Event="FullyBooted",
                        Privilege="system,all",
                        Uptime="10",
                        LastReload="10",
                        Status="Fully Booted",
                    )
                )
            else:
                self.failed_logins += 1
                write(_block(Response="Error", ActionID=action_id, Message="Authentication failed"))
        elif not session.authenticated:
            write(_block(Response="Error", ActionID=action_id, Message="Permission denied"))
        elif name == "ping":
            write(
                _block(
                    Response="Success",
                    ActionID=action_id,
                    Ping="Pong",
                    Timestamp="1795147200.000000",
                )
            )
        elif name == "queuesummary":
            wanted = action.get("queue")
            queues = {k: v for k, v in self.queues.items() if not wanted or k == wanted}
            write(
                _block(
                    Response="Success",
                    ActionID=action_id,
                    EventList="start",
                    Message="Queue summary will follow",
                )
            )
            for queue, stats in queues.items():
                write(
                    _block(
                        Event="QueueSummary",
                        Queue=queue,
                        LoggedIn=str(stats.logged_in),
                        Available=str(stats.available),
                        Callers=str(stats.callers),
                        HoldTime=str(stats.hold_time),
                        TalkTime=str(stats.talk_time),
                        LongestHoldTime=str(stats.longest_hold_time),
                        ActionID=action_id,
                    )
                )
            write(
                _block(
                    Event="QueueSummaryComplete",
                    ActionID=action_id,
                    EventList="Complete",
                    ListItems=str(len(queues)),
                )
            )
        elif name == "coreshowchannels":
            self._core_show_channels(write, action_id)
        elif name == "queuestatus":
            self._queue_status(write, action_id)
        elif name == "originate" and self.hold_originates:
            return
        elif name == "originate":
            write(
                _block(
                    Response="Success", ActionID=action_id, Message="Originate successfully queued"
                )
            )
            await session.writer.drain()
            await asyncio.sleep(0.05)
            reason = self.originate_reason or ("4" if self.originate_result == "Success" else "0")
            write(
                _block(
                    Event="OriginateResponse",
                    Privilege="call,all",
                    ActionID=action_id,
                    Response=self.originate_result,
                    Channel=action.get("channel", ""),
                    Context=action.get("context", ""),
                    Exten=action.get("exten", ""),
                    Application="",
                    Data="",
                    Reason=reason,
                    Uniqueid=action.get("channelid", "<null>"),
                    CallerIDNum=action.get("exten", ""),
                    CallerIDName="<unknown>",
                )
            )
        elif name == "logoff":
            write(
                _block(Response="Goodbye", ActionID=action_id, Message="Thanks for all the fish.")
            )
            await session.writer.drain()
            session.writer.close()
            return
        else:
            write(_block(Response="Error", ActionID=action_id, Message="Invalid/unknown command"))
        await session.writer.drain()

    def _core_show_channels(self, write: Callable[[bytes], object], action_id: str) -> None:
        write(
            _block(
                Response="Success",
                ActionID=action_id,
                EventList="start",
                Message="Channels will follow",
            )
        )
        for channel in self.channels.values():
            write(
                _block(
                    Event="CoreShowChannel",
                    ActionID=action_id,
                    Channel=channel.get("Channel", ""),
                    ChannelState=channel.get("ChannelState", "6"),
                    ChannelStateDesc=channel.get("ChannelStateDesc", "Up"),
                    CallerIDNum=channel.get("CallerIDNum", ""),
                    CallerIDName=channel.get("CallerIDName", ""),
                    ConnectedLineNum="<unknown>",
                    ConnectedLineName="<unknown>",
                    Language="ru",
                    AccountCode="",
                    Context=channel.get("Context", ""),
                    Exten=channel.get("Exten", ""),
                    Priority="1",
                    Uniqueid=channel.get("Uniqueid", ""),
                    Linkedid=channel.get("Linkedid", ""),
                    BridgeId="",
                    Application="Queue",
                    ApplicationData="1308,c,,,300",
                    Duration="00:00:42",
                )
            )
        write(
            _block(
                Event="CoreShowChannelsComplete",
                ActionID=action_id,
                EventList="Complete",
                ListItems=str(len(self.channels)),
            )
        )

    def _queue_status(self, write: Callable[[bytes], object], action_id: str) -> None:
        write(
            _block(
                Response="Success",
                ActionID=action_id,
                EventList="start",
                Message="Queue status will follow",
            )
        )
        items = 0
        for queue, stats in self.queues.items():
            items += 1
            write(
                _block(
                    Event="QueueParams",
                    Queue=queue,
                    Max="0",
                    Strategy="rrmemory",
                    Calls=str(stats.callers),
                    Holdtime=str(stats.hold_time),
                    TalkTime=str(stats.talk_time),
                    Completed="0",
                    Abandoned="0",
                    ServiceLevel="20",
                    ServicelevelPerf="0.0",
                    ServicelevelPerf2="0.0",
                    Weight="0",
                    ActionID=action_id,
                )
            )
            for member in self.members:
                if member.queue != queue:
                    continue
                items += 1
                write(
                    _block(
                        Event="QueueMember",
                        Queue=queue,
                        Name=member.name,
                        Location=member.interface,
                        StateInterface=member.interface,
                        Membership="dynamic",
                        Penalty="0",
                        CallsTaken="0",
                        LastCall="0",
                        LastPause="0",
                        LoginTime="1795140000",
                        InCall="1" if member.in_call else "0",
                        Status=str(member.status),
                        Paused="1" if member.paused else "0",
                        PausedReason="",
                        Wrapuptime="0",
                        ActionID=action_id,
                    )
                )
        write(
            _block(
                Event="QueueStatusComplete",
                ActionID=action_id,
                EventList="Complete",
                ListItems=str(items),
            )
        )


def _parse(raw: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in raw.split("\r\n"):
        key, separator, value = line.partition(": ")
        if separator:
            headers.setdefault(key.lower(), value)
    return headers


def _block(**headers: str) -> bytes:
    return ("".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode("utf-8")

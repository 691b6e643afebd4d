"""A local Asterisk Manager Interface server speaking the real wire protocol, for tests.

What it does as Asterisk 20 does: the ``Asterisk Call Manager/…`` banner on connect;
``Login`` answered with ``Response: Success`` (or ``Error``) carrying the ActionID, then
a ``FullyBooted`` event; ``Ping``; ``QueueSummary`` as a response, one ``QueueSummary``
event per queue and ``QueueSummaryComplete``, all with the ActionID; ``Originate``
(Async) answered with "successfully queued" and later an ``OriginateResponse`` event;
events only to sessions logged in with events on. ``emit`` pushes event blocks; ``drop``
cuts every connection, as a restarting Asterisk does.
"""

from __future__ import annotations

import asyncio
import contextlib
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
class _Session:
    writer: asyncio.StreamWriter
    authenticated: bool = False
    events: bool = True


@dataclass
class FakeAmiServer:
    username: str = "civicdesk"
    secret: str = "test-secret"
    queues: dict[str, QueueStats] = field(default_factory=lambda: {"1308": QueueStats()})
    originate_result: str = "Success"  # or "Failure"
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
        data = "".join(blocks).encode("utf-8")
        for session in list(self._sessions):
            if session.authenticated and session.events and not session.writer.is_closing():
                session.writer.write(data)
                await session.writer.drain()

    async def emit_split(self, text: str, *, chunk: int = 7) -> None:
        """Send a stream cut into small TCP writes (a block may arrive in pieces)."""
        data = text.encode("utf-8")
        for start in range(0, len(data), chunk):
            for session in list(self._sessions):
                if session.authenticated and not session.writer.is_closing():
                    session.writer.write(data[start : start + chunk])
                    await session.writer.drain()
            await asyncio.sleep(0)

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
        elif name == "originate":
            write(
                _block(
                    Response="Success", ActionID=action_id, Message="Originate successfully queued"
                )
            )
            await session.writer.drain()
            await asyncio.sleep(0.05)
            reason = "4" if self.originate_result == "Success" else "0"
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


def _parse(raw: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in raw.split("\r\n"):
        key, separator, value = line.partition(": ")
        if separator:
            headers.setdefault(key.lower(), value)
    return headers


def _block(**headers: str) -> bytes:
    return ("".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode("utf-8")

"""Screen-pop: tell an operator's console, within a second, that a call was connected to them.

The AMI listener publishes a ``ScreenPop`` after the transaction that recorded the
AgentConnect commits; the console's SSE endpoint subscribes per operator. With Redis
configured the bus is a Redis pub/sub channel per operator (the listener and the web
processes are different processes); without it the ``screen_pops`` table carries them
(``DatabaseScreenPopBus``: ``make run``'s embedded default has no Redis, and the listener
or ``ami replay`` still runs apart from the web server), with an in-process memory bus for
the publishing process's own consoles and the tests. A pop is a hint to refresh, not a
record: a console that was not listening misses it and reads the call list instead.

The channel names start with the deployment's Redis prefix (``CIVICDESK_QUEUE_NAME``, as
every key of ours does), so two deployments sharing one Redis never see each other's pops.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from core.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "civicdesk"  # the default of CIVICDESK_QUEUE_NAME


def channel_name(operator_id: int, prefix: str = DEFAULT_PREFIX) -> str:
    return f"{prefix}:screenpop:{operator_id}"


@dataclass(frozen=True)
class ScreenPop:
    """Who is calling whom: ids only, the console looks the citizen up itself."""

    call_id: int  # calls.id
    uniqueid: str  # Asterisk Uniqueid of the caller channel
    caller_e164: str | None
    queue: str | None
    operator_id: int  # staff_users.id of the operator the call was connected to
    connected_at: datetime  # aware UTC

    def to_json(self) -> str:
        return json.dumps(
            {
                "call_id": self.call_id,
                "uniqueid": self.uniqueid,
                "caller_e164": self.caller_e164,
                "queue": self.queue,
                "operator_id": self.operator_id,
                "connected_at": self.connected_at.astimezone(UTC).isoformat(),
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> ScreenPop:
        data: dict[str, Any] = json.loads(raw)
        connected_at = datetime.fromisoformat(str(data["connected_at"]))
        if connected_at.tzinfo is None:
            connected_at = connected_at.replace(tzinfo=UTC)
        return cls(
            call_id=int(data["call_id"]),
            uniqueid=str(data["uniqueid"]),
            caller_e164=data.get("caller_e164"),
            queue=data.get("queue"),
            operator_id=int(data["operator_id"]),
            connected_at=connected_at.astimezone(UTC),
        )


class ScreenPopBus(Protocol):
    def publish(self, pop: ScreenPop) -> None:
        """Send ``pop`` to whoever listens for its operator; never raises for no listeners."""
        ...

    def subscribe(self, operator_id: int) -> AsyncIterator[ScreenPop]:
        """An async generator of the pops for one operator (an SSE endpoint iterates it)."""
        ...


class MemoryScreenPopBus:
    """In-process bus: thread-safe publish into each subscriber's asyncio queue."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[
            int, list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[ScreenPop]]]
        ] = {}

    def subscriber_count(self, operator_id: int) -> int:
        with self._lock:
            return len(self._subscribers.get(operator_id, []))

    def total_subscribers(self) -> int:
        """Open subscriptions of every operator (a console stream still polling)."""
        with self._lock:
            return sum(len(entries) for entries in self._subscribers.values())

    def publish(self, pop: ScreenPop) -> None:
        with self._lock:
            targets = list(self._subscribers.get(pop.operator_id, []))
        for loop, queue in targets:
            if loop.is_closed():
                continue
            try:
                loop.call_soon_threadsafe(queue.put_nowait, pop)
            except RuntimeError:  # the loop closed between the check and the call
                continue

    async def subscribe(self, operator_id: int) -> AsyncIterator[ScreenPop]:
        queue: asyncio.Queue[ScreenPop] = asyncio.Queue()
        entry = (asyncio.get_running_loop(), queue)
        with self._lock:
            self._subscribers.setdefault(operator_id, []).append(entry)
        try:
            while True:
                yield await queue.get()
        finally:
            with self._lock:
                entries = self._subscribers.get(operator_id, [])
                if entry in entries:
                    entries.remove(entry)


class RedisScreenPopBus:
    """Redis pub/sub, one channel per operator, so the listener and web processes meet."""

    def __init__(self, redis_url: str, prefix: str = DEFAULT_PREFIX) -> None:
        self.redis_url = redis_url
        self.prefix = prefix
        self._client: Any = None

    def _sync_client(self) -> Any:
        if self._client is None:
            from redis import Redis

            self._client = Redis.from_url(self.redis_url, socket_connect_timeout=2)
        return self._client

    def publish(self, pop: ScreenPop) -> None:
        self._sync_client().publish(channel_name(pop.operator_id, self.prefix), pop.to_json())

    async def subscribe(self, operator_id: int) -> AsyncIterator[ScreenPop]:
        from redis.asyncio import Redis as AsyncRedis

        # Any: redis-py's asyncio client leaves aclose() untyped.
        client: Any = AsyncRedis.from_url(self.redis_url, socket_connect_timeout=2)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(channel_name(operator_id, self.prefix))
        try:
            while True:
                message = await pubsub.get_message(timeout=1.0)
                if message is None or message.get("type") != "message":
                    continue
                try:
                    yield ScreenPop.from_json(message["data"])
                except (ValueError, KeyError, TypeError):
                    continue  # not ours; a pop is a hint, skip what cannot be read
        finally:
            await pubsub.unsubscribe()
            await pubsub.aclose()
            await client.aclose()


class DatabaseScreenPopBus:
    """Without Redis the pops still cross processes: ``civicdesk ami listen`` or ``ami
    replay`` in one terminal, ``civicdesk serve`` in another (``make run``'s embedded
    default). ``publish`` writes a ``screen_pops`` row (and hands the pop to the in-process
    bus at once); ``subscribe`` polls for this operator's rows every ``POLL_S``. A pop
    is a hint, so a database error is logged and the console reads the call list instead.
    Only a database this process has configured is used: a hint never opens one."""

    POLL_S = 0.3
    KEEP = timedelta(minutes=5)

    def __init__(self, memory: MemoryScreenPopBus) -> None:
        self.memory = memory

    @staticmethod
    def _database() -> Any:
        from core import db

        return db if getattr(db, "_engine", None) is not None else None

    def publish(self, pop: ScreenPop) -> None:
        self.memory.publish(pop)
        database = self._database()
        if database is None:
            return
        from sqlalchemy import delete, insert
        from sqlalchemy.exc import SQLAlchemyError

        from channels.telephony.models import ScreenPopRow
        from core.clock import now

        try:
            with database.transaction() as session:
                moment = now()
                session.execute(
                    insert(ScreenPopRow).values(
                        operator_id=pop.operator_id, payload=pop.to_json(), created_at=moment
                    )
                )
                session.execute(
                    delete(ScreenPopRow).where(ScreenPopRow.created_at < moment - self.KEEP)
                )
        except SQLAlchemyError as error:
            log.warning("screen-pop not stored: %s", type(error).__name__)

    def _rows(self, operator_id: int, after: int | None) -> tuple[int, list[str]]:
        """(the newest id seen, payloads newer than ``after``); ``after`` None: start now."""
        database = self._database()
        if database is None:
            return after or 0, []
        from sqlalchemy import func, select
        from sqlalchemy.exc import SQLAlchemyError

        from channels.telephony.models import ScreenPopRow

        try:
            with database.transaction() as session:
                if after is None:
                    newest = session.scalar(select(func.max(ScreenPopRow.id)))
                    return int(newest or 0), []
                rows = session.execute(
                    select(ScreenPopRow.id, ScreenPopRow.payload)
                    .where(ScreenPopRow.operator_id == operator_id, ScreenPopRow.id > after)
                    .order_by(ScreenPopRow.id)
                    .limit(50)
                ).all()
        except SQLAlchemyError as error:
            log.warning("screen-pops not read: %s", type(error).__name__)
            return after or 0, []
        return (int(rows[-1][0]) if rows else after), [str(row[1]) for row in rows]

    async def subscribe(self, operator_id: int) -> AsyncIterator[ScreenPop]:
        local = aiter(self.memory.subscribe(operator_id))
        pending: asyncio.Future[ScreenPop] = asyncio.ensure_future(anext(local))
        await asyncio.sleep(0)  # the in-process subscription is in place
        last, _ = await asyncio.to_thread(self._rows, operator_id, None)
        seen: list[tuple[int, str]] = []  # the latest pops given, not to give them twice

        def fresh(pop: ScreenPop) -> bool:
            key = (pop.call_id, pop.uniqueid)
            if key in seen:
                return False
            seen.append(key)
            del seen[:-100]
            return True

        try:
            while True:
                done, _ = await asyncio.wait({pending}, timeout=self.POLL_S)
                if pending in done:
                    pop = pending.result()
                    pending = asyncio.ensure_future(anext(local))
                    if fresh(pop):
                        yield pop
                    continue
                last, payloads = await asyncio.to_thread(self._rows, operator_id, last)
                for payload in payloads:
                    try:
                        pop = ScreenPop.from_json(payload)
                    except (ValueError, KeyError, TypeError):
                        continue
                    if fresh(pop):
                        yield pop
        finally:
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await pending
            with contextlib.suppress(RuntimeError):
                await local.aclose()  # type: ignore[attr-defined]


_memory_bus = MemoryScreenPopBus()
_database_bus = DatabaseScreenPopBus(_memory_bus)
_redis_buses: dict[tuple[str, str], RedisScreenPopBus] = {}
_redis_lock = threading.Lock()


def screen_pop_bus(settings: Settings) -> ScreenPopBus:
    """Redis pub/sub when ``redis_url`` is set; otherwise the database (``screen_pops``)
    with the in-process bus for the publishing process's own consoles."""
    if settings.redis_url:
        key = (settings.redis_url, settings.queue_name)
        with _redis_lock:
            bus = _redis_buses.get(key)
            if bus is None:
                bus = _redis_buses[key] = RedisScreenPopBus(*key)
            return bus
    return _database_bus

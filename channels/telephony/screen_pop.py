"""Screen-pop: tell an operator's console, within a second, that a call was connected to them.

The AMI listener publishes a ``ScreenPop`` after the transaction that recorded the
AgentConnect commits; the console's SSE endpoint subscribes per operator. With Redis
configured the bus is a Redis pub/sub channel per operator (the listener and the web
processes are different processes); without it an in-process memory bus serves the
single-process development setup and the tests. A pop is a hint to refresh, not a
record: a console that was not listening misses it and reads the call list instead.

The channel names start with the deployment's Redis prefix (``CIVICDESK_QUEUE_NAME``, as
every key of ours does), so two deployments sharing one Redis never see each other's pops.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from core.settings import Settings

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


_memory_bus = MemoryScreenPopBus()
_redis_buses: dict[tuple[str, str], RedisScreenPopBus] = {}
_redis_lock = threading.Lock()


def screen_pop_bus(settings: Settings) -> ScreenPopBus:
    """Redis pub/sub when ``redis_url`` is set; the shared in-process bus otherwise."""
    if settings.redis_url:
        key = (settings.redis_url, settings.queue_name)
        with _redis_lock:
            bus = _redis_buses.get(key)
            if bus is None:
                bus = _redis_buses[key] = RedisScreenPopBus(*key)
            return bus
    return _memory_bus

"""Where a conversation's unfinished state lives between messages (a draft, a pending rating).

Redis with a TTL when the deployment has Redis (several web processes share it), a
process-local dict otherwise (the embedded default). Durable facts (language, phone,
processed updates) are in the database, not here: losing this state only loses a draft.

A chat's state is read, changed and written back by one update at a time: ``lock(key)``
is a Redis lock with a timeout (every web process), or a process lock in memory mode.
Without it two updates of one chat arriving together (an album of photos is one update
per photo) would both start from the same draft and the later write would drop the
other's photo.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

from core.settings import Settings

log = logging.getLogger(__name__)
State = dict[str, Any]
#: How long a chat's lock may be held (a stuck process frees it after this) and how long
#: an update waits for it before giving up (the webhook then answers 503 and the
#: messenger delivers the update again later).
LOCK_TIMEOUT_S = 30.0
LOCK_WAIT_S = 10.0


class ChatBusy(RuntimeError):
    """Another update of this chat held its lock for longer than ``LOCK_WAIT_S``."""


class StateStore(Protocol):
    def get(self, key: str) -> State | None: ...

    def put(self, key: str, state: State) -> None: ...

    def delete(self, key: str) -> None: ...

    def lock(self, key: str) -> AbstractContextManager[None]:
        """Hold ``key`` while its state is read, changed and written back."""
        ...


class MemoryStateStore:
    """Process-local, with the same expiry as Redis (checked on read)."""

    STRIPES = 64

    def __init__(self, ttl_s: int = 24 * 3600) -> None:
        self._ttl_s = ttl_s
        self._items: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()
        # A fixed set of locks shared by hash: bounded memory, chats rarely collide.
        self._chat_locks = [threading.Lock() for _ in range(self.STRIPES)]

    @contextmanager
    def lock(self, key: str) -> Iterator[None]:
        chat_lock = self._chat_locks[zlib.crc32(key.encode()) % self.STRIPES]
        if not chat_lock.acquire(timeout=LOCK_WAIT_S):
            raise ChatBusy(f"chat state {key.split(':')[0]} is busy")
        try:
            yield
        finally:
            chat_lock.release()

    def get(self, key: str) -> State | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if item[0] < time.monotonic():
                del self._items[key]
                return None
            value: State = json.loads(item[1])
            return value

    def put(self, key: str, state: State) -> None:
        with self._lock:
            self._items[key] = (time.monotonic() + self._ttl_s, json.dumps(state))

    def delete(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)


class RedisStateStore:
    """Drafts in Redis under a keyed hash of the chat's key: a WhatsApp chat's key is the
    citizen's phone number, which must not sit in Redis for a day as a key name (anyone who
    can list keys would read the phones). HMAC with the secret key, so the 10^10 phone
    numbers cannot be hashed in turn to find one."""

    def __init__(
        self,
        url: str,
        *,
        ttl_s: int = 24 * 3600,
        prefix: str = "civicdesk",
        secret: str = "civicdesk-bot-state",  # noqa: S107 - state_store passes the real key
    ) -> None:
        from redis import Redis

        self._redis = Redis.from_url(url)
        self._ttl_s = ttl_s
        self._prefix = f"{prefix}:bot-state:"
        self._secret = secret.encode()

    def _name(self, key: str) -> str:
        channel = key.split(":", 1)[0]
        digest = hmac.new(self._secret, key.encode(), hashlib.sha256).hexdigest()[:40]
        return f"{self._prefix}{channel}:{digest}"

    def get(self, key: str) -> State | None:
        raw = self._redis.get(self._name(key))
        if raw is None:
            return None
        value: State = json.loads(raw)
        return value

    def put(self, key: str, state: State) -> None:
        self._redis.set(self._name(key), json.dumps(state), ex=self._ttl_s)

    def delete(self, key: str) -> None:
        self._redis.delete(self._name(key))

    @contextmanager
    def lock(self, key: str) -> Iterator[None]:
        from redis.exceptions import LockError

        held = self._redis.lock(
            self._prefix + "lock:" + self._name(key).removeprefix(self._prefix),
            timeout=LOCK_TIMEOUT_S,
            blocking_timeout=LOCK_WAIT_S,
        )
        if not held.acquire():
            raise ChatBusy(f"chat state {key.split(':')[0]} is busy")
        try:
            yield
        finally:
            try:
                held.release()
            except LockError:
                # Held past its timeout (the update took over 30 s): already free.
                log.warning("a chat lock expired before it was released")


_stores: dict[tuple[str, str, int, str], StateStore] = {}


def state_store(settings: Settings) -> StateStore:
    """The store these settings ask for (one per process and configuration)."""
    backend = settings.bot_state_backend
    if backend == "auto":
        backend = "redis" if settings.redis_url else "memory"
    key = (backend, settings.redis_url or "", settings.bot_state_ttl_s, settings.queue_name)
    if key not in _stores:
        if backend == "redis":
            if not settings.redis_url:
                raise ValueError("CIVICDESK_BOT_STATE_BACKEND=redis needs CIVICDESK_REDIS_URL")
            _stores[key] = RedisStateStore(
                settings.redis_url,
                ttl_s=settings.bot_state_ttl_s,
                prefix=settings.queue_name,
                secret=settings.secret_key,
            )
        else:
            _stores[key] = MemoryStateStore(settings.bot_state_ttl_s)
    return _stores[key]

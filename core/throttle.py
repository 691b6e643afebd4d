"""Throttling of staff sign-in: password guessing costs time, never locks an account for good.

Failures are counted per account (the username as typed, known or not, so the throttle
says nothing about which accounts exist) and per client address. After
``login_free_failures`` wrong passwords for an account (``login_address_free_failures`` from
one address) the key is closed for ``base`` seconds, and each further failure doubles that
(``base × 2^k``), capped at
``login_backoff_max_s``; an attempt while a key is closed is answered 429 with
``Retry-After`` and the password is not even checked. Counters are forgotten
``login_failure_window_s`` after the last failure, and a successful sign-in clears the
account's (not the address's: one good account must not reset a guesser's address).

State lives in Redis when ``CIVICDESK_REDIS_URL`` is set (shared by every process), else in
this process's memory (embedded single-process runs). A Redis outage lets sign-in through
unthrottled, with a warning, rather than locking every member of staff out.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

from core.settings import Settings, get_settings

log = logging.getLogger("civicdesk.security")


@dataclass(frozen=True)
class Policy:
    free_failures: int
    base_s: int
    max_s: int
    window_s: int

    def lock_for(self, failures: int) -> int:
        """Seconds a key stays closed after its ``failures``-th failure (0: still free)."""
        over = failures - self.free_failures
        if over < 0:
            return 0
        return int(min(self.max_s, self.base_s * 2 ** min(over, 40)))


class Store(Protocol):
    def locked_for(self, key: str) -> float: ...

    def fail(self, key: str, policy: Policy) -> tuple[int, int]: ...

    def clear(self, key: str) -> None: ...


class MemoryStore:
    """Counters in this process (no Redis): a dict bounded by pruning expired entries."""

    MAX_KEYS = 100_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # key -> (failures, forget_at, locked_until), monotonic seconds
        self._entries: dict[str, tuple[int, float, float]] = {}

    def locked_for(self, key: str) -> float:
        with self._lock:
            entry = self._entries.get(key)
        if entry is None:
            return 0.0
        return max(0.0, entry[2] - time.monotonic())

    def fail(self, key: str, policy: Policy) -> tuple[int, int]:
        moment = time.monotonic()
        with self._lock:
            failures, forget_at, _ = self._entries.get(key, (0, 0.0, 0.0))
            if forget_at <= moment:
                failures = 0
            failures += 1
            lock_s = policy.lock_for(failures)
            self._entries[key] = (failures, moment + policy.window_s, moment + lock_s)
            if len(self._entries) > self.MAX_KEYS:
                self._prune(moment)
        return failures, lock_s

    def clear(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def _prune(self, moment: float) -> None:
        for stale in [key for key, entry in self._entries.items() if entry[1] <= moment]:
            del self._entries[stale]
        while len(self._entries) > self.MAX_KEYS:  # still full: forget the oldest
            del self._entries[next(iter(self._entries))]


# INCR the counter, keep it for the window, close the key for the computed lock: one trip.
_FAIL_SCRIPT = """
local failures = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
local free = tonumber(ARGV[2])
if failures >= free then
  local lock = math.min(tonumber(ARGV[4]), tonumber(ARGV[3]) * 2 ^ math.min(failures - free, 40))
  redis.call('SET', KEYS[2], '1', 'EX', math.floor(lock))
  return {failures, math.floor(lock)}
end
return {failures, 0}
"""


class RedisStore:
    def __init__(self, url: str, prefix: str) -> None:
        from redis import Redis

        self._redis: Any = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._prefix = prefix
        self._fail = self._redis.register_script(_FAIL_SCRIPT)

    def _keys(self, key: str) -> tuple[str, str]:
        return f"{self._prefix}:{key}:failures", f"{self._prefix}:{key}:locked"

    def locked_for(self, key: str) -> float:
        ttl = self._redis.pttl(self._keys(key)[1])
        return max(0.0, ttl / 1000) if ttl and ttl > 0 else 0.0

    def fail(self, key: str, policy: Policy) -> tuple[int, int]:
        failures, lock_s = self._fail(
            keys=list(self._keys(key)),
            args=[policy.window_s, policy.free_failures, policy.base_s, policy.max_s],
        )
        return int(failures), int(lock_s)

    def clear(self, key: str) -> None:
        self._redis.delete(*self._keys(key))


def _key(kind: str, value: str) -> str:
    # Hashed: the store never holds what people typed as a username (it may be a password).
    return f"{kind}:{hashlib.sha256(value.encode()).hexdigest()[:32]}"


class LoginThrottle:
    def __init__(self, settings: Settings, store: Store) -> None:
        self.store = store
        self.account = Policy(
            settings.login_free_failures,
            settings.login_backoff_base_s,
            settings.login_backoff_max_s,
            settings.login_failure_window_s,
        )
        self.address = Policy(
            settings.login_address_free_failures,
            settings.login_backoff_base_s,
            settings.login_backoff_max_s,
            settings.login_failure_window_s,
        )

    def retry_after(self, username: str, address: str | None) -> int:
        """Seconds until this account and address may try again (0: now)."""
        keys = [_key("account", username.casefold())]
        if address:
            keys.append(_key("address", address))
        try:
            wait = max(self.store.locked_for(key) for key in keys)
        except Exception as error:
            log.warning("login throttle unavailable (%s): not throttling", type(error).__name__)
            return 0
        return math.ceil(wait)

    def failed(self, username: str, address: str | None) -> int:
        """Count a wrong password; returns the seconds the account or address is now closed."""
        try:
            _, account_lock = self.store.fail(_key("account", username.casefold()), self.account)
            address_lock = (
                self.store.fail(_key("address", address), self.address)[1] if address else 0
            )
        except Exception as error:
            log.warning("login throttle unavailable (%s): not counted", type(error).__name__)
            return 0
        return max(account_lock, address_lock)

    def succeeded(self, username: str) -> None:
        try:
            self.store.clear(_key("account", username.casefold()))
        except Exception as error:
            log.warning("login throttle unavailable (%s)", type(error).__name__)


_throttles: dict[tuple[object, ...], LoginThrottle] = {}
_throttles_lock = threading.Lock()


def login_throttle(settings: Settings | None = None) -> LoginThrottle:
    """The process's throttle for these settings (Redis-backed when Redis is configured)."""
    settings = settings or get_settings()
    marker = (
        settings.redis_url or "memory",
        settings.queue_name,
        settings.login_free_failures,
        settings.login_address_free_failures,
        settings.login_backoff_base_s,
        settings.login_backoff_max_s,
        settings.login_failure_window_s,
    )
    with _throttles_lock:
        throttle = _throttles.get(marker)
        if throttle is None:
            store: Store = (
                RedisStore(settings.redis_url, f"{settings.queue_name}:login")
                if settings.redis_url
                else MemoryStore()
            )
            throttle = _throttles[marker] = LoginThrottle(settings, store)
    return throttle


def reset_login_throttles() -> None:
    """Forget every in-memory throttle (tests; a restart does the same)."""
    with _throttles_lock:
        _throttles.clear()

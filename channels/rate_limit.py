"""Per-channel send rate limits: a fixed one-second window in Redis, or in memory.

Every worker process shares the Redis counter, so the whole deployment stays
under the messenger's limit (Telegram ~30 messages/s per bot, WhatsApp ~80/s per
number). Without Redis (inline jobs, one process) an in-process counter does the
same for this process. ``acquire`` waits for the next window rather than fail:
a notification a second late is fine, a 429 from the provider is not.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from core.settings import Settings, get_settings


def limit_for(channel: str, settings: Settings) -> int:
    """Messages per second allowed on ``channel``."""
    return {
        "telegram": settings.notify_rate_telegram_per_s,
        "whatsapp": settings.notify_rate_whatsapp_per_s,
        # Replies under social-media comments (channels.social.replies), per platform.
        "social_instagram": settings.social_rate_meta_per_s,
        "social_facebook": settings.social_rate_meta_per_s,
        "social_vk": settings.social_rate_vk_per_s,
        "social_telegram": settings.social_rate_telegram_per_s,
    }.get(channel, settings.notify_rate_default_per_s)


class MemoryWindow:
    """One process's counter per (channel, second)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, int], int] = {}

    def hit(self, channel: str, second: int) -> int:
        with self._lock:
            for key in [key for key in self._counts if key[1] < second]:
                del self._counts[key]
            count = self._counts.get((channel, second), 0) + 1
            self._counts[(channel, second)] = count
            return count


class RedisWindow:
    """The deployment's counter per (channel, second): INCR with a short expiry."""

    def __init__(self, connection: Any, prefix: str) -> None:
        self._connection = connection
        self._prefix = prefix

    def hit(self, channel: str, second: int) -> int:
        key = f"{self._prefix}:notify-rate:{channel}:{second}"
        pipe = self._connection.pipeline()
        pipe.incr(key)
        pipe.expire(key, 3)
        count, _ = pipe.execute()
        return int(count)


class RateLimiter:
    """Blocks until ``channel`` has room in the current one-second window."""

    def __init__(
        self,
        window: MemoryWindow | RedisWindow,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._window = window
        self._settings = settings
        self._clock = clock
        self._sleep = sleep

    def acquire(self, channel: str) -> float:
        """Take one send slot; returns how long it waited (seconds)."""
        limit = limit_for(channel, self._settings)
        waited = 0.0
        while True:
            moment = self._clock()
            second = int(moment)
            if self._window.hit(channel, second) <= limit:
                return waited
            pause = (second + 1) - moment + 0.001
            self._sleep(pause)
            waited += pause


_memory = MemoryWindow()
_limiters: dict[tuple[str, str], RateLimiter] = {}


def limiter(settings: Settings | None = None) -> RateLimiter:
    """The limiter for these settings: Redis-backed when Redis is configured."""
    settings = settings or get_settings()
    key = (settings.redis_url or "", settings.queue_name)
    if key not in _limiters:
        if settings.redis_url:
            from redis import Redis

            window: MemoryWindow | RedisWindow = RedisWindow(
                Redis.from_url(settings.redis_url), settings.queue_name
            )
        else:
            window = _memory
        _limiters[key] = RateLimiter(window, settings)
    return _limiters[key]

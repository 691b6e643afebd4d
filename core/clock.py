"""The one source of "now": UTC-aware, and freezable in tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

ALMATY = ZoneInfo("Asia/Almaty")
_frozen: datetime | None = None


def now() -> datetime:
    """Current time in UTC (timezone-aware)."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def local(moment: datetime) -> datetime:
    """The moment as a wall-clock time in Almaty, where deadlines are counted."""
    return moment.astimezone(ALMATY)


@contextmanager
def frozen(moment: datetime) -> Iterator[None]:
    """Pin ``now()`` to ``moment`` (tests and replays)."""
    global _frozen
    if moment.tzinfo is None:
        raise ValueError("frozen() needs a timezone-aware datetime")
    previous, _frozen = _frozen, moment.astimezone(UTC)
    try:
        yield
    finally:
        _frozen = previous

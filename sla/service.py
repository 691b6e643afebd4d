"""The deadline policy of this deployment: rules file + calendar with the database overrides."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import stamps
from core.calendar import DayOverride, WorkingCalendar
from core.db import session_factory
from core.models import CalendarOverride
from core.settings import get_settings
from sla.policy import DeadlinePolicy, load_rules
from sla.targets import TargetRules, load_targets, target_due

_CACHE_TTL_S = 300.0  # where stamps are not kept (SQLite: one process)
_STAMP_RECHECK_S = 1.0  # callers without a session look at the calendar's stamp this often
_lock = threading.Lock()
_cached: tuple[float, DeadlinePolicy] | None = None
_stamp: tuple[float, int | None] = (0.0, None)  # (when read, version) of the loaded policy


def load_calendar(session: Session) -> WorkingCalendar:
    rows = session.scalars(select(CalendarOverride)).all()
    return WorkingCalendar(
        [DayOverride(day=row.day, working=row.working, reason=row.reason) for row in rows]
    )


def deadline_policy(session: Session | None = None) -> DeadlinePolicy:
    """The policy, rebuilt when an admin's calendar edit moves the ``calendar`` stamp
    (``core.stamps``, issue 20): with ``session`` (the pipeline's batch) the stamp is read
    there, so the next decision after the edit commits uses it; without one, at most a
    second late. Where stamps are not kept (SQLite), at most every five minutes."""
    global _cached, _stamp
    moment = time.monotonic()
    with _lock:
        cached, (read_at, known) = _cached, _stamp
    if session is not None:
        version, read_at = stamps.read(session, "calendar"), moment
    elif cached is not None and moment - read_at < _STAMP_RECHECK_S:
        version = known
    else:
        with session_factory()() as own:
            version, read_at = stamps.read(own, "calendar"), moment
    if cached is not None:
        fresh = version == known if version is not None else moment - cached[0] < _CACHE_TTL_S
        if fresh:
            with _lock:
                _stamp = (read_at, version)
            return cached[1]
    with _lock:
        with session_factory()() as loader:
            calendar = load_calendar(loader)
        policy = DeadlinePolicy(load_rules(get_settings().data_dir / "appeal_rules.yaml"), calendar)
        _cached, _stamp = (time.monotonic(), policy), (read_at, version)
        return policy


def reset_policy_cache() -> None:
    global _cached, _stamp
    with _lock:
        _cached, _stamp = None, (0.0, None)


def seed_calendar_overrides(session: Session) -> int:
    """Copy ``data/calendar_overrides.yaml`` into the table; rows an admin edited are kept."""
    from core.calendar import load_overrides

    existing = {row.day for row in session.scalars(select(CalendarOverride))}
    added = 0
    for override in load_overrides(get_settings().data_dir / "calendar_overrides.yaml"):
        if override.day in existing:
            continue
        session.add(
            CalendarOverride(day=override.day, working=override.working, reason=override.reason)
        )
        added += 1
    session.flush()
    reset_policy_cache()
    return added


@lru_cache(maxsize=4)
def _target_rules_at(path: Path) -> TargetRules:
    return load_targets(path)


def target_rules() -> TargetRules:
    """The internal targets of ``data/sla_targets.yaml`` (read once per data directory)."""
    return _target_rules_at(get_settings().data_dir / "sla_targets.yaml")


def internal_target_due(
    *,
    received_at: datetime,
    category_code: str | None,
    urgency: str | None,
    legal_due: datetime,
    policy: DeadlinePolicy | None = None,
) -> datetime:
    """The city's internal target for an appeal, in Almaty working time, capped by the law."""
    return target_due(
        policy or deadline_policy(),
        target_rules(),
        received_at=received_at,
        category_code=category_code,
        urgency=urgency,
        legal_due=legal_due,
    )

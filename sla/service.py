"""The deadline policy of this deployment: rules file + calendar with the database overrides."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.calendar import DayOverride, WorkingCalendar
from core.db import session_factory
from core.models import CalendarOverride
from core.settings import get_settings
from sla.policy import DeadlinePolicy, load_rules
from sla.targets import TargetRules, load_targets, target_due

_CACHE_TTL_S = 300.0
_lock = threading.Lock()
_cached: tuple[float, DeadlinePolicy] | None = None


def load_calendar(session: Session) -> WorkingCalendar:
    rows = session.scalars(select(CalendarOverride)).all()
    return WorkingCalendar(
        [DayOverride(day=row.day, working=row.working, reason=row.reason) for row in rows]
    )


def deadline_policy() -> DeadlinePolicy:
    """The policy, rebuilt at most every five minutes so an admin's calendar edit takes effect."""
    global _cached
    with _lock:
        if _cached is not None and time.monotonic() - _cached[0] < _CACHE_TTL_S:
            return _cached[1]
        with session_factory()() as session:
            calendar = load_calendar(session)
        policy = DeadlinePolicy(load_rules(get_settings().data_dir / "appeal_rules.yaml"), calendar)
        _cached = (time.monotonic(), policy)
        return policy


def reset_policy_cache() -> None:
    global _cached
    with _lock:
        _cached = None


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

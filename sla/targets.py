"""The city's internal SLA targets per category (``data/sla_targets.yaml``), as a pure policy.

The legal term (АППК, ``sla.policy``) is the floor every appeal must meet; the city sets
tighter targets of its own (an emergency within 24 hours, a reference question the same
day). A target is never later than the legal deadline. Pure: no database, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from sla.policy import DeadlinePolicy


@dataclass(frozen=True)
class Target:
    """One target: calendar hours, the same working day, or N working days."""

    hours: int | None = None
    same_working_day: bool = False
    working_days: int | None = None

    def describe(self) -> str:
        if self.hours is not None:
            return f"{self.hours}h"
        if self.same_working_day:
            return "same_working_day"
        return f"{self.working_days}wd"


@dataclass(frozen=True)
class TargetRules:
    default: Target
    urgent: Target | None
    by_code: Mapping[str, Target]  # category code ("gas.gas_smell") or area code ("emergencies")


def _target(raw: Any, where: str) -> Target:
    if not isinstance(raw, Mapping) or len(raw) != 1:
        raise ValueError(f"{where}: a target is one of hours / same_working_day / working_days")
    ((key, value),) = raw.items()
    if key == "same_working_day":
        if value is not True:
            raise ValueError(f"{where}: same_working_day must be true")
        return Target(same_working_day=True)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{where}: {key} must be an integer >= 1, got {value!r}")
    if key == "hours":
        return Target(hours=value)
    if key == "working_days":
        return Target(working_days=value)
    raise ValueError(f"{where}: unknown target kind {key!r}")


def load_targets(path: Path) -> TargetRules:
    """Read and check the targets file; a bad file fails at start-up, not on an appeal."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, Mapping):
        raise ValueError(f"{path}: expected a mapping at the top level")
    unknown = set(raw) - {"default", "urgent", "targets"}
    if unknown:
        raise ValueError(f"{path}: unknown keys {sorted(unknown)}")
    entries = raw.get("targets") or {}
    if not isinstance(entries, Mapping):
        raise ValueError(f"{path}: 'targets' must map category or area codes to targets")
    return TargetRules(
        default=_target(raw.get("default"), f"{path}: default"),
        urgent=_target(raw["urgent"], f"{path}: urgent") if raw.get("urgent") else None,
        by_code={str(code): _target(value, f"{path}: {code}") for code, value in entries.items()},
    )


def target_for(rules: TargetRules, *, category_code: str | None, urgency: str | None) -> Target:
    """The most specific target: category, then its area, then urgency, then the default."""
    if category_code:
        found = rules.by_code.get(category_code) or rules.by_code.get(category_code.split(".")[0])
        if found is not None:
            return found
    if rules.urgent is not None and (urgency or "").lower() == "high":
        return rules.urgent
    return rules.default


def target_due(
    policy: DeadlinePolicy,
    rules: TargetRules,
    *,
    received_at: datetime,
    category_code: str | None,
    urgency: str | None,
    legal_due: datetime,
) -> datetime:
    """The internal target moment (UTC), never later than the legal deadline."""
    target = target_for(rules, category_code=category_code, urgency=urgency)
    if target.hours is not None:
        moment = received_at + timedelta(hours=target.hours)
    else:
        registered = policy.registration_date(received_at)
        days = 0 if target.same_working_day else (target.working_days or 0)
        moment = policy.close_of(policy.calendar.add_working_days(registered, days))
    return min(moment, legal_due)

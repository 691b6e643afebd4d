"""The ranking's arithmetic, pure: weights, Wilson intervals, shrinkage, the score, reasons.

Everything here works on counts already taken from the database (``ratings.ranking_counts``),
so the formulas of docs/ranking.md can be read, tested and changed in one place. No
SQLAlchemy: the page explaining the methodology and the tests import it without a database.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import yaml

#: The components in the order the tables show them.
COMPONENTS: Final = (
    "on_time",
    "on_target",
    "returns",
    "reopened",
    "satisfaction",
    "repeats",
    "ping_pong",
)
#: Components adjusted for the organization's mix of topics (expected share per category).
MIX_ADJUSTED: Final = frozenset({"on_time", "on_target"})
#: 95 %: the normal quantile (scipy.stats.norm.ppf(0.975), checked by the tests).
Z95: Final = 1.959963984540054


class MethodologyError(ValueError):
    """The weights file is not usable (the message says why)."""


@dataclass(frozen=True)
class Methodology:
    """The weights and knobs in force (data/ranking_weights.yaml)."""

    version: str
    weights: dict[str, float]
    min_n: int = 30
    prior_strength: float = 20.0
    top: int = 5
    anti: int = 5
    fcr_window_days: int = 30
    reasons: int = 3
    satisfaction_targets: dict[int, float] = field(default_factory=dict)

    @property
    def total_weight(self) -> float:
        return sum(self.weights.values())

    def share(self, component: str) -> float:
        """The component's part of the score (its weight over all weights)."""
        return self.weights.get(component, 0.0) / self.total_weight

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "weights": dict(self.weights),
            "min_n": self.min_n,
            "prior_strength": self.prior_strength,
            "top": self.top,
            "anti": self.anti,
            "fcr_window_days": self.fcr_window_days,
            "reasons": self.reasons,
            "satisfaction_targets": {str(y): v for y, v in self.satisfaction_targets.items()},
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Methodology:
        """Read and check the file's mapping: unknown components, negative or all-zero
        weights and nonsensical knobs are refused with the reason."""
        if not isinstance(raw, Mapping):
            raise MethodologyError("the weights file must be a mapping")
        weights_raw = raw.get("weights")
        if not isinstance(weights_raw, Mapping) or not weights_raw:
            raise MethodologyError("'weights' must map components to numbers")
        unknown = sorted(set(weights_raw) - set(COMPONENTS))
        if unknown:
            raise MethodologyError(f"unknown components {unknown}; known: {list(COMPONENTS)}")
        weights: dict[str, float] = {}
        for name in COMPONENTS:
            value = weights_raw.get(name, 0)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise MethodologyError(f"weight of {name} must be a number >= 0")
            weights[name] = float(value)
        if sum(weights.values()) <= 0:
            raise MethodologyError("at least one weight must be above 0")

        def whole(name: str, default: int, low: int) -> int:
            value = raw.get(name, default)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise MethodologyError(f"'{name}' must be a whole number >= {low}")
            return value

        prior = raw.get("prior_strength", 20)
        if isinstance(prior, bool) or not isinstance(prior, int | float) or prior < 0:
            raise MethodologyError("'prior_strength' must be a number >= 0")
        targets_raw = raw.get("satisfaction_targets") or {}
        if not isinstance(targets_raw, Mapping):
            raise MethodologyError("'satisfaction_targets' must map years to percentages")
        return cls(
            version=str(raw.get("version", "unversioned")),
            weights=weights,
            min_n=whole("min_n", 30, 1),
            prior_strength=float(prior),
            top=whole("top", 5, 0),
            anti=whole("anti", 5, 0),
            fcr_window_days=whole("fcr_window_days", 30, 1),
            reasons=whole("reasons", 3, 0),
            satisfaction_targets={int(y): float(v) for y, v in targets_raw.items()},
        )


@lru_cache(maxsize=8)
def _load(path: str, mtime_ns: int) -> Methodology:
    with open(path, encoding="utf-8") as handle:
        return Methodology.from_dict(yaml.safe_load(handle) or {})


def load_methodology(path: Path) -> Methodology:
    """The methodology in ``path``, re-read when the file changes."""
    return _load(str(path), path.stat().st_mtime_ns)


# --- statistics ------------------------------------------------------------------------------


def wilson(good: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of ``good / n`` (Wilson 1927): unlike p ± z·se it stays
    inside [0, 1] and does not collapse to a point at 0 or n. (0, 1) when n is 0."""
    if n <= 0:
        return 0.0, 1.0
    p = good / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def clip01(value: float) -> float:
    return min(1.0, max(0.0, value))


@dataclass(frozen=True)
class Component:
    """One component of one organization: ``good`` of ``n`` and what the city predicts.

    ``expected`` is the number of good outcomes the organization would have had at the
    city's rates for its mix (per category for timeliness; the city's mean otherwise);
    ``city`` is the city's own share. ``value`` is the share the score uses: the city's
    share plus the organization's excess over its expectation, shrunk by the prior
    (``μ + (good − E) / (n + k)``); the interval is Wilson's, moved by the same adjustment.
    """

    name: str
    good: int
    n: int
    expected: float
    city: float
    prior_strength: float

    @property
    def rate(self) -> float | None:
        """The observed share (no adjustment), None without data."""
        return self.good / self.n if self.n else None

    @property
    def expected_rate(self) -> float:
        return self.expected / self.n if self.n else self.city

    @property
    def value(self) -> float:
        return clip01(self.city + (self.good - self.expected) / (self.n + self.prior_strength))

    @property
    def interval(self) -> tuple[float, float]:
        if not self.n:
            return 0.0, 1.0
        low, high = wilson(self.good, self.n)
        shift = self.city - self.expected_rate
        return clip01(low + shift), clip01(high + shift)

    @property
    def variance(self) -> float:
        """Of ``value``: a beta posterior's, p(1 − p) / (n + k + 1)."""
        p = self.value
        return p * (1 - p) / (self.n + self.prior_strength + 1)


def pct(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(100 * value, digits)


@dataclass(frozen=True)
class Score:
    """The weighted score of one organization (0–100) with its 95 % interval."""

    score: float
    low: float
    high: float


def combine(components: Mapping[str, Component], methodology: Methodology) -> Score:
    """``100 · Σ wᵢ·valueᵢ / Σ wᵢ``; the interval is ± 1.96 standard deviations of that sum,
    the components taken as independent, clipped to [0, 100]."""
    total = methodology.total_weight
    score = 0.0
    variance = 0.0
    for name, weight in methodology.weights.items():
        if weight <= 0:
            continue
        component = components[name]
        share = weight / total
        score += share * component.value
        variance += share * share * component.variance
    half = Z95 * math.sqrt(variance)
    return Score(score=100 * score, low=100 * clip01(score - half), high=100 * clip01(score + half))


def points_lost(component: Component, methodology: Methodology) -> float:
    """Score points the component costs the organization: its share of 100 not earned."""
    return 100 * methodology.share(component.name) * (1 - component.value)


def points_vs_city(component: Component, methodology: Methodology) -> float:
    """Score points gained (+) or lost (−) against the city's own share on this component."""
    return 100 * methodology.share(component.name) * (component.value - component.city)


def reasons(components: Mapping[str, Component], methodology: Methodology) -> list[str]:
    """The components where the organization does worse than the city, the costliest first
    (what the anti-ranking says in words), at most ``methodology.reasons`` of them."""
    worse = [
        (points_vs_city(component, methodology), name)
        for name, component in components.items()
        if methodology.weights.get(name, 0) > 0 and component.n and component.value < component.city
    ]
    worse.sort()
    return [name for _, name in worse[: methodology.reasons]]


def rank_rows(
    rows: list[Any], *, key_score: str = "score", key_low: str = "ci_low", key_code: str = "code"
) -> list[Any]:
    """Rows (mappings) in ranking order: score, then the interval's lower end, then the code,
    so equal scores order the same way every time."""
    return sorted(rows, key=lambda row: (-row[key_score], -row[key_low], row[key_code]))

"""The agency ranking and anti-ranking of one period: the league table as plain data.

``compute`` counts (``ratings.ranking_counts``), compares each organization with what the
city would predict for it (``ratings.methodology``) and orders those with enough appeals.
The table is a JSON-ready mapping, the same for the CLI, the API, the pages and the stored
snapshots (``ratings.snapshots``); ``view`` narrows it to one kind of organization and
``with_movement`` sets each row's movement against the previous period's table.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import local, now
from core.settings import get_settings
from ratings.methodology import (
    COMPONENTS,
    MIX_ADJUSTED,
    Component,
    Methodology,
    combine,
    load_methodology,
    pct,
    points_lost,
    points_vs_city,
    rank_rows,
    reasons,
)
from ratings.periods import Period
from ratings.ranking_counts import OrgCounts, count_period
from routing.models import Organization, OrganizationKind

#: Bump when the table's shape changes (stored snapshots carry it).
TABLE_VERSION = 1


def methodology() -> Methodology:
    """The weights in force: ``data/ranking_weights.yaml`` under the configured data dir."""
    return load_methodology(get_settings().data_dir / "ranking_weights.yaml")


def _good_and_n(counts: OrgCounts, name: str) -> tuple[int, int]:
    """(good, n) of one component; a count of bad events is clipped to its denominator."""
    if name in ("on_time", "on_target"):
        index = 1 if name == "on_time" else 2
        n = sum(cell[0] for cell in counts.resolved.values()) + counts.forwarded[0]
        good = sum(cell[index] for cell in counts.resolved.values()) + counts.forwarded[1]
        return good, n
    if name == "returns":
        return counts.reviews.good, counts.reviews.n
    if name == "reopened":
        return counts.answers - min(counts.reopened, counts.answers), counts.answers
    if name == "repeats":
        return counts.answers - min(counts.repeats, counts.answers), counts.answers
    if name == "satisfaction":
        return counts.ratings.good, counts.ratings.n
    if name == "ping_pong":
        return counts.received.good, counts.received.n
    raise KeyError(name)


class CityRates:
    """The city's shares: overall per component, per category for timeliness."""

    def __init__(self, all_counts: Mapping[int, OrgCounts]) -> None:
        self.overall: dict[str, tuple[int, int]] = {}
        for name in COMPONENTS:
            good = n = 0
            for counts in all_counts.values():
                g, m = _good_and_n(counts, name)
                good, n = good + g, n + m
            self.overall[name] = (good, n)
        self.by_category: dict[str, dict[str | None, float]] = {"on_time": {}, "on_target": {}}
        self.forwarded: dict[str, float] = {}
        cells: dict[str | None, list[int]] = {}
        forwarded = [0, 0]
        for counts in all_counts.values():
            for category, (n, on_time, on_target) in counts.resolved.items():
                cell = cells.setdefault(category, [0, 0, 0])
                cell[0] += n
                cell[1] += on_time
                cell[2] += on_target
            forwarded[0] += counts.forwarded[0]
            forwarded[1] += counts.forwarded[1]
        for category, (n, on_time, on_target) in cells.items():
            self.by_category["on_time"][category] = on_time / n
            self.by_category["on_target"][category] = on_target / n
        timely = forwarded[1] / forwarded[0] if forwarded[0] else 1.0
        self.forwarded = {"on_time": timely, "on_target": timely}

    def mean(self, name: str) -> float:
        good, n = self.overall[name]
        # No data in the whole city: nothing to compare with, every value is "as expected".
        return good / n if n else 1.0

    def expected(self, name: str, counts: OrgCounts) -> float:
        """Good outcomes the city's rates predict for this organization's mix."""
        if name not in MIX_ADJUSTED:
            return _good_and_n(counts, name)[1] * self.mean(name)
        rates = self.by_category[name]
        resolved = sum(cell[0] * rates[category] for category, cell in counts.resolved.items())
        return resolved + counts.forwarded[0] * self.forwarded[name]


def _component_dict(component: Component, method: Methodology) -> dict[str, Any]:
    low, high = component.interval
    return {
        "good": component.good,
        "n": component.n,
        "rate": pct(component.rate),
        "expected": pct(component.expected_rate),
        "city": pct(component.city),
        "value": pct(component.value),
        "ci_low": pct(low),
        "ci_high": pct(high),
        "weight": method.weights[component.name],
        "points_lost": round(points_lost(component, method), 2),
        "vs_city": round(points_vs_city(component, method), 2),
    }


def _organizations(session: Session, period: Period, with_data: set[int]) -> list[Organization]:
    """Active during the period, or with something counted in it (a body retired midway)."""
    rows = session.scalars(select(Organization).order_by(Organization.code)).all()
    return [
        organization
        for organization in rows
        if organization.id in with_data
        or (
            (organization.active_from is None or organization.active_from < period.end)
            and (organization.retired_on is None or organization.retired_on > period.start)
        )
    ]


def _stop(period: Period, moment: datetime) -> datetime:
    return min(period.end_at, moment)


def compute(
    session: Session,
    period: Period,
    *,
    method: Methodology | None = None,
    moment: datetime | None = None,
) -> dict[str, Any]:
    """The whole city's table for ``period`` (every kind; ``view`` narrows it)."""
    method = method or methodology()
    moment = moment or now()
    all_counts = count_period(
        session,
        start=period.start_at,
        stop=_stop(period, moment),
        fcr_window_days=method.fcr_window_days,
    )
    city = CityRates(all_counts)
    rows: list[dict[str, Any]] = []
    for organization in _organizations(session, period, set(all_counts)):
        counts = all_counts.get(organization.id, OrgCounts())
        components = {}
        for name in COMPONENTS:
            good, n = _good_and_n(counts, name)
            components[name] = Component(
                name=name,
                good=good,
                n=n,
                expected=city.expected(name, counts),
                city=city.mean(name),
                prior_strength=method.prior_strength,
            )
        score = combine(components, method)
        row: dict[str, Any] = {
            "organization_code": organization.code,
            "name": organization.name_ru,
            "name_kk": organization.name_kk,
            "kind": organization.kind.value,
            "retired_on": organization.retired_on.isoformat() if organization.retired_on else None,
            "n": counts.appeals,
            "score": round(score.score, 2),
            "ci_low": round(score.low, 2),
            "ci_high": round(score.high, 2),
            "ranked": counts.appeals >= method.min_n,
            "rank": None,
            "rank_in_kind": None,
            "reasons": reasons(components, method),
        }
        for name in COMPONENTS:
            row[name] = _component_dict(components[name], method)
        rows.append(row)
    _set_ranks(rows, "rank", key=lambda row: "")
    _set_ranks(rows, "rank_in_kind", key=lambda row: str(row["kind"]))
    table: dict[str, Any] = {
        "version": TABLE_VERSION,
        "period": period.as_dict(),
        "computed_at": moment.isoformat(),
        "final": period.is_closed(local(moment).date()),
        "snapshot": False,
        "kind": None,
        "methodology": method.as_dict(),
        "weights": dict(method.weights),
        "min_n": method.min_n,
        "city": {
            name: {
                "good": city.overall[name][0],
                "n": city.overall[name][1],
                "rate": pct(city.mean(name)),
            }
            for name in COMPONENTS
        },
        "rows": rows,
    }
    return _ordered(table, rank_key="rank")


def _set_ranks(rows: list[dict[str, Any]], field: str, *, key: Any) -> None:
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row["ranked"]:
            groups.setdefault(key(row), []).append(row)
    for group in groups.values():
        for position, row in enumerate(rank_rows(group, key_code="organization_code"), 1):
            row[field] = position


def _ordered(table: dict[str, Any], *, rank_key: str) -> dict[str, Any]:
    """Rows ranked first (by rank), then the unranked by appeals; top and anti from ranks."""
    rows = table["rows"]
    ranked = sorted((r for r in rows if r[rank_key] is not None), key=lambda r: r[rank_key])
    unranked = sorted(
        (r for r in rows if r[rank_key] is None),
        key=lambda r: (-r["n"], r["organization_code"]),
    )
    method = table["methodology"]
    half = len(ranked) // 2
    top_n, anti_n = min(int(method["top"]), half), min(int(method["anti"]), half)
    table["rows"] = ranked + unranked
    table["top"] = [row["organization_code"] for row in ranked[:top_n]]
    table["anti"] = [row["organization_code"] for row in reversed(ranked)][:anti_n]
    return table


def view(table: Mapping[str, Any], kind: str | None) -> dict[str, Any]:
    """The table for one kind of organization (ranked among themselves), or all of them.

    ``rank`` is the rank in the view: the city-wide rank, or the rank within the kind.
    """
    result = dict(table)
    if kind is None:
        result["rows"] = [dict(row) for row in table["rows"]]
        result["kind"] = None
        return _ordered(result, rank_key="rank")
    OrganizationKind(kind)  # refuses an unknown kind
    rows = []
    for row in table["rows"]:
        if row["kind"] == kind:
            copied = dict(row)
            copied["rank"] = row["rank_in_kind"]
            rows.append(copied)
    result["rows"] = rows
    result["kind"] = kind
    return _ordered(result, rank_key="rank")


def with_movement(current: dict[str, Any], previous: Mapping[str, Any] | None) -> dict[str, Any]:
    """Each row's rank in the previous period's table (same view) and the places it moved:
    positive up, negative down, None when it was not ranked then or is not ranked now."""
    before = {row["organization_code"]: row["rank"] for row in (previous or {}).get("rows", [])}
    for row in current["rows"]:
        earlier = before.get(row["organization_code"])
        row["previous_rank"] = earlier
        row["movement"] = (
            earlier - row["rank"] if earlier is not None and row["rank"] is not None else None
        )
    current["previous_period"] = previous["period"] if previous else None
    return current


def row_for(table: Mapping[str, Any], code: str) -> dict[str, Any] | None:
    for row in table["rows"]:
        if row["organization_code"] == code:
            return dict(row)
    return None

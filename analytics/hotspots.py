"""Hot spots: where appeals of a topic cluster more than their surroundings explain.

With coordinates (a bot's location, the portal's map pin, a geocoded address) the appeals
are counted per H3 cell (``analytics_h3_resolution``, 8: ≈0.7 km²); the study area is every
cell with an appeal of any topic in the period and its ring of neighbours (so empty cells
count as zeros), and each topic's counts get the Getis-Ord Gi* statistic (``esda.G_Local``,
``star=True``, binary weights over each cell's six neighbours). A hot spot is a cell with a
positive z whose analytical p-value survives the Benjamini–Hochberg false discovery rate
at ``alpha`` over all cells of the topic, and with at least ``min_count`` appeals (esda's
permutation test would take seconds per topic without numba; the analytical z is what
ArcGIS's hot spot analysis reports too).

Where too few appeals carry a point (under ``min_located`` or a tenth of them), the unit is
the district: a topic is hot in a district when its count there is far above the district's
share of the city's appeals of that topic (a Poisson test at ``alpha``, and at least
``min_ratio`` times the expected count).

esda and libpysal take seconds to import, so the worker computes hot spots (daily, stored
with the run in ``analytics_runs``) and the report; the pages read what was stored.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import h3
import numpy as np
from scipy import stats
from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals.models import Appeal
from routing.models import Category

MIN_LOCATED = 200


@dataclass(frozen=True)
class HotCell:
    cell: str
    count: int
    z: float
    p: float
    latitude: float
    longitude: float


@dataclass(frozen=True)
class HotDistrict:
    district_code: str
    count: int
    expected: float
    p: float


@dataclass
class Layer:
    """One topic's hot spots (``topic`` None: all appeals)."""

    topic: str | None
    appeals: int
    cells: list[HotCell] = field(default_factory=list)
    districts: list[HotDistrict] = field(default_factory=list)


@dataclass
class HotSpots:
    kind: str  # h3 or district
    start: str
    end: str
    resolution: int
    located: int
    total: int
    layers: list[Layer]
    area: dict[str, int]  # every cell of the study area and its count of appeals (the map)
    district_points: dict[str, tuple[float, float]]  # a label point per district (the map)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> HotSpots:
        layers = [
            Layer(
                topic=layer["topic"],
                appeals=layer["appeals"],
                cells=[HotCell(**cell) for cell in layer["cells"]],
                districts=[HotDistrict(**district) for district in layer["districts"]],
            )
            for layer in raw["layers"]
        ]
        return cls(
            kind=raw["kind"],
            start=raw["start"],
            end=raw["end"],
            resolution=raw["resolution"],
            located=raw["located"],
            total=raw["total"],
            layers=layers,
            area=dict(raw["area"]),
            district_points={k: (v[0], v[1]) for k, v in raw["district_points"].items()},
        )


def benjamini_hochberg(p_values: np.ndarray, alpha: float) -> np.ndarray:
    """Which p-values are discoveries at false discovery rate ``alpha``."""
    count = len(p_values)
    if count == 0:
        return np.zeros(0, dtype=bool)
    order = np.argsort(p_values)
    thresholds = alpha * np.arange(1, count + 1) / count
    passed = p_values[order] <= thresholds
    keep = np.zeros(count, dtype=bool)
    if passed.any():
        last = int(np.nonzero(passed)[0].max())
        keep[order[: last + 1]] = True
    return keep


def gi_star(
    counts: dict[str, int], area: list[str], *, alpha: float, min_count: int
) -> list[HotCell]:
    """Getis-Ord Gi* hot cells of ``counts`` over the ``area`` cells (esda)."""
    import libpysal
    from esda.getisord import G_Local

    if len(area) < 3 or sum(counts.values()) == 0:
        return []
    members = set(area)
    neighbours = {cell: [n for n in h3.grid_ring(cell, 1) if n in members] for cell in area}
    weights = libpysal.weights.W(neighbours, silence_warnings=True)
    order = list(weights.id_order)
    y = np.array([counts.get(cell, 0) for cell in order], dtype=float)
    if np.all(y == y[0]):
        return []
    local = G_Local(y, weights, transform="B", permutations=0, star=True)
    z = np.asarray(local.Zs, dtype=float)
    p = stats.norm.sf(z)  # one-sided: hot, not cold
    keep = benjamini_hochberg(p, alpha) & (z > 0) & (y >= min_count)
    cells = []
    for index in np.nonzero(keep)[0]:
        lat, lng = h3.cell_to_latlng(order[index])
        cells.append(
            HotCell(
                cell=order[index],
                count=int(y[index]),
                z=round(float(z[index]), 2),
                p=float(f"{p[index]:.3g}"),
                latitude=round(lat, 5),
                longitude=round(lng, 5),
            )
        )
    return sorted(cells, key=lambda c: -c.z)


def district_hot(
    by_district_topic: dict[tuple[str, str], int],
    topic: str | None,
    *,
    alpha: float,
    min_ratio: float,
    min_count: int,
) -> list[HotDistrict]:
    """Districts where the topic is far above the district's share of the city's appeals."""
    district_totals: Counter[str] = Counter()
    topic_counts: Counter[str] = Counter()
    for (district, category), count in by_district_topic.items():
        district_totals[district] += count
        if topic is None or category == topic:
            topic_counts[district] += count
    total = sum(district_totals.values())
    topic_total = sum(topic_counts.values())
    if total == 0 or topic_total == 0 or topic is None:
        return []
    hot = []
    for district, count in topic_counts.items():
        expected = topic_total * district_totals[district] / total
        p = float(stats.poisson.sf(count - 1, expected))
        if count >= min_count and p < alpha and count >= min_ratio * expected:
            hot.append(
                HotDistrict(district, count, round(expected, 1), float(f"{p:.3g}"))
            )
    return sorted(hot, key=lambda d: d.p)


def compute(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    resolution: int,
    topics: int = 8,
    alpha: float = 0.05,
    min_count: int = 3,
    min_ratio: float = 1.5,
) -> HotSpots:
    """Hot spots of all appeals and of the ``topics`` busiest topics in [start, end)."""
    rows = session.execute(
        select(
            Appeal.category_code, Appeal.district_code, Appeal.latitude, Appeal.longitude
        ).where(Appeal.received_at >= start, Appeal.received_at < end)
    ).all()
    per_topic: dict[str | None, Counter[str]] = defaultdict(Counter)
    by_district_topic: Counter[tuple[str, str]] = Counter()
    topic_totals: Counter[str] = Counter()
    points: dict[str, list[tuple[float, float]]] = defaultdict(list)
    located = 0
    for category, district, lat, lng in rows:
        if category:
            topic_totals[category] += 1
        if district and category:
            by_district_topic[(district, category)] += 1
        if lat is None or lng is None:
            continue
        located += 1
        cell = h3.latlng_to_cell(lat, lng, resolution)
        per_topic[None][cell] += 1
        if category:
            per_topic[category][cell] += 1
        if district:
            points[district].append((lat, lng))
    busiest = [code for code, _ in topic_totals.most_common(topics)]
    use_cells = located >= MIN_LOCATED and located * 10 >= len(rows)
    area: set[str] = set()
    if use_cells:
        for cell in per_topic[None]:
            area.update(h3.grid_disk(cell, 1))
    ordered_area = sorted(area)
    layers = []
    for topic in (None, *busiest):
        layer = Layer(
            topic=topic,
            appeals=len(rows) if topic is None else topic_totals[topic],
        )
        if use_cells:
            layer.cells = gi_star(
                dict(per_topic[topic]), ordered_area, alpha=alpha, min_count=min_count
            )
        else:
            layer.districts = district_hot(
                by_district_topic, topic, alpha=alpha, min_ratio=min_ratio, min_count=min_count
            )
        layers.append(layer)
    return HotSpots(
        kind="h3" if use_cells else "district",
        start=start.isoformat(),
        end=end.isoformat(),
        resolution=resolution,
        located=located,
        total=len(rows),
        layers=layers,
        area={cell: int(per_topic[None].get(cell, 0)) for cell in ordered_area},
        district_points={
            district: (
                round(float(np.median([p[0] for p in spots])), 5),
                round(float(np.median([p[1] for p in spots])), 5),
            )
            for district, spots in points.items()
        },
    )


def topic_names(session: Session, language: str) -> dict[str, str]:
    return {
        code: (name_kk if language == "kk" else name_ru)
        for code, name_ru, name_kk in session.execute(
            select(Category.code, Category.name_ru, Category.name_kk)
        )
    }

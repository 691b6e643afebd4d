"""Charts drawn on the server with matplotlib, as SVG: the pages and the weekly report's PDF.

No script and no CDN: a chart is an SVG document (text drawn as paths, so Kazakh letters
look the same everywhere), shown in an ``<img>`` from a ``data:`` URI on the pages and
embedded as is by WeasyPrint in the PDF. Each chart is drawn from its numbers alone and
kept in a small cache by those numbers (the page is reloaded all day; its charts change only
when the figures do). ``Figure`` is used directly (not pyplot): safe in threads.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import date
from typing import Any

import h3
import matplotlib

matplotlib.use("Agg")

from matplotlib import rcParams
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Polygon

rcParams.update(
    {
        "svg.fonttype": "path",
        "svg.hashsalt": "civicdesk",  # the same numbers give the same SVG
        "font.family": "DejaVu Sans",
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.titlesize": 10,
        "axes.titleweight": "bold",
    }
)
BLUE = "#1f5f99"
GREY = "#b8c2cc"
RED = "#c0392b"
ORANGE = "#e67e22"
_CACHE_SIZE = 256
_cache: OrderedDict[str, str] = OrderedDict()
_lock = threading.Lock()


def _cached(kind: str, payload: Any, draw: Any) -> str:
    key = hashlib.blake2b(
        json.dumps([kind, payload], default=str, ensure_ascii=False).encode(), digest_size=16
    ).hexdigest()
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    drawn: str = draw()
    with _lock:
        _cache[key] = drawn
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return drawn


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    return buffer.getvalue()


def data_uri(svg: str) -> str:
    """The chart for an ``<img src>`` (the pages' CSP allows ``data:`` images)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _short(label: str, width: int = 38) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def bars(
    rows: Sequence[tuple[str, int, int]],
    *,
    title: str,
    legend: tuple[str, str],
) -> str:
    """Horizontal bars of (label, this period, previous period), biggest on top."""
    payload = [list(rows), title, legend]

    def draw() -> str:
        shown = list(rows)[::-1]
        height = max(1.6, 0.28 * len(shown) + 0.8)
        figure = Figure(figsize=(6.4, height))
        axes = figure.add_subplot()
        positions = list(range(len(shown)))
        axes.barh(
            [p - 0.18 for p in positions],
            [row[2] for row in shown],
            height=0.34,
            color=GREY,
            label=legend[1],
        )
        axes.barh(
            [p + 0.18 for p in positions],
            [row[1] for row in shown],
            height=0.34,
            color=BLUE,
            label=legend[0],
        )
        axes.set_yticks(positions, [_short(row[0]) for row in shown])
        axes.set_title(title, loc="left")
        axes.legend(loc="lower right", frameon=False, fontsize=8)
        axes.grid(axis="x", color="#e5e9ee", linewidth=0.6)
        axes.set_axisbelow(True)
        return _svg(figure)

    return _cached("bars", payload, draw)


def daily_lines(
    days: Sequence[date],
    current: Sequence[int],
    previous: Sequence[int],
    *,
    title: str,
    legend: tuple[str, str],
) -> str:
    """Appeals per day in the period, and on the matching days of the previous period."""
    payload = [list(days), list(current), list(previous), title, legend]

    def draw() -> str:
        figure = Figure(figsize=(6.4, 2.4))
        axes = figure.add_subplot()
        positions = list(range(len(days)))
        axes.plot(positions, list(previous), color=GREY, linewidth=1.6, label=legend[1])
        axes.plot(positions, list(current), color=BLUE, linewidth=2.2, marker="o",
                  markersize=3, label=legend[0])
        step = max(1, len(days) // 10)
        axes.set_xticks(positions[::step], [f"{day:%d.%m}" for day in days][::step])
        axes.set_ylim(bottom=0)
        axes.set_title(title, loc="left")
        axes.legend(loc="upper left", frameon=False, fontsize=8)
        axes.grid(axis="y", color="#e5e9ee", linewidth=0.6)
        return _svg(figure)

    return _cached("daily", payload, draw)


def weekly_columns(weeks: Sequence[tuple[date, int]], *, title: str) -> str:
    payload = [list(weeks), title]

    def draw() -> str:
        figure = Figure(figsize=(6.4, 2.2))
        axes = figure.add_subplot()
        positions = list(range(len(weeks)))
        axes.bar(positions, [count for _, count in weeks], color=BLUE, width=0.7)
        axes.set_xticks(positions, [f"{monday:%d.%m}" for monday, _ in weeks], fontsize=7)
        axes.set_title(title, loc="left")
        axes.grid(axis="y", color="#e5e9ee", linewidth=0.6)
        axes.set_axisbelow(True)
        return _svg(figure)

    return _cached("weekly", payload, draw)


def kpi_gauge(value: float | None, target: float | None, *, title: str) -> str:
    """One bar from 0 to 100 % with the target marked."""
    payload = [value, target, title]

    def draw() -> str:
        figure = Figure(figsize=(3.1, 0.9))
        axes = figure.add_subplot()
        axes.barh([0], [100], color="#eef1f4", height=0.5)
        if value is not None:
            good = target is None or value >= target
            axes.barh([0], [value], color=BLUE if good else ORANGE, height=0.5)
            axes.text(min(value, 88) + 1, 0, f"{value:.1f} %", va="center", fontsize=9)
        if target is not None:
            axes.axvline(target, color=RED, linewidth=2)
        axes.set_xlim(0, 100)
        axes.set_yticks([])
        axes.set_title(title, loc="left", fontsize=9)
        for side in ("left", "bottom"):
            axes.spines[side].set_visible(False)
        axes.tick_params(axis="x", labelsize=7)
        return _svg(figure)

    return _cached("gauge", payload, draw)


def hotspot_map(
    area: dict[str, int],
    hot: Sequence[tuple[str, int, float]],
    labels: dict[str, tuple[float, float, str]],
    *,
    title: str,
    legend: tuple[str, str],
) -> str:
    """The study area's H3 cells shaded by appeals, hot spots in red, district names."""
    payload = [sorted(area.items()), list(hot), sorted(labels.items()), title, legend]

    def draw() -> str:
        figure = Figure(figsize=(6.4, 5.2))
        axes = figure.add_subplot()
        top = max(area.values()) if area else 1
        for cell, count in area.items():
            boundary = [(lng, lat) for lat, lng in h3.cell_to_boundary(cell)]
            shade = 0.08 + 0.5 * (count / top) ** 0.5 if count else 0.03
            axes.add_patch(
                Polygon(boundary, closed=True, facecolor=BLUE, alpha=shade, edgecolor="white",
                        linewidth=0.3)
            )
        for cell, _, _ in hot:
            boundary = [(lng, lat) for lat, lng in h3.cell_to_boundary(cell)]
            axes.add_patch(
                Polygon(boundary, closed=True, facecolor=RED, alpha=0.85, edgecolor="#7b241c",
                        linewidth=0.6)
            )
        for lat, lng, name in labels.values():
            axes.text(lng, lat, name, fontsize=7, ha="center", va="center", color="#222",
                      bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none",
                            "alpha": 0.7})
        if area:
            lats = [h3.cell_to_latlng(cell)[0] for cell in area]
            lngs = [h3.cell_to_latlng(cell)[1] for cell in area]
            axes.set_xlim(min(lngs) - 0.01, max(lngs) + 0.01)
            axes.set_ylim(min(lats) - 0.01, max(lats) + 0.01)
            middle = sum(lats) / len(lats)
            axes.set_aspect(1 / math.cos(math.radians(middle)))
        axes.set_xticks([])
        axes.set_yticks([])
        for side in ("left", "bottom"):
            axes.spines[side].set_visible(False)
        axes.set_title(title, loc="left")
        axes.legend(
            handles=[
                Patch(facecolor=BLUE, alpha=0.5, label=legend[0]),
                Patch(facecolor=RED, alpha=0.85, label=legend[1]),
            ],
            loc="lower left",
            frameon=False,
            fontsize=7,
        )
        return _svg(figure)

    return _cached("map", payload, draw)

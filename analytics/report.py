"""The weekly report to the city's leadership: HTML with charts, and the same as PDF.

Built from the same figures as the pages (``analytics.metrics``) for an ISO week against the
week before: totals and change, channels, the busiest topics and their change with a few
appeals that illustrate them (their text with personal data masked by ``core.pii``, no
tracking number, no name), districts and their top topics, the week's hot spots and map,
the bursts of the week, timeliness and the most overdue organizations, the ranking and
anti-ranking of the week (``ratings.ranking``, issue 16), the satisfaction index and the
quick-answer share against their targets. Jinja2 renders one self-contained HTML page (the
charts are SVG ``data:`` images); WeasyPrint lays it out as an A4 PDF with DejaVu Sans,
which has every Kazakh letter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import jinja2
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analytics import charts
from analytics.metrics import Overview, Period, Row, iso_week, overview
from analytics.models import Burst
from analytics.texts import CHANNELS, report_text
from appeals.models import Appeal
from core.clock import local, now
from core.settings import get_settings
from routing.models import Category, District

TEMPLATES = Path(__file__).resolve().parent / "templates"
_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES)),
    autoescape=jinja2.select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def decimal(value: float | None, signed: bool = False) -> str:
    """12.5 → '12,5' (a decimal comma, as Russian and Kazakh write it); None → '—'."""
    if value is None:
        return "—"
    return (f"{value:+.1f}" if signed else f"{value:.1f}").replace(".", ",")


_environment.filters["dec"] = decimal
EXAMPLES_PER_TOPIC = 2
EXAMPLE_TOPICS = 3
EXCERPT = 220


@dataclass
class Example:
    district: str
    day: str
    text: str


def _excerpt(text: str) -> str:
    from core.pii import mask_text

    masked = mask_text(" ".join(text.split())) or ""
    return masked if len(masked) <= EXCERPT else masked[: EXCERPT - 1].rstrip() + "…"


def examples(
    session: Session, period: Period, category: str, language: str, districts: dict[str, str]
) -> list[Example]:
    """A few appeals of the topic in the week, from different districts, masked."""
    rows = session.execute(
        select(Appeal.text, Appeal.district_code, Appeal.received_at)
        .where(
            Appeal.received_at >= period.start,
            Appeal.received_at < period.end,
            Appeal.category_code == category,
            func.length(Appeal.text).between(60, 800),
        )
        .order_by(Appeal.received_at.desc())
        .limit(40)
    ).all()
    chosen: list[Example] = []
    seen: set[str | None] = set()
    for text, district, received in rows:
        if district in seen:
            continue
        seen.add(district)
        chosen.append(
            Example(
                district=districts.get(district or "", report_text("unknown", language)),
                day=f"{local(received):%d.%m}",
                text=_excerpt(text),
            )
        )
        if len(chosen) >= EXAMPLES_PER_TOPIC:
            break
    return chosen


def _ranking(session: Session, period: Period, language: str) -> dict[str, Any] | None:
    from ratings.periods import custom
    from ratings.ranking import compute

    table = compute(session, custom(period.first, period.last))
    by_code = {row["organization_code"]: row for row in table["rows"]}

    def show(code: str) -> dict[str, Any]:
        row = by_code[code]
        weak = [
            f"{report_text('c.' + name, language)}: {row[name]['rate']} % "
            f"({report_text('city', language)} {row[name]['city']} %)"
            for name in row["reasons"]
        ]
        return {
            "name": row["name_kk"] if language == "kk" else row["name"],
            "score": row["score"],
            "n": row["n"],
            "weak": weak,
        }

    if not table["top"] and not table["anti"]:
        return None
    return {
        "top": [show(code) for code in table["top"]],
        "anti": [show(code) for code in table["anti"]],
        "min_n": table["min_n"],
    }


def _hotspots(
    session: Session, period: Period, language: str, districts: dict[str, str]
) -> dict[str, Any]:
    from analytics.hotspots import compute, topic_names

    found = compute(
        session,
        start=period.start,
        end=period.end,
        resolution=get_settings().analytics_h3_resolution,
        topics=5,
    )
    names = topic_names(session, language)
    layers = [
        {
            "name": names.get(layer.topic, layer.topic)
            if layer.topic
            else report_text("all_topics", language),
            "cells": layer.cells[:5],
            "districts": [
                {
                    "name": districts.get(d.district_code, d.district_code),
                    "count": d.count,
                    "expected": d.expected,
                }
                for d in layer.districts[:5]
            ],
        }
        for layer in found.layers
    ]
    picture = None
    if found.kind == "h3" and found.area:
        picture = charts.data_uri(
            charts.hotspot_map(
                found.area,
                [(cell.cell, cell.count, cell.z) for cell in found.layers[0].cells],
                {
                    code: (point[0], point[1], districts.get(code, code))
                    for code, point in found.district_points.items()
                },
                title=report_text("hotspots", language),
                legend=(report_text("legend_area", language), report_text("legend_hot", language)),
            )
        )
    return {
        "kind": found.kind,
        "located": found.located,
        "total": found.total,
        "layers": [layer for layer in layers if layer["cells"] or layer["districts"]],
        "map": picture,
    }


def _bursts(
    session: Session, period: Period, language: str, districts: dict[str, str]
) -> list[dict[str, Any]]:
    names = {
        code: (name_kk if language == "kk" else name_ru)
        for code, name_ru, name_kk in session.execute(
            select(Category.code, Category.name_ru, Category.name_kk)
        )
    }
    rows = session.scalars(
        select(Burst)
        .where(Burst.day >= period.first, Burst.day <= period.last)
        .order_by(Burst.day, Burst.count.desc())
    ).all()
    return [
        {
            "day": f"{burst.day:%d.%m}",
            "district": districts.get(burst.district_code, burst.district_code),
            "topic": names.get(burst.category_code, burst.category_code),
            "count": burst.count,
            "usual": f"{burst.expected:.1f} ± {burst.spread:.1f}",
        }
        for burst in rows
    ]


def _channel_rows(rows: list[Row], language: str) -> list[Row]:
    return [
        Row(row.key, CHANNELS.get(row.key, {}).get(language, row.key), row.count, row.previous)
        for row in rows
    ]


def context(
    session: Session, week: str, language: str, *, moment: datetime | None = None
) -> dict[str, Any]:
    """Everything the template shows, for ``week`` (2026-W49) in ``language``."""
    moment = moment or now()
    period = iso_week(week)
    figures: Overview = overview(session, period, language=language, moment=moment, top=10)
    districts = {
        code: (name_kk if language == "kk" else name_ru)
        for code, name_ru, name_kk in session.execute(
            select(District.code, District.name_ru, District.name_kk)
        )
    }
    channels = _channel_rows(figures.channels, language)
    legend = (report_text("this_week", language), report_text("last_week", language))
    topic_examples = {
        row.key: examples(session, period, row.key, language, districts)
        for row in figures.categories[:EXAMPLE_TOPICS]
        if row.key
    }
    drawn = {
        "days": charts.daily_lines(
            [day for day, _, _ in figures.by_day],
            [count for _, count, _ in figures.by_day],
            [before for _, _, before in figures.by_day],
            title=report_text("days", language),
            legend=legend,
        ),
        "channels": charts.bars(
            [(row.label, row.count, row.previous) for row in channels],
            title=report_text("channels", language),
            legend=legend,
        ),
        "topics": charts.bars(
            [(row.label, row.count, row.previous) for row in figures.categories],
            title=report_text("topics", language),
            legend=legend,
        ),
        "districts": charts.bars(
            [
                (row.label or report_text("unknown", language), row.count, row.previous)
                for row in figures.districts
            ],
            title=report_text("districts", language),
            legend=legend,
        ),
    }
    for kpi in figures.kpis:
        drawn[kpi.key] = charts.kpi_gauge(
            kpi.value, kpi.target, title=report_text(kpi.key, language)
        )
    return {
        "lang": language,
        "r": lambda key, **values: report_text(key, language, **values),
        "week": week,
        "period": period,
        "figures": figures,
        "channels": channels,
        "examples": topic_examples,
        "districts": districts,
        "hot": _hotspots(session, period, language, districts),
        "bursts": _bursts(session, period, language, districts),
        "ranking": _ranking(session, period, language),
        "charts": {name: charts.data_uri(svg) for name, svg in drawn.items()},
        "generated": f"{local(moment):%d.%m.%Y %H:%M}",
    }


def render_html(
    session: Session, week: str, language: str, *, moment: datetime | None = None
) -> str:
    template = _environment.get_template("weekly_report.html")
    return template.render(**context(session, week, language, moment=moment))


def html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML

    pdf: bytes = HTML(string=html, base_url=str(TEMPLATES)).write_pdf()
    return pdf


def week_of(day: date) -> str:
    year, number, _ = day.isocalendar()
    return f"{year}-W{number:02d}"


def previous_week_of(day: date) -> str:
    return week_of(day - timedelta(days=7))

"""The weekly reports kept in ``analytics_reports``: made by the worker on Monday morning (and
on demand from the analytics page or the CLI), listed and served by the analytics page."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from analytics.metrics import iso_week
from analytics.models import WeeklyReport
from analytics.report import html_to_pdf, render_html
from core import db
from core.clock import now

log = logging.getLogger(__name__)
LANGUAGES = ("ru", "kk")
FORMATS = ("pdf", "html")


def render_report(
    session: Session, *, week: str, language: str, fmt: str, moment: datetime | None = None
) -> bytes:
    """One report document; ``week`` like 2026-W49, ``language`` ru or kk, ``fmt`` pdf/html."""
    iso_week(week)  # refuses a malformed week before any work
    if language not in LANGUAGES:
        raise ValueError(f"language must be ru or kk, not {language!r}")
    if fmt not in FORMATS:
        raise ValueError(f"format must be pdf or html, not {fmt!r}")
    html = render_html(session, week, language, moment=moment)
    return html_to_pdf(html) if fmt == "pdf" else html.encode()


def _keep(session: Session, *, week: str, language: str, fmt: str, content: bytes, by: str) -> None:
    existing = session.scalar(
        select(WeeklyReport).where(
            WeeklyReport.week == week, WeeklyReport.language == language, WeeklyReport.format == fmt
        )
    )
    if existing is None:
        existing = WeeklyReport(week=week, language=language, format=fmt)
        session.add(existing)
    existing.content = content
    existing.size = len(content)
    existing.created_at = now()
    existing.generated_by = by
    session.flush()


def store_reports(
    session: Session, *, week: str, generated_by: str, moment: datetime | None = None
) -> dict[str, Any]:
    """The week's report in Russian and Kazakh, PDF and HTML, kept (replacing older ones)."""
    started = time.perf_counter()
    sizes: dict[str, int] = {}
    for language in LANGUAGES:
        html = render_html(session, week, language, moment=moment)
        documents = {"html": html.encode(), "pdf": html_to_pdf(html)}
        for fmt, content in documents.items():
            _keep(session, week=week, language=language, fmt=fmt, content=content, by=generated_by)
            sizes[f"{language}.{fmt}"] = len(content)
    result = {"week": week, "sizes": sizes, "seconds": round(time.perf_counter() - started, 2)}
    log.info("weekly report: %s", result)
    return result


def generate_and_store(*, week: str, generated_by: str) -> dict[str, Any]:
    """The worker's Monday job, in its own transaction."""
    with db.transaction() as session:
        return store_reports(session, week=week, generated_by=generated_by)

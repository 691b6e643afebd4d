"""The analytics pages for analysts and leadership: ``/staff/analytics`` and what hangs off it.

Everything is a GET with the period in the URL (bookmarkable, shareable): volumes by day and
week, channel, district, organization and topic with the change against the previous period,
top topics per district and service, status and timeliness, the KPIs against their targets,
the hot spots the worker computed, the bursts, the weekly reports. Every chart is drawn on
the server (``analytics.charts``: SVG in an ``<img>``), has its table beside it and a CSV of
that table (``/staff/analytics.csv?section=…``). No personal data: counts and labels only; a
burst lists its appeals by tracking number, opened through the usual staff access rules.

Analysts, inspectors and administrators; the figures of one view are shared for
``CACHE_TTL_S`` seconds between everyone asking for it (the page says when they were taken).
"""

from __future__ import annotations

import csv
import io
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Final

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from analytics import charts
from analytics.bursts_service import by_notification, recent
from analytics.metrics import Overview, Period, Row, overview
from analytics.models import Burst, WeeklyReport
from appeals.lifecycle import Status, status_label
from appeals.models import Appeal
from civicdesk.web.rendering import almaty_time, page_language, redirect, render, secure
from civicdesk.web.staff_auth import StaffUserDep, csrf_ok
from civicdesk.web.staff_frame import staff_error_page, staff_frame
from civicdesk.web.texts import t
from core.api_deps import DbSession
from core.clock import local, now
from core.models import Role, StaffUser
from routing.models import Category, District

router = APIRouter(include_in_schema=False)

PAGE_PATH: Final = "/staff/analytics"
CSV_PATH: Final = "/staff/analytics.csv"
ALLOWED: Final = frozenset({Role.ANALYST, Role.INSPECTOR, Role.ADMIN})
MAX_DAYS: Final = 366
REPORT_CSP: Final = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)
CACHE_TTL_S: Final = 60.0
SECTIONS: Final = (
    "day",
    "week",
    "channels",
    "districts",
    "organizations",
    "areas",
    "categories",
    "top_districts",
    "top_organizations",
    "statuses",
    "overdue",
    "kpis",
    "hotspots",
    "bursts",
)
DateText = Annotated[str | None, Query(max_length=10)]

_lock = threading.Lock()
_cache: dict[tuple[Any, ...], tuple[float, Overview, datetime]] = {}


class BadPeriod(ValueError):
    pass


def _parse_day(value: str) -> date:
    value = value.strip()
    try:
        if "." in value:
            day, month, year = (int(part) for part in value.split("."))
            return date(year, month, day)
        return date.fromisoformat(value)
    except ValueError:
        raise BadPeriod(value) from None


def parse_period(first: str | None, last: str | None, *, today: date) -> Period:
    """The period of the URL; by default the seven full days before today."""
    end = _parse_day(last) if last else today - timedelta(days=1)
    start = _parse_day(first) if first else end - timedelta(days=6)
    if start > end or (end - start).days + 1 > MAX_DAYS:
        raise BadPeriod(f"{start}..{end}")
    return Period(start, end)


def presets(today: date) -> list[tuple[str, Period]]:
    yesterday = today - timedelta(days=1)
    monday = today - timedelta(days=today.weekday())
    return [
        ("analytics.preset_7", Period(yesterday - timedelta(days=6), yesterday)),
        ("analytics.preset_30", Period(yesterday - timedelta(days=29), yesterday)),
        ("analytics.preset_week", Period(monday - timedelta(days=7), monday - timedelta(days=1))),
        ("analytics.preset_month", Period(today.replace(day=1), today)),
    ]


def clear_cache() -> None:
    """Forget the shared figures (the benchmark times a first look; tests start clean)."""
    with _lock:
        _cache.clear()


def cached_overview(session: Session, period: Period, language: str) -> tuple[Overview, datetime]:
    key = (str(session.get_bind().engine.url), period, language)
    started = time.monotonic()
    with _lock:
        found = _cache.get(key)
    if found is not None and started - found[0] < CACHE_TTL_S:
        return found[1], found[2]
    moment = now()
    figures = overview(session, period, language=language, moment=moment)
    with _lock:
        if len(_cache) > 64:
            _cache.clear()
        _cache[key] = (started, figures, moment)
    return figures, moment


def _is_week(value: str) -> bool:
    from analytics.metrics import iso_week

    try:
        iso_week(value)
    except ValueError:
        return False
    return True


def _allowed(user: StaffUser) -> bool:
    return user.role in ALLOWED


def _error(
    request: Request, session: Session, user: StaffUser, language: str, status: int, key: str
) -> Response:
    """The staff error page inside the analytics tab."""
    return staff_error_page(
        request,
        session,
        user,
        language=language,
        status_code=status,
        message_key=key,
        active="analytics",
    )


def _forbidden(request: Request, session: Session, user: StaffUser, language: str) -> Response:
    return _error(request, session, user, language, 403, "analytics.forbidden")


def _channel_rows(rows: list[Row], language: str) -> list[Row]:
    return [Row(r.key, t(f"channel.{r.key}", language), r.count, r.previous) for r in rows]


def _status_rows(rows: list[Row], language: str) -> list[Row]:
    return [Row(r.key, status_label(Status(r.key), language), r.count, r.previous) for r in rows]


def _named(rows: list[Row], language: str) -> list[Row]:
    unknown = t("analytics.unknown", language)
    return [
        Row(r.key, r.label if r.key and r.key != "0" else unknown, r.count, r.previous)
        for r in rows
    ]


def sections(figures: Overview, language: str) -> dict[str, list[Row]]:
    """Each breakdown's rows, labelled in the page's language."""
    return {
        "channels": _channel_rows(figures.channels, language),
        "districts": _named(figures.districts, language),
        "organizations": _named(figures.organizations, language),
        "areas": _named(figures.areas, language),
        "categories": _named(figures.categories, language),
        "statuses": _status_rows(figures.statuses, language),
        "overdue": _named(figures.overdue_by_organization, language),
    }


def _charts(figures: Overview, rows: dict[str, list[Row]], language: str) -> dict[str, str]:
    legend = (t("analytics.this_period", language), t("analytics.previous_period", language))
    drawn = {
        "day": charts.daily_lines(
            [day for day, _, _ in figures.by_day],
            [count for _, count, _ in figures.by_day],
            [before for _, _, before in figures.by_day],
            title=t("analytics.section.day", language),
            legend=legend,
        ),
        "week": charts.weekly_columns(figures.by_week, title=t("analytics.section.week", language)),
    }
    for name in ("channels", "districts", "organizations", "areas", "categories"):
        drawn[name] = charts.bars(
            [(row.label, row.count, row.previous) for row in rows[name][:12]],
            title=t(f"analytics.section.{name}", language),
            legend=legend,
        )
    for kpi in figures.kpis:
        drawn[f"kpi_{kpi.key}"] = charts.kpi_gauge(
            kpi.value, kpi.target, title=t(f"analytics.kpi.{kpi.key}", language)
        )
    return {name: charts.data_uri(svg) for name, svg in drawn.items()}


def _hotspots(session: Session, language: str) -> dict[str, Any] | None:
    from analytics.hotspots import HotSpots, topic_names
    from analytics.jobs import HOTSPOT_DAYS, latest_hotspots

    found = latest_hotspots(session)
    if found is None:
        return None
    at, raw = found
    spots = HotSpots.from_dict(raw)
    topics = topic_names(session, language)
    districts = {
        code: (name_kk if language == "kk" else name_ru)
        for code, name_ru, name_kk in session.execute(
            select(District.code, District.name_ru, District.name_kk)
        )
    }
    layers = []
    for layer in spots.layers:
        name = (
            topics.get(layer.topic, layer.topic)
            if layer.topic
            else t("analytics.hot.all", language)
        )
        layers.append({"topic": layer.topic, "name": name, "layer": layer})
    first = spots.layers[0] if spots.layers else None
    picture = None
    if spots.kind == "h3" and first is not None:
        picture = charts.data_uri(
            charts.hotspot_map(
                spots.area,
                [(cell.cell, cell.count, cell.z) for cell in first.cells],
                {
                    code: (point[0], point[1], districts.get(code, code))
                    for code, point in spots.district_points.items()
                },
                title=t("analytics.hot.map", language, topic=t("analytics.hot.all", language)),
                legend=(
                    t("analytics.hot.legend_area", language),
                    t("analytics.hot.legend_hot", language),
                ),
            )
        )
    return {
        "at": almaty_time(at),
        "days": HOTSPOT_DAYS,
        "spots": spots,
        "layers": layers,
        "map": picture,
        "districts": districts,
    }


def _bursts(session: Session, language: str, today: date) -> list[dict[str, Any]]:
    rows = recent(session, since=today - timedelta(days=30), limit=50)
    return [_burst_view(session, burst, language) for burst in rows]


def _burst_view(session: Session, burst: Burst, language: str) -> dict[str, Any]:
    district = session.get(District, burst.district_code)
    category = session.get(Category, burst.category_code)
    return {
        "burst": burst,
        "district": district.name(language) if district else burst.district_code,
        "topic": category.name(language) if category else burst.category_code,
        "usual": f"{burst.expected:.1f} ± {burst.spread:.1f}",
    }


def _reports(session: Session) -> list[WeeklyReport]:
    return list(
        session.scalars(
            select(WeeklyReport)
            .order_by(WeeklyReport.week.desc(), WeeklyReport.language, WeeklyReport.format)
            .limit(40)
        )
    )


def _url(period: Period, language: str, path: str = PAGE_PATH, **extra: str) -> str:
    query = f"from={period.first.isoformat()}&to={period.last.isoformat()}&lang={language}"
    for key, value in extra.items():
        query += f"&{key}={value}"
    return f"{path}?{query}"


@router.get(PAGE_PATH)
def analytics_page(
    request: Request,
    session: DbSession,
    user: StaffUserDep,
    first: Annotated[DateText, Query(alias="from")] = None,
    last: Annotated[DateText, Query(alias="to")] = None,
    notice: str | None = None,
) -> Response:
    language = page_language(request)
    if not _allowed(user):
        return _forbidden(request, session, user, language)
    today = local(now()).date()
    problem: str | None
    try:
        period = parse_period(first, last, today=today)
    except BadPeriod:
        period = parse_period(None, None, today=today)
        problem = "analytics.bad_period"
        status_code = 422
    else:
        problem = None
        status_code = 200
    figures, taken = cached_overview(session, period, language)
    rows = sections(figures, language)
    return render(
        request,
        "analytics/page.html",
        language=language,
        private=True,
        status_code=status_code,
        problem=problem,
        notice=notice if notice and _is_week(notice) else None,
        group_names={
            "top_districts": {row.key: row.label for row in rows["districts"]},
            "top_organizations": {row.key: row.label for row in rows["organizations"]},
        },
        period=period,
        figures=figures,
        rows=rows,
        chart=_charts(figures, rows, language),
        taken=almaty_time(taken),
        presets=[(key, value, _url(value, language)) for key, value in presets(today)],
        csv_url=lambda section: _url(period, language, CSV_PATH, section=section),
        hot=_hotspots(session, language),
        bursts=_bursts(session, language, today),
        reports=_reports(session),
        last_week=f"{(today - timedelta(days=7)).isocalendar()[0]}-W"
        f"{(today - timedelta(days=7)).isocalendar()[1]:02d}",
        **staff_frame(request, session, user, language, active="analytics"),
    )


def _csv_rows(
    section: str,
    figures: Overview,
    rows: dict[str, list[Row]],
    language: str,
    session: Session,
    today: date,
) -> Iterator[list[Any]]:
    if section == "day":
        yield ["day", "appeals", "previous_period_same_day"]
        for day, count, before in figures.by_day:
            yield [day.isoformat(), count, before]
    elif section == "week":
        yield ["week_from", "appeals"]
        for monday, count in figures.by_week:
            yield [monday.isoformat(), count]
    elif section in rows:
        yield ["key", "name", "appeals", "previous_period", "change_pct"]
        for row in rows[section]:
            yield [
                row.key,
                row.label,
                row.count,
                row.previous,
                "" if row.change is None else row.change,
            ]
    elif section in ("top_districts", "top_organizations"):
        groups = (
            figures.top_by_district if section == "top_districts" else (figures.top_by_organization)
        )
        names = {
            row.key: row.label
            for row in rows["districts" if section == "top_districts" else "organizations"]
        }
        yield ["group_key", "group", "rank", "topic_key", "topic", "appeals", "previous_period"]
        for key, topic_rows in groups.items():
            for rank, row in enumerate(topic_rows, start=1):
                yield [key, names.get(key, key), rank, row.key, row.label, row.count, row.previous]
    elif section == "kpis":
        yield ["kpi", "value_pct", "target_pct", "numerator", "denominator"]
        for kpi in figures.kpis:
            yield [kpi.key, kpi.value, kpi.target, kpi.numerator, kpi.denominator]
    elif section == "bursts":
        yield [
            "day",
            "district",
            "topic",
            "count",
            "usual",
            "spread",
            "p_value",
            "appeals",
            "incidents",
        ]
        for view in _bursts(session, language, today):
            burst = view["burst"]
            yield [
                burst.day.isoformat(),
                view["district"],
                view["topic"],
                burst.count,
                burst.expected,
                burst.spread,
                f"{burst.p_value:.3g}",
                len(burst.appeal_ids),
                len(burst.incident_ids),
            ]
    elif section == "hotspots":
        hot = _hotspots(session, language)
        yield ["topic", "unit", "where", "appeals", "z_or_expected", "p_value"]
        if hot is not None:
            for entry in hot["layers"]:
                layer = entry["layer"]
                for cell in layer.cells:
                    yield [entry["name"], "h3", cell.cell, cell.count, cell.z, cell.p]
                for district in layer.districts:
                    yield [
                        entry["name"],
                        "district",
                        hot["districts"].get(district.district_code, district.district_code),
                        district.count,
                        district.expected,
                        district.p,
                    ]


@router.get(CSV_PATH)
def analytics_csv(
    request: Request,
    session: DbSession,
    user: StaffUserDep,
    section: Annotated[str, Query(max_length=32)] = "districts",
    first: Annotated[DateText, Query(alias="from")] = None,
    last: Annotated[DateText, Query(alias="to")] = None,
) -> Response:
    language = page_language(request)
    if not _allowed(user):
        return _forbidden(request, session, user, language)
    today = local(now()).date()
    if section not in SECTIONS:
        return secure(
            Response(
                f"unknown section {section!r}; one of: {', '.join(SECTIONS)}\n",
                status_code=422,
                media_type="text/plain; charset=utf-8",
            ),
            private=True,
        )
    try:
        period = parse_period(first, last, today=today)
    except BadPeriod:
        return secure(
            Response(
                t("analytics.bad_period", language) + "\n",
                status_code=422,
                media_type="text/plain; charset=utf-8",
            ),
            private=True,
        )
    figures, _ = cached_overview(session, period, language)
    rows = sections(figures, language)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for line in _csv_rows(section, figures, rows, language, session, today):
        writer.writerow(line)
    filename = f"analytics-{section}-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    response = Response(
        "\ufeff" + buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
    return secure(response, private=True)


@router.get("/staff/analytics/bursts")
def burst_by_notice(
    request: Request, session: DbSession, user: StaffUserDep, notice: int = 0
) -> Response:
    """The inbox's link: the burst a notice announced."""
    language = page_language(request)
    burst = by_notification(session, notice)
    if burst is None:
        return _error(request, session, user, language, 404, "analytics.bursts.not_found")
    return redirect(f"/staff/analytics/bursts/{burst.id}?lang={language}", private=True)


@router.get("/staff/analytics/bursts/{burst_id}")
def burst_page(request: Request, session: DbSession, user: StaffUserDep, burst_id: int) -> Response:
    language = page_language(request)
    if not _allowed(user):
        return _forbidden(request, session, user, language)
    burst = session.get(Burst, burst_id)
    if burst is None:
        return _error(request, session, user, language, 404, "analytics.bursts.not_found")
    appeals = session.execute(
        select(Appeal.id, Appeal.tracking_number, Appeal.received_at, Appeal.status)
        .where(Appeal.id.in_(burst.appeal_ids))
        .order_by(Appeal.received_at.desc())
    ).all()
    return render(
        request,
        "analytics/burst.html",
        language=language,
        private=True,
        view=_burst_view(session, burst, language),
        appeals=[
            {
                "id": row.id,
                "number": row.tracking_number,
                "at": almaty_time(row.received_at),
                "status": status_label(row.status, language),
            }
            for row in appeals
        ],
        **staff_frame(request, session, user, language, active="analytics"),
    )


@router.get("/staff/analytics/reports/{report_id}")
def report_file(
    request: Request, session: DbSession, user: StaffUserDep, report_id: int
) -> Response:
    language = page_language(request)
    if not _allowed(user):
        return _forbidden(request, session, user, language)
    report = session.get(WeeklyReport, report_id)
    if report is None:
        return _error(request, session, user, language, 404, "staff_error.not_found")
    media = "application/pdf" if report.format == "pdf" else "text/html; charset=utf-8"
    filename = f"report-{report.week}-{report.language}.{report.format}"
    headers = {"Content-Disposition": f'inline; filename="{filename}"'}
    if report.format == "html":
        # The report is one self-contained file (it is mailed and opened offline too): its
        # style is inline and its charts are data: images. No script may run in it at all.
        headers["Content-Security-Policy"] = REPORT_CSP
    response = Response(report.content, media_type=media, headers=headers)
    return secure(response, private=True)


@router.post("/staff/analytics/reports")
def generate_report(
    request: Request,
    session: DbSession,
    user: StaffUserDep,
    week: Annotated[str, Form(max_length=10)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Make (or remake) a week's reports now, in both languages and formats."""
    from analytics.metrics import iso_week
    from analytics.report_service import store_reports

    language = page_language(request)
    if not _allowed(user):
        return _forbidden(request, session, user, language)
    if not csrf_ok(request, csrf):
        return _error(request, session, user, language, 403, "staff_error.csrf")
    try:
        iso_week(week)
    except ValueError:
        return _error(request, session, user, language, 422, "analytics.reports.bad_week")
    store_reports(session, week=week.upper(), generated_by="page")
    return redirect(f"{PAGE_PATH}?lang={language}&notice={week.upper()}#reports", private=True)

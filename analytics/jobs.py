"""Analytics on a schedule: the nightly export, the burst checks, Monday's weekly report.

``civicdesk worker`` calls :func:`run_due` from its relay loop (every half minute). Each kind
has a period (the export: an Almaty day once ``analytics_export_hour`` has come; bursts: the
latest of ``analytics_burst_hours`` reached today; the report: the previous ISO week once
Monday's ``analytics_report_hour`` has come). A period is claimed in ``analytics_runs`` with
``INSERT … ON CONFLICT DO NOTHING`` before its job is queued, so however many workers look,
it runs once; a claim left unfinished for ``STALE_AFTER`` (a worker died) is taken again.
With Redis the job goes to RQ (JSON serializer, retried on failure); without, it runs here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from analytics.models import AnalyticsRun
from core import db, jobs
from core.clock import ALMATY, local, now
from core.db import dialect_insert, table_of
from core.settings import Settings, get_settings

log = logging.getLogger(__name__)
STALE_AFTER = timedelta(hours=3)
KINDS: tuple[str, ...] = ("export", "hotspots", "bursts", "report")


@dataclass(frozen=True)
class Due:
    kind: str
    period: str


def previous_week(moment: datetime) -> str:
    """The ISO week before the one ``moment`` (Almaty) falls in, as 2026-W49."""
    year, week, _ = (local(moment).date() - timedelta(days=7)).isocalendar()
    return f"{year}-W{week:02d}"


def due_periods(moment: datetime, settings: Settings) -> list[Due]:
    """What should have run by ``moment`` (Almaty time), newest period of each kind."""
    here = local(moment)
    due: list[Due] = []
    if here.hour >= settings.analytics_export_hour:
        due.append(Due("export", here.date().isoformat()))
        due.append(Due("hotspots", here.date().isoformat()))
    reached = [hour for hour in settings.analytics_burst_hours if hour <= here.hour]
    if reached:
        due.append(Due("bursts", f"{here.date().isoformat()}T{max(reached):02d}"))
    if here.weekday() > 0 or here.hour >= settings.analytics_report_hour:
        due.append(Due("report", previous_week(moment)))
    return due


def claim(session: Session, due: Due, *, moment: datetime) -> int | None:
    """The run's id if this caller may run it now; None when it ran or is running."""
    runs = table_of(AnalyticsRun)
    inserted = session.scalar(
        dialect_insert(session.get_bind().dialect.name, runs)
        .values(kind=due.kind, period=due.period, started_at=moment, result={})
        .on_conflict_do_nothing(index_elements=["kind", "period"])
        .returning(runs.c.id)
    )
    if inserted is not None:
        return int(inserted)
    retaken = session.scalar(
        update(runs)
        .where(
            runs.c.kind == due.kind,
            runs.c.period == due.period,
            runs.c.finished_at.is_(None),
            runs.c.started_at < moment - STALE_AFTER,
        )
        .values(started_at=moment)
        .returning(runs.c.id)
    )
    return int(retaken) if retaken is not None else None


def finish(run_id: int, result: dict[str, Any]) -> None:
    with db.transaction() as session:
        run = session.get(AnalyticsRun, run_id)
        if run is not None:
            run.finished_at = now()
            run.result = result


def export_now(
    out_dir: Path | None = None,
    *,
    since: date | None = None,
    full: bool = False,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Write or update the open dataset (a read-only transaction over the database)."""
    from analytics.export import export

    settings = settings or get_settings()
    with db.session_factory()() as session:
        result = export(
            session,
            out_dir or settings.analytics_export_dir,
            since=since,
            full=full,
            settings=settings,
        )
    log.info("analytics export: %s", result.as_dict())  # counts and paths only
    return result.as_dict()


def export_job(run_id: int) -> dict[str, Any]:
    """The nightly export (RQ job)."""
    result = export_now()
    finish(run_id, result)
    return result


HOTSPOT_DAYS = 28


def hotspots_now(moment: datetime | None = None, *, days: int = HOTSPOT_DAYS) -> dict[str, Any]:
    """Hot spots of the last ``days`` full days (Almaty), as stored with the run."""
    from analytics.hotspots import compute

    settings = get_settings()
    today = local(moment or now()).date()
    start = datetime(today.year, today.month, today.day, tzinfo=ALMATY) - timedelta(days=days)
    end = datetime(today.year, today.month, today.day, tzinfo=ALMATY)
    with db.session_factory()() as session:
        found = compute(
            session, start=start, end=end, resolution=settings.analytics_h3_resolution
        )
    return found.as_dict()


def hotspots_job(run_id: int) -> dict[str, Any]:
    """The daily hot spots (RQ job): kept in the run's result for the pages."""
    result = hotspots_now()
    finish(run_id, result)
    return {"kind": result["kind"], "layers": len(result["layers"])}


def latest_hotspots(session: Session) -> tuple[datetime, dict[str, Any]] | None:
    """The last hot spots the worker computed, and when."""
    run = session.scalar(
        select(AnalyticsRun)
        .where(AnalyticsRun.kind == "hotspots", AnalyticsRun.finished_at.is_not(None))
        .order_by(AnalyticsRun.finished_at.desc())
        .limit(1)
    )
    if run is None or run.finished_at is None:
        return None
    return run.finished_at, dict(run.result)


def report_job(run_id: int, week: str) -> dict[str, Any]:
    """Monday's weekly report, in Russian and Kazakh, PDF and HTML (RQ job)."""
    from analytics.report_service import generate_and_store

    result: dict[str, Any] = generate_and_store(week=week, generated_by="worker")
    finish(run_id, result)
    return result


def bursts_job(run_id: int) -> dict[str, Any]:
    """The burst check of today so far (RQ job)."""
    from analytics.bursts_service import check_today

    result: dict[str, Any] = check_today()
    finish(run_id, result)
    return result


JOBS: dict[str, str] = {
    "export": "analytics.jobs.export_job",
    "bursts": "analytics.jobs.bursts_job",
    "hotspots": "analytics.jobs.hotspots_job",
    "report": "analytics.jobs.report_job",
}


def _arguments(due: Due, run_id: int) -> list[Any]:
    return [run_id, due.period] if due.kind == "report" else [run_id]


def scheduling(settings: Settings) -> bool:
    """On unless switched off; off by default under ``environment=test``, so the workers other
    tests start do not export the test database."""
    if settings.analytics_schedule is None:
        return settings.environment != "test"
    return settings.analytics_schedule


def run_due(
    *,
    moment: datetime | None = None,
    settings: Settings | None = None,
    kinds: tuple[str, ...] = KINDS,
) -> list[str]:
    """Claim and start what is due; returns the ``kind:period`` started. Errors of one job are
    logged and leave its claim unfinished (retaken after ``STALE_AFTER``)."""
    settings = settings or get_settings()
    if not scheduling(settings):
        return []
    moment = moment or now()
    started: list[str] = []
    for due in due_periods(moment, settings):
        if due.kind not in kinds:
            continue
        with db.transaction() as session:
            run_id = claim(session, due, moment=moment)
        if run_id is None:
            continue
        started.append(f"{due.kind}:{due.period}")
        if settings.jobs_inline:
            job: Callable[..., Any] = jobs.resolve(JOBS[due.kind])
            try:
                job(*_arguments(due, run_id))
            except Exception:
                log.exception("analytics %s for %s failed", due.kind, due.period)
            continue
        from rq import Retry

        jobs.queue(settings).enqueue_call(
            func=JOBS[due.kind],
            args=_arguments(due, run_id),
            job_id=f"analytics-{due.kind}-{due.period}-{run_id}",
            timeout=3600,
            result_ttl=24 * 3600,
            failure_ttl=7 * 24 * 3600,
            retry=Retry(max=3, interval=[60, 300, 900]),
        )
    return started


def recent_runs(session: Session, *, limit: int = 20) -> list[AnalyticsRun]:
    return list(session.scalars(select(AnalyticsRun).order_by(AnalyticsRun.id.desc()).limit(limit)))

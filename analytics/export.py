"""The Situation Center's open dataset: Parquet partitioned by month, CSV, daily aggregates.

Layout of the output directory (readable by DuckDB, pandas, Superset, Metabase, ClickHouse
with no code of ours)::

    datapackage.json                       columns, types and meanings (Frictionless Data)
    manifest.json                          the last run, its watermark, rows per month
    appeals/month=2026-11/part-0.parquet   one row per appeal (the month comes from the path)
    daily/month=2026-11/part-0.parquet     counts per day × district × organization × topic
    csv/appeals-2026-11.csv, csv/daily-2026-11.csv   the same, as UTF-8 CSV

A month is always written whole, to a temporary file renamed over the old one, so a reader
never sees half a month and a crashed run leaves the previous files. The first run writes
every month; a later run (the nightly job) rewrites only the months holding an appeal that
changed since the previous run's watermark (a new status, rating, assignment, or an open
appeal whose deadline passed), and new months appear as new partitions. ``since`` rewrites
every month from that date's month on; ``full`` rewrites everything.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sqlalchemy import select, union
from sqlalchemy.orm import Session

from analytics.dataset import (
    APPEAL_COLUMNS,
    APPEAL_SCHEMA,
    DAILY_COLUMNS,
    Column,
    daily_aggregates,
    iter_appeal_tables,
)
from analytics.pseudonym import Pseudonymizer
from appeals.lifecycle import OPEN_STATUSES
from appeals.models import Appeal, AppealStatusChange, Assignment
from core.clock import ALMATY, now
from core.settings import Settings, get_settings
from ratings.models import AnswerRating

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
RUNS_KEPT = 30


@dataclass
class ExportResult:
    out_dir: str
    mode: str  # full, incremental, since
    months: list[str] = field(default_factory=list)
    appeals: int = 0
    daily_rows: int = 0
    seconds: float = 0.0
    watermark: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "out_dir": self.out_dir,
            "mode": self.mode,
            "months": self.months,
            "appeals": self.appeals,
            "daily_rows": self.daily_rows,
            "seconds": self.seconds,
            "watermark": self.watermark,
        }


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """[start, end) of an Almaty calendar month, in UTC."""
    year, number = (int(part) for part in month.split("-"))
    start = datetime(year, number, 1, tzinfo=ALMATY)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=ALMATY)
    return start.astimezone(UTC), end.astimezone(UTC)


def month_of(moment: datetime) -> str:
    return f"{moment.astimezone(ALMATY):%Y-%m}"


def months_between(first: str, last: str) -> list[str]:
    year, number = (int(part) for part in first.split("-"))
    months = []
    while f"{year:04d}-{number:02d}" <= last:
        months.append(f"{year:04d}-{number:02d}")
        year, number = (year + 1, 1) if number == 12 else (year, number + 1)
    return months


def _fingerprint(settings: Settings) -> str:
    key = settings.analytics_pseudonym_key or settings.secret_key
    return hashlib.blake2b(key.encode(), digest_size=8, person=b"civicdesk-fprint").hexdigest()


def _read_manifest(out_dir: Path) -> dict[str, Any] | None:
    path = out_dir / MANIFEST
    if not path.exists():
        return None
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if manifest.get("format") == FORMAT_VERSION else None


def _write_atomically(path: Path, write: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    _write_atomically(
        path,
        lambda target: target.write_text(
            json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        ),
    )


def _field(column: Column) -> dict[str, str]:
    kinds = {
        pa.string(): "string",
        pa.bool_(): "boolean",
        pa.date32(): "date",
        pa.float64(): "number",
    }
    if pa.types.is_timestamp(column.type):
        kind = "datetime"
    elif pa.types.is_integer(column.type):
        kind = "integer"
    else:
        kind = kinds.get(column.type, "string")
    described = {"name": column.name, "type": kind, "description": column.description}
    if column.nyc311:
        described["nyc311"] = column.nyc311
    return described


def datapackage(settings: Settings) -> dict[str, Any]:
    """The Frictionless Data descriptor: what each file and column means."""
    return {
        "name": "civicdesk-appeals",
        "title": "Citizens' appeals, without personal data",
        "licenses": [{"name": "CC-BY-4.0"}],
        "h3_resolution": settings.analytics_h3_resolution,
        "timezone": "Asia/Almaty (dates); timestamps are UTC",
        "resources": [
            {
                "name": "appeals",
                "path": "appeals/month=*/part-0.parquet",
                "format": "parquet",
                "partitioning": "hive: month=YYYY-MM",
                "csv": "csv/appeals-YYYY-MM.csv",
                "schema": {"fields": [_field(column) for column in APPEAL_COLUMNS]},
            },
            {
                "name": "daily",
                "path": "daily/month=*/part-0.parquet",
                "format": "parquet",
                "partitioning": "hive: month=YYYY-MM",
                "csv": "csv/daily-YYYY-MM.csv",
                "schema": {"fields": [_field(column) for column in DAILY_COLUMNS]},
            },
        ],
    }


def changed_months(session: Session, *, since: datetime, moment: datetime) -> set[str]:
    """Months holding an appeal that changed in [since, moment), or whose deadline passed."""
    open_values = [status.value for status in OPEN_STATUSES]
    changed = union(
        select(Appeal.id.label("id")).where(Appeal.updated_at >= since),
        select(AppealStatusChange.appeal_id).where(AppealStatusChange.at >= since),
        select(AnswerRating.appeal_id).where(AnswerRating.rated_at >= since),
        select(Assignment.appeal_id).where(Assignment.started_at >= since),
        select(Assignment.appeal_id).where(Assignment.ended_at >= since),
        select(Appeal.id).where(
            Appeal.due_at >= since, Appeal.due_at < moment, Appeal.status.in_(open_values)
        ),
    ).subquery("changed")
    moments = session.scalars(
        select(Appeal.received_at).where(Appeal.id.in_(select(changed.c.id))).distinct()
    )
    return {month_of(received) for received in moments}


def _all_months(session: Session, *, first: str | None, moment: datetime) -> list[str]:
    earliest = session.scalar(select(Appeal.received_at).order_by(Appeal.received_at).limit(1))
    if earliest is None:
        return []
    start = max(month_of(earliest), first) if first else month_of(earliest)
    return months_between(start, month_of(moment))


def _group_by_month(tables: Iterable[pa.Table]) -> Iterator[tuple[str, pa.Table]]:
    """Consecutive rows of one month (the rows arrive in time order) as one table."""
    current: str | None = None
    pieces: list[pa.Table] = []
    for table in tables:
        months = table.column("month").to_pylist()
        start = 0
        for index in range(1, len(months) + 1):
            if index == len(months) or months[index] != months[start]:
                month = months[start]
                piece = table.slice(start, index - start)
                if month != current and pieces:
                    assert current is not None
                    yield current, pa.concat_tables(pieces)
                    pieces = []
                current = month
                pieces.append(piece)
                start = index
    if pieces and current is not None:
        yield current, pa.concat_tables(pieces)


def _write_month(out_dir: Path, month: str, appeals: pa.Table) -> int:
    """One month's four files; returns the daily aggregate's rows."""
    daily = daily_aggregates(appeals)
    for name, table in (("appeals", appeals), ("daily", daily)):
        partition = table.drop_columns(["month"])  # the path carries it (hive partitioning)
        _write_atomically(
            out_dir / name / f"month={month}" / "part-0.parquet",
            lambda target, data=partition: pq.write_table(
                data, target, compression="zstd", row_group_size=200_000
            ),
        )
        _write_atomically(
            out_dir / "csv" / f"{name}-{month}.csv",
            lambda target, data=table: pacsv.write_csv(data, target),
        )
    return int(daily.num_rows)


def _empty_month(out_dir: Path, month: str) -> int:
    """A month with no appeals left (all moved out by --since bounds) keeps valid files."""
    return _write_month(out_dir, month, APPEAL_SCHEMA.empty_table())


def export(
    session: Session,
    out_dir: Path,
    *,
    since: date | None = None,
    full: bool = False,
    moment: datetime | None = None,
    settings: Settings | None = None,
) -> ExportResult:
    """Write (or bring up to date) the open dataset in ``out_dir``; see the module's doc."""
    settings = settings or get_settings()
    moment = moment or now()
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = _read_manifest(out_dir)
    fingerprint = _fingerprint(settings)
    if manifest is not None and manifest.get("key_fingerprint") != fingerprint:
        manifest = None  # the public ids changed: every month must be rewritten
    if since is not None:
        mode = "since"
        months = _all_months(session, first=f"{since:%Y-%m}", moment=moment)
    elif full or manifest is None:
        mode = "full"
        months = _all_months(session, first=None, moment=moment)
    else:
        mode = "incremental"
        watermark = datetime.fromisoformat(manifest["watermark"])
        months = sorted(changed_months(session, since=watermark, moment=moment))
    result = ExportResult(out_dir=str(out_dir), mode=mode, watermark=moment.isoformat())
    pseudonyms = Pseudonymizer(settings)
    ranges = None if mode == "full" else [month_bounds(month) for month in months]
    written: dict[str, int] = {}
    if months:
        tables = iter_appeal_tables(
            session,
            moment=moment,
            h3_resolution=settings.analytics_h3_resolution,
            pseudonyms=pseudonyms,
            ranges=ranges,
        )
        for month, table in _group_by_month(tables):
            result.daily_rows += _write_month(out_dir, month, table)
            written[month] = table.num_rows
            result.appeals += table.num_rows
    for month in months:
        if month not in written and (out_dir / "appeals" / f"month={month}").exists():
            result.daily_rows += _empty_month(out_dir, month)
            written[month] = 0
    result.months = sorted(written)
    result.seconds = round(time.perf_counter() - started, 3)
    previous_months: dict[str, Any] = dict(manifest.get("months", {})) if manifest else {}
    previous_months.update(
        {
            month: {"appeals": rows, "written_at": moment.isoformat()}
            for month, rows in written.items()
        }
    )
    runs = list(manifest.get("runs", [])) if manifest else []
    runs.append({"at": moment.isoformat(), **result.as_dict()})
    _write_json(out_dir / "datapackage.json", datapackage(settings))
    _write_json(
        out_dir / MANIFEST,
        {
            "format": FORMAT_VERSION,
            "key_fingerprint": fingerprint,
            "watermark": moment.isoformat(),
            "months": dict(sorted(previous_months.items())),
            "runs": runs[-RUNS_KEPT:],
        },
    )
    return result

"""The open dataset: Parquet by month and CSV, read back with pyarrow, pandas and DuckDB."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import h3
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from analytics.dataset import APPEAL_COLUMNS, DAILY_COLUMNS
from analytics.export import export
from analytics.pseudonym import Pseudonymizer
from appeals.lifecycle import Status
from appeals.models import Appeal, Channel
from core.clock import ALMATY
from core.settings import Settings
from tests.analytics_support import appeal_factory, assert_no_personal_data


@pytest.fixture
def make_appeal(session: Session) -> Callable[..., Appeal]:
    return appeal_factory(session)


MOMENT = datetime(2026, 12, 7, 9, 0, tzinfo=ALMATY)
LAT, LNG = 43.2220, 76.8512  # central Almaty


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=ALMATY)


@pytest.fixture
def city(make_appeal: Callable[..., Appeal]) -> dict[str, Appeal]:
    """November and December appeals in every state the dataset distinguishes."""
    first = make_appeal(
        received_at=at(11, 3),
        status=Status.CLOSED,
        due_at=at(11, 24),
        answered_at=at(11, 10),
        closed_at=at(11, 11),
        rating=5,
        history=(Status.REGISTERED, Status.ASSIGNED, Status.ANSWERED, Status.CLOSED),
        latitude=LAT,
        longitude=LNG,
    )
    return {
        "closed": first,
        "late": make_appeal(
            received_at=at(11, 4),
            status=Status.CLOSED,
            due_at=at(11, 20),
            answered_at=at(11, 27),
            closed_at=at(11, 28),
            rating=2,
            category="roads.local_repair",
            district="medeu",
            organization="akimat-medeu",
            channel=Channel.SOCIAL,
        ),
        "quick": make_appeal(
            received_at=at(11, 30, 23),  # 18:00 UTC: still November in Almaty
            status=Status.QUICK_ANSWERED,
            closed_at=at(11, 30, 23),
            history=(Status.QUICK_ANSWERED,),
            channel=Channel.TELEGRAM,
            language="kk",
        ),
        "extended": make_appeal(
            received_at=at(12, 1),
            status=Status.EXTENDED,
            due_at=at(12, 30),
            extension_reason="нужна экспертиза",
            history=(Status.REGISTERED, Status.ASSIGNED, Status.IN_PROGRESS, Status.EXTENDED),
        ),
        "overdue_open": make_appeal(
            received_at=at(12, 2),
            status=Status.IN_PROGRESS,
            due_at=at(12, 5),
            returns=1,
            earlier=first,
            urgency="high",
        ),
    }


def _read(out: Path, name: str) -> list[dict[str, Any]]:
    dataset = ds.dataset(out / name, format="parquet", partitioning="hive")
    return dataset.to_table().to_pylist()


def test_export_writes_months_as_parquet_and_csv_with_the_documented_columns(
    session: Session, settings: Settings, tmp_path: Path, city: dict[str, Appeal]
) -> None:
    result = export(session, tmp_path, moment=MOMENT, settings=settings)
    assert result.mode == "full"
    assert result.months == ["2026-11", "2026-12"]
    assert result.appeals == 5
    for month in ("2026-11", "2026-12"):
        assert (tmp_path / "appeals" / f"month={month}" / "part-0.parquet").exists()
        assert (tmp_path / "daily" / f"month={month}" / "part-0.parquet").exists()
        assert (tmp_path / "csv" / f"appeals-{month}.csv").exists()
        assert (tmp_path / "csv" / f"daily-{month}.csv").exists()
    # A Parquet file holds every documented column but the month, which its path carries.
    schema = pq.read_schema(tmp_path / "appeals" / "month=2026-11" / "part-0.parquet")
    assert schema.names == [c.name for c in APPEAL_COLUMNS if c.name != "month"]
    rows = _read(tmp_path, "appeals")
    assert sorted(row["month"] for row in rows) == ["2026-11"] * 3 + ["2026-12"] * 2
    package = json.loads((tmp_path / "datapackage.json").read_text(encoding="utf-8"))
    documented = [field["name"] for field in package["resources"][0]["schema"]["fields"]]
    assert documented == [column.name for column in APPEAL_COLUMNS]
    daily = [field["name"] for field in package["resources"][1]["schema"]["fields"]]
    assert daily == [column.name for column in DAILY_COLUMNS]


def test_exported_values_follow_the_appeals(
    session: Session, settings: Settings, tmp_path: Path, city: dict[str, Appeal]
) -> None:
    export(session, tmp_path, moment=MOMENT, settings=settings)
    names = Pseudonymizer(settings)
    by_id = {row["appeal_id"]: row for row in _read(tmp_path, "appeals")}
    row = {key: by_id[names.public_id(appeal.id)] for key, appeal in city.items()}

    closed = row["closed"]
    assert closed["status"] == "closed" and closed["is_open"] is False
    assert closed["overdue"] is False and closed["rating"] == 5
    assert closed["category_code"] == "water.no_water" and closed["area_code"] == "water"
    assert closed["organization_code"] == "almaty-su"
    assert closed["organization_at_time_code"] == "almaty-su"
    assert closed["district_code"] == "auezov" and closed["district_name_ru"]
    assert closed["days_to_answer"] == 7.0
    assert closed["received_date"] == date(2026, 11, 3)
    # The point is given as its H3 cell and the cell's centre, never the exact point.
    assert closed["h3_cell"] == h3.latlng_to_cell(LAT, LNG, settings.analytics_h3_resolution)
    assert (closed["cell_latitude"], closed["cell_longitude"]) != (LAT, LNG)
    assert abs(closed["cell_latitude"] - LAT) < 0.01

    assert row["late"]["overdue"] is True and row["late"]["rating"] == 2
    assert row["late"]["channel"] == "social"
    quick = row["quick"]
    assert quick["quick_answered"] is True and quick["month"] == "2026-11"
    assert quick["received_date"] == date(2026, 11, 30) and quick["language"] == "kk"
    assert row["extended"]["extended"] is True and row["extended"]["overdue"] is False
    open_late = row["overdue_open"]
    assert open_late["is_open"] is True and open_late["overdue"] is True
    assert open_late["repeat"] is True and open_late["repeat_of"] == closed["appeal_id"]
    assert open_late["returns"] == 1 and open_late["urgency"] == "high"
    assert open_late["h3_cell"] is None and open_late["rating"] is None


def test_no_personal_data_in_any_exported_file(
    session: Session, settings: Settings, tmp_path: Path, city: dict[str, Appeal]
) -> None:
    export(session, tmp_path, moment=MOMENT, settings=settings)
    tracking = [appeal.tracking_number for appeal in city.values()]
    internal_ids = {str(appeal.id) for appeal in city.values()}
    for path in (tmp_path / "csv").iterdir():
        assert_no_personal_data(path.read_text(encoding="utf-8"), tracking)
    for name in ("appeals", "daily"):
        # Parquet pages are compressed: look at the decoded values, not the bytes.
        text = json.dumps(_read(tmp_path, name), ensure_ascii=False, default=str)
        assert_no_personal_data(text, tracking)
    rows = _read(tmp_path, "appeals")
    assert not internal_ids & {row["appeal_id"] for row in rows}
    assert "incident_id" in rows[0] and "text" not in rows[0] and "address" not in rows[0]


def test_duckdb_and_pandas_read_the_directory_with_no_code_of_ours(
    session: Session, settings: Settings, tmp_path: Path, city: dict[str, Appeal]
) -> None:
    export(session, tmp_path, moment=MOMENT, settings=settings)
    connection = duckdb.connect()
    by_month = connection.execute(
        f"SELECT month, count(*), sum(CASE WHEN overdue THEN 1 ELSE 0 END) "
        f"FROM read_parquet('{tmp_path}/appeals/*/*.parquet', hive_partitioning = true) "
        "GROUP BY month ORDER BY month"
    ).fetchall()
    assert by_month == [("2026-11", 3, 1), ("2026-12", 2, 1)]
    daily = connection.execute(
        f"SELECT sum(appeals), sum(quick_answered), sum(rated), sum(satisfied) "
        f"FROM read_parquet('{tmp_path}/daily/*/*.parquet', hive_partitioning = true)"
    ).fetchone()
    assert daily == (5, 1, 2, 1)
    csv_rows = connection.execute(
        f"SELECT count(*) FROM read_csv('{tmp_path}/csv/appeals-*.csv')"
    ).fetchone()
    assert csv_rows == (5,)
    import pandas as pd

    frame = pd.read_parquet(tmp_path / "appeals")
    assert len(frame) == 5 and set(frame["month"].astype(str)) == {"2026-11", "2026-12"}
    assert frame["received_at"].dt.tz is not None


def test_daily_aggregates_count_per_day_district_organization_topic(
    session: Session, settings: Settings, tmp_path: Path, city: dict[str, Appeal]
) -> None:
    export(session, tmp_path, moment=MOMENT, settings=settings)
    rows = pacsv.read_csv(tmp_path / "csv" / "daily-2026-11.csv").to_pylist()
    assert len(rows) == 3
    late = next(row for row in rows if row["category_code"] == "roads.local_repair")
    assert late["district_code"] == "medeu" and late["organization_code"] == "akimat-medeu"
    assert (late["appeals"], late["overdue"], late["rated"], late["satisfied"]) == (1, 1, 1, 0)
    assert str(late["day"]) == "2026-11-04"


def test_incremental_runs_rewrite_only_changed_months_and_add_new_ones(
    session: Session,
    settings: Settings,
    tmp_path: Path,
    city: dict[str, Appeal],
    make_appeal: Callable[..., Appeal],
) -> None:
    export(session, tmp_path, moment=MOMENT, settings=settings)
    november = tmp_path / "appeals" / "month=2026-11" / "part-0.parquet"
    december = tmp_path / "appeals" / "month=2026-12" / "part-0.parquet"
    stamps = (november.stat().st_mtime_ns, december.stat().st_mtime_ns)

    quiet = export(session, tmp_path, moment=MOMENT + timedelta(hours=1), settings=settings)
    assert quiet.mode == "incremental" and quiet.months == []
    assert (november.stat().st_mtime_ns, december.stat().st_mtime_ns) == stamps

    # The December appeal is answered: only December is written again.
    later = MOMENT + timedelta(hours=2)
    session.execute(
        update(Appeal)
        .where(Appeal.id == city["extended"].id)
        .values(status=Status.ANSWERED, answered_at=later, updated_at=later)
    )
    changed = export(session, tmp_path, moment=later + timedelta(minutes=1), settings=settings)
    assert changed.months == ["2026-12"] and changed.appeals == 2
    assert november.stat().st_mtime_ns == stamps[0]
    statuses = {row["status"] for row in _read(tmp_path, "appeals") if row["month"] == "2026-12"}
    assert "answered" in statuses

    # A January appeal makes a new partition; the old ones stay as they were.
    make_appeal(received_at=datetime(2027, 1, 5, 10, tzinfo=ALMATY))
    january = export(
        session, tmp_path, moment=datetime(2027, 1, 5, 12, tzinfo=ALMATY), settings=settings
    )
    assert january.months == ["2027-01"]
    assert len(_read(tmp_path, "appeals")) == 6
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["months"]["2027-01"]["appeals"] == 1
    assert [run["mode"] for run in manifest["runs"]] == ["full", "incremental"] + [
        "incremental"
    ] * 2


def test_an_open_appeal_whose_deadline_passes_is_rewritten_as_overdue(
    session: Session, settings: Settings, tmp_path: Path, city: dict[str, Appeal]
) -> None:
    export(session, tmp_path, moment=at(12, 20), settings=settings)
    row = {r["appeal_id"]: r for r in _read(tmp_path, "appeals")}
    public = Pseudonymizer(settings).public_id(city["extended"].id)
    assert row[public]["overdue"] is False
    # Nothing changed in the database, but the deadline (30 December) passed.
    result = export(session, tmp_path, moment=at(12, 31), settings=settings)
    assert result.months == ["2026-12"]
    row = {r["appeal_id"]: r for r in _read(tmp_path, "appeals")}
    assert row[public]["overdue"] is True


def test_since_rewrites_from_that_month_and_a_new_key_rewrites_everything(
    session: Session, settings: Settings, tmp_path: Path, city: dict[str, Appeal]
) -> None:
    export(session, tmp_path, moment=MOMENT, settings=settings)
    since = export(session, tmp_path, since=date(2026, 12, 15), moment=MOMENT, settings=settings)
    assert since.mode == "since" and since.months == ["2026-12"]
    rekeyed = settings.model_copy(update={"analytics_pseudonym_key": "another key, another ids"})
    again = export(session, tmp_path, moment=MOMENT, settings=rekeyed)
    assert again.mode == "full" and again.months == ["2026-11", "2026-12"]
    ids = {row["appeal_id"] for row in _read(tmp_path, "appeals")}
    assert ids == {Pseudonymizer(rekeyed).public_id(a.id) for a in city.values()}


def test_an_empty_database_writes_an_empty_dataset(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    session.execute(update(Appeal).values(received_at=datetime(2000, 1, 1, tzinfo=UTC)))
    result = export(session, tmp_path / "out", since=date(2100, 1, 1), settings=settings)
    assert result.appeals == 0 and result.months == []
    assert (tmp_path / "out" / "datapackage.json").exists()

"""The open dataset's rows: one per appeal, without personal data, as Arrow tables.

The column list (name, type, meaning, the NYC 311 open-data column it stands for) is the
single source for the Parquet schema, the CSV header, ``datapackage.json`` and the table in
docs/analytics.md. What is never exported: the text, the answer, names, phones, e-mails,
addresses, tracking numbers, staff names, exact coordinates (an appeal's point is given as
its H3 cell and the cell's centre), database ids of appeals (a keyed public id instead).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import h3
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import (
    DateTime,
    Select,
    String,
    and_,
    case,
    false,
    func,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session, aliased

from analytics.pseudonym import Pseudonymizer
from appeals.lifecycle import OPEN_STATUSES, Status
from appeals.models import Appeal, AppealStatusChange, Assignment, AssignmentRole
from ratings.models import AnswerRating
from routing.models import Category, CategoryArea, District, Organization

ZONE = "Asia/Almaty"
TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    description: str
    nyc311: str = ""  # the NYC 311 Service Requests column it corresponds to, if any


APPEAL_COLUMNS: tuple[Column, ...] = (
    Column(
        "appeal_id",
        pa.string(),
        "Public id of the appeal: 13 characters, stable across "
        "exports, not the tracking number and not the database id",
        "unique_key",
    ),
    Column("received_at", TS, "When the appeal arrived (UTC)", "created_date"),
    Column("received_date", pa.date32(), "The day it arrived, Almaty time"),
    Column("month", pa.string(), "YYYY-MM of received_date (the partition)"),
    Column("registered_on", pa.date32(), "Registration day (the legal term counts from it)"),
    Column("due_at", TS, "Legal deadline (АППК: 15 working days, or as extended)", "due_date"),
    Column("target_due_at", TS, "The city's internal target (tighter than the legal term)"),
    Column("answered_at", TS, "When the executor's answer was given"),
    Column(
        "closed_at",
        TS,
        "When the appeal was closed (answer accepted, quick answer or rejection)",
        "closed_date",
    ),
    Column("updated_at", TS, "Last change of the appeal", "resolution_action_updated_date"),
    Column(
        "status",
        pa.string(),
        "Status code: received, registered, assigned, forwarded, "
        "in_progress, extended, answered, returned, closed, quick_answered, rejected, "
        "reopened",
        "status",
    ),
    Column("is_open", pa.bool_(), "Still waiting for an answer (Open311 status open)"),
    Column(
        "channel",
        pa.string(),
        "Where it came from: phone, social, portal, mobile, telegram, whatsapp, front_office",
        "open_data_channel_type",
    ),
    Column("language", pa.string(), "Language of the appeal: ru, kk or mixed"),
    Column("appeal_type", pa.string(), "Kind of appeal (complaint, request, proposal …)"),
    Column("area_code", pa.string(), "Topic, first level of the taxonomy", "complaint_type"),
    Column("area_name_ru", pa.string(), "Topic (first level), Russian"),
    Column("area_name_kk", pa.string(), "Topic (first level), Kazakh"),
    Column("category_code", pa.string(), "Topic, second level", "descriptor"),
    Column("category_name_ru", pa.string(), "Topic (second level), Russian"),
    Column("category_name_kk", pa.string(), "Topic (second level), Kazakh"),
    Column(
        "organization_code",
        pa.string(),
        "Organization responsible now (after reorganizations)",
        "agency",
    ),
    Column("organization_name_ru", pa.string(), "Its name, Russian", "agency_name"),
    Column("organization_name_kk", pa.string(), "Its name, Kazakh"),
    Column(
        "organization_at_time_code",
        pa.string(),
        "Organization that held the appeal "
        "before any reorganization moved it (the one that answered, or holds it)",
    ),
    Column("organization_at_time_name_ru", pa.string(), "Its name, Russian"),
    Column("district_code", pa.string(), "City district", "borough"),
    Column("district_name_ru", pa.string(), "District name, Russian"),
    Column("district_name_kk", pa.string(), "District name, Kazakh"),
    Column(
        "h3_cell",
        pa.string(),
        "H3 cell of the appeal's point when known (resolution in datapackage.json; ≈0.7 km² at 8)",
        "location",
    ),
    Column(
        "cell_latitude",
        pa.float64(),
        "Latitude of the cell's centre (never the exact point)",
        "latitude",
    ),
    Column("cell_longitude", pa.float64(), "Longitude of the cell's centre", "longitude"),
    Column("urgency", pa.string(), "normal or high (emergencies)"),
    Column("quick_answered", pa.bool_(), "Answered on the spot with a quick answer"),
    Column(
        "overdue",
        pa.bool_(),
        "Answered after the legal deadline, or still open past it at export time",
    ),
    Column("extended", pa.bool_(), "The legal deadline was extended"),
    Column("returns", pa.int32(), "Times an inspector returned the answer for rework"),
    Column(
        "days_to_answer",
        pa.float64(),
        "Calendar days from arrival to the answer (or to closing for quick answers and rejections)",
    ),
    Column("rating", pa.int8(), "The citizen's rating (1–5) of the latest rated answer"),
    Column("repeat", pa.bool_(), "The same citizen raised the same issue before"),
    Column("repeat_of", pa.string(), "Public id of the earlier appeal it repeats"),
    Column(
        "incident_id",
        pa.int64(),
        "Incident (one problem at one place reported by many) it belongs to",
    ),
)

DAILY_COLUMNS: tuple[Column, ...] = (
    Column("day", pa.date32(), "Almaty calendar day the appeals arrived"),
    Column("month", pa.string(), "YYYY-MM (the partition)"),
    Column("district_code", pa.string(), "City district (empty: unknown)"),
    Column("district_name_ru", pa.string(), "District, Russian"),
    Column("organization_code", pa.string(), "City service: organization responsible now"),
    Column("organization_name_ru", pa.string(), "Organization, Russian"),
    Column("area_code", pa.string(), "Topic, first level"),
    Column("category_code", pa.string(), "Topic, second level"),
    Column("category_name_ru", pa.string(), "Topic (second level), Russian"),
    Column("appeals", pa.int64(), "Appeals that arrived"),
    Column("open", pa.int64(), "… of which still open at export time"),
    Column("quick_answered", pa.int64(), "… answered on the spot"),
    Column("answered", pa.int64(), "… answered (by an executor or a quick answer)"),
    Column("overdue", pa.int64(), "… overdue (answered late, or open past the deadline)"),
    Column("extended", pa.int64(), "… with an extended deadline"),
    Column("rated", pa.int64(), "… rated by the citizen"),
    Column("satisfied", pa.int64(), "… rated 4 or 5 (satisfaction index = satisfied / rated)"),
    Column("rating_sum", pa.int64(), "Sum of ratings (mean = rating_sum / rated)"),
)

APPEAL_SCHEMA = pa.schema([pa.field(column.name, column.type) for column in APPEAL_COLUMNS])
DAILY_SCHEMA = pa.schema([pa.field(column.name, column.type) for column in DAILY_COLUMNS])
_OPEN_VALUES = sorted(status.value for status in OPEN_STATUSES)
_FETCHED = (
    "id",
    "received_at",
    "registered_on",
    "due_at",
    "target_due_at",
    "answered_at",
    "closed_at",
    "updated_at",
    "status",
    "channel",
    "language",
    "appeal_type",
    "area_code",
    "category_code",
    "organization_code",
    "organization_at_time_code",
    "district_code",
    "latitude",
    "longitude",
    "urgency",
    "quick_answered",
    "extended",
    "returns",
    "rating",
    "repeat",
    "earlier_appeal_id",
    "incident_id",
)
# Names are not fetched with every row: they are looked up by code in Arrow (``Names``).
_NAMED: tuple[tuple[str, str, str], ...] = (
    ("area_name_ru", "areas", "area_code"),
    ("area_name_kk", "areas_kk", "area_code"),
    ("category_name_ru", "categories", "category_code"),
    ("category_name_kk", "categories_kk", "category_code"),
    ("organization_name_ru", "organizations", "organization_code"),
    ("organization_name_kk", "organizations_kk", "organization_code"),
    ("organization_at_time_name_ru", "organizations", "organization_at_time_code"),
    ("district_name_ru", "districts", "district_code"),
    ("district_name_kk", "districts_kk", "district_code"),
)


@dataclass(frozen=True)
class Names:
    """Code → name of each reference table, read once per export: sending the names with
    every row cost more than the rest of the row (a 1.5 M export is mostly repeated names)."""

    tables: dict[str, tuple[pa.Array, pa.Array]]

    @classmethod
    def load(cls, session: Session) -> Names:
        def pairs(rows: Sequence[Any]) -> tuple[pa.Array, pa.Array]:
            return (
                pa.array([str(row[0]) for row in rows], type=pa.string()),
                pa.array([row[1] for row in rows], type=pa.string()),
            )

        areas = session.execute(
            select(CategoryArea.code, CategoryArea.name_ru, CategoryArea.name_kk)
        ).all()
        categories = session.execute(
            select(Category.code, Category.name_ru, Category.name_kk)
        ).all()
        organizations = session.execute(
            select(Organization.code, Organization.name_ru, Organization.name_kk)
        ).all()
        districts = session.execute(select(District.code, District.name_ru, District.name_kk)).all()
        tables: dict[str, tuple[pa.Array, pa.Array]] = {}
        for name, rows in (
            ("areas", areas),
            ("categories", categories),
            ("organizations", organizations),
            ("districts", districts),
        ):
            tables[name] = pairs([(row[0], row[1]) for row in rows])
            tables[f"{name}_kk"] = pairs([(row[0], row[2]) for row in rows])
        return cls(tables)

    def look_up(self, table: str, codes: pa.Array) -> pa.Array:
        keys, names = self.tables[table]
        return pc.take(names, pc.index_in(codes, value_set=keys))


def _utc(column: Any) -> Any:
    """Skip the UTC TypeDecorator on millions of values; Arrow gives the zone back."""
    return type_coerce(column, DateTime(timezone=True))


def _latest_per_appeal(
    appeal_id: Any,
    columns: Sequence[Any],
    order: Sequence[Any],
    where: Sequence[Any],
    name: str,
    dialect: str,
) -> Any:
    """One row per appeal: its latest (by ``order``) row of a history table.

    On PostgreSQL as ``DISTINCT ON (appeal_id)``: the planner knows it yields one row per
    appeal and hash- or merge-joins it. ``row_number() … = 1`` (what other databases get)
    is estimated at a small fraction of that, which made PostgreSQL pick a nested loop
    over the materialised subquery: quadratic, 70 s for 30,000 appeals."""
    if dialect == "postgresql":
        return (
            select(appeal_id.label("appeal_id"), *columns)
            .where(*where)
            .ext(distinct_on(appeal_id))
            .order_by(appeal_id, *order)
            .subquery(name)
        )
    ranked = (
        select(
            appeal_id.label("appeal_id"),
            *columns,
            func.row_number().over(partition_by=appeal_id, order_by=order).label("position"),
        )
        .where(*where)
        .subquery(f"{name}_ranked")
    )
    return (
        select(ranked.c.appeal_id, *(ranked.c[column.key] for column in columns))
        .where(ranked.c.position == 1)
        .subquery(name)
    )


def appeal_rows_query(
    ranges: Sequence[tuple[datetime, datetime]] | None = None,
    *,
    dialect: str = "postgresql",
) -> Select[Any]:
    """Every appeal (received in one of ``ranges``, [from, to)) with its labels, one row
    each, in the order they arrived."""
    now_org = aliased(Organization)
    time_org = aliased(Organization)
    lead = _latest_per_appeal(
        Assignment.appeal_id,
        [Assignment.organization_id.label("organization_id")],
        (Assignment.started_at.desc(), Assignment.id.desc()),
        (Assignment.role == AssignmentRole.LEAD, Assignment.kind != "reorganization"),
        "lead",
        dialect,
    )
    rating = _latest_per_appeal(
        AnswerRating.appeal_id,
        [AnswerRating.score.label("score")],
        (AnswerRating.answered_at.desc(), AnswerRating.id.desc()),
        (),
        "rating",
        dialect,
    )
    steps = (
        select(
            AppealStatusChange.appeal_id.label("appeal_id"),
            func.max(
                case((AppealStatusChange.to_status == Status.QUICK_ANSWERED, 1), else_=0)
            ).label("quick"),
        )
        .where(AppealStatusChange.to_status == Status.QUICK_ANSWERED)
        .group_by(AppealStatusChange.appeal_id)
        .subquery("steps")
    )
    status = type_coerce(Appeal.status, String)
    query = (
        select(
            Appeal.id.label("id"),
            _utc(Appeal.received_at).label("received_at"),
            Appeal.registered_on.label("registered_on"),
            _utc(Appeal.due_at).label("due_at"),
            _utc(Appeal.target_due_at).label("target_due_at"),
            _utc(Appeal.answered_at).label("answered_at"),
            _utc(Appeal.closed_at).label("closed_at"),
            _utc(Appeal.updated_at).label("updated_at"),
            status.label("status"),
            type_coerce(Appeal.channel, String).label("channel"),
            Appeal.language.label("language"),
            Appeal.appeal_type.label("appeal_type"),
            Category.area_code.label("area_code"),
            Appeal.category_code.label("category_code"),
            now_org.code.label("organization_code"),
            func.coalesce(time_org.code, now_org.code).label("organization_at_time_code"),
            Appeal.district_code.label("district_code"),
            Appeal.latitude.label("latitude"),
            Appeal.longitude.label("longitude"),
            Appeal.urgency.label("urgency"),
            or_(status == Status.QUICK_ANSWERED.value, steps.c.quick.is_not(None)).label(
                "quick_answered"
            ),
            or_(status == Status.EXTENDED.value, Appeal.extension_reason.is_not(None)).label(
                "extended"
            ),
            Appeal.returns_count.label("returns"),
            rating.c.score.label("rating"),
            Appeal.is_repeat.label("repeat"),
            Appeal.earlier_appeal_id.label("earlier_appeal_id"),
            Appeal.incident_id.label("incident_id"),
        )
        .select_from(Appeal)
        .outerjoin(Category, Category.code == Appeal.category_code)
        .outerjoin(now_org, now_org.id == Appeal.organization_id)
        .outerjoin(lead, lead.c.appeal_id == Appeal.id)
        .outerjoin(time_org, time_org.id == lead.c.organization_id)
        .outerjoin(rating, rating.c.appeal_id == Appeal.id)
        .outerjoin(steps, steps.c.appeal_id == Appeal.id)
        .order_by(Appeal.received_at, Appeal.id)
    )
    if ranges is not None:
        query = query.where(
            or_(
                false(),
                *(
                    and_(Appeal.received_at >= start, Appeal.received_at < end)
                    for start, end in ranges
                ),
            )
        )
    return query


def _column_lists(rows: Sequence[Any]) -> dict[str, list[Any]]:
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in _FETCHED]
    return {name: list(values) for name, values in zip(_FETCHED, columns, strict=True)}


def _h3_cells(
    latitudes: list[float | None], longitudes: list[float | None], resolution: int
) -> tuple[list[str | None], list[float | None], list[float | None]]:
    cells: list[str | None] = []
    centre_lat: list[float | None] = []
    centre_lng: list[float | None] = []
    for lat, lng in zip(latitudes, longitudes, strict=True):
        if lat is None or lng is None:
            cells.append(None)
            centre_lat.append(None)
            centre_lng.append(None)
            continue
        cell = h3.latlng_to_cell(lat, lng, resolution)
        c_lat, c_lng = h3.cell_to_latlng(cell)
        cells.append(cell)
        centre_lat.append(round(c_lat, 5))
        centre_lng.append(round(c_lng, 5))
    return cells, centre_lat, centre_lng


def to_table(
    rows: Sequence[Any],
    *,
    pseudonyms: Pseudonymizer,
    moment: datetime,
    h3_resolution: int,
    names: Names,
) -> pa.Table:
    """Arrow table of fetched rows: public ids, local dates, H3 cells, derived flags."""
    data = _column_lists(rows)
    ids = np.asarray(data["id"], dtype=np.int64)
    received = pa.array(data["received_at"], type=TS)
    local = pc.cast(received, pa.timestamp("us", tz=ZONE))
    received_date = pc.cast(pc.local_timestamp(local), pa.date32())
    month = pc.strftime(local, format="%Y-%m")
    answered = pa.array(data["answered_at"], type=TS)
    closed = pa.array(data["closed_at"], type=TS)
    due = pa.array(data["due_at"], type=TS)
    status = pa.array(data["status"], type=pa.string())
    is_open = pc.is_in(status, value_set=pa.array(_OPEN_VALUES))
    finished = pc.coalesce(answered, closed)
    moment_scalar = pa.scalar(moment, type=TS)
    reference = pc.if_else(is_open, moment_scalar, finished)
    overdue = pc.fill_null(pc.greater(reference, due), False)
    days = pc.divide(pc.cast(pc.subtract(finished, received), pa.int64()), 86_400_000_000.0)
    cells, centre_lat, centre_lng = _h3_cells(data["latitude"], data["longitude"], h3_resolution)
    earlier = [value for value in data["earlier_appeal_id"] if value is not None]
    earlier_ids = dict(zip(earlier, pseudonyms.public_ids(earlier).tolist(), strict=True))
    arrays: dict[str, Any] = {
        "appeal_id": pa.array(pseudonyms.public_ids(ids), type=pa.string())
        if len(ids)
        else pa.array([], type=pa.string()),
        "received_at": received,
        "received_date": received_date,
        "month": month,
        "registered_on": pa.array(data["registered_on"], type=pa.date32()),
        "due_at": due,
        "target_due_at": pa.array(data["target_due_at"], type=TS),
        "answered_at": answered,
        "closed_at": closed,
        "updated_at": pa.array(data["updated_at"], type=TS),
        "status": status,
        "is_open": is_open,
        "overdue": overdue,
        "days_to_answer": pc.round(days, 2),
        "extended": pa.array([bool(value) for value in data["extended"]], type=pa.bool_()),
        "quick_answered": pa.array(
            [bool(value) for value in data["quick_answered"]], type=pa.bool_()
        ),
        "repeat": pa.array([bool(value) for value in data["repeat"]], type=pa.bool_()),
        "repeat_of": pa.array(
            [
                earlier_ids.get(value) if value is not None else None
                for value in data["earlier_appeal_id"]
            ],
            type=pa.string(),
        ),
        "h3_cell": pa.array(cells, type=pa.string()),
        "cell_latitude": pa.array(centre_lat, type=pa.float64()),
        "cell_longitude": pa.array(centre_lng, type=pa.float64()),
    }
    for name, table, code in _NAMED:
        arrays[name] = names.look_up(table, pa.array(data[code], type=pa.string()))
    for column in APPEAL_COLUMNS:
        if column.name not in arrays:
            arrays[column.name] = pa.array(data[column.name], type=column.type)
    return pa.Table.from_arrays(
        [arrays[column.name] for column in APPEAL_COLUMNS], schema=APPEAL_SCHEMA
    )


def iter_appeal_tables(
    session: Session,
    *,
    moment: datetime,
    h3_resolution: int,
    pseudonyms: Pseudonymizer,
    ranges: Sequence[tuple[datetime, datetime]] | None = None,
    batch: int = 100_000,
) -> Iterator[pa.Table]:
    """The appeals of ``ranges`` (all: None) as Arrow tables of up to ``batch`` rows, in
    the order they arrived, streamed from the database."""
    query = appeal_rows_query(ranges, dialect=session.get_bind().dialect.name)
    names = Names.load(session)
    # Core, not ORM execution: the ORM's row loading cost ~6 s of 300,000 rows.
    result = session.connection().execute(
        query.execution_options(stream_results=True, yield_per=batch)
    )
    for partition in result.partitions(batch):
        yield to_table(
            partition,
            pseudonyms=pseudonyms,
            moment=moment,
            h3_resolution=h3_resolution,
            names=names,
        )


def daily_aggregates(appeals: pa.Table) -> pa.Table:
    """Counts per day × district × organization × topic, from the appeals' table."""
    if appeals.num_rows == 0:
        return DAILY_SCHEMA.empty_table()
    rated = pc.is_valid(appeals["rating"])
    satisfied = pc.fill_null(pc.greater_equal(appeals["rating"], 4), False)
    answered = pc.or_(pc.is_valid(appeals["answered_at"]), appeals["quick_answered"])
    work = pa.table(
        {
            "day": appeals["received_date"],
            "month": appeals["month"],
            "district_code": pc.fill_null(appeals["district_code"], ""),
            "district_name_ru": pc.fill_null(appeals["district_name_ru"], ""),
            "organization_code": pc.fill_null(appeals["organization_code"], ""),
            "organization_name_ru": pc.fill_null(appeals["organization_name_ru"], ""),
            "area_code": pc.fill_null(appeals["area_code"], ""),
            "category_code": pc.fill_null(appeals["category_code"], ""),
            "category_name_ru": pc.fill_null(appeals["category_name_ru"], ""),
            "one": pa.array(np.ones(appeals.num_rows, dtype=np.int64)),
            "open": pc.cast(appeals["is_open"], pa.int64()),
            "quick": pc.cast(appeals["quick_answered"], pa.int64()),
            "answered": pc.cast(answered, pa.int64()),
            "overdue": pc.cast(appeals["overdue"], pa.int64()),
            "extended": pc.cast(appeals["extended"], pa.int64()),
            "rated": pc.cast(rated, pa.int64()),
            "satisfied": pc.cast(satisfied, pa.int64()),
            "rating": pc.fill_null(pc.cast(appeals["rating"], pa.int64()), 0),
        }
    )
    keys = [
        "day",
        "month",
        "district_code",
        "district_name_ru",
        "organization_code",
        "organization_name_ru",
        "area_code",
        "category_code",
        "category_name_ru",
    ]
    grouped = work.group_by(keys).aggregate(
        [
            ("one", "sum"),
            ("open", "sum"),
            ("quick", "sum"),
            ("answered", "sum"),
            ("overdue", "sum"),
            ("extended", "sum"),
            ("rated", "sum"),
            ("satisfied", "sum"),
            ("rating", "sum"),
        ]
    )
    renamed = {
        "one_sum": "appeals",
        "open_sum": "open",
        "quick_sum": "quick_answered",
        "answered_sum": "answered",
        "overdue_sum": "overdue",
        "extended_sum": "extended",
        "rated_sum": "rated",
        "satisfied_sum": "satisfied",
        "rating_sum": "rating_sum",
    }
    table = grouped.rename_columns([renamed.get(name, name) for name in grouped.column_names])
    table = table.select([column.name for column in DAILY_COLUMNS]).cast(DAILY_SCHEMA)
    return table.sort_by(
        [
            ("day", "ascending"),
            ("district_code", "ascending"),
            ("organization_code", "ascending"),
            ("category_code", "ascending"),
        ]
    )

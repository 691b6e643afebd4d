"""The inspectors' SLA board: open appeals counted by deadline bucket, their lists, the review
queue and the CSV export.

One grouped aggregate per view (``count(*) FILTER (WHERE …)``), over the partial indexes of
``intake/board_models.py``; nothing is counted row by row in Python. Buckets, in order of
precedence, for an open appeal with a legal deadline (``due_at``):

- ``paused``: its clock stands still (waiting for the citizen), so it is not late;
- ``overdue``: ``due_at`` has passed;
- ``due_today``: due before midnight in Almaty;
- ``at_risk``: due within ``sla_board_risk_working_days`` working days after today, or its
  internal target (``target_due_at``) has already passed;
- ``on_time``: everything else.

An executor sees only the appeals their organization leads; inspectors, admins and analysts
see every organization. Nothing here returns personal data (no names, phones or texts).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any, Final, TypeVar

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from appeals.lifecycle import Status
from appeals.models import Appeal, Channel
from core.calendar import WorkingCalendar
from core.clock import ALMATY, local, now
from core.db import table_of
from core.errors import PermissionDenied, ValidationFailed
from core.models import Role, StaffUser
from core.settings import get_settings
from routing.models import Category, District, Organization
from sla.board_models import open_predicate, review_predicate
from sla.sweep import NOTICE_STATUS_VALUES, notice_missed

#: Who may open the board. Executors get it filtered to their own organization.
BOARD_ROLES: Final = frozenset({Role.INSPECTOR, Role.ADMIN, Role.ANALYST, Role.EXECUTOR})
MAX_RANGE_DAYS: Final = 366 * 20
E = TypeVar("E", bound=enum.StrEnum)


class Bucket(enum.StrEnum):
    OVERDUE = "overdue"
    DUE_TODAY = "due_today"
    AT_RISK = "at_risk"
    ON_TIME = "on_time"
    PAUSED = "paused"


class GroupBy(enum.StrEnum):
    ORGANIZATION = "organization"
    DISTRICT = "district"


class SortBy(enum.StrEnum):
    OVERDUE = "overdue"
    TOTAL = "total"
    NAME = "name"


@dataclass(frozen=True)
class BoardFilters:
    """What the board is narrowed to; dates are Almaty calendar days, both ends included."""

    organization_id: int | None = None
    district_code: str | None = None
    category_code: str | None = None
    channel: Channel | None = None
    received_from: date | None = None
    received_to: date | None = None


@dataclass(frozen=True)
class Boundaries:
    """The moments the buckets are cut at, all timezone-aware."""

    now: datetime
    tomorrow: datetime  # the next midnight in Almaty
    risk_until: datetime  # midnight after the N-th working day after today
    risk_working_days: int


@dataclass(frozen=True)
class Counts:
    overdue: int = 0
    due_today: int = 0
    at_risk: int = 0
    on_time: int = 0
    paused: int = 0

    @property
    def total(self) -> int:
        return self.overdue + self.due_today + self.at_risk + self.on_time + self.paused

    def get(self, bucket: Bucket) -> int:
        return int(getattr(self, bucket.value))

    def as_dict(self) -> dict[str, int]:
        return {bucket.value: self.get(bucket) for bucket in Bucket} | {"total": self.total}


@dataclass(frozen=True)
class GroupRow:
    """One line of the board: an organization or a district (key None: not yet assigned)."""

    key: str | None  # organization code or district code
    name: str
    counts: Counts


@dataclass(frozen=True)
class Summary:
    """The board's figures. ``no_deadline``: open appeals not yet registered (the pipeline
    has not given them a deadline: normally seconds; more means it is stuck), in no bucket.
    ``notice_missed``: open appeals whose citizen was not told of their extension within
    the 3 working days (``sla.sweep.notice_missed``; the inspectors' inbox has each)."""

    group_by: GroupBy
    rows: list[GroupRow]
    totals: Counts
    review_queue: int
    boundaries: Boundaries
    no_deadline: int = 0
    notice_missed: int = 0


@dataclass(frozen=True)
class BoardAppeal:
    """One appeal as the board lists it: no text, no citizen."""

    id: int
    tracking_number: str
    status: Status
    channel: Channel
    category_code: str | None
    organization_id: int | None
    district_code: str | None
    received_at: datetime
    due_at: datetime | None
    target_due_at: datetime | None
    answered_at: datetime | None
    escalated: bool
    returns_count: int
    bucket: Bucket | None  # None in the review queue (answered, no longer running)


# --- filters and scoping ------------------------------------------------------------------


FIRST_DAY: Final = date(1900, 1, 1)
LAST_DAY: Final = date(2999, 12, 31)


def _day(value: str | None, name: str) -> date | None:
    """``YYYY-MM-DD`` or, as people in Almaty write it, ``DD.MM.YYYY``."""
    value = (value or "").strip()
    if not value:
        return None
    day = None
    try:
        if len(value) == 10 and value[2] == "." and value[5] == ".":
            day = date(int(value[6:]), int(value[3:5]), int(value[:2]))
        elif len(value) == 10 and value[4] == "-" and value[7] == "-":
            day = date.fromisoformat(value)
    except ValueError:
        pass
    # 01.01.0001 or 31.12.9999 parse, but the day after or Almaty midnight in UTC do not.
    if day is not None and FIRST_DAY <= day <= LAST_DAY:
        return day
    raise ValidationFailed(
        f"{name} must be a date DD.MM.YYYY or YYYY-MM-DD between "
        f"{FIRST_DAY:%d.%m.%Y} and {LAST_DAY:%d.%m.%Y}",
        code="bad_date",
    )


def shown_day(value: str) -> str:
    """A date filter as the page shows it (``DD.MM.YYYY``); what does not parse, as typed."""
    try:
        day = _day(value, "date")
    except ValidationFailed:
        return value
    return f"{day:%d.%m.%Y}" if day else ""


def parse_filters(
    session: Session,
    *,
    organization: str | None = None,
    district: str | None = None,
    category: str | None = None,
    channel: str | None = None,
    received_from: str | None = None,
    received_to: str | None = None,
) -> BoardFilters:
    """Codes from a URL → filters; an unknown code or a bad date is a 422, never ignored."""
    organization_id = None
    if organization and organization.strip():
        organization_id = session.scalar(
            select(Organization.id).where(Organization.code == organization.strip())
        )
        if organization_id is None:
            raise ValidationFailed("no such organization", code="unknown_organization")
    district_code = (district or "").strip() or None
    if district_code is not None and session.get(District, district_code) is None:
        raise ValidationFailed("no such district", code="unknown_district")
    category_code = (category or "").strip() or None
    if category_code is not None and session.get(Category, category_code) is None:
        raise ValidationFailed("no such category", code="unknown_category")
    channel_value = (channel or "").strip() or None
    if channel_value is not None and channel_value not in Channel.__members__.values():
        raise ValidationFailed("no such channel", code="unknown_channel")
    start = _day(received_from, "received_from")
    end = _day(received_to, "received_to")
    if start is not None and end is not None:
        if end < start:
            raise ValidationFailed("received_to is before received_from", code="bad_date_range")
        if (end - start).days > MAX_RANGE_DAYS:
            raise ValidationFailed("the date range is too long", code="bad_date_range")
    return BoardFilters(
        organization_id=organization_id,
        district_code=district_code,
        category_code=category_code,
        channel=Channel(channel_value) if channel_value else None,
        received_from=start,
        received_to=end,
    )


def scoped(user: StaffUser, filters: BoardFilters) -> BoardFilters:
    """The filters this user may run: an executor's are pinned to their organization."""
    if user.role not in BOARD_ROLES:
        raise PermissionDenied(
            "the SLA board is for inspectors, analysts, admins and executors",
            code="role_not_allowed",
        )
    if user.role is not Role.EXECUTOR:
        return filters
    if user.organization_id is None:
        raise PermissionDenied("an executor needs an organization", code="other_organization")
    if filters.organization_id not in (None, user.organization_id):
        raise PermissionDenied(
            "an executor sees only their own organization's appeals", code="other_organization"
        )
    return replace(filters, organization_id=user.organization_id)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ALMATY)


def boundaries(
    *, moment: datetime, calendar: WorkingCalendar, risk_working_days: int
) -> Boundaries:
    """Where the buckets are cut: now, the next Almaty midnight, and the risk horizon."""
    today = local(moment).date()
    last_risky_day = calendar.add_working_days(today, risk_working_days)
    return Boundaries(
        now=moment,
        tomorrow=_midnight(today + timedelta(days=1)),
        risk_until=_midnight(last_risky_day + timedelta(days=1)),
        risk_working_days=risk_working_days,
    )


def current_boundaries(moment: datetime | None = None) -> Boundaries:
    """The boundaries now, with this deployment's calendar and risk setting."""
    from sla.service import deadline_policy

    return boundaries(
        moment=moment or now(),
        calendar=deadline_policy().calendar,
        risk_working_days=get_settings().sla_board_risk_working_days,
    )


def _where(filters: BoardFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.organization_id is not None:
        conditions.append(Appeal.organization_id == filters.organization_id)
    if filters.district_code is not None:
        conditions.append(Appeal.district_code == filters.district_code)
    if filters.category_code is not None:
        conditions.append(Appeal.category_code == filters.category_code)
    if filters.channel is not None:
        conditions.append(Appeal.channel == filters.channel)
    if filters.received_from is not None:
        conditions.append(Appeal.received_at >= _midnight(filters.received_from))
    if filters.received_to is not None:
        conditions.append(Appeal.received_at < _midnight(filters.received_to + timedelta(days=1)))
    return conditions


def _open_where(filters: BoardFilters) -> list[ColumnElement[bool]]:
    return [open_predicate(), Appeal.due_at.is_not(None), *_where(filters)]  # type: ignore[list-item]  # TextClause is a boolean SQL fragment


def _bucket_conditions(b: Boundaries) -> dict[Bucket, ColumnElement[bool]]:
    due = Appeal.due_at
    running = Appeal.paused_at.is_(None)
    target_passed = Appeal.target_due_at < b.now
    return {
        Bucket.PAUSED: Appeal.paused_at.is_not(None),
        Bucket.OVERDUE: and_(running, due < b.now),
        Bucket.DUE_TODAY: and_(running, due >= b.now, due < b.tomorrow),
        Bucket.AT_RISK: and_(running, due >= b.tomorrow, or_(due < b.risk_until, target_passed)),
        Bucket.ON_TIME: and_(
            running,
            due >= b.risk_until,
            or_(Appeal.target_due_at.is_(None), Appeal.target_due_at >= b.now),
        ),
    }


def bucket_of(
    *,
    due_at: datetime,
    target_due_at: datetime | None,
    paused: bool,
    b: Boundaries,
) -> Bucket:
    """The same rule as the SQL, for one appeal already on a page."""
    if paused:
        return Bucket.PAUSED
    if due_at < b.now:
        return Bucket.OVERDUE
    if due_at < b.tomorrow:
        return Bucket.DUE_TODAY
    if due_at < b.risk_until or (target_due_at is not None and target_due_at < b.now):
        return Bucket.AT_RISK
    return Bucket.ON_TIME


# --- the board ----------------------------------------------------------------------------


def group_labels(session: Session, group_by: GroupBy, language: str) -> dict[Any, tuple[str, str]]:
    """{group key in the table: (code, name)} for the small reference tables."""
    if group_by is GroupBy.ORGANIZATION:
        query = select(
            Organization.id, Organization.code, Organization.name_ru, Organization.name_kk
        )
    else:
        query = select(District.code, District.code, District.name_ru, District.name_kk)
    return {
        key: (code, name_kk if language == "kk" else name_ru)
        for key, code, name_ru, name_kk in session.execute(query)
    }


def _sorted(rows: list[GroupRow], sort: SortBy) -> list[GroupRow]:
    if sort is SortBy.NAME:
        return sorted(rows, key=lambda row: (row.key is None, row.name.casefold()))
    if sort is SortBy.TOTAL:
        return sorted(rows, key=lambda row: (-row.counts.total, row.name.casefold()))
    return sorted(
        rows,
        key=lambda row: (
            -row.counts.overdue,
            -row.counts.due_today,
            -row.counts.at_risk,
            -row.counts.total,
            row.name.casefold(),
        ),
    )


def summary(
    session: Session,
    *,
    user: StaffUser,
    filters: BoardFilters,
    group_by: GroupBy = GroupBy.ORGANIZATION,
    sort: SortBy = SortBy.OVERDUE,
    language: str = "ru",
    unassigned_label: str = "—",
    moment: datetime | None = None,
) -> Summary:
    """Counts per bucket per organization (or district), the totals and the review queue."""
    filters = scoped(user, filters)
    b = current_boundaries(moment)
    key_column = (
        Appeal.organization_id if group_by is GroupBy.ORGANIZATION else Appeal.district_code
    )
    conditions = _bucket_conditions(b)
    counted = [
        func.count().filter(conditions[bucket]).label(bucket.value)
        for bucket in Bucket
        if bucket is not Bucket.ON_TIME
    ]
    # One scan of the open appeals: the buckets need a deadline; those without one are
    # counted apart (no bucket: the pipeline has not registered them yet).
    query = (
        select(
            key_column.label("key"),
            func.count().filter(Appeal.due_at.is_not(None)).label("total"),
            func.count().filter(Appeal.due_at.is_(None)).label("no_deadline"),
            *counted,
        )
        .where(open_predicate(), *_where(filters))
        .group_by(key_column)
    )
    labels = group_labels(session, group_by, language)
    rows: list[GroupRow] = []
    no_deadline = 0
    for record in session.execute(query).mappings():
        no_deadline += int(record["no_deadline"])
        if not record["total"]:
            continue
        known = {
            bucket.value: int(record[bucket.value])
            for bucket in Bucket
            if bucket is not Bucket.ON_TIME
        }
        counts = Counts(on_time=int(record["total"]) - sum(known.values()), **known)
        code, name = labels.get(record["key"], (None, unassigned_label))
        if record["key"] is not None and code is None:
            code, name = str(record["key"]), str(record["key"])
        rows.append(GroupRow(key=code, name=name, counts=counts))
    totals = Counts(
        **{bucket.value: sum(row.counts.get(bucket) for row in rows) for bucket in Bucket}
    )
    review, missed = session.execute(_side_counts(filters, b)).one()
    return Summary(
        group_by=group_by,
        rows=_sorted(rows, sort),
        totals=totals,
        review_queue=int(review or 0),
        boundaries=b,
        no_deadline=no_deadline,
        notice_missed=int(missed or 0),
    )


def _side_counts(filters: BoardFilters, b: Boundaries) -> Select[int, int]:
    """The review queue's length and the missed extension notices, in one round trip."""
    review = (
        select(func.count())
        .select_from(Appeal)
        .where(review_predicate(), *_where(filters))
        .scalar_subquery()
    )
    columns = table_of(Appeal).c
    request, conditions = notice_missed(columns.id, columns.extension_notice_due_at, b.now)
    missed = (
        select(func.count())
        .select_from(request.join(Appeal, Appeal.id == request.c.appeal_id))
        .where(*conditions, Appeal.status.in_(NOTICE_STATUS_VALUES), *_where(filters))
        .scalar_subquery()
    )
    return select(review, missed)


_LIST_COLUMNS: Final = (
    Appeal.id,
    Appeal.tracking_number,
    Appeal.status,
    Appeal.channel,
    Appeal.category_code,
    Appeal.organization_id,
    Appeal.district_code,
    Appeal.received_at,
    Appeal.due_at,
    Appeal.target_due_at,
    Appeal.answered_at,
    Appeal.escalated_at,
    Appeal.returns_count,
    Appeal.paused_at,
)


def board_appeal(row: Any, b: Boundaries | None) -> BoardAppeal:
    bucket = (
        bucket_of(
            due_at=row.due_at,
            target_due_at=row.target_due_at,
            paused=row.paused_at is not None,
            b=b,
        )
        if b is not None and row.due_at is not None
        else None
    )
    return BoardAppeal(
        id=row.id,
        tracking_number=row.tracking_number,
        status=row.status,
        channel=row.channel,
        category_code=row.category_code,
        organization_id=row.organization_id,
        district_code=row.district_code,
        received_at=row.received_at,
        due_at=row.due_at,
        target_due_at=row.target_due_at,
        answered_at=row.answered_at,
        escalated=row.escalated_at is not None,
        returns_count=int(row.returns_count or 0),
        bucket=bucket,
    )


def bucket_query(
    filters: BoardFilters, bucket: Bucket | None, b: Boundaries
) -> Select[*tuple[Any, ...]]:
    query: Select[*tuple[Any, ...]] = select(*_LIST_COLUMNS).where(*_open_where(filters))
    if bucket is not None:
        query = query.where(_bucket_conditions(b)[bucket])
    return query


def list_appeals(
    session: Session,
    *,
    user: StaffUser,
    filters: BoardFilters,
    bucket: Bucket | None = None,
    limit: int = 50,
    offset: int = 0,
    moment: datetime | None = None,
    total: int | None = None,
) -> tuple[list[BoardAppeal], int]:
    """Open appeals in ``bucket`` (all buckets when None), the most overdue first.

    ``total``: the bucket's count when the caller has it already (the page, from the
    summary at the same ``moment``), so it is not counted twice.
    """
    filters = scoped(user, filters)
    b = current_boundaries(moment)
    query = bucket_query(filters, bucket, b)
    if total is None:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(Appeal.due_at, Appeal.id).limit(limit).offset(offset)
    ).all()
    return [board_appeal(row, b) for row in rows], int(total)


def review_queue(
    session: Session,
    *,
    user: StaffUser,
    filters: BoardFilters,
    limit: int = 50,
    offset: int = 0,
    with_total: bool = True,
) -> tuple[list[BoardAppeal], int]:
    """Answers awaiting an inspector's review, the oldest answer first.

    ``with_total=False`` skips the count (the board's summary has it already) and gives
    the number of rows returned instead.
    """
    filters = scoped(user, filters)
    query = select(*_LIST_COLUMNS).where(review_predicate(), *_where(filters))
    rows = session.execute(
        query.order_by(Appeal.answered_at.asc().nulls_last(), Appeal.id).limit(limit).offset(offset)
    ).all()
    if not with_total:
        return [board_appeal(row, None) for row in rows], len(rows)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    return [board_appeal(row, None) for row in rows], int(total)


def bucket_param(value: str | None) -> Bucket | None:
    """'' → all buckets; an unknown name is a 422."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return Bucket(value)
    except ValueError:
        raise ValidationFailed("no such bucket", code="unknown_bucket") from None


def enum_param(kind: type[E], value: str | None, default: E, code: str) -> E:
    """A ``?group_by=`` style choice; empty gives the default, an unknown one is a 422."""
    value = (value or "").strip()
    if not value:
        return default
    try:
        return kind(value)
    except ValueError:
        raise ValidationFailed(f"unknown value {value!r}", code=code) from None

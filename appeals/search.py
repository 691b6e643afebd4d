"""Finding appeals: by tracking number, phone, citizen's name, words of the text, and filters.

One query string ``q`` is read the way staff type it:

- a tracking number with or without the dash, with spaces, in any case ("2611 7kq3m9xa")
  finds that appeal; a part of one (4+ characters with a digit) finds those containing it;
- a phone number in any notation ("8 701 123-45-67") finds that citizen's appeals (across
  merged records); 4+ digits find phones containing them;
- words find appeals whose text has them (PostgreSQL full-text search, Russian
  configuration: "трубу прорвало" finds "прорвало трубу водопровода"; quotes, ``or`` and
  ``-word`` as in a web search) and citizens whose name contains them (trigram index).

Results are ranked: an exact number or phone first, then a name, then by text relevance,
then newest first. A text search ranks the newest ``RANK_WINDOW`` matches (a common word
matches tens of thousands of appeals; staff look for recent ones) and counts up to
``COUNT_CAP``, so the page stays fast on 1.5 million appeals (``bench/staff_search.py``).
Analysts work on statistics, not people: their ``q`` never matches names or phones.

SQLite, the embedded first run, keeps a simpler path: case-folded substring matches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    union,
)
from sqlalchemy.orm import Session, selectinload

from appeals import access
from appeals.access import canonical_tracking_number
from appeals.lifecycle import Status
from appeals.models import Appeal, Channel, Citizen
from core.clock import ALMATY
from core.errors import ValidationFailed
from core.models import Role, StaffUser
from core.phones import normalize_phone

#: Text matches ranked for relevance: the newest this many (the rest by date only).
RANK_WINDOW: Final = 2000
#: Totals beyond this are shown as "more than" (counting every match costs a full scan).
COUNT_CAP: Final = 10_000
#: Citizens a name can match before the search asks for more of the name.
NAME_LIMIT: Final = 500
MAX_QUERY_CHARS: Final = 200
#: Date filters beyond these bound nothing.
EARLIEST_DAY: Final = date(1900, 1, 1)
LATEST_DAY: Final = date(9000, 1, 1)
_DIGITS = re.compile(r"\D+")
_WORD = re.compile(r"\w{3,}", re.UNICODE)


@dataclass(frozen=True)
class SearchFilters:
    """What the list page and ``GET /api/v1/appeals`` filter by; empty means any."""

    q: str = ""
    statuses: tuple[Status, ...] = ()
    organization_id: int | None = None
    district_code: str | None = None
    category_code: str | None = None
    channel: Channel | None = None
    received_from: date | None = None
    received_to: date | None = None
    triage: bool = False
    escalated: bool = False

    @property
    def empty(self) -> bool:
        return self == SearchFilters(
            statuses=self.statuses, triage=self.triage, escalated=self.escalated
        )


@dataclass
class SearchResult:
    appeals: list[Appeal]
    total: int
    capped: bool = False  # ``total`` is a floor: there are more
    #: appeal id → a few words of its text around the match, marked with \x01…\x02
    highlights: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Reading:
    """What ``q`` may be: each part that applies becomes one OR-ed condition."""

    tracking: str | None = None
    tracking_part: str | None = None
    phone: str | None = None
    phone_digits: str | None = None
    text: str | None = None
    name: str | None = None


def read_query(q: str, *, people: bool = True) -> _Reading:
    """The ways ``q`` can be meant. ``people``: may it match names and phones."""
    q = " ".join((q or "").split())[:MAX_QUERY_CHARS]
    if not q:
        return _Reading()
    tracking = canonical_tracking_number(q)
    if tracking:
        return _Reading(tracking=tracking)
    compact = re.sub(r"[\s\-–—_.]+", "", q).upper()
    digits = _DIGITS.sub("", q)
    looks_numeric = bool(re.fullmatch(r"[\d\s()+\-–.]+", q))
    phone = None
    if people and looks_numeric and len(digits) >= 10:
        try:
            phone = normalize_phone(q)
        except ValidationFailed:
            phone = None
    if phone:
        return _Reading(phone=phone)
    part = (
        compact
        if len(compact) >= 4
        and re.fullmatch(r"[0-9A-Z]+", compact)
        and any(c.isdigit() for c in compact)
        else None
    )
    phone_digits = digits if people and looks_numeric and len(digits) >= 4 else None
    words = _WORD.findall(q)
    return _Reading(
        tracking_part=part,
        phone_digits=phone_digits,
        text=q if words and not looks_numeric else None,
        name=q if people and words and not looks_numeric else None,
    )


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=ALMATY)


def _filtered(user: StaffUser, filters: SearchFilters) -> Select[Appeal]:
    """The user's appeals (an executor's organization only) with the filters applied."""
    query = access.staff_query(
        user,
        statuses=list(filters.statuses) or None,
        organization_id=filters.organization_id,
        triage=filters.triage,
        escalated=filters.escalated,
    )
    if filters.district_code:
        query = query.where(Appeal.district_code == filters.district_code)
    if filters.category_code:
        query = query.where(Appeal.category_code == filters.category_code)
    if filters.channel is not None:
        query = query.where(Appeal.channel == filters.channel)
    # A bound outside any appeal's life is no bound (and year 1 or 9999 would overflow
    # the conversion to UTC).
    if filters.received_from is not None and filters.received_from > EARLIEST_DAY:
        query = query.where(Appeal.received_at >= _day_start(filters.received_from))
    if filters.received_to is not None and filters.received_to < LATEST_DAY:
        query = query.where(
            Appeal.received_at < _day_start(filters.received_to + timedelta(days=1))
        )
    return query


def _citizens_of_phone(phone: str) -> Any:
    """The citizen records of this phone and the records merged into them (one person).

    A UNION of two index look-ups: ``id IN (…) OR merged_into_id IN (…)`` made PostgreSQL
    scan every citizen (260 ms at 700,000 citizens, ``bench/staff_search.py``)."""
    direct = select(Citizen.id).where(Citizen.phone_e164 == phone)
    merged = select(Citizen.id).where(Citizen.merged_into_id.in_(direct))
    return union(direct, merged)


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class _Matcher:
    """The conditions (and their rank) of one reading, for one dialect."""

    def __init__(self, session: Session, reading: _Reading) -> None:
        self.reading = reading
        self.postgresql = session.get_bind().dialect.name == "postgresql"
        self.session = session
        self.tsquery: Any = (
            func.websearch_to_tsquery(literal("russian").cast(_regconfig()), reading.text)
            if self.postgresql and reading.text
            else None
        )
        if not self.postgresql:
            _register_fold(session)

    def _text_contains(self, column: Any, value: str) -> ColumnElement[bool]:
        folded: ColumnElement[Any] = column if self.postgresql else func.cd_fold(column)
        if self.postgresql:
            return folded.ilike(_like(value), escape="\\")
        return folded.like(_like(value.casefold()), escape="\\")

    def conditions(self) -> list[tuple[ColumnElement[bool], ColumnElement[Any]]]:
        """(condition, rank) pairs; the appeal matches if any condition holds."""
        r = self.reading
        parts: list[tuple[ColumnElement[bool], ColumnElement[Any]]] = []
        if r.tracking:
            parts.append((Appeal.tracking_number == r.tracking, literal(10.0)))
        if r.tracking_part:
            parts.append(
                (Appeal.tracking_number.like(_like(r.tracking_part), escape="\\"), literal(5.0))
            )
        if r.phone:
            phone_ids = _citizens_of_phone(r.phone)
            parts.append(
                (access.in_ids(Appeal.citizen_id, phone_ids.scalar_subquery()), literal(8.0))
            )
        if r.phone_digits:
            ids = (
                select(Citizen.id)
                .where(Citizen.phone_e164.like(_like(r.phone_digits), escape="\\"))
                .limit(NAME_LIMIT)
            )
            parts.append((access.in_ids(Appeal.citizen_id, ids.scalar_subquery()), literal(4.0)))
        if r.name:
            ids = (
                select(Citizen.id)
                .where(self._text_contains(Citizen.full_name, r.name))
                .limit(NAME_LIMIT)
            )
            parts.append((access.in_ids(Appeal.citizen_id, ids.scalar_subquery()), literal(3.0)))
        if r.text:
            condition: ColumnElement[bool]
            rank: ColumnElement[Any]
            if self.postgresql:
                condition = Appeal.search_vector.op("@@")(self.tsquery)
                rank = func.ts_rank_cd(Appeal.search_vector, self.tsquery, 1)
            else:
                condition = and_(
                    *(self._text_contains(Appeal.text, word) for word in _WORD.findall(r.text))
                )
                rank = literal(1.0)
            parts.append((condition, cast(rank, Float)))
        return parts


def _regconfig() -> Any:
    from sqlalchemy.dialects.postgresql import REGCONFIG

    return REGCONFIG()


def _register_fold(session: Session) -> None:
    """SQLite's lower() folds ASCII only: a Python casefold for Cyrillic, per connection."""
    raw = session.connection().connection.driver_connection
    if raw is not None:
        raw.create_function("cd_fold", 1, _fold, deterministic=True)


def _fold(value: object) -> str | None:
    return value.casefold() if isinstance(value, str) else None


def _page(session: Session, ids: list[int]) -> list[Appeal]:
    if not ids:
        return []
    rows = session.scalars(
        select(Appeal)
        .where(Appeal.id.in_(ids))
        .options(selectinload(Appeal.history), selectinload(Appeal.citizen))
    ).all()
    by_id = {appeal.id: appeal for appeal in rows}
    return [by_id[i] for i in ids if i in by_id]


def _count(session: Session, query: Select[Any]) -> tuple[int, bool]:
    limited = query.order_by(None).with_only_columns(Appeal.id).limit(COUNT_CAP + 1).subquery()
    total = int(session.scalar(select(func.count()).select_from(limited)) or 0)
    return min(total, COUNT_CAP), total > COUNT_CAP


def search(
    session: Session,
    *,
    user: StaffUser,
    filters: SearchFilters,
    limit: int = 50,
    offset: int = 0,
) -> SearchResult:
    """One page of the appeals ``user`` may see that match ``filters``, best first."""
    query = _filtered(user, filters)
    reading = read_query(filters.q, people=user.role is not Role.ANALYST)
    if not filters.q.strip():
        total, capped = _count(session, query)
        ids = list(session.scalars(query.with_only_columns(Appeal.id).limit(limit).offset(offset)))
        return SearchResult(_page(session, ids), total, capped)
    matcher = _Matcher(session, reading)
    parts = matcher.conditions()
    if not parts:
        return SearchResult([], 0)
    matched = query.where(or_(*(condition for condition, _rank in parts)))
    rank = case(*((condition, score) for condition, score in parts), else_=literal(0.0))
    if reading.text and matcher.postgresql:
        # The newest matches first (an index scan by date, or the GIN index for rare words:
        # the planner picks), then ranked within that window.
        window = (
            matched.with_only_columns(
                Appeal.id.label("id"),
                Appeal.received_at.label("received_at"),
                rank.label("rank"),
            )
            .limit(RANK_WINDOW)
            .subquery()
        )
        ids = list(
            session.scalars(
                select(window.c.id)
                .order_by(window.c.rank.desc(), window.c.received_at.desc(), window.c.id.desc())
                .limit(limit)
                .offset(offset)
            )
        )
        total, capped = _count(session, matched)
    else:
        ids = list(
            session.scalars(
                matched.with_only_columns(Appeal.id)
                .order_by(None)
                .order_by(rank.desc(), Appeal.received_at.desc(), Appeal.id.desc())
                .limit(limit)
                .offset(offset)
            )
        )
        total, capped = _count(session, matched)
    appeals = _page(session, ids)
    highlights = _highlights(session, matcher, ids) if reading.text else {}
    return SearchResult(appeals, total, capped, highlights)


def _highlights(session: Session, matcher: _Matcher, ids: list[int]) -> dict[int, str]:
    """A few words around the match in each text of the page, the match between \\x01/\\x02."""
    if not ids:
        return {}
    if matcher.postgresql:
        options = "StartSel=\x01, StopSel=\x02, MaxWords=24, MinWords=10, MaxFragments=1"
        rows = session.execute(
            select(
                Appeal.id,
                func.ts_headline(
                    literal("russian").cast(_regconfig()), Appeal.text, matcher.tsquery, options
                ),
            ).where(Appeal.id.in_(ids))
        ).all()
        return {int(row[0]): str(row[1]) for row in rows}
    words = [word.casefold() for word in _WORD.findall(matcher.reading.text or "")]
    found = {}
    for appeal_id, text in session.execute(
        select(Appeal.id, Appeal.text).where(Appeal.id.in_(ids))
    ):
        marked = text
        for word in words:
            marked = re.sub(
                re.escape(word), lambda m: f"\x01{m[0]}\x02", marked, flags=re.IGNORECASE
            )
        found[int(appeal_id)] = marked
    return found


__all__ = [
    "COUNT_CAP",
    "RANK_WINDOW",
    "SearchFilters",
    "SearchResult",
    "canonical_tracking_number",
    "read_query",
    "search",
]

"""The search box and filters of ``/staff/appeals``: read from the query string, offered back.

The page reads what staff typed leniently (an unknown code or a date that is not a date is
left out and said so on the page, never a 400 or a 500); the API (``GET /api/v1/appeals``)
is strict and answers 4xx instead. Both end in ``appeals.search.SearchFilters``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlencode

from appeals.lifecycle import Status, status_label
from appeals.models import Channel
from appeals.search import MAX_QUERY_CHARS, SearchFilters
from civicdesk.web.texts import t
from core.models import Role, StaffUser

#: The query-string names the page's form uses (and the pager keeps).
FIELDS = ("q", "status", "organization", "district", "category", "channel", "from", "to")


@dataclass(frozen=True)
class FilterForm:
    """What the form shows back: the raw values, the choices, what was left out and why."""

    values: dict[str, str]
    statuses: list[tuple[str, str]]
    organizations: list[tuple[str, str]]
    districts: list[tuple[str, str]]
    categories: list[tuple[str, str]]
    channels: list[tuple[str, str]]
    problems: list[str] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return any(self.values.get(name) for name in FIELDS)

    def query(self, **extra: object) -> str:
        """The filters as a query string (for the pager and the tabs), with ``extra``."""
        pairs = [(name, value) for name, value in self.values.items() if value]
        pairs += [(name, str(value)) for name, value in extra.items() if value not in ("", None)]
        return urlencode(pairs)


def _day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw.strip()) if raw.strip() else None
    except ValueError:
        return None


def read_filters(
    params: dict[str, str],
    *,
    user: StaffUser,
    language: str,
    organizations: dict[str, tuple[int, str]],
    districts: dict[str, str],
    categories: dict[str, str],
) -> tuple[SearchFilters, FilterForm]:
    """``params``: the request's query string; the lookups map codes to names.

    ``organizations``: code → (id, name). An executor's organization is fixed by access
    (``appeals.access``), so the page offers them no organization filter."""
    values = {name: (params.get(name) or "").strip()[:MAX_QUERY_CHARS] for name in FIELDS}
    problems: list[str] = []

    def unknown(name: str) -> None:
        problems.append(t("search.ignored", language, field=t(f"search.{name}", language)))
        values[name] = ""

    status: Status | None = None
    if values["status"]:
        try:
            status = Status(values["status"])
        except ValueError:
            unknown("status")
    organization_id: int | None = None
    if values["organization"] and user.role is not Role.EXECUTOR:
        if values["organization"] in organizations:
            organization_id = organizations[values["organization"]][0]
        else:
            unknown("organization")
    else:
        values["organization"] = ""
    for name, known in (("district", districts), ("category", categories)):
        if values[name] and values[name] not in known:
            unknown(name)
    channel: Channel | None = None
    if values["channel"]:
        try:
            channel = Channel(values["channel"])
        except ValueError:
            unknown("channel")
    days: dict[str, date | None] = {}
    for name in ("from", "to"):
        days[name] = _day(values[name])
        if values[name] and days[name] is None:
            unknown(name)
    filters = SearchFilters(
        q=values["q"],
        statuses=(status,) if status else (),
        organization_id=organization_id,
        district_code=values["district"] or None,
        category_code=values["category"] or None,
        channel=channel,
        received_from=days["from"],
        received_to=days["to"],
    )
    form = FilterForm(
        values=values,
        statuses=[(s.value, status_label(s, language)) for s in Status],
        organizations=(
            []
            if user.role is Role.EXECUTOR
            else sorted(((code, name) for code, (_id, name) in organizations.items()), key=_by_name)
        ),
        districts=sorted(districts.items(), key=_by_name),
        categories=sorted(categories.items(), key=_by_name),
        channels=[(c.value, t(f"channel.{c.value}", language)) for c in Channel],
        problems=problems,
    )
    return filters, form


def _by_name(pair: tuple[str, str]) -> str:
    return pair[1].casefold()


def marked(snippet: str) -> list[tuple[str, bool]]:
    """A highlight from ``appeals.search`` (match between \\x01 and \\x02) as (text, is_match)
    pieces, so the template escapes the text and wraps only the match in ``<mark>``."""
    pieces: list[tuple[str, bool]] = []
    for index, part in enumerate(snippet.replace("\x02", "\x01").split("\x01")):
        if part:
            pieces.append((part, index % 2 == 1))
    return pieces

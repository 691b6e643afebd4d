"""Open311 GeoReport v2 over our appeals: service list, requests, and filing a new one.

The field lists follow the specification (wiki.open311.org/GeoReport_v2, frozen): a
service is ``service_code, service_name, description, metadata, type, keywords, group``; a
request is ``service_request_id, status, status_notes, service_name, service_code,
description, agency_responsible, service_notice, requested_datetime, updated_datetime,
expected_datetime, address, address_id, zipcode, lat, long, media_url``. Our mapping:

- a service is a second-level topic (``water.no_water``), its ``group`` the first level;
  ``metadata`` is false (no extra attributes), ``type`` realtime (the id comes back at once);
- ``service_request_id`` is the appeal's public id (as in the open dataset), never the
  tracking number, which opens the citizen's answer on the portal;
- ``status`` is open while the appeal waits for its answer, closed once answered (and
  accepted), answered on the spot, or rejected; ``status_notes`` says our status in words;
- ``agency_responsible`` is the organization answering now; ``expected_datetime`` the legal
  deadline (АППК), extended when it was;
- no personal data: ``description`` (the citizen's text) is never published, the ``address``
  is the district and the city, ``lat``/``long`` the centre of the appeal's H3 cell.

Filing (``POST requests``) takes an API key of ``open311_api_keys`` and hands the request to
``intake.service.submit`` like any channel (channel ``portal``; the external id is
``open311:<key id>:<Idempotency-Key header or a random id>``, so a retried POST with the same
header never files a second appeal).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import h3
from pydantic import ValidationError
from sqlalchemy import String, select, type_coerce
from sqlalchemy.orm import Session

from analytics.models import Open311Key
from analytics.pseudonym import Pseudonymizer
from appeals.lifecycle import OPEN_STATUSES, Status, status_label
from appeals.models import Appeal, Channel
from core.clock import local, now
from core.errors import DomainError
from core.settings import Settings, get_settings
from intake.schemas import CitizenContact, IncomingContact
from intake.service import submit
from routing.models import Category, CategoryArea, District, Organization

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
DEFAULT_SPAN = timedelta(days=90)
MAX_SPAN = timedelta(days=90)
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
MAX_DESCRIPTION = 4000
CITY = {"ru": "Алматы", "kk": "Алматы"}
CLOSED_STATUSES = frozenset(Status) - OPEN_STATUSES - {Status.ANSWERED}
NOTICE = {
    "ru": "Обращение принято, номер {tn}. Статус и ответ: /track?number={tn}",
    "kk": "Өтініш қабылданды, нөмірі {tn}. Мәртебесі мен жауабы: /track?number={tn}",
}

REQUEST_FIELDS = (
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
)
SERVICE_FIELDS = (
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
)


class Open311Error(Exception):
    """An error answered in the specification's format: HTTP status, code and description."""

    def __init__(self, status: int, description: str, code: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.code = code if code is not None else status
        self.description = description


def w3(moment: datetime | None) -> str | None:
    """W3C date-time in Almaty time with its offset (the spec requires a zone)."""
    return local(moment).isoformat(timespec="seconds") if moment is not None else None


def parse_w3(name: str, value: str) -> datetime:
    text = value.strip().replace("Z", "+00:00")
    if len(text) > 6 and text[-6] == " ":  # an unencoded "+" in a query string became " "
        text = f"{text[:-6]}+{text[-5:]}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Open311Error(
            400, f"{name} must be a W3C date-time, e.g. 2026-12-01T00:00:00Z"
        ) from None
    if moment.tzinfo is None:
        raise Open311Error(400, f"{name} must carry a time zone (Z or ±HH:MM)")
    return moment


# --- services ----------------------------------------------------------------------------


def services(session: Session, *, language: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Category, CategoryArea)
        .join(CategoryArea, CategoryArea.code == Category.area_code)
        .where(Category.active.is_(True))
        .order_by(CategoryArea.position, Category.code)
    ).all()
    return [_service(category, area, language) for category, area in rows]


def _service(category: Category, area: CategoryArea, language: str) -> dict[str, Any]:
    keywords = category.keywords_kk if language == "kk" else category.keywords_ru
    return {
        "service_code": category.code,
        "service_name": category.name(language),
        "description": f"{area.name_kk if language == 'kk' else area.name_ru}: "
        f"{category.name(language)}",
        "metadata": False,
        "type": "realtime",
        "keywords": ", ".join(keywords or []),
        "group": area.name_kk if language == "kk" else area.name_ru,
    }


def service_definition(session: Session, code: str) -> dict[str, Any]:
    category = session.get(Category, code)
    if category is None or not category.active:
        raise Open311Error(404, f"service_code {code!r} was not found")
    return {"service_code": category.code, "attributes": []}


# --- requests ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestQuery:
    ids: tuple[int, ...] = ()
    service_codes: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    statuses: tuple[str, ...] = ()
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE


def _split(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


def _positive(name: str, raw: str | None, default: int, maximum: int | None) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Open311Error(400, f"{name} must be a whole number") from None
    if value < 1 or (maximum is not None and value > maximum):
        limit = f" and at most {maximum}" if maximum is not None else ""
        raise Open311Error(400, f"{name} must be at least 1{limit}")
    return value


def parse_query(
    params: Mapping[str, str], *, pseudonyms: Pseudonymizer, moment: datetime
) -> RequestQuery:
    """The GET arguments, checked; empty ones count as absent (the spec's Optional rule)."""
    page = _positive("page", params.get("page"), 1, None)
    page_size = _positive("page_size", params.get("page_size"), DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    wanted = _split(params.get("service_request_id"))
    if wanted:  # "This overrides all other arguments."
        ids = tuple(found for found in (pseudonyms.appeal_id(value) for value in wanted) if found)
        return RequestQuery(ids=ids or (0,), page=page, page_size=page_size)
    statuses = tuple(status.lower() for status in _split(params.get("status")))
    unknown = sorted(set(statuses) - {"open", "closed"})
    if unknown:
        raise Open311Error(400, f"status must be open or closed, not {', '.join(unknown)}")
    start = parse_w3("start_date", params["start_date"]) if params.get("start_date") else None
    end = parse_w3("end_date", params["end_date"]) if params.get("end_date") else None
    if start is None and end is None:
        end = moment
    if start is None:
        assert end is not None
        start = end - DEFAULT_SPAN
    if end is None:
        end = min(start + DEFAULT_SPAN, moment)
    if end < start:
        raise Open311Error(400, "end_date is before start_date")
    if end - start > MAX_SPAN:
        raise Open311Error(400, "start_date and end_date may not span more than 90 days")
    return RequestQuery(
        service_codes=tuple(_split(params.get("service_code"))),
        start=start,
        end=end,
        statuses=statuses,
        page=page,
        page_size=page_size,
    )


def _request_rows(query: RequestQuery) -> Any:
    statement: Any = (
        select(
            Appeal.id,
            type_coerce(Appeal.status, String).label("status"),
            Appeal.category_code,
            Category.name_ru,
            Category.name_kk,
            Organization.name_ru.label("org_ru"),
            Organization.name_kk.label("org_kk"),
            District.name_ru.label("district_ru"),
            District.name_kk.label("district_kk"),
            Appeal.received_at,
            Appeal.updated_at,
            Appeal.closed_at,
            Appeal.due_at,
            Appeal.latitude,
            Appeal.longitude,
        )
        .outerjoin(Category, Category.code == Appeal.category_code)
        .outerjoin(Organization, Organization.id == Appeal.organization_id)
        .outerjoin(District, District.code == Appeal.district_code)
        # An appeal whose topic is not known yet has no service; it joins once understood.
        .where(Appeal.category_code.is_not(None))
        .order_by(Appeal.received_at.desc(), Appeal.id.desc())
    )
    if query.ids:
        return statement.where(Appeal.id.in_(query.ids))
    if query.service_codes:
        statement = statement.where(Appeal.category_code.in_(query.service_codes))
    if query.start is not None:
        statement = statement.where(Appeal.received_at >= query.start)
    if query.end is not None:
        statement = statement.where(Appeal.received_at <= query.end)
    if query.statuses and set(query.statuses) != {"open", "closed"}:
        closed = [status.value for status in CLOSED_STATUSES]
        if "closed" in query.statuses:
            statement = statement.where(Appeal.status.in_(closed))
        else:
            statement = statement.where(Appeal.status.not_in(closed))
    return statement.limit(query.page_size).offset((query.page - 1) * query.page_size)


def _point(lat: float | None, lng: float | None, resolution: int) -> tuple[Any, Any]:
    if lat is None or lng is None:
        return None, None
    c_lat, c_lng = h3.cell_to_latlng(h3.latlng_to_cell(lat, lng, resolution))
    return round(c_lat, 5), round(c_lng, 5)


def _view(
    row: Any, *, language: str, pseudonyms: Pseudonymizer, settings: Settings
) -> dict[str, Any]:
    status = Status(row.status)
    closed = status in CLOSED_STATUSES
    district = row.district_kk if language == "kk" else row.district_ru
    lat, lng = _point(row.latitude, row.longitude, settings.analytics_h3_resolution)
    view = {
        "service_request_id": pseudonyms.public_id(row.id),
        "status": "closed" if closed else "open",
        "status_notes": status_label(status, language),
        "service_name": (row.name_kk if language == "kk" else row.name_ru) or row.category_code,
        "service_code": row.category_code,
        "description": None,  # the citizen's own words are personal data: never published
        "agency_responsible": row.org_kk if language == "kk" else row.org_ru,
        "service_notice": None,
        "requested_datetime": w3(row.received_at),
        "updated_datetime": w3(row.closed_at if closed and row.closed_at else row.updated_at),
        "expected_datetime": w3(row.due_at),
        "address": ", ".join(part for part in (district, CITY[language]) if part),
        "address_id": None,
        "zipcode": None,
        "lat": lat,
        "long": lng,
        "media_url": None,
    }
    return {name: view[name] for name in REQUEST_FIELDS}


def find_requests(
    session: Session,
    query: RequestQuery,
    *,
    language: str,
    pseudonyms: Pseudonymizer,
    settings: Settings | None = None,
) -> list[dict[str, Any]]:
    settings = settings or get_settings()
    rows = session.execute(_request_rows(query)).all()
    return [_view(row, language=language, pseudonyms=pseudonyms, settings=settings) for row in rows]


def one_request(
    session: Session, public_id: str, *, language: str, pseudonyms: Pseudonymizer
) -> dict[str, Any]:
    appeal_id = pseudonyms.appeal_id(public_id)
    found = (
        find_requests(
            session, RequestQuery(ids=(appeal_id,)), language=language, pseudonyms=pseudonyms
        )
        if appeal_id
        else []
    )
    if not found:
        raise Open311Error(404, f"service_request_id {public_id!r} was not found")
    return found[0]


# --- API keys and filing -----------------------------------------------------------------


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session: Session, *, name: str, note: str = "") -> tuple[Open311Key, str]:
    """A new key for a partner; the key itself is shown once and stored only as a hash."""
    key = f"o311_{secrets.token_urlsafe(30)}"
    record = Open311Key(name=name.strip()[:100], key_hash=_hash(key), note=note, created_at=now())
    session.add(record)
    session.flush()
    return record, key


def revoke_key(session: Session, key_id: int) -> bool:
    record = session.get(Open311Key, key_id)
    if record is None or record.revoked_at is not None:
        return False
    record.revoked_at = now()
    session.flush()
    return True


def check_key(session: Session, key: str | None) -> Open311Key:
    if not key:
        raise Open311Error(403, "api_key is missing: POST requests needs one")
    record = session.scalar(select(Open311Key).where(Open311Key.key_hash == _hash(key)))
    if record is None or record.revoked_at is not None:
        raise Open311Error(403, "Invalid api_key received -- can't proceed with create_request")
    record.last_used_at = now()
    return record


def _float(name: str, raw: str | None) -> float | None:
    if raw is None or raw.strip() == "":
        return None
    try:
        return float(raw)
    except ValueError:
        raise Open311Error(400, f"{name} must be a number") from None


def file_request(
    session: Session,
    form: Mapping[str, str],
    *,
    idempotency_key: str | None,
    language: str,
    pseudonyms: Pseudonymizer,
) -> dict[str, Any]:
    """POST Service Request: check it as the spec says, then ``intake.submit``."""
    key = check_key(session, form.get("api_key"))
    code = (form.get("service_code") or "").strip()
    if not code:
        raise Open311Error(400, "service_code was not provided")
    category = session.get(Category, code)
    if category is None or not category.active:
        raise Open311Error(404, f"service_code {code!r} was not found")
    lat, lng = _float("lat", form.get("lat")), _float("long", form.get("long"))
    address = (form.get("address_string") or "").strip() or None
    if (lat is None) != (lng is None):
        raise Open311Error(400, "lat and long must be sent together")
    if lat is None and address is None and not (form.get("address_id") or "").strip():
        raise Open311Error(
            400, "a location is required: lat and long, address_string or address_id"
        )
    description = (form.get("description") or "").strip()
    if not description:
        raise Open311Error(400, "description is required: say what the problem is")
    if len(description) > MAX_DESCRIPTION:
        raise Open311Error(400, f"description is limited to {MAX_DESCRIPTION} characters")
    name = " ".join(
        part.strip() for part in (form.get("first_name"), form.get("last_name")) if part
    ).strip()
    suffix = (idempotency_key or "").strip()[:100] or uuid.uuid4().hex
    try:
        contact = IncomingContact(
            channel=Channel.PORTAL,
            external_id=f"open311:{key.id}:{suffix}",
            text=description,
            category_code=code,
            address=address[:300] if address else None,
            latitude=lat,
            longitude=lng,
            citizen=CitizenContact(
                full_name=name or None,
                phone=(form.get("phone") or "").strip() or None,
                email=(form.get("email") or "").strip() or None,
            ),
        )
        result = submit(session, contact)
    except ValidationError as error:
        fields = ", ".join(".".join(str(part) for part in item["loc"]) for item in error.errors())
        raise Open311Error(400, f"invalid value: {fields}") from None
    except DomainError as error:
        raise Open311Error(400, error.message) from None
    return {
        "service_request_id": pseudonyms.public_id(result.appeal_id),
        "service_notice": NOTICE[language].format(tn=result.tracking_number),
        "account_id": None,
    }


def discovery(base_url: str, *, changeset: str) -> dict[str, Any]:
    """The Service Discovery document pointing at our GeoReport v2 endpoint."""
    return {
        "changeset": changeset,
        "contact": "Open Almaty, 1308",
        "key_service": "API keys for POST: the city's Open Almaty administrators",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": f"{base_url}/open311/v2",
                "changeset": changeset,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }


def keys(session: Session) -> Sequence[Open311Key]:
    return list(session.scalars(select(Open311Key).order_by(Open311Key.id)))

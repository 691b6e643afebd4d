"""Open311 GeoReport v2: answers checked against the specification's field lists."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from analytics.open311 import create_key, revoke_key
from analytics.pseudonym import Pseudonymizer
from appeals.lifecycle import Status
from appeals.models import Appeal, Channel, Citizen
from core.clock import ALMATY, now
from core.settings import Settings
from routing.models import Organization
from tests.analytics_support import appeal_factory, assert_no_personal_data

# The specification's lists (wiki.open311.org/GeoReport_v2, "Response" tables).
SERVICE_FIELDS = {
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
}
REQUEST_FIELDS = [
    "service_request_id", "status", "status_notes", "service_name", "service_code",
    "description", "agency_responsible", "service_notice", "requested_datetime",
    "updated_datetime", "expected_datetime", "address", "address_id", "zipcode", "lat",
    "long", "media_url",
]  # fmt: skip
POST_FIELDS = {"service_request_id", "service_notice", "account_id"}  # no token: realtime
BASE = "/open311/v2"


@pytest.fixture
def make_appeal(session: Session) -> Callable[..., Appeal]:
    return appeal_factory(session)


@pytest.fixture
def api_key(session: Session) -> str:
    _, key = create_key(session, name="Partner app")
    session.commit()
    return key


def _xml(body: bytes) -> ET.Element:
    assert body.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    return ET.fromstring(body)  # noqa: S314 - our own answer, in a test


def test_service_list_has_the_specs_fields_in_json_and_xml(client: Any) -> None:
    response = client.get(f"{BASE}/services.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    listed = response.json()
    assert len(listed) > 50
    for service in listed:
        assert set(service) == SERVICE_FIELDS
        assert service["metadata"] is False and service["type"] == "realtime"
    water = next(s for s in listed if s["service_code"] == "water.no_water")
    assert water["group"] and water["service_name"]

    kazakh = client.get(f"{BASE}/services.json?lang=kk").json()
    assert (
        next(s for s in kazakh if s["service_code"] == "water.no_water")["service_name"]
        != (water["service_name"])
    )
    xml = client.get(f"{BASE}/services.xml")
    assert xml.headers["content-type"] == "text/xml; charset=utf-8"
    root = _xml(xml.content)
    assert root.tag == "services" and len(root) == len(listed)
    first = root[0]
    assert first.tag == "service"
    assert {child.tag for child in first} == SERVICE_FIELDS
    assert first.find("metadata").text == "false"  # type: ignore[union-attr]


def test_service_definition_and_unknown_codes(client: Any) -> None:
    definition = client.get(f"{BASE}/services/water.no_water.json").json()
    assert definition == {"service_code": "water.no_water", "attributes": []}
    root = _xml(client.get(f"{BASE}/services/water.no_water.xml").content)
    assert root.tag == "service_definition" and root.find("service_code").text == (  # type: ignore[union-attr]
        "water.no_water"
    )
    missing = client.get(f"{BASE}/services/no.such.json")
    assert missing.status_code == 404
    assert missing.json()[0]["code"] == 404 and "no.such" in missing.json()[0]["description"]
    missing_xml = client.get(f"{BASE}/services/no.such.xml")
    root = _xml(missing_xml.content)
    assert root.tag == "errors" and root[0].tag == "error"
    assert root[0].find("code").text == "404"  # type: ignore[union-attr]
    assert client.get(f"{BASE}/services.csv").status_code == 404


@pytest.fixture
def appeals(make_appeal: Callable[..., Appeal]) -> dict[str, Appeal]:
    base = now() - timedelta(days=10)
    return {
        "open": make_appeal(
            received_at=base,
            status=Status.IN_PROGRESS,
            due_at=base + timedelta(days=21),
            latitude=43.2220,
            longitude=76.8512,
        ),
        "closed": make_appeal(
            received_at=base + timedelta(days=1),
            status=Status.CLOSED,
            category="roads.local_repair",
            district="medeu",
            organization="akimat-medeu",
            due_at=base + timedelta(days=22),
            answered_at=base + timedelta(days=3),
            closed_at=base + timedelta(days=4),
        ),
        "rejected": make_appeal(
            received_at=base + timedelta(days=2),
            status=Status.REJECTED,
            closed_at=base + timedelta(days=2),
        ),
        "answered": make_appeal(  # under the inspector's review: still open for citizens
            received_at=base + timedelta(days=3),
            status=Status.ANSWERED,
            answered_at=base + timedelta(days=5),
        ),
        "old": make_appeal(received_at=now() - timedelta(days=200), status=Status.CLOSED),
    }


def organization_name(session: Session, code: str) -> str:
    name = session.scalar(select(Organization.name_ru).where(Organization.code == code))
    assert name
    return name


def test_requests_list_the_last_90_days_with_the_specs_fields_and_no_personal_data(
    client: Any, session: Session, settings: Settings, appeals: dict[str, Appeal]
) -> None:
    response = client.get(f"{BASE}/requests.json")
    assert response.status_code == 200
    listed = response.json()
    ids = Pseudonymizer(settings)
    wanted = {ids.public_id(a.id) for key, a in appeals.items() if key != "old"}
    assert wanted <= {r["service_request_id"] for r in listed}
    assert ids.public_id(appeals["old"].id) not in {r["service_request_id"] for r in listed}
    for request in listed:
        assert list(request) == REQUEST_FIELDS
        assert request["status"] in ("open", "closed")
        assert request["description"] is None
    assert_no_personal_data(response.text, [a.tracking_number for a in appeals.values()])

    by_id = {r["service_request_id"]: r for r in listed}
    opened = by_id[ids.public_id(appeals["open"].id)]
    assert opened["status"] == "open" and opened["status_notes"] == "В работе"
    assert opened["agency_responsible"] == organization_name(session, "almaty-su")
    assert opened["service_code"] == "water.no_water"
    due = appeals["open"].due_at
    assert due is not None
    assert datetime.fromisoformat(opened["expected_datetime"]) == due.replace(microsecond=0)
    assert opened["expected_datetime"].endswith("+05:00")
    assert opened["address"].endswith("Алматы") and "Ауэзов" in opened["address"]
    assert (opened["lat"], opened["long"]) != (43.2220, 76.8512)
    assert abs(opened["lat"] - 43.2220) < 0.01
    closed = by_id[ids.public_id(appeals["closed"].id)]
    assert closed["status"] == "closed" and closed["status_notes"] == "Ответ дан"
    closed_at = appeals["closed"].closed_at
    assert closed_at is not None
    assert datetime.fromisoformat(closed["updated_datetime"]) == closed_at.replace(microsecond=0)
    assert by_id[ids.public_id(appeals["rejected"].id)]["status"] == "closed"
    assert by_id[ids.public_id(appeals["answered"].id)]["status"] == "open"


def test_request_filters_and_paging(
    client: Any, settings: Settings, appeals: dict[str, Appeal]
) -> None:
    ids = Pseudonymizer(settings)

    def listed(query: str) -> list[str]:
        response = client.get(f"{BASE}/requests.json?{query}")
        assert response.status_code == 200, response.text
        return [r["service_request_id"] for r in response.json()]

    start = (now() - timedelta(days=11)).isoformat()
    window = f"start_date={start.replace('+00:00', 'Z')}"
    closed = listed(f"{window}&status=closed")
    assert set(closed) == {ids.public_id(appeals[k].id) for k in ("closed", "rejected")}
    opened = listed(f"{window}&status=open")
    assert set(opened) == {ids.public_id(appeals[k].id) for k in ("open", "answered")}
    assert set(listed(f"{window}&status=open,closed")) == set(opened) | set(closed)
    roads = listed(f"{window}&service_code=roads.local_repair,energy.none")
    assert roads == [ids.public_id(appeals["closed"].id)]
    # Newest first, in pages.
    first, second = listed(f"{window}&page_size=2"), listed(f"{window}&page_size=2&page=2")
    assert len(first) == 2 and len(second) == 2 and not set(first) & set(second)
    assert first[0] == ids.public_id(appeals["answered"].id)
    # service_request_id overrides everything else, the old one included.
    chosen = f"{ids.public_id(appeals['old'].id)},{ids.public_id(appeals['open'].id)}"
    assert set(listed(f"service_request_id={chosen}&status=closed&service_code=x")) == {
        ids.public_id(appeals["old"].id),
        ids.public_id(appeals["open"].id),
    }
    end = (now() - timedelta(days=9, hours=12)).isoformat()
    assert listed(f"{window}&end_date={end}") == [ids.public_id(appeals["open"].id)]


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("start_date=yesterday", "W3C"),
        ("start_date=2026-12-01T00:00:00", "time zone"),
        ("start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z", "90 days"),
        ("start_date=2026-06-01T00:00:00Z&end_date=2026-01-01T00:00:00Z", "before"),
        ("status=pending", "open or closed"),
        ("page_size=5000", "page_size"),
        ("page=0", "page"),
        ("page=two", "whole number"),
    ],
)
def test_bad_arguments_are_400_in_the_specs_error_format(
    client: Any, query: str, words: str
) -> None:
    response = client.get(f"{BASE}/requests.json?{query}")
    assert response.status_code == 400
    [problem] = response.json()
    assert problem["code"] == 400 and words in problem["description"]
    root = _xml(client.get(f"{BASE}/requests.xml?{query}").content)
    assert root.tag == "errors" and words in root[0].find("description").text  # type: ignore[union-attr,operator]


def test_one_request_in_xml_and_unknown_ids(
    client: Any, settings: Settings, appeals: dict[str, Appeal]
) -> None:
    public = Pseudonymizer(settings).public_id(appeals["closed"].id)
    root = _xml(client.get(f"{BASE}/requests/{public}.xml").content)
    assert root.tag == "service_requests" and len(root) == 1
    request = root[0]
    assert request.tag == "request" and [child.tag for child in request] == REQUEST_FIELDS
    assert request.find("status").text == "closed"  # type: ignore[union-attr]
    assert request.find("description").text is None  # type: ignore[union-attr]
    as_json = client.get(f"{BASE}/requests/{public}.json").json()
    assert len(as_json) == 1 and as_json[0]["service_request_id"] == public
    for unknown in ("zzzzzzzzzzzzz", "123", str(appeals["closed"].id)):
        response = client.get(f"{BASE}/requests/{unknown}.json")
        assert response.status_code == 404, unknown
    tracking = appeals["closed"].tracking_number
    assert client.get(f"{BASE}/requests/{tracking}.json").status_code == 404


def _form(key: str | None, **fields: str) -> dict[str, str]:
    form = {
        "service_code": "roads.local_repair",
        "lat": "43.2389",
        "long": "76.8897",
        "address_string": "ул. Жибек Жолы 50",
        "description": "Глубокая яма на проезжей части у остановки, машины объезжают по встречке",
        "first_name": "Асель",
        "last_name": "Нурланова",
        "phone": "+7 701 555 12 34",
        "email": "asel@example.kz",
        "device_id": "tt222111",
        "account_id": "123456",
        "attribute[WHATEVER]": "1",
        **fields,
    }
    if key is not None:
        form["api_key"] = key
    return form


def test_post_files_an_appeal_through_intake_and_get_finds_it(
    client: Any, session: Session, settings: Settings, api_key: str
) -> None:
    response = client.post(f"{BASE}/requests.json", data=_form(api_key))
    assert response.status_code == 200, response.text
    [created] = response.json()
    assert set(created) == POST_FIELDS and created["account_id"] is None
    appeal_id = Pseudonymizer(settings).appeal_id(created["service_request_id"])
    appeal = session.get(Appeal, appeal_id, populate_existing=True)
    assert appeal is not None
    assert appeal.channel == Channel.PORTAL and appeal.external_id.startswith("open311:")
    assert appeal.category_code == "roads.local_repair" and appeal.latitude == 43.2389
    assert appeal.tracking_number in created["service_notice"]
    citizen = session.get(Citizen, appeal.citizen_id)
    assert citizen is not None and citizen.phone_e164 == "+77015551234"
    assert citizen.full_name == "Асель Нурланова"
    # The pipeline ran at commit (jobs inline): the request is listed, without the text.
    found = client.get(f"{BASE}/requests/{created['service_request_id']}.json")
    assert found.status_code == 200, found.text
    assert found.json()[0]["service_code"] == "roads.local_repair"
    assert "яма" not in found.text and "Нурланова" not in found.text


def test_post_answers_in_xml_and_a_retry_with_the_same_idempotency_key_files_once(
    client: Any, session: Session, api_key: str
) -> None:
    headers = {"Idempotency-Key": "partner-req-42"}
    first = client.post(f"{BASE}/requests.xml", data=_form(api_key), headers=headers)
    again = client.post(f"{BASE}/requests.xml", data=_form(api_key), headers=headers)
    assert first.status_code == again.status_code == 200
    root = _xml(first.content)
    assert root.tag == "service_requests" and root[0].tag == "request"
    assert {child.tag for child in root[0]} == POST_FIELDS
    assert first.content == again.content
    count = session.scalars(
        select(Appeal.id).where(Appeal.external_id.like("open311:%:partner-req-42"))
    ).all()
    assert len(count) == 1


@pytest.mark.parametrize(
    ("fields", "status", "words"),
    [
        ({"service_code": ""}, 400, "service_code was not provided"),
        ({"service_code": "no.such"}, 404, "not found"),
        ({"lat": "", "long": "", "address_string": ""}, 400, "location is required"),
        ({"long": ""}, 400, "together"),
        ({"lat": "north"}, 400, "lat must be a number"),
        ({"description": ""}, 400, "description is required"),
        ({"description": "коротко"}, 400, "at least"),
        ({"phone": "12"}, 400, "phone"),
        ({"email": "not-an-email"}, 400, "invalid value: email"),
    ],
)
def test_post_refuses_bad_input_with_the_reason_and_files_nothing(
    client: Any, session: Session, api_key: str, fields: dict[str, str], status: int, words: str
) -> None:
    before = session.scalar(select(Appeal.id).order_by(Appeal.id.desc()).limit(1))
    response = client.post(f"{BASE}/requests.json", data=_form(api_key, **fields))
    assert response.status_code == status, response.text
    assert words in response.json()[0]["description"]
    assert session.scalar(select(Appeal.id).order_by(Appeal.id.desc()).limit(1)) == before


def test_post_needs_a_valid_unrevoked_api_key(client: Any, session: Session, api_key: str) -> None:
    assert client.post(f"{BASE}/requests.json", data=_form(None)).status_code == 403
    wrong = client.post(f"{BASE}/requests.xml", data=_form("o311_wrong"))
    assert wrong.status_code == 403
    assert "api_key" in _xml(wrong.content)[0].find("description").text  # type: ignore[union-attr,operator]
    record, other = create_key(session, name="Old partner")
    assert revoke_key(session, record.id)
    session.commit()
    assert client.post(f"{BASE}/requests.json", data=_form(other)).status_code == 403
    # The key may come in the query string too, as many clients send it.
    assert (
        client.post(f"{BASE}/requests.json?api_key={api_key}", data=_form(None)).status_code == 200
    )


def test_discovery_points_at_the_v2_endpoint(client: Any) -> None:
    found = client.get("/open311/discovery.json").json()
    [endpoint] = found["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2")
    assert set(endpoint["formats"]) == {"text/xml", "application/json"}
    root = _xml(client.get("/open311/discovery.xml").content)
    assert root.tag == "discovery" and root.find("endpoints/endpoint/url") is not None


def test_dates_in_w3_format_parse_back(client: Any, appeals: dict[str, Appeal]) -> None:
    for request in client.get(f"{BASE}/requests.json").json():
        for name in ("requested_datetime", "updated_datetime"):
            parsed = datetime.fromisoformat(request[name])
            assert parsed.tzinfo is not None
            assert parsed.utcoffset() == timedelta(hours=5)
    assert json.dumps(ALMATY.key) == '"Asia/Almaty"'


def test_cli_creates_lists_and_revokes_keys(
    session: Session, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from civicdesk.cli import main
    from core import db

    monkeypatch.setattr(db, "configure", lambda *args, **kwargs: None)
    assert main(["analytics", "open311-key", "Mobile app of the akimat"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["api_key"].startswith("o311_")
    from analytics.open311 import check_key

    assert check_key(session, created["api_key"]).name == "Mobile app of the akimat"
    assert main(["analytics", "open311-key", "--list"]) == 0
    listed = capsys.readouterr().out
    assert "Mobile app of the akimat" in listed and created["api_key"] not in listed
    assert main(["analytics", "open311-key", "--revoke", str(created["id"])]) == 0
    assert main(["analytics", "open311-key", "--revoke", str(created["id"])]) == 2

"""Hardening at the HTTP edge (issue 13): bad input is a 4xx with a reason, never a 500.

NUL characters and values past what a column holds, on every kind of route; nested JSON on
the webhooks; a database outage as 503 with Retry-After; security headers and no-store on
JSON; the offline API docs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import sessionmaker

from core import db
from core.settings import Settings, override_settings
from tests.conftest import login, staff_sign_in

pytestmark = pytest.mark.postgres

BIG_IDS = [2**31, 2**63, 2**70]


@pytest.fixture
def api(client: TestClient) -> TestClient:
    """The test's app, answering server errors as a client sees them instead of raising."""
    return TestClient(client.app, raise_server_exceptions=False)


@pytest.fixture
def admin(api: TestClient, make_user: Any) -> dict[str, str]:
    user, password = make_user("admin")
    return login(api, user.username, password)


def _error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] and body["error"]["message"]
    return dict(body["error"])


# --- 2. NUL bytes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/appeals/track/%00",
        "/api/v1/portal/appeals/a%00b",
        "/api/v1/routing/rules/history?category=%00",
    ],
)
def test_a_nul_byte_in_an_api_url_is_a_422_with_a_reason(
    api: TestClient, admin: dict[str, str], path: str
) -> None:
    response = api.get(path, headers=admin)
    assert response.status_code == 422, response.text
    assert _error(response)["code"] == "nul_character"


@pytest.mark.parametrize("path", ["/track?number=a%00b", "/appeals/a%00b"])
def test_a_nul_byte_on_a_portal_page_is_a_bilingual_page_not_a_500(
    api: TestClient, path: str
) -> None:
    response = api.get(path, headers={"accept": "text/html"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "недопустимое значение" in response.text and "жарамсыз мән" in response.text


@pytest.mark.parametrize("field", ["text", "address", "category_code", "full_name"])
def test_a_nul_byte_in_the_portal_api_body_is_refused_and_nothing_is_stored(
    api: TestClient, session: Any, field: str
) -> None:
    from sqlalchemy import func, select

    from appeals.models import Appeal

    body: dict[str, Any] = {
        "text": "Во дворе дома на Самале третий день не вывозят мусор",
        "citizen": {"phone": "+77011234567"},
    }
    if field == "full_name":
        body["citizen"]["full_name"] = "Асель\x00"
    else:
        body[field] = f"{body.get(field, 'x')}\x00y"
    before = session.scalar(select(func.count()).select_from(Appeal))
    key = f"nul-{field}-{uuid.uuid4()}"
    response = api.post("/api/v1/portal/appeals", json=body, headers={"Idempotency-Key": key})
    assert response.status_code == 422, response.text
    assert _error(response)["code"] == "nul_character"
    assert session.scalar(select(func.count()).select_from(Appeal)) == before


def test_a_nul_byte_in_the_web_appeal_form_shows_the_form_again(api: TestClient) -> None:
    response = api.post(
        "/appeals",
        data={
            "text": "Во дворе дома\x00 на Самале не вывозят мусор",
            "phone": "+77011234567",
            "idempotency_key": "nul-form",
        },
        headers={"accept": "text/html"},
        follow_redirects=False,
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "<form" in response.text


def test_a_nul_byte_in_the_login_username_is_not_a_500(api: TestClient) -> None:
    response = api.post("/api/v1/auth/token", json={"username": "adm\x00in", "password": "x"})
    assert response.status_code == 422
    assert _error(response)["code"] == "nul_character"


# --- 3. ids, offsets and dates out of range ---------------------------------------------------


ID_OPERATIONS = [
    ("GET", "/api/v1/appeals/{id}"),
    ("POST", "/api/v1/appeals/{id}/actions/accept"),
    ("GET", "/api/v1/callcenter/calls/{id}"),
    ("GET", "/api/v1/citizens/{id}"),
    ("POST", "/api/v1/sla/extension-requests/{id}/approve"),
    ("GET", "/api/v1/sla/appeals/{id}"),
    ("GET", "/api/v1/appeals/{id}/co-executors"),
    ("GET", "/api/v1/appeals/{id}/attachments/{id}/content"),
]


def test_an_id_past_the_column_is_a_4xx_not_a_500(api: TestClient, admin: dict[str, str]) -> None:
    answers = {}
    for big in BIG_IDS:
        for method, template in ID_OPERATIONS:
            path = template.format(id=big)
            response = api.request(method, path, headers=admin, json={})
            answers[(method, path)] = response.status_code
            if response.status_code != 405:
                _error(response)
        response = api.get(f"/api/v1/appeals?offset={big}", headers=admin)
        answers[("GET", f"offset={big}")] = response.status_code
    server_errors = {key: status for key, status in answers.items() if status >= 500}
    assert not server_errors


def test_a_staff_page_with_an_id_past_the_column_is_a_page_not_a_500(
    api: TestClient, make_user: Any
) -> None:
    user, password = make_user("admin")
    staff_sign_in(api, user, password, next_path="/staff/appeals")
    for big in BIG_IDS:
        for template in ("/staff/appeals/{id}", "/staff/appeals/{id}/sla"):
            response = api.get(template.format(id=big), headers={"accept": "text/html"})
            assert response.status_code in (404, 422), template
            assert response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    "query", ["received_to=9999-12-31", "received_from=0001-01-01", "received_to=31.12.9999"]
)
def test_board_dates_out_of_range_are_a_422_in_the_api(
    api: TestClient, admin: dict[str, str], query: str
) -> None:
    response = api.get(f"/api/v1/sla-board/summary?{query}", headers=admin)
    assert response.status_code == 422, response.text
    assert _error(response)["code"] == "bad_date"


@pytest.mark.parametrize("query", ["received_to=31.12.9999", "received_from=01.01.0001"])
def test_board_dates_out_of_range_are_explained_on_the_board_page(
    api: TestClient, make_user: Any, query: str
) -> None:
    user, password = make_user("inspector")
    staff_sign_in(api, user, password, next_path="/staff/board")
    response = api.get(f"/staff/board?{query}")
    assert response.status_code in (200, 422)
    assert "Internal Server Error" not in response.text
    assert "1900" in response.text or "Дата должна" in response.text  # the page's own message


# --- 9. nested JSON on the webhooks -------------------------------------------------------------


def test_deeply_nested_json_on_the_whatsapp_webhook_is_a_400(
    api: TestClient, settings: Settings
) -> None:
    secret = "whatsapp-app-secret-for-tests"
    body = ("[" * 100_000 + "]" * 100_000).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    with override_settings(settings.model_copy(update={"whatsapp_app_secret": secret})):
        response = api.post(
            "/webhooks/whatsapp",
            content=body,
            headers={"X-Hub-Signature-256": signature, "content-type": "application/json"},
        )
    assert response.status_code == 400, response.text
    assert _error(response)["code"] == "malformed_json"


def test_deeply_nested_json_on_a_json_api_is_a_4xx(api: TestClient) -> None:
    body = '{"text": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = api.post(
        "/api/v1/portal/appeals", content=body, headers={"content-type": "application/json"}
    )
    assert 400 <= response.status_code < 500
    _error(response)


# --- 4. a database outage ----------------------------------------------------------------------


@pytest.fixture
def database_down(client: TestClient, settings: Settings) -> Iterator[None]:
    """The app's sessions point at a port where no PostgreSQL listens (a restart, a failover)."""
    dead = db.make_engine(
        "postgresql+psycopg://postgres@127.0.0.1:9/test?connect_timeout=1", pool_pre_ping=False
    )
    previous = db._session_factory
    db._session_factory = sessionmaker(bind=dead, expire_on_commit=False)
    try:
        yield
    finally:
        db._session_factory = previous
        dead.dispose()


def test_a_database_outage_is_a_503_with_retry_after_in_the_envelope(
    api: TestClient, database_down: None
) -> None:
    body = {
        "text": "Во дворе дома на Самале не вывозят мусор",
        "citizen": {"phone": "+77011234567"},
    }
    response = api.post(
        "/api/v1/portal/appeals", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}
    )
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 1
    assert _error(response)["code"] == "service_unavailable"
    tracked = api.get("/api/v1/appeals/track/2611-ABCDEFGH")
    assert tracked.status_code == 503


def test_a_database_outage_on_a_page_is_a_bilingual_page(
    api: TestClient, database_down: None
) -> None:
    response = api.get("/track?number=2611-ABCDEFGH", headers={"accept": "text/html"})
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert "временно недоступен" in response.text and "уақытша қолжетімсіз" in response.text


def test_an_unexpected_error_is_a_500_in_the_envelope(api: TestClient) -> None:
    app: Any = api.app

    @app.get("/api/v1/test-boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    response = api.get("/api/v1/test-boom")
    assert response.status_code == 500
    assert _error(response)["code"] == "internal_error"
    assert "a bug" not in response.text


# --- 8. headers on every answer ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/appeals/track/2611-ABCDEFGH", "/openapi.json", "/"])
def test_every_answer_carries_the_security_headers_and_no_store(api: TestClient, path: str) -> None:
    response = api.get(path)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"


def test_static_files_stay_cacheable(api: TestClient) -> None:
    response = api.get("/static/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("cache-control", "")


# --- 10. the API docs without internet ------------------------------------------------------------


def test_the_docs_load_nothing_from_another_host(api: TestClient) -> None:
    page = api.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower() and "https://" not in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    for asset in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"):
        assert api.get(asset).status_code == 200
    assert api.get("/static/api-docs.js").status_code == 200
    redoc = api.get("/redoc")
    assert redoc.status_code == 200 and "https://" not in redoc.text
    assert api.get("/docs/assets/redoc.standalone.js").status_code == 200


def test_openapi_is_valid_json_for_swagger(api: TestClient) -> None:
    spec = json.loads(api.get("/openapi.json").text)
    assert spec["openapi"].startswith("3.1")  # Swagger UI 5 (the bundled one) reads 3.1

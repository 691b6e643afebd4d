"""Hardening checks the other hardening tests leave out (issue 13).

- Item 3 on the embedded SQLite: ids of 2^63 and past are an integer overflow there (not
  PostgreSQL's INTEGER range), and must be a 4xx as well.
- Item 6: every limit and timeout of the HTTP edge is documented in docs/configuration.md.
- Item 11: ``civicdesk demo`` stops a worker that does not stop on SIGTERM within the grace
  time by killing it, and says so, instead of hanging until a ``TimeoutExpired``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core import db
from core.settings import Settings, override_settings
from tests.conftest import PASSWORD
from tests.test_hardening_http import ID_OPERATIONS

ROOT = Path(__file__).resolve().parent.parent
SQLITE_BIG_IDS = [2**63, 2**64, 2**70]


@pytest.fixture
def sqlite_admin(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The app on a fresh embedded SQLite database, and an admin's bearer token."""
    from civicdesk.app import create_app
    from core.migrate import upgrade
    from core.models import Role
    from core.security import create_staff_user

    url = f"sqlite:///{tmp_path}/hardening.sqlite3"
    upgrade(url)
    settings = Settings(environment="test", database_url=url)
    previous = db._engine, db._session_factory
    with override_settings(settings):
        app = create_app(settings)
        try:
            with db.transaction() as session:
                create_staff_user(
                    session, username="lite-admin", full_name="Admin", role=Role.ADMIN,
                    password=PASSWORD,
                )  # fmt: skip
            with TestClient(app, raise_server_exceptions=False) as client:
                token = client.post(
                    "/api/v1/auth/token", json={"username": "lite-admin", "password": PASSWORD}
                ).json()["access_token"]
                yield client, {"Authorization": f"Bearer {token}"}
        finally:
            if db._engine is not None and db._engine is not previous[0]:
                db._engine.dispose()
            db._engine, db._session_factory = previous


def test_ids_past_sqlite_integers_are_a_4xx_not_a_500(
    sqlite_admin: tuple[TestClient, dict[str, str]],
) -> None:
    client, admin = sqlite_admin
    server_errors = {}
    for big in SQLITE_BIG_IDS:
        for method, template in ID_OPERATIONS:
            path = template.format(id=big)
            response = client.request(method, path, headers=admin, json={})
            if response.status_code >= 500:
                server_errors[(method, path)] = response.text[:200]
            elif response.status_code != 405:
                assert set(response.json()) == {"error"}, response.text
        for query in (f"offset={big}", f"limit=10&offset={big}"):
            response = client.get(f"/api/v1/appeals?{query}", headers=admin)
            if response.status_code >= 500:
                server_errors[("GET", query)] = response.text[:200]
    assert not server_errors


def test_the_board_refuses_dates_past_its_range_on_sqlite(
    sqlite_admin: tuple[TestClient, dict[str, str]],
) -> None:
    client, admin = sqlite_admin
    for query in ("received_to=9999-12-31", "received_from=0001-01-01", "received_to=31.12.9999"):
        response = client.get(f"/api/v1/sla-board/summary?{query}", headers=admin)
        assert response.status_code == 422, (query, response.text)
        assert response.json()["error"]["code"] == "bad_date"


HARDENING_SETTINGS = (
    "http_max_body_bytes",
    "http_body_timeout_s",
    "http_header_timeout_s",
    "http_keepalive_timeout_s",
    "outage_retry_after_s",
    "login_free_failures",
    "login_address_free_failures",
    "login_backoff_base_s",
    "login_backoff_max_s",
    "login_failure_window_s",
    "coalesce_claim_ttl_s",
)


def test_every_limit_and_timeout_of_the_edge_is_documented() -> None:
    documented = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    fields = Settings.model_fields
    missing = []
    for name in HARDENING_SETTINGS:
        assert name in fields, name  # renamed? update the docs and this list
        variable = f"CIVICDESK_{name.upper()}"
        default = fields[name].default
        if variable not in documented:
            missing.append(variable)
        else:
            row = next(line for line in documented.splitlines() if variable in line)
            shown = str(int(default)) if float(default).is_integer() else str(default)
            assert shown in row or f"{default:_}" in row, (variable, default, row)
    assert not missing


# The stand-in for a worker in the middle of a job that outlives the grace period.
STUBBORN = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ready', flush=True); time.sleep(120)"
)


def test_the_demo_kills_a_worker_that_will_not_stop_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from civicdesk.demo import stop_workers

    polite = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    stubborn = subprocess.Popen([sys.executable, "-c", STUBBORN], stdout=subprocess.PIPE)  # noqa: S603
    assert stubborn.stdout is not None
    assert stubborn.stdout.readline() == b"ready\n"  # its handler is in place: no race
    processes: list[Any] = [polite, stubborn]
    with caplog.at_level("WARNING", logger="civicdesk.demo"):
        stopped = stop_workers(processes, grace_s=1.0)
    assert stopped == {"finished": 1, "killed": 1}
    assert polite.returncode is not None and stubborn.returncode == -9
    assert "killed" in caplog.text


# --- item 3 on PostgreSQL, every operation and page that takes an id ------------------------

BIG_IDS = [2**31, 2**63, 2**70]
STAFF_ID_PAGES = (
    "/staff/appeals/{id}",
    "/staff/appeals/{id}/sla",
    "/staff/analytics/bursts/{id}",
    "/staff/analytics/reports/{id}",
    "/staff/kb/{id}",
    "/staff/kb/proposals/{id}",
    "/staff/console/citizens/{id}",
)
STAFF_ID_FORMS = (
    "/staff/appeals/{id}/contact",
    "/staff/appeals/{id}/category",
    "/staff/inbox/{id}/read",
    "/staff/social/{id}/decision",
    "/staff/kb/{id}/status",
)


def _id_operations(schema: dict[str, Any]) -> list[tuple[str, str]]:
    """Every (method, path template) of the API whose path takes an integer."""
    found = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            parameters = operation.get("parameters", [])
            kinds = {p["name"]: p.get("schema", {}).get("type") for p in parameters}
            path_names = [p["name"] for p in parameters if p["in"] == "path"]
            if any(kinds[name] == "integer" for name in path_names):
                found.append((method.upper(), path))
    return found


def _fill(template: str, schema_types: dict[str, str | None], big: int) -> str:
    for name, kind in schema_types.items():
        template = template.replace("{" + name + "}", str(big) if kind == "integer" else "x1")
    return template


@pytest.mark.postgres
def test_every_api_operation_with_an_id_past_the_column_is_a_4xx(
    client: TestClient, make_user: Any
) -> None:
    from tests.conftest import login

    api = TestClient(client.app, raise_server_exceptions=False)
    user, password = make_user("admin")
    admin = login(api, user.username, password)
    schema = api.get("/openapi.json").json()
    operations = _id_operations(schema)
    assert len(operations) >= 20  # the issue counted 22 that failed
    server_errors = {}
    for method, template in operations:
        parameters = schema["paths"][template][method.lower()].get("parameters", [])
        types = {
            p["name"]: p.get("schema", {}).get("type") for p in parameters if p["in"] == "path"
        }
        for big in BIG_IDS:
            path = _fill(template, types, big)
            response = api.request(method, path, headers=admin, json={})
            if response.status_code >= 500:
                server_errors[(method, path)] = f"{response.status_code} {response.text[:120]}"
    assert not server_errors


@pytest.mark.postgres
def test_every_staff_page_with_an_id_past_the_column_is_a_page_not_a_500(
    client: TestClient, make_user: Any
) -> None:
    from tests.conftest import staff_sign_in

    api = TestClient(client.app, raise_server_exceptions=False)
    user, password = make_user("admin")
    staff_sign_in(api, user, password, next_path="/staff/appeals")
    failures = {}
    for big in BIG_IDS:
        for template in STAFF_ID_PAGES:
            response = api.get(template.format(id=big), headers={"accept": "text/html"})
            if response.status_code >= 500 or "Internal Server Error" in response.text:
                failures[template.format(id=big)] = response.status_code
        for template in STAFF_ID_FORMS:
            response = api.post(template.format(id=big), data={"csrf": "x"})
            if response.status_code >= 500:
                failures["POST " + template.format(id=big)] = response.status_code
    assert not failures


# --- item 7: phones typed without +7 / 8 ---------------------------------------------------


@pytest.mark.parametrize(
    "typed", ["701 555 01 23", "(707) 555-12-34", "747-123-45-67", "727 250 12 34"]
)
def test_a_phone_typed_without_its_prefix_is_masked(typed: str) -> None:
    from core.pii import mask_text

    text = f"Звоните мне: {typed}, после шести. Хабарласыңыз."
    assert mask_text(text, kinds={"PHONE"}) == "Звоните мне: [телефон], после шести. Хабарласыңыз."


@pytest.mark.parametrize(
    "number", ["Лицевой счёт 7012345678", "счётчик 701 555 0123", "дом 150/2, кв. 48, 12.01.2025"]
)
def test_numbers_that_are_not_phones_stay(number: str) -> None:
    from core.pii import find

    assert find(number) == []

"""Schemathesis over every operation of /openapi.json: no input makes a 5xx (issue 13).

Each operation is fuzzed anonymously and as an admin, with examples derived from the
schema (and its edge cases: huge integers, NUL characters, odd dates). Bounded and
deterministic so CI is not flaky: Hypothesis is derandomized (the same examples every run),
keeps no example database, and runs ``FUZZ_EXAMPLES`` examples per operation (default 8;
``CIVICDESK_FUZZ_EXAMPLES`` raises it for a longer hunt). The app runs on the test schema in
one transaction rolled back at the end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from core import db
from core.settings import Settings, override_settings
from tests.conftest import PASSWORD, TEST_SCHEMA, schema_url

pytestmark = pytest.mark.postgres

FUZZ_EXAMPLES = int(os.environ.get("CIVICDESK_FUZZ_EXAMPLES", "8"))


@pytest.fixture(scope="module")
def fuzz_app(pg_engine: Engine) -> Iterator[tuple[Any, dict[str, str]]]:
    """The app over one connection whose outer transaction is rolled back, and an admin."""
    from fastapi.testclient import TestClient

    from civicdesk.app import create_app
    from core.models import Role
    from core.security import create_staff_user
    from core.throttle import reset_login_throttles

    current = Settings(environment="test", database_url=schema_url(TEST_SCHEMA), redis_url=None)
    previous = db._engine, db._session_factory
    with override_settings(current), pg_engine.connect() as connection:
        outer = connection.begin()
        app = create_app(current)
        db._engine = pg_engine
        db._session_factory = sessionmaker(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        try:
            with db.transaction() as session:
                admin = create_staff_user(
                    session,
                    username="fuzz-admin",
                    full_name="Fuzz Admin",
                    role=Role.ADMIN,
                    password=PASSWORD,
                )
                username = admin.username
            reset_login_throttles()
            with TestClient(app) as client:
                token = client.post(
                    "/api/v1/auth/token", json={"username": username, "password": PASSWORD}
                ).json()["access_token"]
            yield app, {"Authorization": f"Bearer {token}"}
        finally:
            db._engine, db._session_factory = previous
            outer.rollback()


@pytest.fixture(scope="module")
def operations(fuzz_app: tuple[Any, dict[str, str]]) -> list[Any]:
    app, _ = fuzz_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


BOUNDED = settings(
    max_examples=FUZZ_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


def _fuzz(operations: list[Any], headers: dict[str, str] | None) -> None:
    """Every operation, its examples in a fixed order; every 5xx is collected, then reported."""
    from core.throttle import reset_login_throttles

    server_errors: list[str] = []
    calls = 0
    for operation in operations:

        @BOUNDED
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            nonlocal calls
            reset_login_throttles()  # the fuzzer's wrong passwords must not lock others out
            response = case.call(headers=headers)
            calls += 1
            if response.status_code >= 500:
                server_errors.append(
                    f"{case.method} {case.formatted_path} {case.query or ''} -> "
                    f"{response.status_code}: {response.text[:300]}"
                )

        run()
    assert calls >= len(operations)
    assert not server_errors, "\n".join(server_errors[:20])


def test_no_operation_answers_5xx_anonymously(operations: list[Any]) -> None:
    _fuzz(operations, None)


def test_no_operation_answers_5xx_to_an_admin(
    operations: list[Any], fuzz_app: tuple[Any, dict[str, str]]
) -> None:
    _fuzz(operations, fuzz_app[1])

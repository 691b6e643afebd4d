"""Test harness: real PostgreSQL (migrations applied) and real Redis.

The schema is built once per run by the Alembic migrations in a dedicated
PostgreSQL schema; each test runs inside one outer transaction on one
connection and is rolled back, while the code under test still commits
(those commits release savepoints). Under CI (CI=true) an unreachable
PostgreSQL or Redis fails the run instead of skipping.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session, sessionmaker

os.environ.setdefault("CIVICDESK_ENVIRONMENT", "test")

from core import db
from core.migrate import upgrade
from core.models import Role, StaffUser
from core.security import create_staff_user
from core.settings import Settings, override_settings

PG_ADMIN_URL = os.environ.get(
    "CIVICDESK_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("CIVICDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
TEST_SCHEMA = f"civicdesk_test_{os.getpid()}"
# The live server and headless-Chromium fixtures of the browser tests.
pytest_plugins = ("tests.browser_support",)
PASSWORD = "correct horse battery"


def schema_url(schema: str) -> str:
    separator = "&" if "?" in PG_ADMIN_URL else "?"
    return f"{PG_ADMIN_URL}{separator}options=-csearch_path%3D{schema}"


def _unavailable(what: str, error: Exception) -> None:
    message = f"{what} is not reachable ({error.__class__.__name__}: {error})"
    if IN_CI:
        pytest.fail(f"{message}; CI requires it", pytrace=False)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _fresh_login_throttle() -> None:
    """Each test starts with no failed sign-ins counted (core.throttle keeps them per process)."""
    from core.throttle import reset_login_throttles

    reset_login_throttles()


@pytest.fixture(scope="session")
def pg_engine() -> Iterator[Engine]:
    """A migrated PostgreSQL schema with the reference data loaded, dropped at the end."""
    admin = db.make_engine(PG_ADMIN_URL)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{TEST_SCHEMA}" CASCADE'))
            connection.execute(text(f'CREATE SCHEMA "{TEST_SCHEMA}"'))
    except Exception as error:
        admin.dispose()
        _unavailable("PostgreSQL", error)
    url = schema_url(TEST_SCHEMA)
    settings = Settings(environment="test", database_url=url, redis_url=None)
    with override_settings(settings):
        upgrade(url)
        engine = db.make_engine(url)
        db.configure(settings, engine=engine)
        from civicdesk.bootstrap import load_all_reference

        with db.transaction() as session:
            load_all_reference(session, settings)
        yield engine
        engine.dispose()
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{TEST_SCHEMA}" CASCADE'))
    admin.dispose()


@pytest.fixture
def scratch_schema(pg_engine: Engine) -> Iterator[str]:
    """The URL of an empty PostgreSQL schema of its own (for migrations and subprocesses)."""
    name = f"civicdesk_scratch_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = db.make_engine(PG_ADMIN_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{name}"'))
    try:
        yield schema_url(name)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


@pytest.fixture
def settings(pg_engine: Engine) -> Iterator[Settings]:
    current = Settings(environment="test", database_url=schema_url(TEST_SCHEMA), redis_url=None)
    with override_settings(current):
        yield current


@pytest.fixture
def connection(pg_engine: Engine, settings: Settings) -> Iterator[Connection]:
    """One connection in one outer transaction; everything the test did is rolled back."""
    with pg_engine.connect() as connection:
        outer = connection.begin()
        factory = sessionmaker(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        previous = db._session_factory, db._engine
        db._session_factory, db._engine = factory, pg_engine
        try:
            yield connection
        finally:
            db._session_factory, db._engine = previous
            outer.rollback()


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    with db.session_factory()() as session:
        yield session


@pytest.fixture
def redis_url() -> str:
    from redis import Redis

    try:
        Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as error:
        _unavailable("Redis", error)
    return REDIS_URL


@pytest.fixture
def rq_settings(settings: Settings, redis_url: str) -> Iterator[Settings]:
    """Jobs go through a real Redis queue of their own (removed afterwards)."""
    current = settings.model_copy(
        update={"redis_url": redis_url, "queue_name": f"civicdesk-test-{uuid.uuid4().hex[:8]}"}
    )
    with override_settings(current):
        yield current
    from core import jobs

    queue = jobs.queue(current)
    queue.empty()
    queue.delete(delete_jobs=True)


@pytest.fixture
def make_user(session: Session) -> Callable[..., tuple[StaffUser, str]]:
    from routing.service import organization_by_code

    def make(role: str | Role, organization_code: str | None = None) -> tuple[StaffUser, str]:
        organization_id = (
            organization_by_code(session, organization_code).id if organization_code else None
        )
        user = create_staff_user(
            session,
            username=f"{Role(role).value}-{uuid.uuid4().hex[:6]}",
            full_name="Test User",
            role=Role(role),
            password=PASSWORD,
            organization_id=organization_id,
        )
        session.commit()
        return user, PASSWORD

    return make


@pytest.fixture
def submit_appeal(session: Session) -> Callable[..., Any]:
    """Submit through intake.submit() and commit (jobs inline: the pipeline runs at commit)."""
    from appeals.models import Appeal, Channel
    from intake.schemas import CitizenContact, IncomingContact
    from intake.service import submit

    def do(
        text: str = "Во дворе дома на Самале третий день не вывозят мусор, контейнеры переполнены",
        **fields: Any,
    ) -> Appeal:
        fields.setdefault("channel", Channel.PORTAL)
        fields.setdefault("citizen", CitizenContact(phone="+77011234567", full_name="Асель"))
        result = submit(session, IncomingContact(text=text, **fields))
        session.commit()
        appeal = session.get(Appeal, result.appeal_id, populate_existing=True)
        assert appeal is not None
        return appeal

    return do


@pytest.fixture
def client(connection: Connection, settings: Settings) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from civicdesk.app import create_app

    app = create_app(settings)
    # create_app configures a fresh engine; point it back at the test's connection.
    db._session_factory = sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )
    with TestClient(app) as test_client:
        yield test_client


def login(client: Any, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def hidden_field(page: str, name: str) -> str:
    """The value of a form's hidden ``name`` field on an HTML page (CSRF tokens and the like)."""
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no hidden field {name!r} on the page"
    return html.unescape(match.group(1))


def staff_sign_in(client: Any, user: Any, password: str, *, next_path: str) -> None:
    """Sign in through the staff login form (cookie session), as a person does."""
    client.cookies.clear()
    page = client.get("/staff/login")
    response = client.post(
        "/staff/login",
        data={
            "username": user.username,
            "password": password,
            "login_csrf": hidden_field(page.text, "login_csrf"),
            "next": next_path,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def run_civicdesk(
    env: Mapping[str, str], *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``python -m civicdesk.cli ARGS`` as an operator runs it, configured by ``env`` alone
    (no ``CIVICDESK_`` variable of the test process leaks in); exit code 0 is asserted."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CIVICDESK_")}
    completed = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "civicdesk.cli", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed

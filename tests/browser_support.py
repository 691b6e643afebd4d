"""Browser tests: the app served by a real uvicorn on a loopback port, driven by headless
Chromium through chromedriver (selenium).

``tests/conftest.py`` registers this module as a plugin (its fixtures), so pytest loads it
before any test module imports its helpers and can rewrite its asserts::

    def test_page(browser, live):
        from tests.browser_support import sign_in, wait_for

- ``live_server`` (session): a freshly migrated PostgreSQL schema of its own with the
  reference data, and the app on ``http://127.0.0.1:<free port>`` in a thread. Data written
  through ``live.session()`` is committed for real (the browser reads it through the
  server), and the schema is dropped at the end of the run.
- ``live`` (function): the live server, with the process-wide database and settings pointed
  at its schema for the duration of the test (the server thread shares them), restored after.
- ``chrome_driver`` (session) and ``browser`` (function, cookies cleared): headless
  Chromium from ``/usr/bin/chromium`` and ``/usr/bin/chromedriver`` (override with
  ``CIVICDESK_CHROMIUM`` / ``CIVICDESK_CHROMEDRIVER``). Missing Chromium is a visible skip,
  and a failure under CI (``CI=true``).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from core import db
from core.models import Role, StaffUser
from core.settings import Settings, override_settings
from tests.conftest import IN_CI, PASSWORD, PG_ADMIN_URL, schema_url

CHROMIUM = os.environ.get("CIVICDESK_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CIVICDESK_CHROMEDRIVER", "/usr/bin/chromedriver")
CHROME_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
    "--window-size=1600,1000",
    "--lang=ru-RU",
)
WAIT_S = 10.0


def _unavailable(message: str) -> None:
    if IN_CI:
        pytest.fail(f"{message}; CI requires it", pytrace=False)
    pytest.skip(message)


@dataclass
class LiveServer:
    """The app on a real port, over a schema of its own."""

    url: str
    settings: Settings
    engine: Engine
    factory: sessionmaker[Session] = field(repr=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session on the live schema that commits when the block ends."""
        session = self.factory()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def make_user(
        self, role: Role | str, organization_code: str | None = None, *, full_name: str = ""
    ) -> tuple[StaffUser, str]:
        """A committed staff account (unique username) and its password."""
        from core.security import create_staff_user
        from routing.service import organization_by_code

        with self.session() as session:
            organization_id = (
                organization_by_code(session, organization_code).id if organization_code else None
            )
            user = create_staff_user(
                session,
                username=f"{Role(role).value}-{uuid.uuid4().hex[:6]}",
                full_name=full_name or f"Test {Role(role).value}",
                role=Role(role),
                password=PASSWORD,
                organization_id=organization_id,
            )
        return user, PASSWORD

    @contextmanager
    def active(self) -> Iterator[LiveServer]:
        """Point the process-wide database and settings at this server's schema meanwhile."""
        previous = db._engine, db._session_factory
        db._engine, db._session_factory = self.engine, self.factory
        try:
            with override_settings(self.settings):
                yield self
        finally:
            db._engine, db._session_factory = previous


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    import uvicorn

    from civicdesk.app import create_app
    from civicdesk.bootstrap import load_all_reference
    from core.migrate import upgrade

    schema = f"civicdesk_live_{os.getpid()}"
    admin = db.make_engine(PG_ADMIN_URL)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as error:
        admin.dispose()
        _unavailable(f"PostgreSQL is not reachable ({error.__class__.__name__}: {error})")
    url = schema_url(schema)
    # A short heartbeat: a console closed by the browser ends its stream (and the stream's
    # polls of the screen_pops table) within half a second, see ``browser``.
    settings = Settings(
        environment="test", database_url=url, redis_url=None, console_heartbeat_s=0.5
    )
    previous = db._engine, db._session_factory
    engine = db.make_engine(url)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    sock = _free_socket()
    server: uvicorn.Server | None = None
    thread: threading.Thread | None = None
    try:
        with override_settings(settings):
            upgrade(url)
            with factory() as session:
                load_all_reference(session, settings)
                session.commit()
            app = create_app(settings)  # configures the process-wide engine: undone below
            db._engine, db._session_factory = engine, factory
        host, port = sock.getsockname()
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="live-server", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + WAIT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the live server did not start")
            time.sleep(0.02)
        live = LiveServer(
            url=f"http://{host}:{port}", settings=settings, engine=engine, factory=factory
        )
        db._engine, db._session_factory = previous
        yield live
    finally:
        db._engine, db._session_factory = previous
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(WAIT_S)
        sock.close()
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def live(live_server: LiveServer) -> Iterator[LiveServer]:
    with live_server.active():
        yield live_server


@pytest.fixture(scope="session")
def chrome_driver() -> Iterator[Any]:
    """One headless Chromium for the run (starting one costs about a second)."""
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        _unavailable(f"Chromium or chromedriver is missing ({CHROMIUM}, {CHROMEDRIVER})")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in CHROME_ARGS:
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def browser(chrome_driver: Any, live: LiveServer) -> Iterator[Any]:
    """The browser with no cookies, on the live server (its database active)."""
    chrome_driver.get(f"{live.url}/healthz")
    chrome_driver.delete_all_cookies()
    yield chrome_driver
    chrome_driver.delete_all_cookies()
    _close_console_streams(chrome_driver)


def _close_console_streams(driver: Any) -> None:
    """Leave the page, and wait until the server has ended every console stream. An open
    stream polls the screen_pops table through the process-wide database every 0.3 s; left
    running, it would reach the single connection of whichever test runs next."""
    from channels.telephony.screen_pop import _memory_bus

    driver.get("about:blank")
    deadline = time.monotonic() + WAIT_S
    while _memory_bus.total_subscribers() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _memory_bus.total_subscribers() == 0, "a console stream outlived its test"


def wait_for(driver: Any, condition: Callable[[Any], Any], timeout: float = WAIT_S) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def sign_in(driver: Any, live: LiveServer, username: str, password: str, next_path: str) -> None:
    """Sign in through the login form, as a person does, and land on ``next_path``."""
    from selenium.webdriver.common.by import By

    driver.get(f"{live.url}/staff/login?next={next_path}")
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for(driver, lambda d: "/staff/login" not in d.current_url)

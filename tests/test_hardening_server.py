"""The server as the internet meets it (issue 13, items 4, 6 and 8): a real uvicorn with the
options ``civicdesk serve`` uses, spoken to over raw sockets.

Bodies past the limit are refused from Content-Length before they are read; a body that
never comes, or a request head that never ends, does not hold a connection; an unexpected
error answers the envelope and the keep-alive connection goes on; no ``server`` header;
tracking numbers never reach the access log; bot drafts in Redis are not keyed by phone.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn

from core import db
from core.settings import Settings, override_settings

pytestmark = pytest.mark.postgres


@dataclass
class Server:
    host: str
    port: int
    app: Any


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(settings: Settings) -> Iterator[Server]:
    from civicdesk.app import create_app
    from civicdesk.server import uvicorn_options

    tight = settings.model_copy(
        update={
            "http_max_body_bytes": 64 * 1024,
            "http_body_timeout_s": 1.0,
            "http_header_timeout_s": 1.0,
        }
    )
    previous = db._engine, db._session_factory
    with override_settings(tight):
        app = create_app(tight)

        @app.get("/api/v1/test-boom")
        def boom() -> None:
            raise RuntimeError("a bug")

        port = _free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="info", lifespan="off", **uvicorn_options()
        )
        instance = uvicorn.Server(config)
        thread = threading.Thread(target=instance.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not instance.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        try:
            yield Server("127.0.0.1", port, app)
        finally:
            instance.should_exit = True
            thread.join(timeout=10)
            if db._engine is not None and db._engine is not previous[0]:
                db._engine.dispose()
            db._engine, db._session_factory = previous


def _raw(server: Server, data: bytes, *, read_for_s: float = 5.0) -> tuple[bytes, float]:
    """Send ``data``; return what came back until the server closed or ``read_for_s``."""
    started = time.monotonic()
    with socket.create_connection((server.host, server.port), timeout=read_for_s) as sock:
        sock.sendall(data)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            pass
    return received, time.monotonic() - started


def test_a_declared_50_mb_body_is_refused_before_it_is_sent(server: Server) -> None:
    head = (
        b"POST /api/v1/portal/appeals HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nContent-Length: 52428800\r\n\r\n"
    )
    received, took = _raw(server, head, read_for_s=10)
    assert received.startswith(b"HTTP/1.1 413"), received[:200]
    assert b'"request_too_large"' in received
    assert took < 5  # answered at once, not after reading (or waiting for) 50 MB


def test_a_chunked_body_past_the_limit_is_cut_off(server: Server) -> None:
    chunk = b"x" * 32 * 1024
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(4)) + b"0\r\n\r\n"
    head = (
        b"POST /api/v1/portal/appeals HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    received, _ = _raw(server, head + body)
    assert received.startswith(b"HTTP/1.1 413"), received[:200]


def test_a_body_that_never_arrives_is_a_408_not_a_held_connection(server: Server) -> None:
    head = (
        b"POST /api/v1/portal/appeals HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
    )
    received, took = _raw(server, head, read_for_s=10)
    assert received.startswith(b"HTTP/1.1 408"), received[:200]
    assert took < 8  # the 1 s body timeout, plus a loaded machine's slack


def test_a_request_head_that_never_ends_is_closed(server: Server) -> None:
    received, took = _raw(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: a", read_for_s=10)
    assert received == b""  # closed without an answer: nothing to answer yet
    assert took < 8


def test_an_unexpected_error_keeps_the_keep_alive_connection(server: Server) -> None:
    connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
    connection.request("GET", "/api/v1/test-boom")
    failed = connection.getresponse()
    body = json.loads(failed.read())
    assert failed.status == 500 and body["error"]["code"] == "internal_error"
    connection.request("GET", "/openapi.json")  # the same connection, not reset
    after = connection.getresponse()
    assert after.status == 200
    after.read()
    connection.close()


def test_no_server_header_and_no_store_on_json(server: Server) -> None:
    connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
    connection.request("GET", "/openapi.json")
    response = connection.getresponse()
    response.read()
    assert response.getheader("server") is None
    assert response.getheader("cache-control") == "no-store"
    assert response.getheader("x-content-type-options") == "nosniff"
    connection.close()


def test_tracking_numbers_never_reach_the_access_log(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    number = "2611-7KQ3M9XA"
    caplog.set_level(logging.INFO, logger="uvicorn.access")
    connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
    for path in (
        f"/api/v1/appeals/track/{number}",
        f"/api/v1/portal/appeals/{number.lower()}/attachments",
        f"/track?number={number}",
        f"/appeals/{number}?lang=kk",
    ):
        connection.request("GET", path)
        connection.getresponse().read()
    connection.close()
    lines = [record.getMessage() for record in caplog.records if record.name == "uvicorn.access"]
    assert len(lines) == 4, lines
    assert not any(number in line or number.lower() in line for line in lines), lines
    assert any("/api/v1/appeals/track/***" in line for line in lines)


@pytest.mark.redis
def test_bot_drafts_in_redis_are_not_keyed_by_the_phone(redis_url: str) -> None:
    from redis import Redis

    from channels.bot_state import RedisStateStore

    prefix = f"civicdesk-test-{time.monotonic_ns()}"
    store = RedisStateStore(redis_url, ttl_s=60, prefix=prefix, secret="s" * 32)
    key = "whatsapp:+77015550123"
    with store.lock(key):
        store.put(key, {"text": ["Яма во дворе"]})
    assert store.get(key) == {"text": ["Яма во дворе"]}
    connection = Redis.from_url(redis_url)
    names = [name.decode() for name in connection.scan_iter(f"{prefix}*")]
    try:
        assert names and not any("77015550123" in name for name in names), names
        other = RedisStateStore(redis_url, ttl_s=60, prefix=prefix, secret="t" * 32)
        assert other.get(key) is None  # another deployment's key: nothing to read
    finally:
        for name in names:
            connection.delete(name)

"""Password guessing is throttled per account and per client address (issue 13, item 1).

Wrong passwords past the free ones close the account (or the address) for a doubling wait:
429 with Retry-After on the API, a page saying when to retry on the staff form, in both
languages; the wrong password is never checked during the wait and never logged. The lock
ends by itself (no permanent lockout), and the same holds across processes with Redis.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.settings import Settings, override_settings
from core.throttle import LoginThrottle, MemoryStore, Policy, RedisStore
from tests.conftest import PASSWORD, hidden_field

pytestmark = pytest.mark.postgres
WRONG = "not-the-password"


def _token(client: TestClient, username: str, password: str) -> Any:
    return client.post("/api/v1/auth/token", json={"username": username, "password": password})


def test_policy_doubles_after_the_free_failures_and_is_capped() -> None:
    policy = Policy(free_failures=5, base_s=1, max_s=900, window_s=3600)
    assert [policy.lock_for(n) for n in range(1, 10)] == [0, 0, 0, 0, 1, 2, 4, 8, 16]
    assert policy.lock_for(60) == 900


def test_api_answers_429_with_retry_after_after_five_wrong_passwords(
    client: TestClient, make_user: Any, caplog: pytest.LogCaptureFixture
) -> None:
    user, _ = make_user("admin")
    caplog.set_level(logging.INFO, logger="civicdesk.security")
    statuses = [_token(client, user.username, WRONG).status_code for _ in range(5)]
    assert statuses == [401] * 5
    throttled = _token(client, user.username, PASSWORD)  # even the right one must wait
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "too_many_attempts"
    assert 1 <= int(throttled.headers["Retry-After"]) <= 2
    assert WRONG not in caplog.text and PASSWORD not in caplog.text
    assert f"login failed: account={user.username}" in caplog.text
    assert "login throttled" in caplog.text


def test_the_wait_doubles_and_ends_by_itself(
    client: TestClient, make_user: Any, settings: Settings
) -> None:
    user, _ = make_user("admin")
    for _ in range(5):
        _token(client, user.username, WRONG)
    assert _token(client, user.username, WRONG).status_code == 429
    time.sleep(1.1)  # the first wait is 1 s
    assert _token(client, user.username, WRONG).status_code == 401  # the 6th failure: 2 s
    waited = _token(client, user.username, WRONG)
    assert waited.status_code == 429 and int(waited.headers["Retry-After"]) == 2
    time.sleep(2.1)
    assert _token(client, user.username, PASSWORD).status_code == 200  # never locked for good
    # A success forgets the account's failures: the next wrong password is free again.
    assert _token(client, user.username, WRONG).status_code == 401
    assert _token(client, user.username, PASSWORD).status_code == 200


def test_unknown_accounts_are_throttled_alike(client: TestClient) -> None:
    statuses = [_token(client, "nobody-here", WRONG).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]  # nothing tells an unknown account from a known one


def test_one_address_guessing_many_accounts_is_throttled(
    client: TestClient, settings: Settings
) -> None:
    strict = settings.model_copy(update={"login_address_free_failures": 3})
    with override_settings(strict):
        statuses = [_token(client, f"user-{n}", WRONG).status_code for n in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_the_staff_form_says_when_to_retry_in_russian_and_kazakh(
    client: TestClient, make_user: Any
) -> None:
    user, _ = make_user("inspector")
    for language, expected in (("ru", "Повторите через"), ("kk", "кейін қайталап көріңіз")):
        client.cookies.clear()
        response = None
        for _ in range(6):
            page = client.get(f"/staff/login?lang={language}")
            response = client.post(
                "/staff/login",
                data={
                    "username": user.username,
                    "password": WRONG,
                    "login_csrf": hidden_field(page.text, "login_csrf"),
                    "lang": language,
                },
                follow_redirects=False,
            )
            if response.status_code == 429:
                break
        assert response is not None and response.status_code == 429
        assert response.headers["Retry-After"]
        assert expected in response.text


@pytest.mark.redis
def test_redis_store_shares_the_count_between_processes(redis_url: str) -> None:
    import uuid

    prefix = f"civicdesk-test-{uuid.uuid4().hex[:8]}:login"
    policy = Policy(free_failures=2, base_s=1, max_s=4, window_s=60)
    first, second = RedisStore(redis_url, prefix), RedisStore(redis_url, prefix)
    try:
        assert first.fail("account:x", policy) == (1, 0)
        assert second.fail("account:x", policy) == (2, 1)  # another process, the same count
        assert 0 < first.locked_for("account:x") <= 1
        assert second.fail("account:x", policy) == (3, 2)
        second.clear("account:x")
        assert first.locked_for("account:x") == 0
    finally:
        first._redis.delete(f"{prefix}:account:x:failures", f"{prefix}:account:x:locked")


def test_a_store_outage_lets_staff_sign_in(caplog: pytest.LogCaptureFixture) -> None:
    class Down(MemoryStore):
        def locked_for(self, key: str) -> float:
            raise ConnectionError("redis is down")

    throttle = LoginThrottle(Settings(environment="test"), Down())
    assert throttle.retry_after("admin", "10.0.0.1") == 0
    assert "not throttling" in caplog.text

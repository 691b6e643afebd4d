"""The JSON API as clients use it: submit, track, staff scoping, actions, and clear 4xx errors."""

from __future__ import annotations

from typing import Any

from tests.conftest import login

WATER = "На улице Жандосова прорвало трубу водопровода, вода течёт по дороге уже сутки"
SNOW_MEDEU = "Во дворе на Самале не чистят снег третий день, сугробы и наледь у подъезда"


def file(client: Any, text: str = WATER, **extra: Any) -> dict[str, Any]:
    body = {
        "text": text,
        "citizen": {"full_name": "Асель Нурланова", "phone": "+7 701 765 43 21"},
        **extra,
    }
    response = client.post("/api/v1/appeals", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_submit_and_track_without_personal_data(client: Any) -> None:
    receipt = file(client)
    tracked = client.get(receipt["status_url"], params={"lang": "kk"})
    assert tracked.status_code == 200
    view = tracked.json()
    assert view["status"] == "assigned"
    assert view["status_label"] == "Орындаушыға жіберілді"
    assert view["organization"]
    assert view["answer"] is None
    dumped = tracked.text
    assert "765" not in dumped and "Асель" not in dumped and "Жандосова" not in dumped


def test_idempotency_key_header_makes_retries_harmless(client: Any) -> None:
    body = {"text": WATER, "citizen": {"phone": "87017654321"}}
    first = client.post("/api/v1/appeals", json=body, headers={"Idempotency-Key": "app-7f3c"})
    second = client.post("/api/v1/appeals", json=body, headers={"Idempotency-Key": "app-7f3c"})
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["tracking_number"] == second.json()["tracking_number"]
    assert second.json()["created"] is False


def test_bad_requests_get_4xx_with_a_reason(client: Any) -> None:
    malformed = client.post(
        "/api/v1/appeals", content=b'{"text": "oops', headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code == 422
    assert malformed.json()["error"]["code"] == "malformed_json"
    short = client.post("/api/v1/appeals", json={"text": "яма"})
    assert (short.status_code, short.json()["error"]["code"]) == (422, "text_too_short")
    language = client.post("/api/v1/appeals", json={"text": WATER, "language": "en"})
    assert language.status_code == 422
    assert language.json()["error"]["details"][0]["field"] == "language"
    phone = client.post(
        "/api/v1/appeals", json={"text": WATER, "citizen": {"phone": "not a phone"}}
    )
    assert (phone.status_code, phone.json()["error"]["code"]) == (422, "invalid_phone")
    unknown = client.post("/api/v1/appeals", json={"text": WATER, "category_code": "x.y"})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (422, "unknown_category")
    extra = client.post("/api/v1/appeals", json={"text": WATER, "status": "closed"})
    assert extra.status_code == 422
    missing = client.get("/api/v1/appeals/track/2611-NOSUCH22")
    assert (missing.status_code, missing.json()["error"]["code"]) == (
        404,
        "tracking_number_not_found",
    )


def test_staff_endpoints_need_a_token(client: Any) -> None:
    assert client.get("/api/v1/appeals").status_code == 401
    bad = client.get("/api/v1/appeals", headers={"Authorization": "Bearer forged"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (401, "bad_token")
    wrong = client.post("/api/v1/auth/token", json={"username": "nobody", "password": "whatever1"})
    assert wrong.status_code == 401


def test_executor_sees_and_changes_only_their_organization(client: Any, make_user: Any) -> None:
    water = file(client)
    snow = file(client, SNOW_MEDEU)
    su, _ = make_user("executor", "almaty-su")
    medeu, _ = make_user("executor", "akimat-medeu")
    su_headers = login(client, su.username)
    listed = client.get("/api/v1/appeals", headers=su_headers)
    numbers = {item["tracking_number"] for item in listed.json()}
    assert water["tracking_number"] in numbers and snow["tracking_number"] not in numbers
    assert all(item["organization_id"] == su.organization_id for item in listed.json())
    # Phones are masked for executors.
    assert all("***" in (item["citizen_phone"] or "***") for item in listed.json())

    medeu_headers = login(client, medeu.username)
    medeu_items = client.get("/api/v1/appeals", headers=medeu_headers).json()
    snow_id = next(
        item["id"] for item in medeu_items if item["tracking_number"] == snow["tracking_number"]
    )
    assert client.get(f"/api/v1/appeals/{snow_id}", headers=su_headers).status_code == 404
    refused = client.post(f"/api/v1/appeals/{snow_id}/actions/accept", json={}, headers=su_headers)
    assert refused.status_code == 404
    other_org = client.get(
        "/api/v1/appeals", params={"organization": "akimat-medeu"}, headers=su_headers
    )
    assert other_org.status_code == 403

    accepted = client.post(
        f"/api/v1/appeals/{snow_id}/actions/accept", json={}, headers=medeu_headers
    )
    assert accepted.status_code == 200 and accepted.json()["status"] == "in_progress"
    again = client.post(f"/api/v1/appeals/{snow_id}/actions/accept", json={}, headers=medeu_headers)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "invalid_transition")


def test_answer_becomes_public_only_after_the_inspector_closes(client: Any, make_user: Any) -> None:
    receipt = file(client)
    su, _ = make_user("executor", "almaty-su")
    inspector, _ = make_user("inspector")
    su_headers, insp_headers = login(client, su.username), login(client, inspector.username)
    appeal_id = next(
        item["id"]
        for item in client.get("/api/v1/appeals", headers=su_headers).json()
        if item["tracking_number"] == receipt["tracking_number"]
    )
    client.post(f"/api/v1/appeals/{appeal_id}/actions/accept", json={}, headers=su_headers)
    answer = "Аварийная бригада заменила участок трубы, водоснабжение восстановлено."
    answered = client.post(
        f"/api/v1/appeals/{appeal_id}/actions/answer", json={"text": answer}, headers=su_headers
    )
    assert answered.status_code == 200
    assert client.get(receipt["status_url"]).json()["answer"] is None
    # The generic action path no longer closes: the review is the one way (it records it).
    for action, body in (("close", {}), ("return", {"reason": "formal"})):
        bypass = client.post(
            f"/api/v1/appeals/{appeal_id}/actions/{action}", json=body, headers=insp_headers
        )
        assert (bypass.status_code, bypass.json()["error"]["code"]) == (422, "use_review")
    assert client.get(receipt["status_url"]).json()["answer"] is None
    reviewed = client.post(
        f"/api/v1/sla/appeals/{appeal_id}/review",
        json={"outcome": "accepted"},
        headers=insp_headers,
    )
    assert reviewed.json()["status"] == "closed"
    public = client.get(receipt["status_url"]).json()
    assert public["answer"] == answer and public["status"] == "closed"
    closed = client.get(f"/api/v1/appeals/{appeal_id}", headers=insp_headers)
    history = [(h["from_status"], h["to_status"]) for h in closed.json()["history"]]
    assert history[-3:] == [
        ("assigned", "in_progress"),
        ("in_progress", "answered"),
        ("answered", "closed"),
    ]


def test_reference_endpoints_and_openapi(client: Any) -> None:
    districts = client.get("/api/v1/reference/districts", params={"lang": "kk"}).json()
    assert len(districts) == 8
    assert len(client.get("/api/v1/reference/organizations").json()) >= 50
    assert len(client.get("/api/v1/reference/categories").json()) >= 80
    spec = client.get("/openapi.json").json()
    assert "/api/v1/appeals" in spec["paths"]
    assert client.get("/healthz").json()["status"] == "ok"


def test_unknown_paths_answer_people_with_a_page_and_clients_with_json(client: Any) -> None:
    page = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Бет табылмады" in page.text and "Страница не найдена" in page.text
    api = client.get("/api/v1/no-such-endpoint", headers={"Accept": "text/html"})
    assert api.status_code == 404
    assert api.json()["error"]["code"] == "not_found"


def test_the_api_ignores_the_staff_page_cookie(client: Any, make_user: Any) -> None:
    """Cookies are for the pages, whose forms carry CSRF tokens; the API wants a bearer token."""
    user, _ = make_user("inspector")
    token = login(client, user.username)["Authorization"].removeprefix("Bearer ")
    client.cookies.set("civicdesk_session", token)
    assert client.get("/api/v1/appeals").status_code == 401
    assert (
        client.get("/api/v1/appeals", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )

"""The portal / mobile-app JSON API: file, follow, rate, attach, list mine."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals import access, actions
from appeals.models import Appeal
from channels import attachments
from channels.portal_models import Attachment
from core.models import Role
from core.settings import Settings, override_settings
from tests.conftest import login

WATER_LEAK = "На улице Жандосова прорвало трубу водопровода, вода течёт по дороге уже сутки"
ANSWER = "Бригада «Алматы Су» устранила утечку, покрытие восстановлено."
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
PDF = b"%PDF-1.7\n" + b"0" * 100
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00" + b"\x00" * 50


@pytest.fixture
def storage(settings: Settings, tmp_path: Path) -> Any:
    current = settings.model_copy(
        update={"attachments_dir": tmp_path / "files", "attachment_max_bytes": 4096}
    )
    with override_settings(current):
        yield current


def file_one(client: Any, **headers: str) -> dict[str, Any]:
    response = client.post(
        "/api/v1/portal/appeals",
        json={
            "channel": "mobile",
            "text": WATER_LEAK,
            "language": "kk",
            "citizen": {"full_name": "Асель", "phone": "+7 701 765 43 21"},
        },
        headers=headers,
    )
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def test_file_an_appeal_idempotently_and_follow_it(client: Any) -> None:
    key = str(uuid.uuid4())
    first = file_one(client, **{"Idempotency-Key": key})
    assert first["created"] is True
    assert first["citizen_token"].startswith("ct1.")
    again = client.post(
        "/api/v1/portal/appeals",
        json={"channel": "mobile", "text": WATER_LEAK},
        headers={"Idempotency-Key": key},
    )
    assert again.status_code == 200
    assert again.json()["tracking_number"] == first["tracking_number"]
    assert again.json()["created"] is False

    status = client.get(first["status_url"], params={"lang": "kk"})
    assert status.status_code == 200
    view = status.json()
    assert view["tracking_number"] == first["tracking_number"]
    assert view["status"] == "assigned"
    assert view["status_label"] == "Орындаушыға жіберілді"
    assert view["can_rate"] is False and view["answer"] is None
    # No personal data in the public view.
    assert "+77017654321" not in status.text and "Асель" not in status.text
    assert WATER_LEAK not in status.text


def test_a_short_idempotency_key_without_a_token_is_refused(client: Any) -> None:
    response = client.post(
        "/api/v1/portal/appeals",
        json={"text": WATER_LEAK},
        headers={"Idempotency-Key": "1"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "weak_idempotency_key"


def test_idempotency_keys_are_scoped_to_the_citizen_token(client: Any) -> None:
    one = file_one(client)
    two = file_one(client)
    key = {"Idempotency-Key": "same-key"}
    first = file_one(client, **key, **{"X-Citizen-Token": one["citizen_token"]})
    second = file_one(client, **key, **{"X-Citizen-Token": two["citizen_token"]})
    assert first["tracking_number"] != second["tracking_number"]
    repeated = file_one(client, **key, **{"X-Citizen-Token": one["citizen_token"]})
    assert repeated["tracking_number"] == first["tracking_number"]


def test_my_appeals_lists_what_this_token_filed_and_nothing_else(client: Any) -> None:
    mine = file_one(client)
    token = {"X-Citizen-Token": mine["citizen_token"]}
    second = file_one(client, **token)
    assert second["citizen_token"] == mine["citizen_token"]
    stranger = file_one(client)  # the same phone number, another app
    listed = client.get("/api/v1/portal/my/appeals", headers=token)
    assert listed.status_code == 200
    numbers = {item["tracking_number"] for item in listed.json()}
    assert numbers == {mine["tracking_number"], second["tracking_number"]}
    assert stranger["tracking_number"] not in numbers

    forged = mine["citizen_token"][:-4] + "AAAA"
    refused = client.get("/api/v1/portal/my/appeals", headers={"X-Citizen-Token": forged})
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "bad_citizen_token"
    missing = client.get("/api/v1/portal/my/appeals")
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "citizen_token_required"


def proof(receipt: dict[str, Any]) -> dict[str, str]:
    """The header that shows the caller filed this appeal."""
    return {"X-Citizen-Token": str(receipt["citizen_token"])}


def test_rate_the_answer_through_the_api(client: Any, session: Session, make_user: Any) -> None:
    receipt = file_one(client)
    early = client.post(
        f"/api/v1/portal/appeals/{receipt['tracking_number']}/rating",
        json={"score": 5},
        headers=proof(receipt),
    )
    assert early.status_code == 409
    assert early.json()["error"]["code"] == "not_answered"

    appeal = access.get_by_tracking_number(session, receipt["tracking_number"])
    admin, _ = make_user(Role.ADMIN)
    actions.quick_answer(session, appeal, user=admin, text=ANSWER)
    session.commit()
    view = client.get(receipt["status_url"]).json()
    assert view["answer"] == ANSWER and view["can_rate"] is True and view["rating"] is None

    rated = client.post(
        f"/api/v1/portal/appeals/{receipt['tracking_number']}/rating",
        json={"score": 4, "comment": "Быстро"},
        headers=proof(receipt),
    )
    assert rated.status_code == 200, rated.text
    assert rated.json()["rating"]["score"] == 4
    bad = client.post(
        f"/api/v1/portal/appeals/{receipt['tracking_number']}/rating",
        json={"score": 9},
        headers=proof(receipt),
    )
    assert bad.status_code == 422
    unknown = client.post("/api/v1/portal/appeals/2611-ZZZZZZZZ/rating", json={"score": 3})
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    ("content", "content_type"),
    [(JPEG, "image/jpeg"), (PNG, "image/png"), (PDF, "application/pdf"), (HEIC, "image/heic")],
)
def test_upload_an_attachment(
    client: Any, session: Session, storage: Settings, content: bytes, content_type: str
) -> None:
    receipt = file_one(client)
    url = f"/api/v1/portal/appeals/{receipt['tracking_number']}/attachments"
    # The client's name and type are not trusted: a path in the name goes nowhere.
    response = client.post(
        url,
        files={"file": ("../../etc/passwd", content, "application/octet-stream")},
        headers=proof(receipt),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["content_type"] == content_type
    assert body["size_bytes"] == len(content)
    assert body["name"] == "passwd"
    stored = attachments.path_for(body["sha256"])
    assert stored.read_bytes() == content
    assert stored.is_relative_to(storage.attachments_dir)
    # A retried upload is the same attachment.
    again = client.post(
        url, files={"file": ("photo", content, content_type)}, headers=proof(receipt)
    )
    assert again.status_code == 201 and again.json()["id"] == body["id"]
    listed = client.get(url).json()
    assert [item["id"] for item in listed] == [body["id"]]


def test_attachment_limits(client: Any, storage: Settings) -> None:
    receipt = file_one(client)
    url = f"/api/v1/portal/appeals/{receipt['tracking_number']}/attachments"
    mine = proof(receipt)
    too_big = client.post(
        url, files={"file": ("a.jpg", JPEG + b"0" * 5000, "image/jpeg")}, headers=mine
    )
    assert too_big.status_code == 413
    assert too_big.json()["error"]["code"] == "file_too_large"
    exe = client.post(
        url, files={"file": ("a.jpg", b"MZ\x90\x00" + b"0" * 50, "image/jpeg")}, headers=mine
    )
    assert exe.status_code == 415
    assert exe.json()["error"]["code"] == "unsupported_file_type"
    empty = client.post(url, files={"file": ("a.jpg", b"", "image/jpeg")}, headers=mine)
    assert empty.status_code == 422
    for index in range(storage.attachments_per_appeal):
        ok = client.post(
            url, files={"file": ("p.png", PNG + bytes([index]), "image/png")}, headers=mine
        )
        assert ok.status_code == 201
    full = client.post(url, files={"file": ("p.png", PNG + b"extra", "image/png")}, headers=mine)
    assert full.status_code == 409
    assert full.json()["error"]["code"] == "too_many_attachments"
    assert not list(Path(storage.attachments_dir).rglob(".upload-*"))


def test_no_attachments_after_the_answer(
    client: Any, session: Session, storage: Settings, make_user: Any
) -> None:
    receipt = file_one(client)
    appeal = access.get_by_tracking_number(session, receipt["tracking_number"])
    admin, _ = make_user(Role.ADMIN)
    actions.quick_answer(session, appeal, user=admin, text=ANSWER)
    session.commit()
    response = client.post(
        f"/api/v1/portal/appeals/{receipt['tracking_number']}/attachments",
        files={"file": ("a.png", PNG, "image/png")},
        headers=proof(receipt),
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "appeal_not_open"


def test_staff_download_respects_the_organization(
    client: Any, session: Session, storage: Settings, make_user: Any
) -> None:
    receipt = file_one(client)
    uploaded = client.post(
        f"/api/v1/portal/appeals/{receipt['tracking_number']}/attachments",
        files={"file": ("a.png", PNG, "image/png")},
        headers=proof(receipt),
    ).json()
    appeal = session.scalar(
        select(Appeal).where(Appeal.tracking_number == receipt["tracking_number"])
    )
    assert appeal is not None and appeal.organization_id is not None
    from routing.models import Organization

    own = session.get(Organization, appeal.organization_id)
    other = session.scalar(select(Organization).where(Organization.id != appeal.organization_id))
    assert own is not None and other is not None
    url = f"/api/v1/appeals/{appeal.id}/attachments/{uploaded['id']}/content"
    assert client.get(url).status_code == 401
    executor, _ = make_user(Role.EXECUTOR, own.code)
    response = client.get(url, headers=login(client, executor.username))
    assert response.status_code == 200
    assert response.content == PNG
    assert response.headers["content-type"] == "image/png"
    assert "passwd" not in response.headers.get("content-disposition", "")
    stranger, _ = make_user(Role.EXECUTOR, other.code)
    assert client.get(url, headers=login(client, stranger.username)).status_code == 404
    assert session.scalar(select(Attachment.appeal_id).where(Attachment.id == uploaded["id"]))


def test_only_the_citizen_who_filed_may_attach_or_rate(
    client: Any, session: Session, storage: Settings, make_user: Any
) -> None:
    key = str(uuid.uuid4())
    receipt = file_one(client, **{"Idempotency-Key": key})
    stranger = file_one(client)  # another app: its own token
    tracking = receipt["tracking_number"]
    url = f"/api/v1/portal/appeals/{tracking}/attachments"
    photo = {"file": ("a.png", PNG, "image/png")}
    anonymous = client.post(url, files=photo)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "citizen_proof_required"
    foreign = client.post(url, files=photo, headers=proof(stranger))
    assert foreign.status_code == 403
    assert foreign.json()["error"]["code"] == "not_citizens_appeal"
    guessed = client.post(url, files=photo, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert guessed.status_code == 403
    assert client.get(url).json() == []  # nothing was attached
    # The key the appeal was filed with is proof too (an app that kept no token).
    by_key = client.post(url, files=photo, headers={"Idempotency-Key": key})
    assert by_key.status_code == 201, by_key.text

    appeal = access.get_by_tracking_number(session, tracking)
    admin, _ = make_user(Role.ADMIN)
    actions.quick_answer(session, appeal, user=admin, text=ANSWER)
    session.commit()
    rating_url = f"/api/v1/portal/appeals/{tracking}/rating"
    assert client.post(rating_url, json={"score": 1}).status_code == 401
    refused = client.post(rating_url, json={"score": 1}, headers=proof(stranger))
    assert refused.status_code == 403
    assert client.get(receipt["status_url"]).json()["rating"] is None
    rated = client.post(rating_url, json={"score": 5}, headers=proof(receipt))
    assert rated.status_code == 200 and rated.json()["rating"]["score"] == 5


def test_an_oversized_upload_is_refused_before_it_is_read(client: Any, storage: Settings) -> None:
    receipt = file_one(client)
    url = f"/api/v1/portal/appeals/{receipt['tracking_number']}/attachments"
    huge = JPEG + b"0" * (storage.attachment_max_bytes + 64 * 1024)
    response = client.post(
        url, files={"file": ("a.jpg", huge, "image/jpeg")}, headers=proof(receipt)
    )
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "request_too_large"
    assert str(storage.attachment_max_bytes) in error["message"]

    def chunks() -> Any:
        yield b"--x\r\n"

    unsized = client.post(
        url,
        content=chunks(),
        headers={**proof(receipt), "Content-Type": "multipart/form-data; boundary=x"},
    )
    assert unsized.status_code == 411
    assert unsized.json()["error"]["code"] == "length_required"
    assert not list(Path(storage.attachments_dir).rglob("*"))

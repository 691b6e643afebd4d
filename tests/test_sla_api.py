"""The SLA API as the Situation Center and organizations' systems use it: pause/resume,
extension requests and decisions, the review queue and verdicts, the inbox, return counts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals.models import Appeal
from core.clock import now
from routing.models import Organization
from sla.service import deadline_policy
from tests.conftest import login

WATER = "На улице Жандосова прорвало трубу водопровода, вода течёт по дороге уже сутки"


def test_sla_api_end_to_end(client: Any, session: Session, make_user: Any) -> None:
    body = {"text": WATER, "citizen": {"full_name": "Асель", "phone": "+7 701 765 43 21"}}
    receipt = client.post("/api/v1/appeals", json=body)
    assert receipt.status_code == 201, receipt.text
    appeal = session.scalar(
        select(Appeal).where(Appeal.tracking_number == receipt.json()["tracking_number"])
    )
    assert appeal is not None and appeal.organization_id is not None and appeal.due_at
    org = session.get(Organization, appeal.organization_id)
    assert org is not None
    other = session.scalar(select(Organization.code).where(Organization.id != org.id).limit(1))
    executor = login(client, make_user("executor", org.code)[0].username)
    stranger = login(client, make_user("executor", other)[0].username)
    inspector = login(client, make_user("inspector")[0].username)
    operator = login(client, make_user("operator")[0].username)
    base = f"/api/v1/sla/appeals/{appeal.id}"

    # The clock: an executor of another organization learns nothing.
    clock = client.get(f"{base}/clock", headers=executor)
    assert clock.status_code == 200
    assert clock.json()["target_due_at"] is not None and clock.json()["overdue"] is False
    assert client.get(f"{base}/clock", headers=stranger).status_code == 404
    assert client.get(f"{base}/clock").status_code == 401
    assert client.get(f"{base}/clock", headers=operator).status_code == 200

    paused = client.post(
        f"{base}/pause",
        json={"reason_code": "citizen_clarification", "comment": "house number?"},
        headers=executor,
    )
    assert paused.status_code == 200, paused.text
    assert paused.json()["paused_at"] is not None
    again = client.post(f"{base}/pause", json={"reason_code": "other"}, headers=executor)
    assert (again.status_code, again.json()["error"]["code"]) == (422, "reason_required")
    resumed = client.post(f"{base}/resume", headers=executor)
    assert resumed.status_code == 200
    assert resumed.json()["paused_at"] is None
    assert [p["reason_code"] for p in resumed.json()["pauses"]] == ["citizen_clarification"]
    due = resumed.json()["due_at"]

    # Extension: the executor asks, cannot approve; the inspector approves.
    accepted = client.post(f"/api/v1/appeals/{appeal.id}/actions/accept", json={}, headers=executor)
    assert accepted.status_code == 200, accepted.text
    until = (appeal.due_at + timedelta(days=7)).isoformat()
    missing = client.post(f"{base}/extension-requests", json={"until": until}, headers=executor)
    assert missing.status_code == 422
    naive = client.post(
        f"{base}/extension-requests",
        json={"until": "2030-01-01T18:00:00", "reason": "expertise"},
        headers=executor,
    )
    assert naive.status_code == 422
    requested = client.post(
        f"{base}/extension-requests", json={"until": until, "reason": "expertise"}, headers=executor
    )
    assert requested.status_code == 201, requested.text
    request_id = requested.json()["id"]
    denied = client.post(
        f"/api/v1/sla/extension-requests/{request_id}/approve", json={}, headers=executor
    )
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "role_not_allowed")
    pending = client.get("/api/v1/sla/extension-requests", headers=inspector)
    assert [r["id"] for r in pending.json()] == [request_id]
    assert client.get("/api/v1/sla/extension-requests", headers=stranger).json() == []
    approved = client.post(
        f"/api/v1/sla/extension-requests/{request_id}/approve",
        json={"comment": "ok"},
        headers=inspector,
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "extended"
    # The new deadline is exactly the one asked for (the resumed one was earlier).
    assert datetime.fromisoformat(approved.json()["due_at"]) == datetime.fromisoformat(until)
    assert datetime.fromisoformat(due) < datetime.fromisoformat(until)
    notice_due = datetime.fromisoformat(approved.json()["extension_notice_due_at"])
    assert notice_due == deadline_policy().extension_notice_due(now())
    assert [r["state"] for r in approved.json()["extension_requests"]] == ["approved"]

    # Review: the answer is returned with a checklist reason, counted against the org.
    answered = client.post(
        f"/api/v1/appeals/{appeal.id}/actions/answer",
        json={"text": "Бригада устранила течь, асфальт восстановят до 1 декабря."},
        headers=executor,
    )
    assert answered.status_code == 200, answered.text
    queue = client.get("/api/v1/sla/review-queue", headers=inspector)
    assert [item["appeal_id"] for item in queue.json()] == [appeal.id]
    assert queue.json()[0]["answer_text"].startswith("Бригада устранила течь")
    # Analysts see the queue, not the answers (an answer may quote the citizen).
    analyst = login(client, make_user("analyst")[0].username)
    theirs = client.get("/api/v1/sla/review-queue", headers=analyst)
    assert [(i["appeal_id"], i["answer_text"]) for i in theirs.json()] == [(appeal.id, None)]
    assert client.get("/api/v1/sla/review-queue", headers=executor).status_code == 403
    unknown = client.post(
        f"{base}/review", json={"outcome": "returned", "reason_code": "rude"}, headers=inspector
    )
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (422, "unknown_return_reason")
    returned = client.post(
        f"{base}/review",
        json={"outcome": "returned", "reason_code": "missing_work_deadline"},
        headers=inspector,
    )
    assert returned.status_code == 200, returned.text
    assert (returned.json()["status"], returned.json()["returns_count"]) == ("returned", 1)
    counts = client.get("/api/v1/sla/returns", headers=inspector).json()
    assert [(c["organization_code"], c["returned"], c["by_reason"]) for c in counts] == [
        (org.code, 1, {"missing_work_deadline": 1})
    ]
    assert client.get("/api/v1/sla/returns", headers=executor).json()[0]["returned"] == 1
    assert client.get("/api/v1/sla/returns", headers=stranger).json() == []
    assert client.get("/api/v1/sla/returns", headers=operator).status_code == 403

    # The inboxes.
    mine = client.get("/api/v1/sla/notifications", headers=executor).json()
    sla_kinds = [n["kind"] for n in mine if not n["kind"].startswith("urgent_")]  # flooding
    assert set(sla_kinds) == {"extension_approved", "answer_returned"}
    theirs = client.get("/api/v1/sla/notifications", headers=inspector).json()
    assert [n["kind"] for n in theirs if not n["kind"].startswith("urgent_")] == [
        "extension_requested"
    ]
    assert appeal.tracking_number in theirs[0]["text_kk"]
    read = client.post(f"/api/v1/sla/notifications/{theirs[0]['id']}/read", headers=inspector)
    assert read.status_code == 200 and read.json()["read_at"] is not None
    unread = client.get("/api/v1/sla/notifications", params={"unread": True}, headers=inspector)
    assert [n for n in unread.json() if not n["kind"].startswith("urgent_")] == []
    foreign = client.post(f"/api/v1/sla/notifications/{theirs[0]['id']}/read", headers=stranger)
    assert foreign.status_code == 404

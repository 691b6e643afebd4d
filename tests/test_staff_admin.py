"""Admins manage staff accounts: after a split, executors are moved to their successor."""

from __future__ import annotations

from typing import Any

from tests.conftest import login


def test_admin_moves_an_executor_and_access_follows(
    client: Any, make_user: Any, submit_appeal: Any
) -> None:
    water = submit_appeal("На улице Жандосова прорвало трубу водопровода, вода течёт по дороге")
    admin, _ = make_user("admin")
    executor, _ = make_user("executor", "akimat-medeu")
    headers = login(client, admin.username)
    mine = login(client, executor.username)
    assert client.get(f"/api/v1/appeals/{water.id}", headers=mine).status_code == 404
    moved = client.patch(
        f"/api/v1/staff/{executor.username}", json={"organization": "almaty-su"}, headers=headers
    )
    assert moved.status_code == 200 and moved.json()["organization"] == "almaty-su"
    assert client.get(f"/api/v1/appeals/{water.id}", headers=mine).status_code == 200
    listed = client.get("/api/v1/staff", params={"organization": "almaty-su"}, headers=headers)
    assert executor.username in {account["username"] for account in listed.json()}


def test_rules_for_accounts_hold_and_disabling_revokes_access(client: Any, make_user: Any) -> None:
    admin, _ = make_user("admin")
    executor, _ = make_user("executor", "akimat-medeu")
    inspector, _ = make_user("inspector")
    headers = login(client, admin.username)
    mine = login(client, executor.username)
    no_org = client.patch(
        f"/api/v1/staff/{inspector.username}", json={"organization": "almaty-su"}, headers=headers
    )
    assert (no_org.status_code, no_org.json()["error"]["code"]) == (422, "org_not_allowed")
    promoted = client.patch(
        f"/api/v1/staff/{executor.username}", json={"role": "inspector"}, headers=headers
    ).json()
    assert (promoted["role"], promoted["organization"]) == ("inspector", None)
    off = client.patch(
        f"/api/v1/staff/{executor.username}", json={"is_active": False}, headers=headers
    )
    assert off.status_code == 200
    assert client.get("/api/v1/appeals", headers=mine).status_code == 401
    refused = client.patch(
        f"/api/v1/staff/{admin.username}",
        json={"is_active": False},
        headers=login(client, inspector.username),
    )
    assert refused.status_code == 403
    assert client.patch("/api/v1/staff/nobody", json={}, headers=headers).status_code == 404

"""Queue metrics (per hour/day and live), operator ratings and callbacks over the JSON API.

Calls are made by replaying Asterisk's own event streams through the listener's pipeline;
real PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from channels.telephony import scenarios
from channels.telephony.metrics import live_metrics, operator_stats, queue_metrics
from channels.telephony.models import QueueSnapshot
from channels.telephony.pipeline import EventPipeline
from core.clock import frozen
from core.db import transaction as db_transaction
from core.models import StaffUser
from tests.conftest import login

NINE = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # 09:00 in Almaty
T0 = NINE.timestamp()


@pytest.fixture
def operators(make_user: Any, session: Session) -> dict[str, tuple[StaffUser, str]]:
    found = {}
    for extension in ("1001", "1002"):
        user, password = make_user("operator")
        user.sip_interface = f"PJSIP/{extension}"
        found[extension] = (user, password)
    session.commit()
    return found


@pytest.fixture
def morning(operators: dict[str, tuple[StaffUser, str]]) -> None:
    """09:00–10:00: answered after 12 s (rated 5), after 30 s (rated 2), one abandoned;
    10:xx: one answered after 5 s. Talk 95 s, 60 s, 40 s."""
    events = (
        scenarios.answered_call(t0=T0, serial=1, caller="87011110001", hold_s=12, rating=5)
        + scenarios.answered_call(
            t0=T0 + 600,
            serial=11,
            caller="87011110002",
            hold_s=30,
            talk_s=60,
            rating=2,
            interface="PJSIP/1002",
        )
        + scenarios.abandoned_call(t0=T0 + 900, serial=21, caller="87011110003", hold_s=50)
        + scenarios.answered_call(
            t0=T0 + 3700, serial=31, caller="87011110004", hold_s=5, talk_s=40
        )
    )
    EventPipeline(bus=None).process_text(scenarios.render_all(events))


def test_hourly_and_daily_queue_metrics(session: Session, morning: None) -> None:
    hours = queue_metrics(session, start=NINE, end=NINE + timedelta(hours=2), bucket="hour")
    assert [hour["start"] for hour in hours] == [
        "2026-11-20T09:00:00+05:00",
        "2026-11-20T10:00:00+05:00",
    ]
    nine, ten = hours
    assert (nine["offered"], nine["answered"], nine["abandoned"]) == (3, 2, 1)
    assert nine["abandonment_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert nine["answered_within_sl"] == 1  # 12 s yes, 30 s no (service level 20 s)
    assert nine["service_level"] == pytest.approx(1 / 3, abs=1e-4)
    assert (nine["asa_s"], nine["aht_s"]) == (21.0, 77.5)
    assert (ten["offered"], ten["answered"], ten["service_level"]) == (1, 1, 1.0)

    days = queue_metrics(session, start=NINE, end=NINE + timedelta(hours=3), bucket="day")
    assert len(days) == 1 and days[0]["start"] == "2026-11-20T00:00:00+05:00"
    assert (days[0]["offered"], days[0]["answered"], days[0]["abandoned"]) == (4, 3, 1)
    assert (
        queue_metrics(session, start=NINE, end=NINE + timedelta(hours=1), queue="other")[0][
            "offered"
        ]
        == 0
    )


def test_live_metrics_count_today_and_who_is_waiting(session: Session, morning: None) -> None:
    # The header prefers a fresh QueueSummary snapshot over the member events; this test is
    # about the member events, so it starts without snapshots (rolled back after). Twice on
    # loaded runs it failed with available 2 — the figure a snapshot gives, not the members —
    # for a cause not yet found; the source assertion below says which path answered.
    stray = session.scalar(select(func.count()).select_from(QueueSnapshot))
    session.execute(delete(QueueSnapshot))
    waiting = scenarios.answered_call(t0=T0 + 7000, serial=41, caller="87011110005")[:3]
    members = [
        scenarios.member_status(at=T0, interface="PJSIP/1001", member_name="a"),
        scenarios.member_status(at=T0, interface="PJSIP/1002", member_name="b", status=2),
        scenarios.member_status(at=T0, interface="PJSIP/1003", member_name="c", paused=True),
    ]
    EventPipeline(bus=None).process_text(scenarios.render_all(members + waiting))
    with frozen(NINE + timedelta(seconds=7030)):
        live = live_metrics(session, queue="1308")
    assert live["today"]["offered"] == 5 and live["today"]["answered"] == 3
    assert live["operators"]["source"] == "member_events", (live, stray)
    assert (live["offered"], live["logged_in"], live["available"]) == (5, 3, 1)  # the header
    assert (live["waiting"], live["longest_wait_s"]) == (1, 26)
    assert live["operators"] == {
        "source": "member_events",
        "logged_in": 3,
        "available": 1,
        "callers_waiting_asterisk": None,
        "longest_hold_time_s": None,
        "at": None,
    }
    summary = {
        "Event": "QueueSummary",
        "Queue": "1308",
        "LoggedIn": "4",
        "Available": "2",
        "Callers": "1",
        "HoldTime": "9",
        "TalkTime": "80",
        "LongestHoldTime": "26",
        "Timestamp": f"{T0 + 7029}",
    }
    EventPipeline(bus=None).process_text(scenarios.render(summary))
    with frozen(NINE + timedelta(seconds=7030)):
        live = live_metrics(session, queue="1308")
    assert live["operators"]["source"] == "queue_summary"
    assert (live["operators"]["logged_in"], live["operators"]["available"]) == (4, 2)


def test_api_calls_metrics_and_ratings_by_role(
    client: TestClient,
    make_user: Any,
    operators: dict[str, tuple[StaffUser, str]],
    morning: None,
) -> None:
    first, password = operators["1001"]
    mine = login(client, first.username, password)
    calls = client.get("/api/v1/callcenter/calls", headers=mine).json()
    assert {call["caller"] for call in calls} == {"+77011110001", "+77011110004"}
    detail = client.get(f"/api/v1/callcenter/calls/{calls[-1]['id']}", headers=mine).json()
    assert detail["rating"] == 5

    analyst, password = make_user("analyst")
    theirs = login(client, analyst.username, password)
    every = client.get("/api/v1/callcenter/calls", headers=theirs).json()
    assert len(every) == 4
    assert all("***" in call["caller"] for call in every)
    other = next(c for c in every if c["operator_id"] == operators["1002"][0].id)
    assert client.get(f"/api/v1/callcenter/calls/{other['id']}", headers=mine).status_code == 404

    executor, password = make_user("executor", "almaty-su")
    assert (
        client.get(
            "/api/v1/callcenter/calls", headers=login(client, executor.username, password)
        ).status_code
        == 403
    )

    hours = client.get(
        "/api/v1/callcenter/metrics",
        params={"start": NINE.isoformat(), "end": (NINE + timedelta(hours=1)).isoformat()},
        headers=theirs,
    ).json()
    assert hours[0]["offered"] == 3
    assert client.get("/api/v1/callcenter/metrics/live", headers=mine).status_code == 200

    ratings = client.get(
        "/api/v1/callcenter/operator-ratings",
        params={"start": NINE.isoformat(), "end": (NINE + timedelta(days=1)).isoformat()},
        headers=theirs,
    ).json()
    assert [
        (r["operator_id"], r["ratings"], r["average"], r["satisfaction_index"]) for r in ratings
    ] == [(first.id, 1, 5.0, 100.0), (operators["1002"][0].id, 1, 2.0, 0.0)]


def test_callback_requests_are_checked(
    client: TestClient, make_user: Any, operators: dict[str, tuple[StaffUser, str]]
) -> None:
    first, password = operators["1001"]
    headers = login(client, first.username, password)
    created = client.post(
        "/api/v1/callcenter/callbacks", json={"phone": "8 701 222 33 44"}, headers=headers
    )
    assert created.status_code == 202, created.text
    body = created.json()
    assert (body["state"], body["direction"], body["caller"]) == (
        "requested",
        "outbound",
        "+77012223344",
    )
    again = client.post(
        "/api/v1/callcenter/callbacks", json={"phone": "+77012223345"}, headers=headers
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "callback_in_progress"

    no_phone, password = make_user("operator")
    refused = client.post(
        "/api/v1/callcenter/callbacks",
        json={"phone": "+77012223344"},
        headers=login(client, no_phone.username, password),
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "no_sip_interface"

    second, password = operators["1002"]
    russian = client.post(
        "/api/v1/callcenter/callbacks",
        json={"phone": "+7 916 123 45 67"},
        headers=login(client, second.username, password),
    )
    assert russian.status_code == 422 and russian.json()["error"]["code"] == "not_kz_number"


def test_missed_rings_are_counted_per_period_per_operator_and_per_call(
    client: TestClient,
    make_user: Any,
    session: Session,
    operators: dict[str, tuple[StaffUser, str]],
    morning: None,
) -> None:
    """The abandoned caller rang operator 1001 for 15 s unanswered (AgentRingNoAnswer)."""
    nine, ten = queue_metrics(session, start=NINE, end=NINE + timedelta(hours=2))
    assert (nine["missed_rings"], ten["missed_rings"]) == (1, 0)
    first, second = operators["1001"][0], operators["1002"][0]
    stats = operator_stats(session, start=NINE, end=NINE + timedelta(days=1))
    assert [
        (s["operator_id"], s["answered"], s["missed_rings"], s["ratings"], s["average"])
        for s in stats
    ] == [(first.id, 2, 1, 1, 5.0), (second.id, 1, 0, 1, 2.0)]

    period = {"start": NINE.isoformat(), "end": (NINE + timedelta(days=1)).isoformat()}
    mine = login(client, first.username, operators["1001"][1])
    own = client.get("/api/v1/callcenter/operator-stats", params=period, headers=mine).json()
    assert [(s["operator_id"], s["missed_rings"]) for s in own] == [(first.id, 1)]
    analyst, password = make_user("analyst")
    every = client.get(
        "/api/v1/callcenter/operator-stats",
        params=period,
        headers=login(client, analyst.username, password),
    ).json()
    assert [s["operator_id"] for s in every] == [first.id, second.id]
    live = client.get("/api/v1/callcenter/metrics/live", headers=mine).json()
    assert "missed_rings" in live["today"]

    admin, password = make_user("admin")
    theirs = login(client, admin.username, password)
    calls = client.get("/api/v1/callcenter/calls", headers=theirs).json()
    lost = next(call for call in calls if call["caller"] == "+77011110003")
    detail = client.get(f"/api/v1/callcenter/calls/{lost['id']}", headers=theirs).json()
    assert (detail["missed_rings"], detail["abandoned"]) == (1, True)


def test_an_operator_in_two_queues_is_counted_once(
    session: Session, operators: dict[str, tuple[StaffUser, str]]
) -> None:
    """1001 serves 1308 and 1309, 1002 only 1309: two operators, not three."""
    members = [
        scenarios.member_status(at=T0, interface="PJSIP/1001", member_name="a", queue="1308"),
        scenarios.member_status(at=T0, interface="PJSIP/1001", member_name="a", queue="1309"),
        scenarios.member_status(
            at=T0, interface="PJSIP/1002", member_name="b", queue="1309", paused=True
        ),
    ]
    summaries = [
        {
            "Event": "QueueSummary",
            "Queue": queue,
            "LoggedIn": logged_in,
            "Available": available,
            "Callers": "0",
            "HoldTime": "9",
            "TalkTime": "80",
            "LongestHoldTime": "0",
            "Timestamp": f"{T0 + 10}",
        }
        for queue, logged_in, available in (("1308", "1", "1"), ("1309", "2", "1"))
    ]
    EventPipeline(bus=None).process_text(scenarios.render_all(members + summaries))
    with frozen(NINE + timedelta(seconds=12)):
        everything = live_metrics(session)
        one = live_metrics(session, queue="1309")
    assert (everything["logged_in"], everything["available"]) == (2, 1)
    assert everything["operators"]["source"] == "member_events"
    assert (one["logged_in"], one["available"], one["operators"]["source"]) == (
        2,
        1,
        "queue_summary",
    )


def test_a_callback_says_how_it_went(
    client: TestClient, session: Session, operators: dict[str, tuple[StaffUser, str]]
) -> None:
    """The operator asks for a callback from the call they are on, about an appeal; the
    outcome comes from Asterisk's events, not from the request being accepted."""
    from channels.telephony.models import Call
    from channels.telephony.originate import mark_failed

    first, password = operators["1001"]
    headers = login(client, first.username, password)
    EventPipeline(bus=None).process_text(
        scenarios.render_all(
            scenarios.answered_call(t0=T0, serial=51, caller="87011110051")[:7]  # connected
        )
    )
    on_call = client.get("/api/v1/callcenter/calls", headers=headers).json()[0]
    created = client.post(
        "/api/v1/callcenter/callbacks",
        json={"phone": "87011110051", "origin_call_id": on_call["id"]},
        headers=headers,
    )
    assert created.status_code == 202, created.text
    body = created.json()
    assert (body["state"], body["origin_call_id"]) == ("requested", on_call["id"])
    outcome = client.get(f"/api/v1/callcenter/callbacks/{body['id']}", headers=headers).json()
    assert (outcome["outcome"], outcome["reason"]) == ("pending", None)

    callback = session.get(Call, body["id"])
    assert callback is not None
    uniqueid = callback.uniqueid
    leg = {"Channel": "PJSIP/1001-000000aa", "Uniqueid": uniqueid, "Linkedid": uniqueid}
    dest = {"DestChannel": "PJSIP/kcell-trunk-000000ab", "DestUniqueid": "1795150000.171"}
    EventPipeline(bus=None).process(
        [
            {k.lower(): v for k, v in event.items()}
            for event in (
                {"Event": "Newchannel", "Timestamp": f"{T0 + 60}", **leg},
                {"Event": "DialBegin", "Timestamp": f"{T0 + 63}", **leg, **dest},
                {
                    "Event": "DialEnd",
                    "Timestamp": f"{T0 + 80}",
                    **leg,
                    **dest,
                    "DialStatus": "BUSY",
                },
            )
        ]
    )
    outcome = client.get(f"/api/v1/callcenter/callbacks/{body['id']}", headers=headers).json()
    assert (outcome["outcome"], outcome["reason"]) == ("failed", "dial_busy")

    second = client.post(
        "/api/v1/callcenter/callbacks", json={"phone": "87011110051"}, headers=headers
    ).json()
    with db_transaction() as work:
        mark_failed(work, call_id=second["id"], reason="operator_no_answer")
    outcome = client.get(f"/api/v1/callcenter/callbacks/{second['id']}", headers=headers).json()
    assert (outcome["outcome"], outcome["reason"]) == ("failed", "operator_no_answer")

    other, password = operators["1002"]
    foreign = client.get(
        f"/api/v1/callcenter/callbacks/{second['id']}",
        headers=login(client, other.username, password),
    )
    assert foreign.status_code == 404
    not_theirs = client.post(
        "/api/v1/callcenter/callbacks",
        json={"phone": "87011110051", "origin_call_id": on_call["id"]},
        headers=login(client, other.username, password),
    )
    assert not_theirs.status_code == 404

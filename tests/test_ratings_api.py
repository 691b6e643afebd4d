"""The ranking's API and CLI: the keys the checks use, who sees what (leadership all, an
executor its own organization, an operator their own row), clear 4xx on bad input, the
public table only when the city turns it on, and the supervisors' operator view."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session

from channels.telephony.events import CallState
from channels.telephony.models import Call, CallDirection, OperatorRating
from core.clock import ALMATY, local, now
from core.db import table_of
from core.models import Role
from core.settings import Settings, override_settings
from tests.conftest import login
from tests.test_ranking import at, fill, make  # noqa: F401 - the scenario fixture

WEEK = {"from": "2026-03-02", "to": "2026-03-08"}


@pytest.fixture
def scenario(session: Session, make: Callable[..., int]) -> None:  # noqa: F811
    fill(make, "almaty-su", on_time=40, late=0)
    fill(make, "almaty-heat-networks", on_time=30, late=10)
    fill(make, "almaty-qala-zharyq", on_time=0, late=40)
    fill(make, "akimat-medeu", on_time=3, late=0)
    session.commit()


def headers(client: Any, make_user: Any, role: Role, organization: str | None = None) -> Any:
    user, password = make_user(role, organization)
    return login(client, user.username, password)


def test_leadership_gets_the_whole_table_with_the_keys_the_checks_use(
    client: Any, make_user: Any, scenario: None
) -> None:
    response = client.get(
        "/api/v1/ratings/ranking", params=WEEK, headers=headers(client, make_user, Role.INSPECTOR)
    )
    assert response.status_code == 200, response.text
    table = response.json()
    assert table["period"] == {
        "kind": "custom",
        "label": "2026-03-02..2026-03-08",
        "from": "2026-03-02",
        "to": "2026-03-08",
    }
    codes = [row["organization_code"] for row in table["rows"] if row["rank"] is not None]
    assert codes == ["almaty-su", "almaty-heat-networks", "almaty-qala-zharyq"]
    assert table["anti"] == ["almaty-qala-zharyq"] and table["top"] == ["almaty-su"]
    medeu = next(r for r in table["rows"] if r["organization_code"] == "akimat-medeu")
    assert medeu["rank"] is None and medeu["n"] == 3
    assert table["min_n"] == 30 and set(table["weights"]) >= {"on_time", "satisfaction"}
    row = table["rows"][0]
    for key in ("organization_code", "name", "n", "score", "ci_low", "ci_high", "rank"):
        assert key in row
    assert row["on_time"]["rate"] == 100.0

    utilities = client.get(
        "/api/v1/ratings/ranking",
        params=WEEK | {"kind": "utility"},
        headers=headers(client, make_user, Role.ANALYST),
    ).json()
    assert {r["kind"] for r in utilities["rows"]} == {"utility"}


def test_an_executor_sees_its_own_organization_only(
    client: Any, make_user: Any, scenario: None
) -> None:
    auth = headers(client, make_user, Role.EXECUTOR, "almaty-qala-zharyq")
    table = client.get("/api/v1/ratings/ranking", params=WEEK, headers=auth).json()
    assert [r["organization_code"] for r in table["rows"]] == ["almaty-qala-zharyq"]
    assert table["rows"][0]["rank"] == 3
    own = client.get(
        "/api/v1/ratings/ranking/appeals",
        params=WEEK | {"organization": "almaty-qala-zharyq", "component": "on_time"},
        headers=auth,
    )
    assert own.status_code == 200
    assert own.json()["total"] == 40
    assert {"tracking_number", "due_at", "answered_at"} <= set(own.json()["appeals"][0])
    assert "text" not in own.json()["appeals"][0]
    other = client.get(
        "/api/v1/ratings/ranking/appeals",
        params=WEEK | {"organization": "almaty-su", "component": "on_time"},
        headers=auth,
    )
    assert other.status_code == 403
    assert other.json()["error"]["code"] == "other_organization"


def test_operators_are_refused_the_ranking(client: Any, make_user: Any, scenario: None) -> None:
    response = client.get(
        "/api/v1/ratings/ranking", params=WEEK, headers=headers(client, make_user, Role.OPERATOR)
    )
    assert response.status_code == 403
    assert client.get("/api/v1/ratings/ranking").status_code == 401


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"kind": "bakery"}, 422, "unknown_organization_kind"),
        ({"from": "2026-03-10", "to": "2026-03-01"}, 422, "bad_period"),
        ({"from": "2010-01-01", "to": "2026-03-01"}, 422, "bad_period"),
        ({"from": "not-a-date"}, 422, None),
        ({"period": "fortnight"}, 422, None),
    ],
)
def test_bad_input_is_a_clear_4xx(
    client: Any, make_user: Any, params: dict[str, str], status: int, code: str | None
) -> None:
    response = client.get(
        "/api/v1/ratings/ranking", params=params, headers=headers(client, make_user, Role.ADMIN)
    )
    assert response.status_code == status, response.text
    if code:
        assert response.json()["error"]["code"] == code
    drill = client.get(
        "/api/v1/ratings/ranking/appeals",
        params={"organization": "almaty-su", "component": "speed"},
        headers=headers(client, make_user, Role.ADMIN),
    )
    assert drill.status_code == 422 and drill.json()["error"]["code"] == "unknown_component"
    missing = client.get(
        "/api/v1/ratings/ranking/appeals",
        params={"organization": "no-such-body", "component": "on_time"},
        headers=headers(client, make_user, Role.ADMIN),
    )
    assert missing.status_code == 404


def test_the_public_table_only_when_the_city_turns_it_on(
    client: Any, settings: Settings, scenario: None
) -> None:
    params = {"period": "month", "at": "2026-03-15"}
    assert client.get("/api/v1/public/ratings/ranking", params=params).status_code == 404
    with override_settings(settings.model_copy(update={"ratings_public": True})):
        response = client.get("/api/v1/public/ratings/ranking", params=params)
        assert response.status_code == 200
        assert response.json()["rows"][0]["organization_code"] == "almaty-su"
        assert response.json()["weights"]["on_time"] > 0


def _call(session: Session, operator_id: int, queue: str, moment: datetime, talk_s: int) -> int:
    return int(
        session.execute(
            insert(table_of(Call))
            .values(
                uniqueid=uuid.uuid4().hex[:20],
                direction=CallDirection.INBOUND,
                queue=queue,
                operator_id=operator_id,
                state=CallState.ENDED,
                started_at=moment,
                queued_at=moment,
                answered_at=moment + timedelta(seconds=10),
                ended_at=moment + timedelta(seconds=10 + talk_s),
                wait_s=10,
                talk_s=talk_s,
                updated_at=moment,
            )
            .returning(table_of(Call).c.id)
        ).scalar_one()
    )


def test_the_supervisors_see_operators_ratings_and_work(
    client: Any, session: Session, make_user: Any
) -> None:
    first, _ = make_user(Role.OPERATOR)
    second, second_password = make_user(Role.OPERATOR)
    moment = datetime(2026, 3, 3, 10, 0, tzinfo=ALMATY)
    for number, score in enumerate((5, 5, 4, 2)):
        call = _call(session, first.id, "1308", moment + timedelta(minutes=number), 120)
        session.add(OperatorRating(call_id=call, operator_id=first.id, score=score, at=moment))
    for number, score in enumerate((3, 1)):
        call = _call(session, second.id, "1308-kk", moment + timedelta(minutes=number), 300)
        session.add(OperatorRating(call_id=call, operator_id=second.id, score=score, at=moment))
    session.commit()

    # The first operator filed two appeals on calls today and answered one on the spot.
    from appeals import actions
    from appeals.models import Appeal, Channel
    from intake.schemas import CitizenContact, IncomingContact
    from intake.service import submit

    filed = [
        submit(
            session,
            IncomingContact(
                text=text,
                channel=Channel.PHONE,
                citizen=CitizenContact(phone="+77017654321", full_name="Асель"),
            ),
            submitted_by=first,
        ).appeal_id
        for text in (
            "На улице Жандосова прорвало трубу водопровода, вода течёт по дороге уже сутки",
            "Во дворе дома на Самале третий день не вывозят мусор, контейнеры переполнены",
        )
    ]
    session.commit()
    actions.quick_answer(
        session,
        session.get_one(Appeal, filed[0]),
        user=first,
        text="Бригада «Алматы Су» выехала на место, подача воды будет восстановлена к вечеру.",
    )
    session.commit()
    today = {"period": "custom", "from": str(local(now()).date()), "to": str(local(now()).date())}
    filed_today = client.get(
        "/api/v1/ratings/operators", params=today, headers=headers(client, make_user, Role.ADMIN)
    ).json()
    mine = next(r for r in filed_today["operators"] if r["username"] == first.username)
    assert mine["quick_answers"] == {"appeals": 2, "quick_answered": 1, "share": 50.0}

    view = client.get(
        "/api/v1/ratings/operators", params=WEEK, headers=headers(client, make_user, Role.ADMIN)
    ).json()
    rows = {row["username"]: row for row in view["operators"]}
    assert rows[first.username]["index"] == 75.0
    assert rows[first.username]["calls_handled"] == 4
    assert rows[first.username]["aht_s"] == 120.0
    assert rows[second.username]["index"] == 0.0
    queues = {row["queue"]: row for row in view["queues"]}
    assert queues["1308"]["index"] == 75.0 and queues["1308-kk"]["aht_s"] == 300.0
    assert view["total"]["ratings"] == 6 and view["total"]["index"] == 50.0

    by_operator = client.get(
        "/api/v1/ratings/satisfaction",
        params=WEEK | {"by": "operator"},
        headers=headers(client, make_user, Role.INSPECTOR),
    ).json()
    assert {row["key"]: row["index"] for row in by_operator["rows"]} == {
        first.username: 75.0,
        second.username: 0.0,
    }
    # An operator sees their own row only.
    own = client.get(
        "/api/v1/ratings/operators",
        params=WEEK,
        headers=login(client, second.username, second_password),
    ).json()
    assert [row["username"] for row in own["operators"]] == [second.username]
    assert own["queues"] == []


def test_the_cli_prints_the_ranking_and_the_satisfaction_as_json(
    session: Session,
    scenario: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from civicdesk import cli, cli_ratings

    monkeypatch.setattr(cli_ratings, "_configure", lambda: None)  # the test's transaction
    assert (
        cli.main(["ratings", "ranking", "--from", "2026-03-02", "--to", "2026-03-08", "--json"])
        == 0
    )
    table = json.loads(capsys.readouterr().out)
    assert {"rows", "top", "anti", "weights", "min_n"} <= set(table)
    assert table["top"] == ["almaty-su"] and table["anti"] == ["almaty-qala-zharyq"]
    for key in ("organization_code", "name", "n", "score", "ci_low", "ci_high", "rank"):
        assert key in table["rows"][0]
    assert all(name in table["rows"][0] for name in table["weights"])
    args = ["ratings", "ranking", "--from", "2026-03-02", "--to", "2026-03-08"]
    assert cli.main([*args, "--kind", "district_akimat", "--json"]) == 0
    akimats = json.loads(capsys.readouterr().out)
    assert akimats["kind"] == "district_akimat"
    assert all(row["kind"] == "district_akimat" for row in akimats["rows"])
    for by in ("organization", "channel", "district", "operator"):
        assert cli.main(["ratings", "satisfaction", "--by", by, "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["by"] == by and {"rows", "total", "target"} <= set(report)
    with pytest.raises(SystemExit):
        cli.main(["ratings", "ranking", "--from", "2026-03-10", "--to", "2026-03-01"])
    _ = at

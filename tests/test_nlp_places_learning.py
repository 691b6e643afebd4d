"""The city learns its places from districts people confirmed; a map pin names the district
(issue 19): through the API, the pipeline, the relearning and ``civicdesk nlp places``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals.lifecycle import Status
from core.settings import Settings, override_settings
from intake.nlp_models import AppealClassification
from intake.place_learning import learned_places, relearn, relearn_if_due
from intake.place_models import DistrictCorrection, PlaceLearningRun
from routing.service import organization_by_code
from tests.conftest import login
from tests.nlp_support import corpus_model_dir

YARD = "improvement.yard_maintenance"  # answered by the akimat of the appeal's district


@pytest.fixture
def place_settings(settings: Settings) -> Iterator[Settings]:
    current = settings.model_copy(
        update={"nlp_model_dir": str(corpus_model_dir()), "nlp_auto_train": False}
    )
    with override_settings(current):
        yield current


def _classification(session: Session, appeal_id: int) -> AppealClassification:
    query = select(AppealClassification).where(AppealClassification.appeal_id == appeal_id)
    return session.scalars(query.order_by(AppealClassification.id.desc())).first()  # type: ignore[return-value]


def test_an_unknown_street_is_learned_from_operators_and_then_routed_alone(
    client: Any, session: Session, submit_appeal: Any, make_user: Any, place_settings: Settings
) -> None:
    operator, _ = make_user("operator")
    headers = login(client, operator.username)
    medeu = organization_by_code(session, "akimat-medeu")
    for house in (12, 14, 31):
        appeal = submit_appeal(
            f"ул. Кастеева {house}, во дворе не вывозят мусор", category_code=YARD
        )
        assert (appeal.status, appeal.triage_reason) == (Status.REGISTERED, "no_district")
        answer = client.post(
            f"/api/v1/appeals/{appeal.id}/district",
            json={"district": "medeu", "reason": "Кастеева — Медеуский"},
            headers=headers,
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["district"], body["status"], body["confirmed"]) == ("medeu", "assigned", False)
        assert body["organization_id"] == medeu.id
    listed = client.get(f"/api/v1/appeals/{appeal.id}/district/corrections", headers=headers)
    assert [row["kind"] for row in listed.json()] == ["correction"]

    summary = relearn(session, place_settings)
    session.commit()
    assert summary.evidence_appeals == 3 and summary.keys_learned >= 1
    learned = {row["key"]: row for row in learned_places(session)}
    assert learned["name:кастее"]["district"] == "medeu"
    assert learned["name:кастее"]["appeals"] == 3

    # The pipeline reads what was learned: a new appeal on that street needs no operator.
    from intake.place_learning import forget_snapshot

    forget_snapshot()
    new = submit_appeal("ул. Кастеева 40 — во дворе сломаны качели", category_code=YARD)
    assert (new.status, new.district_code, new.organization_id) == (
        Status.ASSIGNED,
        "medeu",
        medeu.id,
    )
    assert _classification(session, new.id).district_source == "learned_name"


def test_akimats_that_took_appeals_into_work_teach_the_house_numbers_the_estimate_left_out(
    session: Session, submit_appeal: Any, place_settings: Settings
) -> None:
    # Гагарина 70 sits at the estimated crossing of Абая: the gazetteer leaves it to people.
    almaly = organization_by_code(session, "akimat-almaly")
    for _ in range(3):
        appeal = submit_appeal("Гагарина 72, во дворе огромная яма", category_code=YARD)
        assert appeal.triage_reason == "no_district"
        appeal.organization_id, appeal.district_code = almaly.id, "almaly"
        appeal.status = Status.IN_PROGRESS  # the akimat took it: it is theirs
    session.commit()
    relearn(session, place_settings)
    session.commit()
    learned = {row["key"]: row for row in learned_places(session, kind="street")}
    assert learned["street:гагарина:e7"]["district"] == "almaly"
    assert learned["street:гагарина:e7"]["place"] == "гагарина, even 70–79"

    from intake.place_learning import forget_snapshot

    forget_snapshot()
    new = submit_appeal("Гагарина 76, во дворе не убран снег", category_code=YARD)
    assert (new.district_code, new.organization_id) == ("almaly", almaly.id)
    assert _classification(session, new.id).district_source == "learned_street_house"


def test_a_pin_names_the_district_when_the_text_does_not(
    session: Session, submit_appeal: Any, place_settings: Settings
) -> None:
    near_samal = submit_appeal(
        "Во дворе не вывозят мусор", category_code=YARD, latitude=43.2295, longitude=76.9555
    )
    assert near_samal.district_code == "medeu" and near_samal.status is Status.ASSIGNED
    row = _classification(session, near_samal.id)
    assert row.district_source == "pin" and "Самал-2" in (row.district_evidence or "")
    # The text's street and house outrank a pin; a pin far from any known place says nothing.
    text_wins = submit_appeal(
        "Жарокова 215, во дворе не вывозят мусор",
        category_code=YARD,
        latitude=43.2295,
        longitude=76.9555,
    )
    assert text_wins.district_code == "bostandyk"
    far = submit_appeal("Во дворе яма", category_code=YARD, latitude=43.10, longitude=76.70)
    assert (far.district_code, far.triage_reason) == (None, "no_district")


def test_who_may_set_a_district_and_bad_input(
    client: Any, session: Session, submit_appeal: Any, make_user: Any, place_settings: Settings
) -> None:
    appeal = submit_appeal("Во дворе не вывозят мусор", category_code=YARD)
    url = f"/api/v1/appeals/{appeal.id}/district"
    operator, _ = make_user("operator")
    headers = login(client, operator.username)
    unknown = client.post(url, json={"district": "atlantis"}, headers=headers)
    assert unknown.status_code == 422 and "atlantis" in unknown.text
    extra = client.post(url, json={"district": "medeu", "colour": "red"}, headers=headers)
    assert extra.status_code == 422
    assert session.scalars(select(DistrictCorrection)).all() == []
    first = client.post(url, json={"district": "medeu", "route": False}, headers=headers)
    assert first.status_code == 200 and first.json()["status"] == "registered"
    again = client.post(url, json={"district": "medeu"}, headers=headers)
    assert again.status_code == 422 and "already" in again.text
    # An executor of a utility cannot see it (404); one of a district akimat may not either
    # while it is not theirs.
    water, _ = make_user("executor", "almaty-su")
    refused = client.post(url, json={"district": "almaly"}, headers=login(client, water.username))
    assert refused.status_code == 404


def test_the_cli_lists_what_was_learned_and_the_worker_relearns_when_due(
    session: Session, submit_appeal: Any, place_settings: Settings, capsys: Any, monkeypatch: Any
) -> None:
    from civicdesk.cli import main
    from core import db

    monkeypatch.setattr(db, "configure", lambda *args, **kwargs: db.get_engine())  # the test's

    almaly = organization_by_code(session, "akimat-almaly")
    for _ in range(3):
        appeal = submit_appeal("ул. Сарыбулак 5, во дворе темно", category_code=YARD)
        appeal.organization_id, appeal.district_code = almaly.id, "almaly"
        appeal.status = Status.ANSWERED
    session.commit()
    assert main(["nlp", "places", "--learn", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["last_run"]["evidence_appeals"] >= 3
    row = next(item for item in report["learned"] if item["key"] == "name:сарыбу")
    assert (row["district"], row["appeals"], row["share"]) == ("almaly", 3, 1.0)
    assert main(["nlp", "places"]) == 0
    assert "almaly" in capsys.readouterr().out
    # The worker's loop: not due right after a run, due once the interval has passed.
    runs = len(session.scalars(select(PlaceLearningRun)).all())
    assert relearn_if_due(session, place_settings) is None
    later = place_settings.model_copy(update={"nlp_places_relearn_s": 60})
    from datetime import timedelta

    from core.clock import now

    for run in session.scalars(select(PlaceLearningRun)):  # an hour and more ago
        run.at = now() - timedelta(hours=2)
    session.flush()
    assert relearn_if_due(session, later) is not None
    assert len(session.scalars(select(PlaceLearningRun)).all()) == runs + 1

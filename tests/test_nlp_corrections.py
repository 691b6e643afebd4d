"""Operators' decisions on the topic as training data: confirming an unsure guess, the
correction form on the staff appeal page, and the category picked in the call-center form."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals.lifecycle import Status
from appeals.models import Appeal
from channels.telephony import console
from core.settings import Settings, override_settings
from intake.corrections import corrections_for_training
from intake.nlp_models import AppealClassification, CategoryCorrection
from tests.conftest import PASSWORD, hidden_field, login, staff_sign_in
from tests.nlp_support import corpus_model_dir

WATER = "На улице Жандосова прорвало трубу водопровода, вода течёт по дороге уже сутки"


@pytest.fixture
def unsure_settings(settings: Settings) -> Iterator[Settings]:
    """The corpus model, and a threshold no guess reaches: every guessed topic waits for an
    operator (deterministic triage, whatever the model's confidence)."""
    current = settings.model_copy(
        update={
            "nlp_model_dir": str(corpus_model_dir()),
            "nlp_auto_train": False,
            "routing_min_confidence": 1.01,
        }
    )
    with override_settings(current):
        yield current


def _corrections(session: Session, appeal_id: int) -> list[CategoryCorrection]:
    query = select(CategoryCorrection).where(CategoryCorrection.appeal_id == appeal_id)
    return list(session.scalars(query.order_by(CategoryCorrection.id)))


def test_an_operator_confirms_an_unsure_guess_through_the_api(
    client: Any, session: Session, submit_appeal: Any, make_user: Any, unsure_settings: Settings
) -> None:
    appeal = submit_appeal(WATER)
    assert (appeal.status, appeal.triage_reason) == (Status.REGISTERED, "low_confidence")
    guessed = appeal.category_code
    assert guessed == "water.leak"
    operator, _ = make_user("operator")
    headers = login(client, operator.username)
    url = f"/api/v1/appeals/{appeal.id}/category"
    answer = client.post(url, json={"category": guessed}, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["confirmed"] is True and answer.json()["status"] == "assigned"
    session.expire_all()
    confirmed = session.get_one(Appeal, appeal.id)
    assert (confirmed.category_code, confirmed.category_confidence) == (guessed, 1.0)
    [row] = _corrections(session, appeal.id)
    assert (row.from_category, row.to_category, row.confirms) == (guessed, guessed, True)
    texts, labels = corrections_for_training(session)
    assert (WATER, guessed) in set(zip(texts, labels, strict=True))  # training data
    listed = client.get(f"{url}/corrections", headers=headers).json()
    assert [item["kind"] for item in listed] == ["confirmation"]
    # a person decided: confirming again is refused, with the reason
    again = client.post(url, json={"category": guessed}, headers=headers)
    assert again.status_code == 422 and "already" in again.text


def test_the_staff_page_form_confirms_or_changes_the_topic(
    client: Any, session: Session, submit_appeal: Any, make_user: Any, unsure_settings: Settings
) -> None:
    appeal = submit_appeal(WATER)
    page_url = f"/staff/appeals/{appeal.id}"
    form_url = f"{page_url}/category"
    operator, _ = make_user("operator")
    staff_sign_in(client, operator, PASSWORD, next_path=page_url)
    page = client.get(page_url)
    assert page.status_code == 200
    assert f'action="{form_url}"' in page.text and "Подтвердить тему" in page.text
    assert "Тему определила система" in page.text
    assert "система не уверена в теме" in page.text  # the triage reason, not its code
    kazakh = client.get(page_url, params={"lang": "kk"})
    assert "Тақырыпты растау" in kazakh.text and "Тақырыпты өзгерту" in kazakh.text
    assert "жүйе тақырыпқа сенімді емес" in kazakh.text
    csrf = hidden_field(page.text, "csrf")

    forged = client.post(form_url, data={"category": "roads.local_repair"}, follow_redirects=False)
    assert forged.status_code == 403 and _corrections(session, appeal.id) == []
    unknown = client.post(form_url, data={"csrf": csrf, "category": "no.such"})
    assert unknown.status_code == 422  # the page speaks the chosen language (kk, above)
    assert "Анықтамалықта мұндай тақырып жоқ" in unknown.text
    assert _corrections(session, appeal.id) == []

    changed = client.post(
        form_url,
        data={"csrf": csrf, "category": "roads.local_repair", "reason": "речь о яме"},
        follow_redirects=False,
    )
    assert changed.status_code == 303
    assert changed.headers["location"] == f"{page_url}?done=category_correct"
    shown = client.get(changed.headers["location"] + "&lang=ru")
    assert "Тема изменена и сохранена для обучения модели" in shown.text
    assert "Тему установил сотрудник" in shown.text and "Подтвердить тему" not in shown.text
    [row] = _corrections(session, appeal.id)
    assert (row.from_category, row.to_category, row.reason) == (
        "water.leak",
        "roads.local_repair",
        "речь о яме",
    )
    assert row.corrected_by_id == operator.id

    # an executor sees no form on their own organization's appeal, and their post is refused
    with override_settings(unsure_settings.model_copy(update={"routing_min_confidence": 0.34})):
        routed = submit_appeal(WATER)
    assert routed.status is Status.ASSIGNED
    executor, _ = make_user("executor", "almaty-su")
    routed_url = f"/staff/appeals/{routed.id}"
    staff_sign_in(client, executor, PASSWORD, next_path=routed_url)
    own_page = client.get(routed_url + "?lang=ru")
    assert own_page.status_code == 200 and "/category" not in own_page.text
    refused = client.post(
        f"{routed_url}/category",
        data={"csrf": hidden_field(own_page.text, "csrf"), "category": "roads.local_repair"},
    )
    assert refused.status_code == 403
    assert _corrections(session, routed.id) == []


def test_the_call_center_form_records_the_operators_category(
    session: Session, make_user: Any, unsure_settings: Settings
) -> None:
    """A different category than the classifier suggested is a correction, the same one a
    confirmation: both are training data."""
    operator, _ = make_user("operator")
    changed = console.file_from_call(
        session,
        operator=operator,
        external_id="call-1:1",
        text=WATER,
        category_code="roads.local_repair",
        phone="+77011234567",
    )
    suggested = session.scalar(
        select(AppealClassification.category_code).where(
            AppealClassification.appeal_id == changed.appeal_id
        )
    )
    assert suggested == "water.leak"
    [correction] = _corrections(session, changed.appeal_id)
    assert (correction.from_category, correction.to_category) == (
        "water.leak",
        "roads.local_repair",
    )
    assert not correction.confirms and correction.corrected_by_id == operator.id
    same = console.file_from_call(
        session,
        operator=operator,
        external_id="call-1:2",
        text=WATER,
        category_code="water.leak",
        phone="+77011234567",
    )
    [confirmation] = _corrections(session, same.appeal_id)
    assert confirmation.confirms and confirmation.to_category == "water.leak"
    unchosen = console.file_from_call(
        session, operator=operator, external_id="call-1:3", text=WATER, phone="+77011234567"
    )
    assert _corrections(session, unchosen.appeal_id) == []  # nothing chosen: nothing learned
    texts, labels = corrections_for_training(session)
    learned = set(zip(texts, labels, strict=True))
    assert {(WATER, "roads.local_repair"), (WATER, "water.leak")} <= learned

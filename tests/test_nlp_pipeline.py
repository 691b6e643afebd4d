"""The pipeline with the trained classifier: routing, triage with a reason, operators'
corrections and retraining, end to end; and the ``civicdesk route --json`` dry run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals.lifecycle import Status
from appeals.models import Appeal
from core.settings import Settings, override_settings
from intake.nlp_models import AppealClassification, CategoryCorrection
from intake.nlp_training import train_project_model
from nlp import annotate as annotate_module
from nlp import topic
from nlp.annotate import annotate, annotate_batch, load_lexicon
from routing.models import Organization
from tests.conftest import login
from tests.nlp_support import DATA, corpus_model_dir

LEXICON = load_lexicon(DATA)
WATER = "На улице Жандосова прорвало трубу водопровода, вода течёт по дороге уже сутки"
# Texts in nobody's template, with a rewording and the category an operator would pick:
# what a model trained on the corpus alone does not know.
UNFAMILIAR = (
    (
        "В нашем доме соседи сдают квартиру посуточно, постоянно чужие люди",
        "Соседи сдают квартиру посуточно, каждый день новые чужие люди в подъезде",
        "public_order.hooliganism",
        "police",
    ),
    (
        "На крыше дома поставили антенну сотовой связи, жители боятся излучения",
        "Антенну сотовой связи поставили на крыше нашего дома, боимся излучения",
        "construction.illegal_construction",
        "construction-control",
    ),
)
ANTENNA = UNFAMILIAR[1]
RENTALS = UNFAMILIAR[0][0]


@pytest.fixture(scope="session")
def corpus_model() -> Path:
    return corpus_model_dir()


@pytest.fixture
def nlp_settings(settings: Settings, corpus_model: Path) -> Iterator[Settings]:
    current = settings.model_copy(
        update={"nlp_model_dir": str(corpus_model), "nlp_auto_train": False}
    )
    with override_settings(current):
        yield current


def org_code(session: Session, appeal: Appeal) -> str | None:
    org = session.get(Organization, appeal.organization_id) if appeal.organization_id else None
    return org.code if org else None


def classifications(session: Session, appeal: Appeal) -> list[AppealClassification]:
    query = select(AppealClassification).where(AppealClassification.appeal_id == appeal.id)
    return list(session.scalars(query))


def test_a_confident_topic_is_routed_and_the_prediction_kept_with_the_model_version(
    session: Session, submit_appeal: Any, nlp_settings: Settings
) -> None:
    appeal = submit_appeal(WATER)
    assert (appeal.status, org_code(session, appeal)) == (Status.ASSIGNED, "almaty-su")
    assert appeal.category_code == "water.leak"
    assert appeal.category_confidence is not None and appeal.category_confidence >= 0.34
    [row] = classifications(session, appeal)
    assert (row.source, row.category_code, row.language) == ("model", "water.leak", "ru")
    assert row.model_version == topic.get_model().metadata.version
    assert len(row.alternatives) == 3 and row.alternatives[0][0] != "water.leak"
    assert "прорвало трубу" in row.urgency_triggers  # flooding: raised, and why


def test_a_greeting_waits_for_an_operator_as_not_an_appeal(
    session: Session, submit_appeal: Any, nlp_settings: Settings
) -> None:
    appeal = submit_appeal("Здравствуйте! Есть кто-нибудь?")
    assert (appeal.status, appeal.triage_reason) == (Status.REGISTERED, "not_appeal")
    assert appeal.organization_id is None
    assert "greeting" in (appeal.routing_reason or "")


def test_the_address_field_names_the_district(
    session: Session, submit_appeal: Any, nlp_settings: Settings
) -> None:
    """A portal or console form has its own address field: the district comes from it when
    the text names no place (and wins over a place the text mentions in passing)."""
    from routing.advice import advise

    text = "Во дворе не вывозят мусор уже неделю, контейнеры переполнены"
    appeal = submit_appeal(text, address="мкр Самал-2, дом 5")
    assert appeal.district_code == "medeu"
    [row] = classifications(session, appeal)
    assert row.district_code == "medeu" and "Самал" in (row.district_evidence or "")
    advice = advise(session, text=text, address="мкр Самал-2, дом 5")
    assert advice["district"] == "medeu"
    assert advise(session, text=text)["district"] is None


def test_the_anonymity_rule_is_not_fooled_by_everyday_words(
    session: Session, submit_appeal: Any, nlp_settings: Settings
) -> None:
    """An anonymous appeal is considered only for a crime or a public threat: a lamp that
    "не горит" or "пара дней" without water is neither, a burning house is."""
    from intake.schemas import CitizenContact

    for text in ("Не горит свет в подъезде дома на Абая 10", "Уже пара дней нет воды в доме"):
        appeal = submit_appeal(text, citizen=CitizenContact())
        assert (appeal.status, appeal.rejection_reason) == (Status.REJECTED, "anonymous"), text
    fire = submit_appeal("Горит дом на Абая 10, дым из окон", citizen=CitizenContact())
    assert fire.status in (Status.REGISTERED, Status.ASSIGNED)
    assert fire.urgency == "high" and "горит дом" in (fire.urgency_triggers or "")


def test_triage_correction_and_retraining_end_to_end(
    client: Any,
    session: Session,
    submit_appeal: Any,
    make_user: Any,
    nlp_settings: Settings,
    tmp_path: Path,
) -> None:
    # 1. The model is unsure: the appeal waits in triage, with its guess and the runners-up.
    #    (A threshold no guess reaches makes the triage certain whatever the model's figure.)
    text, reworded, target, organization = ANTENNA
    assert topic.predict([reworded])[0].label != target, "the corpus model already knows it"
    strict = nlp_settings.model_copy(update={"routing_min_confidence": 1.01})
    with override_settings(strict):
        unsure = submit_appeal(text)
    assert (unsure.status, unsure.triage_reason) == (Status.REGISTERED, "low_confidence")
    assert "confidence" in (unsure.routing_reason or "") and "(or " in (unsure.routing_reason or "")
    guessed = unsure.category_code
    assert guessed != target

    # 2. An operator decides: the category changes, the appeal goes where it belongs, and the
    #    correction is kept with the text. Executors may not do this.
    executor, _ = make_user("executor", "almaty-su")
    url = f"/api/v1/appeals/{unsure.id}/category"
    body = {"category": target, "reason": "оператор: тема другая"}
    assert client.post(url, json=body, headers=login(client, executor.username)).status_code in (
        403,
        404,
    )
    operator, _ = make_user("operator")
    headers = login(client, operator.username)
    answer = client.post(url, json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "assigned"
    session.expire_all()
    appeal = session.get_one(Appeal, unsure.id)
    assert (appeal.category_code, org_code(session, appeal)) == (target, organization)
    [correction] = session.scalars(
        select(CategoryCorrection).where(CategoryCorrection.appeal_id == unsure.id)
    )
    assert (correction.from_category, correction.to_category) == (guessed, target)
    assert (correction.text, correction.corrected_by_id) == (text, operator.id)
    listed = client.get(f"{url}/corrections", headers=headers).json()
    assert [item["to_category"] for item in listed] == [target]
    assert client.post(url, json=body, headers=headers).status_code == 422  # same category

    # 3. Retraining on corpus + corrections: the new model knows this kind of text.
    assert annotate(reworded, LEXICON).category_code != target
    retrained = nlp_settings.model_copy(update={"nlp_model_dir": str(tmp_path / "model")})
    with override_settings(retrained):
        metadata = train_project_model(settings=retrained, session=session, refit_all=False)
        assert metadata["trained_on"]["corrections"] == 1  # type: ignore[index]  # a dict
        assert (tmp_path / "model" / "metadata.json").is_file()
        result = annotate(reworded, LEXICON)
        assert result.category_code == target
        assert result.confidence >= retrained.routing_min_confidence
        # ... and the pipeline now routes such an appeal without an operator.
        again = submit_appeal(reworded)
        assert (again.status, org_code(session, again)) == (Status.ASSIGNED, organization)


def test_a_batch_is_classified_with_one_predict_call(
    nlp_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = topic.predict

    def counting(texts: Any, **options: Any) -> Any:
        calls.append(len(texts))
        return real(texts, **options)

    monkeypatch.setattr(topic, "predict", counting)
    texts = [WATER, RENTALS, "Біздің көшеде үш күннен бері шамдар жанбайды, кешке қараңғы"]
    results = annotate_batch(texts, LEXICON)
    assert calls == [3]
    assert [result.topic_source for result in results] == ["model"] * 3
    assert results[2].category_code == "lighting.lights_off"
    assert results[2].language == "kk"


def test_without_a_model_the_keywords_still_classify(settings: Settings, tmp_path: Path) -> None:
    empty = settings.model_copy(
        update={"nlp_model_dir": str(tmp_path / "none"), "nlp_auto_train": False}
    )
    with override_settings(empty):
        result = annotate_module.annotate(WATER, LEXICON)
    assert (result.topic_source, result.category_code) == ("keywords", "water.leak")


def test_route_dry_run_json_has_what_operators_read(
    nlp_settings: Settings, session: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    from civicdesk.cli import main

    text = "В мкр Самал-2 сильный запах газа в подъезде, дети дома"
    assert main(["route", text, "--json"]) == 0
    advice = json.loads(capsys.readouterr().out)
    for key in (
        "language",
        "category",
        "organization",
        "district",
        "urgency",
        "confidence",
        "alternatives",
        "rule",
        "triage_reason",
    ):
        assert key in advice, key
    assert (advice["language"], advice["category"], advice["district"]) == (
        "ru",
        "gas.gas_smell",
        "medeu",
    )
    # the shown language of a Russian text is Russian: the organization's Russian name
    assert (advice["organization_code"], advice["organization"]) == (
        "qazaqgaz-aimak",
        "АО «QazaqGaz Аймақ»",
    )
    assert advice["urgency"] == "high" and "запах газа" in advice["urgency_triggers"]
    assert 0.34 <= advice["confidence"] <= 1.0
    assert len(advice["alternatives"]) == 3
    assert all(
        {"category", "confidence", "organization"} <= set(alt) for alt in advice["alternatives"]
    )

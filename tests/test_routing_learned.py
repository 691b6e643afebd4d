"""Routing learned from a city's history (issue 19): a text → executor model trained on past
appeals proposes the organization where the rules route nothing; the rule wins when it is
specific; the operator sees the guess preselected, in Russian and Kazakh."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from appeals.lifecycle import Status
from core.settings import Settings, override_settings
from nlp.engine import save_model
from nlp.training import train_model
from routing.advice import advise, advise_for_appeal
from tests.conftest import PASSWORD, staff_sign_in
from tests.nlp_support import corpus_model_dir

YARD = "improvement.yard_maintenance"  # the akimat of the appeal's district answers

# A city's history: yard complaints of one kind went to Medeu's akimat, of another to Turksib's
# (the texts name no place the gazetteer knows), water leaks to «Алматы Су»
# (by its Russian name, as a city exports it).
HISTORY = (
    [(f"Во дворе возле гаражей {n} не вывозят мусор, контейнеры горой", "akimat-medeu")
     for n in range(12)]
    + [(f"Во дворе частного сектора {n} сломан забор у детской площадки", "akimat-turksib")
       for n in range(12)]
    + [(f"Течёт вода из колодца {n}, прорвало трубу", "ГКП на ПХВ «Алматы Су»") for n in range(12)]
)  # fmt: skip


@pytest.fixture
def history_model(tmp_path: Path, settings: Settings) -> Iterator[Settings]:
    texts, labels = zip(*HISTORY, strict=True)
    classifier, metadata = train_model(
        list(texts), list(labels), source={"purpose": "tests"}, holdout=0, calibration="temperature"
    )
    directory = tmp_path / "executor"
    save_model(classifier, directory, metadata)
    current = settings.model_copy(
        update={
            "nlp_model_dir": str(corpus_model_dir()),
            "nlp_auto_train": False,
            "nlp_executor_model_dir": str(directory),
            "nlp_executor_min_confidence": 0.0,
        }
    )
    with override_settings(current):
        yield current


def test_the_history_fills_the_gap_the_rules_leave_and_the_rule_wins_otherwise(
    session: Session, submit_appeal: Any, history_model: Settings
) -> None:
    appeal = submit_appeal("Во дворе возле гаражей не вывозят мусор", category_code=YARD)
    assert (appeal.status, appeal.triage_reason) == (Status.REGISTERED, "no_district")
    advice = advise_for_appeal(session, appeal)
    assert advice["organization_code"] is None
    assert advice["learned_executor"]["organization_code"] == "akimat-medeu"
    # A label given by name finds its organization; where a rule routes, the rule's stands.
    leak = advise(session, text="Течёт вода из колодца, прорвало трубу", category_code="water.leak")
    assert leak["organization_code"] == "almaty-su"
    assert leak["learned_executor"]["organization_code"] == "almaty-su"
    # No model, no suggestion (and nothing breaks).
    with override_settings(history_model.model_copy(update={"nlp_executor_model_dir": "/nope"})):
        assert advise_for_appeal(session, appeal)["learned_executor"] is None


def test_the_operator_sees_the_history_guess_preselected(
    client: Any, session: Session, submit_appeal: Any, make_user: Any, history_model: Settings
) -> None:
    # The page's dry run classifies the text again (as the appeal stands): a text the corpus
    # model reads as a yard matter, so the rules name no organization without a district.
    appeal = submit_appeal("Во дворе возле гаражей не вывозят мусор", category_code=YARD)
    assert appeal.triage_reason == "no_district"
    operator, _ = make_user("operator")
    page_url = f"/staff/appeals/{appeal.id}"
    staff_sign_in(client, operator, PASSWORD, next_path=page_url)
    page = client.get(page_url)
    assert page.status_code == 200
    assert "По истории обращений города" in page.text
    assert 'value="akimat-medeu" selected' in page.text  # the route form, ready to send
    kazakh = client.get(page_url, params={"lang": "kk"})
    assert "Қаланың өтініштер тарихы бойынша" in kazakh.text

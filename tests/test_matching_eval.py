"""Repeat and duplicate detection: the labeled pairs' figures and hand-written compare() cases."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from appeals.models import LinkKind
from intake.repeats.matching import AppealFacts, MatchRules, compare
from intake.repeats.matching_eval import DEFAULT_PAIRS, evaluate, load_pairs, main
from nlp.annotate import normalize
from nlp.places import extract_places

RULES = MatchRules()
NOW = datetime(2025, 11, 3, 4, 0, tzinfo=UTC)


def appeal(
    text: str,
    *,
    citizen: int | None,
    days_ago: float,
    category: str = "improvement.snow_removal",
    district: str = "bostandyk",
    id: int = 1,
) -> AppealFacts:
    return AppealFacts(
        id=id,
        citizen_group=citizen,
        category_code=category,
        district_code=district,
        places=tuple(extract_places(text)),
        text=normalize(text),
        received_at=NOW - timedelta(days=days_ago),
    )


def test_the_shipped_set_is_large_and_covers_every_label() -> None:
    pairs = load_pairs()
    counts = Counter(pair["label"] for pair in pairs)
    assert len(pairs) >= 300
    assert min(counts[label] for label in ("repeat", "duplicate", "unrelated")) >= 80
    assert len({pair["id"] for pair in pairs}) == len(pairs)
    assert any(pair["a"]["text"] != pair["b"]["text"] for pair in pairs)


@pytest.mark.parametrize("kind", ["repeat", "duplicate"])
def test_precision_and_recall_on_the_labeled_pairs(kind: str) -> None:
    result = evaluate(load_pairs(DEFAULT_PAIRS), RULES)
    figures = result[kind]
    missed = [e["id"] for e in result["errors"]["false_negatives"] if e["label"] == kind]
    wrong = [e["id"] for e in result["errors"]["false_positives"] if e["predicted"] == kind]
    assert figures["precision"] >= 0.8, f"{kind}: wrongly linked {wrong}"
    assert figures["recall"] >= 0.7, f"{kind}: missed {missed}"


def test_confusion_adds_up_to_the_pairs() -> None:
    result = evaluate(load_pairs(), RULES)
    assert sum(sum(row.values()) for row in result["confusion"].values()) == result["pairs"]
    assert result["repeat"]["support"] == sum(result["confusion"]["repeat"].values())


def test_repeat_within_the_window() -> None:
    old = appeal("Во дворе ул. Розыбакиева, 52 не чистят снег", citizen=7, days_ago=20)
    new = appeal(
        "Повторно обращаюсь: снег во дворе на ул. Розыбакиева 52 так и не убрали",
        citizen=7,
        days_ago=1,
        id=2,
    )
    match = compare(new, old, RULES)
    assert match is not None and match.kind is LinkKind.REPEAT
    assert match.evidence["same_citizen"] is True


def test_the_same_outside_the_window_is_not_a_repeat() -> None:
    text = "Во дворе ул. Розыбакиева, 52 не чистят снег"
    old = appeal(text, citizen=7, days_ago=RULES.repeat_window_days + 30)
    new = appeal(text, citizen=7, days_ago=1, id=2)
    assert compare(new, old, RULES) is None


def test_a_later_appeal_is_never_linked_to_as_earlier() -> None:
    text = "Во дворе ул. Розыбакиева, 52 не чистят снег"
    assert (
        compare(appeal(text, citizen=7, days_ago=5), appeal(text, citizen=7, days_ago=1), RULES)
        is None
    )


def test_duplicate_at_the_same_house() -> None:
    old = appeal(
        "ул. Жандосова, 14 нет горячей воды неделю",
        citizen=1,
        days_ago=3,
        category="heating.hot_water",
    )
    new = appeal(
        "Жандосов көшесі, 14 үй бір аптадан бері ыстық су жоқ, қашан қосылады?",
        citizen=2,
        days_ago=1,
        category="heating.hot_water",
        id=2,
    )
    match = compare(new, old, RULES)
    assert match is not None and match.kind is LinkKind.DUPLICATE
    assert match.evidence["place_similarity"] == 1.0


def test_same_topic_on_another_street_is_not_a_duplicate() -> None:
    old = appeal(
        "ул. Жандосова, 14 нет горячей воды неделю",
        citizen=1,
        days_ago=3,
        category="heating.hot_water",
    )
    new = appeal(
        "ул. Тимирязева, 28 нет горячей воды неделю",
        citizen=2,
        days_ago=1,
        category="heating.hot_water",
        id=2,
    )
    assert compare(new, old, RULES) is None


def test_same_house_other_topic_is_not_a_duplicate() -> None:
    old = appeal(
        "ул. Жандосова, 14 нет горячей воды", citizen=1, days_ago=3, category="heating.hot_water"
    )
    new = appeal(
        "ул. Жандосова, 14 лифт не работает месяц",
        citizen=2,
        days_ago=1,
        category="housing.elevators",
        id=2,
    )
    assert compare(new, old, RULES) is None


def test_the_command_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed) >= {"repeat", "duplicate", "confusion", "errors", "pairs"}
    assert main([]) == 0
    assert "precision" in capsys.readouterr().out

"""The minimal annotator the pipeline uses until issue 4: language, topic, district, urgency."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from nlp.annotate import _stem_hits, annotate, classify, detect_language, load_lexicon, normalize

DATA = Path(__file__).resolve().parent.parent / "data"
LEXICON = load_lexicon(DATA)
SAMPLES = yaml.safe_load((DATA / "sample_appeals.yaml").read_text(encoding="utf-8"))


def brute_force(normalized: str) -> list[tuple[str, float]]:
    """Every keyword of every category checked, as the index must reproduce."""
    scores: dict[str, float] = {}
    for code, keywords in LEXICON.category_keywords.items():
        hits = _stem_hits(normalized, keywords)
        if hits:
            scores[code] = sum(1.0 + 0.15 * len(hit) for hit in hits)
    total = sum(scores.values())
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return [(code, round(score / total, 3)) for code, score in ranked]


def test_keyword_index_ranks_exactly_like_a_full_scan() -> None:
    for sample in SAMPLES:
        normalized = normalize(sample["text"])
        assert classify(normalized, LEXICON) == brute_force(normalized), sample["text"]


def test_samples_land_in_their_own_category() -> None:
    right = sum(
        annotate(sample["text"].replace("{place}", "Самал"), LEXICON).category_code
        == sample["category"]
        for sample in SAMPLES
    )
    assert right / len(SAMPLES) >= 0.95


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Во дворе не вывозят мусор уже неделю", "ru"),
        ("Ауламызда қоқыс бір апта бойы шығарылмайды", "kk"),
        ("Бізде жылу жоқ, батареи холодные", "kk"),
        ("Подскажите график работы ЦОНа", "ru"),
    ],
)
def test_language(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_district_from_a_microdistrict_and_urgency_triggers() -> None:
    result = annotate("В мкр Самал-2 сильный запах газа в подъезде, дети дома", LEXICON)
    assert result.district_code == "medeu"
    assert result.urgency == "high"
    assert "запах газа" in result.urgency_triggers


def test_crime_report_is_flagged_for_the_anonymous_rule() -> None:
    assert (
        annotate("У подъезда продают наркотики, закладки каждый день", LEXICON).safety_flag
        == "crime"
    )
    assert annotate("Во дворе не вывозят мусор уже неделю", LEXICON).safety_flag is None

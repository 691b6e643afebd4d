"""The minimal annotator the pipeline needs: keyword topic, gazetteer district, urgency triggers.

Issue 4 brings the trained classifier; this keeps its interface (text in,
labels and scores out) so the pipeline does not change when it arrives.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

KAZAKH_LETTERS = frozenset("әғқңөұүһі")
KAZAKH_WORDS = frozenset(
    {
        "және",
        "мен",
        "жоқ",
        "бар",
        "емес",
        "көше",
        "үй",
        "аулада",
        "ауласында",
        "сәлеметсіз",
        "рахмет",
        "бізде",
        "біздің",
        "қала",
        "көшесінде",
        "ауданы",
        "жылу",
        "су",
        "жарық",
        "неге",
        "қашан",
        "керек",
    }
)
_WORD = re.compile(r"[\wәғқңөұүһі]+", re.UNICODE)

# Emergencies and what the law lets an anonymous appeal through for. Issue 4 refines these.
URGENT_TRIGGERS = (
    "запах газа",
    "пахнет газом",
    "утечка газа",
    "газ иісі",
    "газ шығып",
    "нет отопления",
    "не греют батареи",
    "холодные батареи",
    "жылу жоқ",
    "батарея суық",
    "затопил",
    "затопление",
    "потоп",
    "прорыв трубы",
    "прорвало",
    "су басты",
    "су басып",
    "оборван провод",
    "упал провод",
    "оголенные провода",
    "провод висит",
    "сым үзілді",
    "ребенок в опасности",
    "ребёнок в опасности",
    "бала қауіпте",
)
SAFETY_TRIGGERS: dict[str, tuple[str, ...]] = {
    "crime": (
        "кража",
        "украли",
        "ограбили",
        "грабеж",
        "грабёж",
        "наркотик",
        "закладк",
        "взятк",
        "избили",
        "вымогают",
        "мошенник",
        "ұрлады",
        "пара ",
        "парақор",
        "есірткі",
    ),
    "public_safety": (
        "угроза взрыва",
        "взрыв",
        "теракт",
        "обрушение",
        "обрушился",
        "пожар",
        "горит",
        "заминир",
        "стрельб",
        "жарылыс",
        "өрт",
        "құлап жатыр",
    ),
}
TYPE_HINTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("complaint", ("жалоб", "жалуюсь", "возмущ", "безобраз", "шағым")),
    ("proposal", ("предлага", "предложение", "предлож", "ұсыныс", "ұсынамын")),
    ("response", ("благодар", "спасибо", "рахмет", "алғыс")),
    (
        "request",
        (
            "подскажите",
            "где можно",
            "куда обратиться",
            "как получить",
            "как узнать",
            "сообщите",
            "қайда",
            "қалай алуға",
        ),
    ),
    ("report", ("сообщаю", "информирую", "хабарлаймын")),
)


def normalize(text: str) -> str:
    return " ".join(_WORD.findall(text.lower().replace("ё", "е")))


_PREFIX = 3


@dataclass(frozen=True)
class Lexicon:
    """Keywords per category and places per district, read from ``data/``.

    ``keyword_index`` maps the first letters of a keyword to (keyword, category)
    pairs, so a text is checked against the few keywords its words could start,
    not against all of them.
    """

    category_keywords: dict[str, tuple[str, ...]]
    district_places: dict[str, tuple[str, ...]]
    urgent_categories: frozenset[str] = field(default_factory=frozenset)
    keyword_index: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)

    @staticmethod
    def index(
        category_keywords: dict[str, tuple[str, ...]],
    ) -> dict[str, tuple[tuple[str, str], ...]]:
        index: dict[str, list[tuple[str, str]]] = {}
        for code, keywords in category_keywords.items():
            for keyword in keywords:
                index.setdefault(keyword.split()[0][:_PREFIX], []).append((keyword, code))
        return {prefix: tuple(pairs) for prefix, pairs in index.items()}


@dataclass(frozen=True)
class Annotation:
    language: str
    category_code: str | None
    confidence: float
    alternatives: list[tuple[str, float]]
    district_code: str | None
    district_evidence: str | None
    urgency: str
    urgency_triggers: list[str]
    safety_flag: str | None
    appeal_type: str


def detect_language(text: str) -> str:
    """'kk' when Kazakh letters or words dominate, 'ru' otherwise (mixed texts lean to Kazakh)."""
    lowered = text.lower()
    if any(letter in KAZAKH_LETTERS for letter in lowered):
        return "kk"
    words = set(_WORD.findall(lowered))
    return "kk" if len(words & KAZAKH_WORDS) >= 2 else "ru"


def _stem_hits(normalized: str, terms: Iterable[str]) -> list[str]:
    padded = f" {normalized}"
    return [term for term in terms if f" {term}" in padded]


def classify(normalized: str, lexicon: Lexicon) -> list[tuple[str, float]]:
    """Categories ranked by matched keyword weight (longer phrases count more)."""
    index = lexicon.keyword_index or Lexicon.index(lexicon.category_keywords)
    padded = f" {normalized}"
    candidates = {
        pair for word in set(normalized.split()) for pair in index.get(word[:_PREFIX], ())
    }
    scores: dict[str, float] = {}
    for keyword, code in candidates:
        if f" {keyword}" in padded:
            scores[code] = scores.get(code, 0.0) + 1.0 + 0.15 * len(keyword)
    total = sum(scores.values())
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return [(code, round(score / total, 3)) for code, score in ranked]


def detect_district(normalized: str, lexicon: Lexicon) -> tuple[str | None, str | None]:
    best: tuple[int, str, str] | None = None
    for code, places in lexicon.district_places.items():
        for place in _stem_hits(normalized, places):
            if best is None or len(place) > best[0]:
                best = (len(place), code, place)
    return (best[1], best[2]) if best else (None, None)


def annotate(text: str, lexicon: Lexicon) -> Annotation:
    normalized = normalize(text)
    ranked = classify(normalized, lexicon)
    district, evidence = detect_district(normalized, lexicon)
    lowered = f" {text.lower().replace('ё', 'е')}"
    triggers = [term for term in URGENT_TRIGGERS if term.replace("ё", "е") in lowered]
    safety = next(
        (flag for flag, terms in SAFETY_TRIGGERS.items() if any(term in lowered for term in terms)),
        None,
    )
    category = ranked[0][0] if ranked else None
    if category in lexicon.urgent_categories and not triggers:
        triggers = ["category:" + category]
    appeal_type = next(
        (kind for kind, stems in TYPE_HINTS if any(stem in lowered for stem in stems)),
        "application",
    )
    return Annotation(
        language=detect_language(text),
        category_code=category,
        confidence=ranked[0][1] if ranked else 0.0,
        alternatives=ranked[1:4],
        district_code=district,
        district_evidence=evidence,
        urgency="high" if triggers or safety == "public_safety" else "normal",
        urgency_triggers=triggers,
        safety_flag=safety,
        appeal_type=appeal_type,
    )


def _read(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@lru_cache(maxsize=4)
def load_lexicon(data_dir: Path) -> Lexicon:
    taxonomy = _read(data_dir / "taxonomy.yaml")
    districts = _read(data_dir / "districts.yaml")
    keywords: dict[str, tuple[str, ...]] = {}
    urgent: set[str] = set()
    for area in taxonomy["areas"]:
        for category in area["categories"]:
            terms = [*category.get("keywords_ru", []), *category.get("keywords_kk", [])]
            keywords[category["code"]] = tuple(sorted({normalize(term) for term in terms if term}))
            if category.get("urgent"):
                urgent.add(category["code"])
    places: dict[str, tuple[str, ...]] = {}
    for district in districts:
        names = [
            district["name_ru"].split()[0],
            district["name_kk"].split()[0],
            *district.get("places", []),
        ]
        stems = {
            normalize(name)[:-2] if len(name) > 8 and name[0].isupper() else normalize(name)
            for name in names
        }
        places[district["code"]] = tuple(sorted(stem for stem in stems if len(stem) >= 4))
    return Lexicon(keywords, places, frozenset(urgent), Lexicon.index(keywords))

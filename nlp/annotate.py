"""The annotator: language (ru/kk/mixed), topic, district, urgency, not-an-appeal.

The topic comes from the trained classifier (``nlp.topic``: calibrated
confidence, runners-up); the taxonomy's keywords remain as the fallback when no
model can be loaded. Districts come from the Almaty gazetteer (``nlp.places``),
urgency from trigger phrases that are reported with the words that fired, and
greetings, thanks, spam and abuse from ``nlp.not_appeal``. Pure: no database.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from nlp import not_appeal
from nlp.engine import ModelError, Prediction
from nlp.geo import district_at
from nlp.language import KAZAKH_LETTERS as KAZAKH_LETTERS  # re-exported: older imports
from nlp.language import KAZAKH_WORDS as KAZAKH_WORDS
from nlp.language import detect_language as detect_language
from nlp.language import language_of as language_of
from nlp.language import languages
from nlp.places import (
    STRENGTH,
    Gazetteer,
    Learned,
    Location,
    load_gazetteer,
    locate,
    natasha_places,
)

log = logging.getLogger(__name__)
#: Runners-up shown beside the chosen topic (the issue's "top 3 alternatives").
ALTERNATIVES = 3
#: A topic this sure makes its category's urgency count even without a trigger phrase.
URGENT_CATEGORY_CONFIDENCE = 0.5

_WORD = re.compile(r"[\wәғқңөұүһі]+", re.UNICODE)


# Emergencies: what raises the priority, as patterns over normalized text (ё → е); the
# words that matched are reported, so the operator sees why an appeal jumped the queue.
URGENT_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        ("gas", r"запах\w* газ\w*|пахн\w* газ\w*|газом пахн\w*|утечк\w* газ\w*|вон\w* газ\w*"),
        ("gas", r"газ\w* иіс\w*|газ шығ\w*|газ иіс\w*"),
        (
            "no_heating",
            r"нет отоплени\w*|не гре\w* батаре\w*|батаре\w* (?:холодн\w*|ледян\w*|не гре\w*)"
            r"|холодн\w* батаре\w*|отключ\w* отоплени\w*|отоплени\w* (?:нет|не дали|отключ\w*)"
            r"|жылу жоқ|жылу берілме\w*|батарея\w* суық",
        ),
        (
            "flooding",
            r"затопил\w*|затоплен\w*|потоп\w*|подтоп\w*|прорвал\w* труб\w*|прорыв\w* труб\w*"
            r"|прорвало|труб\w* прорвал\w*|су бас\w*|селев\w*|\bсель\b|сел қаупі",
        ),
        (
            "fallen_wires",
            r"оборва\w* провод\w*|провод\w* оборва\w*|упал\w* провод\w*|провод\w* упал\w*"
            r"|оголенн\w* провод\w*|провод\w* (?:вис\w*|искр\w*|лежат|лежит)|искр(?:ит|ят)\w*"
            r"|упал\w* (?:столб|опор)\w*|сым\w* үзіл\w*|сым\w* жерде|бағана\w* құла\w*",
        ),
        (
            "child_danger",
            r"(?:ребен\w*|дет\w*|бала\w*) в опасност\w*|бала\w* қауіп\w*"
            r"|ребен\w* (?:упал|застрял|заперт|тонет|провалил)\w*|ребенок один дома"
            r"|(?:покусал\w*|укусил\w*) ребен\w*|бала\w* (?:құлап|суға бат)\w*",
        ),
    )
)
FROST_WORDS = re.compile(r"\bмороз\w*|\bминус\s*\d+|\bаяз\w*|\bхолодн\w* в квартир\w*")
# Crime and threats to public safety: the flag the anonymous-appeal rule reads, so only
# phrases and whole words count ("не горит свет" is a lamp, "пара дней" no bribe).
SAFETY_PATTERNS: dict[str, re.Pattern[str]] = {
    "crime": re.compile(
        r"\bкраж\w*|\bукрали\b|\bукрал[аи]?\b|\bограбил\w*|\bграбеж\w*|\bнаркотик\w*"
        r"|\bзакладк\w* (?:наркотик|с наркотик|делают|кладут|по двору)\w*"
        r"|\bзакладчик\w*|\bвзятк\w*|\bизбил\w*|\bвымога\w*|\bмошенни\w*"
        r"|\bұрла\w*|\bпара (?:алды|алып|береді|беру|сұра\w*|талап)|\bпарақор\w*|\bесірткі\w*"
    ),
    "public_safety": re.compile(
        r"\bугроза взрыва\b|\bвзрыв\w*|\bтеракт\w*|\bобрушени\w*|\bобрушил\w*"
        r"|\bпожар(?:а|е|ом|ы|ов)?\b|\bзадымлен\w*|\bзаминир\w*|\bстрельб\w*|\bстреля(?:ют|ли)\b"
        r"|\b(?:горит|горят|загорел\w*|горел[аио]?) (?:дом|здани|машин|авто|квартир|подъезд"
        r"|подвал|балкон|гараж|крыш|сарай|киоск|магазин|школ|трансформатор|лес|камыш)\w*"
        r"|\b(?:дом|здание|машина|автомобиль|квартира|подъезд|подвал|балкон|гараж|крыша|сарай)"
        r" (?:горит|горят|загорел\w*)"
        r"|\bдым\w* (?:(?:идет|валит|пошел|повалил) )?(?:из|в|по) (?:окн|квартир|подвал|подъезд"
        r"|дом|здани|гараж|машин|балкон)\w*"
        r"|\bжарылыс\w*|\bөрт\w*|\b(?:үй|көлік|пәтер|ғимарат)\w* жанып жатыр|\bқұлап жатыр"
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
    """Keywords per category, places per district and the gazetteer, read from ``data/``.

    ``keyword_index`` maps the first letters of a keyword to (keyword, category)
    pairs, so a text is checked against the few keywords its words could start,
    not against all of them.
    """

    category_keywords: dict[str, tuple[str, ...]]
    district_places: dict[str, tuple[str, ...]]
    urgent_categories: frozenset[str] = field(default_factory=frozenset)
    keyword_index: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    gazetteer: Gazetteer | None = None  # places → districts (nlp.places)
    place_words: frozenset[str] = frozenset()  # folded words of place names (not language)

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
    language: str  # ru, kk or mixed
    category_code: str | None
    confidence: float  # calibrated probability of category_code (model), keyword share otherwise
    alternatives: list[tuple[str, float]]  # the runners-up, best first (up to ALTERNATIVES)
    district_code: str | None
    district_evidence: str | None
    urgency: str
    urgency_triggers: list[str]  # the words that raised the urgency ("запах газа", "мороз")
    safety_flag: str | None
    appeal_type: str
    reply_language: str = "ru"  # ru or kk: the language of our answers
    topic_source: str = "keywords"  # model, keywords, none
    urgency_reasons: list[str] = field(default_factory=list)  # gas, flooding, fallen_wires …
    not_appeal: str | None = None  # greeting, thanks, spam, abuse, empty
    not_appeal_evidence: list[str] = field(default_factory=list)
    # What named the district: address, district_name, street_house, intersection, place,
    # street, learned_*, pin, street_main … (nlp.places.STRENGTH); None without a district.
    district_source: str | None = None


def _stem_hits(normalized: str, terms: Iterable[str]) -> list[str]:
    padded = f" {normalized}"
    return [term for term in terms if f" {term}" in padded]


def classify(normalized: str, lexicon: Lexicon) -> list[tuple[str, float]]:
    """Categories ranked by matched keyword weight (longer phrases count more): the fallback
    when no trained model is available."""
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


def detect_district(
    text: str,
    lexicon: Lexicon,
    *,
    use_natasha: bool = False,
    learned: Mapping[str, Learned] | None = None,
) -> tuple[str | None, str | None]:
    """The district named in the text (gazetteer); natasha's locations as a second chance."""
    location = locate_district(text, lexicon, use_natasha=use_natasha, learned=learned)
    return location.district, location.evidence


def locate_district(
    text: str,
    lexicon: Lexicon,
    *,
    use_natasha: bool = False,
    learned: Mapping[str, Learned] | None = None,
) -> Location:
    """:func:`nlp.places.locate` with natasha's locations as a second chance."""
    gazetteer = lexicon.gazetteer
    if gazetteer is None:
        return Location(None, None)
    location = locate(text, gazetteer, learned=learned)
    if location.district is None and use_natasha:
        for span in natasha_places(text):
            location = locate(span.title(), gazetteer, learned=learned)
            if location.district is not None:
                break
    return location


def where(
    text: str,
    lexicon: Lexicon,
    *,
    address: str | None = None,
    point: tuple[float, float] | None = None,
    use_natasha: bool = False,
    learned: Mapping[str, Learned] | None = None,
) -> Location:
    """The appeal's district: its address field first (what a person typed for the place),
    then the text, and a map pin where the text names nothing surer than a crossing
    street's main district."""
    if address and address.strip():
        found = locate_district(address, lexicon, use_natasha=use_natasha, learned=learned)
        if found.district is not None:
            return Location(found.district, found.evidence, "address", found.candidates)
    found = locate_district(text, lexicon, use_natasha=use_natasha, learned=learned)
    if point is None or lexicon.gazetteer is None:
        return found
    pinned = district_at(*point, lexicon.gazetteer.anchors(), learned=learned)
    pin = pinned.location(*point)
    if pin.district is None:
        return found
    if found.district is None or STRENGTH.get(found.how or "", 0) < STRENGTH[pin.how or "pin"]:
        return pin
    return found


def urgency_triggers(text: str) -> tuple[list[str], list[str]]:
    """(the words that fired, the kinds of emergency) for a text."""
    lowered = " ".join(text.lower().replace("ё", "е").split())
    words: list[str] = []
    kinds: list[str] = []
    for kind, pattern in URGENT_PATTERNS:
        for match in pattern.finditer(lowered):
            words.append(match.group().strip())
            if kind not in kinds:
                kinds.append(kind)
    if "no_heating" in kinds:
        words.extend(match.group() for match in FROST_WORDS.finditer(lowered))
    return list(dict.fromkeys(words)), kinds


def model_predictions(texts: Sequence[str]) -> list[Prediction] | None:
    """The trained model's topics for a batch, or None when no model can be had."""
    from nlp import topic

    try:
        return topic.predict(texts, top_k=ALTERNATIVES + 1)
    except (ModelError, ImportError, OSError, ValueError) as error:
        _warn_fallback(error)
        return None


_warned: set[str] = set()


def _warn_fallback(error: Exception) -> None:
    """Say loudly, once per process and cause, that topics now come from keywords. The
    message names the cause (a model path, a missing extra), never a text of an appeal."""
    cause = (
        f"{error.__class__.__name__}: {error}"
        if isinstance(error, ModelError)
        else (error.__class__.__name__)
    )
    if cause in _warned:
        return
    _warned.add(cause)
    log.error(
        "TOPIC MODEL UNAVAILABLE: appeals are classified by keywords only (%s); "
        "fix the nlp settings or run `civicdesk nlp train`",
        cause,
    )


def annotate(
    text: str,
    lexicon: Lexicon,
    *,
    prediction: Prediction | None = None,
    use_model: bool = True,
    use_natasha: bool = False,
    address: str | None = None,
    point: tuple[float, float] | None = None,
    learned: Mapping[str, Learned] | None = None,
) -> Annotation:
    """Everything the pipeline needs to know of one text. ``prediction`` comes from a batch
    ``predict()``; without one the model is asked for this text alone (``use_model``).
    ``address``: the appeal's own address field, which names the district first; ``point``:
    its map pin (latitude, longitude); ``learned``: places the deployment learned."""
    if prediction is None and use_model:
        predictions = model_predictions([text])
        prediction = predictions[0] if predictions else None
    rejected = not_appeal.check(text)
    # Only the taxonomy's categories count: a model trained on another label set (a city's
    # CSV) must not put unknown codes on appeals.
    ranked = [
        (label, round(float(p), 4))
        for label, p in (prediction.alternatives if prediction is not None else ())
        if label in lexicon.category_keywords
    ]
    if ranked:
        category: str | None = ranked[0][0]
        confidence = ranked[0][1]
        alternatives = ranked[1 : ALTERNATIVES + 1]
        source = "model"
    else:
        keyword_ranking = classify(normalize(text), lexicon)
        category = keyword_ranking[0][0] if keyword_ranking else None
        confidence = keyword_ranking[0][1] if keyword_ranking else 0.0
        alternatives = keyword_ranking[1 : ALTERNATIVES + 1]
        source = "keywords" if keyword_ranking else "none"
    place = where(
        text, lexicon, address=address, point=point, use_natasha=use_natasha, learned=learned
    )
    lowered = f" {text.lower().replace('ё', 'е')}"
    triggers, reasons = urgency_triggers(text)
    safety = None
    flat = " ".join(lowered.split())
    for flag, pattern in SAFETY_PATTERNS.items():
        hits = list(dict.fromkeys(match.group() for match in pattern.finditer(flat)))
        if hits:
            safety = flag
            if flag == "public_safety":
                triggers.extend(hits)
                reasons.append(flag)
            break
    if (
        category in lexicon.urgent_categories
        and not triggers
        and confidence >= URGENT_CATEGORY_CONFIDENCE
    ):
        triggers, reasons = ["category:" + str(category)], ["category"]
    appeal_type = next(
        (kind for kind, stems in TYPE_HINTS if any(stem in lowered for stem in stems)),
        "application",
    )
    language, reply_language = languages(text, names=lexicon.place_words)
    return Annotation(
        language=language,
        category_code=category,
        confidence=confidence,
        alternatives=alternatives,
        district_code=place.district,
        district_evidence=place.evidence,
        urgency="high" if triggers else "normal",
        urgency_triggers=triggers,
        safety_flag=safety,
        appeal_type=appeal_type,
        reply_language=reply_language,
        topic_source=source,
        urgency_reasons=reasons,
        not_appeal=rejected.reason if rejected else None,
        not_appeal_evidence=list(rejected.evidence) if rejected else [],
        district_source=place.how if place.district else None,
    )


def annotate_batch(
    texts: Sequence[str],
    lexicon: Lexicon,
    *,
    use_natasha: bool = False,
    addresses: Sequence[str | None] | None = None,
    points: Sequence[tuple[float, float] | None] | None = None,
    learned: Mapping[str, Learned] | None = None,
) -> list[Annotation]:
    """A batch with one ``predict()`` call (the engine vectorizes all texts at once);
    ``addresses``: each appeal's address field (same order), searched for the district first;
    ``points``: each appeal's map pin; ``learned``: places the deployment learned."""
    predictions = model_predictions(texts) if texts else []
    return [
        annotate(
            text,
            lexicon,
            prediction=predictions[index] if predictions else None,
            use_model=False,
            use_natasha=use_natasha,
            address=addresses[index] if addresses is not None else None,
            point=points[index] if points is not None else None,
            learned=learned,
        )
        for index, text in enumerate(texts)
    ]


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
        places[district["code"]] = tuple(sorted(district.get("places", [])))
    gazetteer = load_gazetteer(data_dir)
    place_words = frozenset(word for key in gazetteer.keys for word in key if len(word) > 2)
    return Lexicon(
        keywords, places, frozenset(urgent), Lexicon.index(keywords), gazetteer, place_words
    )

"""Place mentions in an appeal's text: streets, avenues, microdistricts and house numbers.

``extract_places`` is pure and cheap (regular expressions): a normalized key such
as "абая 52" or "самал 2", good enough to tell whether two appeals speak of the
same place. ``find_places``/``detect_district`` match the Almaty gazetteer
(Russian, Kazakh and Latin spellings, inflections, typos) and map places to the 8
districts; ``natasha_places`` adds natasha's NER and address extractor on demand.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

_MARKERS = (
    r"(?i:ул\.?|улиц[аеуы]|пр\.?|пр-т|просп\.?|проспект[аеу]?|мкр\.?|микрорайон[аеу]?|"
    r"пер\.?|переул[оке]+|бульвар[аеу]?|б-р|шоссе|тракт[аеу]?|"
    r"көшесі|көшесінде|даңғылы|даңғылында|ықшамауданы|шағын\s+аудан[ы]?)"
)
# Only Kazakh markers follow the name; "На улице Абая" must not read "На" as a street.
_MARKERS_AFTER = r"(?i:көшесі|көшесінде|даңғылы|даңғылында|ықшамауданы|шағын\s+аудан[ы]?)"
_UPPER = "A-ZА-ЯЁӘҒҚҢӨҰҮҺІ"
# After a marker the name may be typed in lower case ("ул. абая"); a second word must be
# capitalized ("Толе би" is the exception that lower case cannot tell from prose).
_NAME = rf"[{_UPPER}a-zа-яёәғқңөұүһі][\w\-]*(?:\s+[{_UPPER}][\w\-]*)?"
_CAPITALIZED = rf"[{_UPPER}][\w\-]*(?:\s+[{_UPPER}][\w\-]*)?"
_HOUSE = r"(?:,?\s*(?:(?i:д\.?|дом|үй)\s*)?(\d{1,4}[а-яa-z]?)\b)?"
_BEFORE = re.compile(rf"(?:{_MARKERS})\s+({_NAME}){_HOUSE}")
# Kazakh puts the marker after the name: "Абай даңғылы 52", "Самал ықшамауданы".
_AFTER = re.compile(rf"({_CAPITALIZED})\s+(?:{_MARKERS_AFTER}){_HOUSE}")
_MICRO = re.compile(
    r"\b(самал|орбита|аксай|алмагуль|коктем|жетысу|мамыр|таугуль|айнабулак|"
    r"шанырак|калкаман|кулагер|дорожник|нуркент|акбулак)[\s\-]*(\d{0,2})",
    re.IGNORECASE,
)


# Kazakh and Russian spellings of one street meet: "Жібек жолы" / "Жибек жолы".
_FOLD = str.maketrans("әіөұүқңғһё", "аиоуукнгхе")


def _key(name: str, house: str | None) -> str:
    words = re.sub(r"[^\w\s]", " ", name.lower().translate(_FOLD)).split()
    stem = " ".join(word[:6] for word in words)  # "абая"/"абай", "жандосова"/"жандосов"
    return f"{stem} {house.lower()}" if house else stem


def extract_places(text: str) -> list[str]:
    """Normalized place keys mentioned in ``text``, most specific first (with a house number)."""
    found: list[str] = []
    for pattern in (_BEFORE, _AFTER):
        for match in pattern.finditer(text):
            found.append(_key(match.group(1), match.group(2)))
    for match in _MICRO.finditer(text):
        found.append(_key(match.group(1), match.group(2) or None))
    unique = list(dict.fromkeys(key for key in found if key))
    return sorted(unique, key=lambda key: (not key[-1].isdigit(), unique.index(key)))


def split_key(key: str) -> tuple[str, str | None]:
    """'абая 52' → ('абая', '52'); 'самал 2' → ('самал', '2'); 'абая' → ('абая', None)."""
    street, _, last = key.rpartition(" ")
    if street and last[:1].isdigit():
        return street, last
    return key, None


# --- the Almaty gazetteer: places → districts (issue 4) --------------------------------------

_LATIN_DIGRAPHS = (
    ("shch", "щ"),
    ("sch", "щ"),
    ("sh", "ш"),
    ("zh", "ж"),
    ("ch", "ч"),
    ("ts", "ц"),
    ("kh", "х"),
    ("ya", "я"),
    ("yu", "ю"),
    ("yo", "е"),
    ("ng", "н"),
)
_LATIN_SINGLE = str.maketrans("abvgdezijklmnoprstufhcqwxy", "абвгдезиjклмнопрстуфхккуки")
# Kazakh letters, й/ы/ь/ъ/э and the Latin j folded so that "Шаңырақ", "Шанырак" and
# "Shanyrak" all read "шанирак".
_FOLD_CYRILLIC = str.maketrans(
    {
        "ә": "а",
        "ғ": "г",
        "қ": "к",
        "ң": "н",
        "ө": "о",
        "ұ": "у",
        "ү": "у",
        "һ": "х",
        "і": "и",
        "ё": "е",
        "й": "и",
        "ы": "и",
        "э": "е",
        "ь": None,
        "ъ": None,
        "j": "ж",
    }
)
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
# After these words (folded stems) a capitalized or not word is a place; one typo is forgiven.
_PLACE_MARKERS = (
    "мкр",
    "микрораион",
    "раион",
    "ул",
    "улиц",
    "пр",
    "проспект",
    "возле",
    "около",
    "риадом",
    "ржадом",
    "рядом",
    "икшамаудан",
    "шагин",
    "аудан",
    "косеси",
    "кошеси",
    "жанинда",
    "манинда",
)
_MAX_SUFFIX = 4  # inflected endings: Самал-е, Шаңырақ-та, Орбита-ның


def fold(word: str) -> str:
    """One spelling for Russian, Kazakh and Latin forms of a name (lower case)."""
    word = word.lower()
    if word.isascii():
        for latin, cyrillic in _LATIN_DIGRAPHS:
            word = word.replace(latin, cyrillic)
        word = word.translate(_LATIN_SINGLE)
    return word.translate(_FOLD_CYRILLIC)


@dataclass(frozen=True)
class GazetteerEntry:
    name: str  # as written in the data
    kind: str  # microdistrict, street, landmark, district
    district: str | None  # None: the place crosses districts, or its district is unknown


@dataclass(frozen=True)
class PlaceMention:
    """A place found in a text: the gazetteer's entry, the words that named it, how."""

    entry: GazetteerEntry
    evidence: str
    fuzzy: bool
    start: int  # word position in the text


@dataclass(frozen=True)
class Gazetteer:
    """Folded keys (tuples of words) → entries, indexed by the first letters of the key."""

    keys: dict[tuple[str, ...], tuple[GazetteerEntry, ...]]
    by_prefix: dict[str, tuple[tuple[str, ...], ...]]
    single_by_letter: dict[str, tuple[str, ...]]

    def district_of(self, key: tuple[str, ...]) -> str | None:
        """The key's district, or None when its entries disagree (a street and a district)."""
        districts = {entry.district for entry in self.keys[key]}
        return districts.pop() if len(districts) == 1 else None


def build_gazetteer(entries: list[GazetteerEntry]) -> Gazetteer:
    keys: dict[tuple[str, ...], list[GazetteerEntry]] = {}
    for entry in entries:
        key = tuple(fold(word) for word in _TOKEN.findall(entry.name))
        if key and sum(len(word) for word in key) >= 4:
            keys.setdefault(key, []).append(entry)
    by_prefix: dict[str, list[tuple[str, ...]]] = {}
    single: dict[str, list[str]] = {}
    for key in keys:
        by_prefix.setdefault(key[0][:3], []).append(key)
        if len(key) == 1 and len(key[0]) >= 5:
            single.setdefault(key[0][0], []).append(key[0])
    return Gazetteer(
        keys={key: tuple(found) for key, found in keys.items()},
        by_prefix={prefix: tuple(found) for prefix, found in by_prefix.items()},
        single_by_letter={letter: tuple(found) for letter, found in single.items()},
    )


def _read_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@lru_cache(maxsize=4)
def load_gazetteer(data_dir: Path) -> Gazetteer:
    """``data/districts.yaml`` (district names and places) + ``data/nlp/gazetteer.yaml``."""
    entries: list[GazetteerEntry] = []
    for district in _read_yaml(data_dir / "districts.yaml"):
        code = district["code"]
        name_ru, name_kk = district["name_ru"].split()[0], district["name_kk"]
        # "Бостандыкский" → "бостандыкск" so "в Бостандыкском районе" matches too.
        entries.append(GazetteerEntry(name_ru[:-2], "district", code))
        entries.append(GazetteerEntry(name_kk, "district", code))
        entries.append(GazetteerEntry(name_kk.split()[0], "district", code))
        entries.extend(GazetteerEntry(place, "place", code) for place in district["places"])
    extra = data_dir / "nlp" / "gazetteer.yaml"
    if extra.exists():
        for item in _read_yaml(extra)["places"]:
            entries.extend(
                GazetteerEntry(str(name), item["kind"], item.get("district"))
                for name in item["names"]
            )
    return build_gazetteer(entries)


def _word_matches(token: str, key_word: str, *, last: bool) -> bool:
    """The last word may take an ending; an inner one may change its own ("Зелёного базара")."""
    if token == key_word:
        return True
    if last:
        # A final vowel declines: "Орбита" → "Орбите", "Орбиты".
        stem = key_word[:-1] if len(key_word) >= 5 and key_word[-1] in "аяеиоу" else key_word
        return (
            len(key_word) >= 4 and token.startswith(stem) and len(token) - len(stem) <= _MAX_SUFFIX
        )
    kept = max(4, len(key_word) - 2)
    return (
        len(key_word) >= 5 and token[:kept] == key_word[:kept] and len(token) <= len(key_word) + 3
    )


def _fuzzy_key(token: str, gazetteer: Gazetteer) -> str | None:
    """One typo (two in long names) in a word that is surely a place; the prefix absorbs
    an inflected ending."""
    from rapidfuzz.distance import Levenshtein

    best: tuple[int, str] | None = None
    for key in gazetteer.single_by_letter.get(token[:1], ()):
        allowed = 1 if len(key) < 8 else 2
        if abs(len(token) - len(key)) > allowed + _MAX_SUFFIX or len(token) < len(key) - 1:
            continue
        distance = min(
            Levenshtein.distance(key, token, score_cutoff=allowed),
            Levenshtein.distance(key, token[: len(key)], score_cutoff=allowed),
            Levenshtein.distance(key, token[: len(key) + 1], score_cutoff=allowed),
            Levenshtein.distance(key, token[: len(key) - 1], score_cutoff=allowed),
        )
        if distance <= allowed and (best is None or distance < best[0]):
            best = (distance, key)
    return best[1] if best else None


def find_places(text: str, gazetteer: Gazetteer) -> list[PlaceMention]:
    """Gazetteer places named in ``text`` (Russian, Kazakh or Latin; inflected; a typo where
    a marker or a capital says a place follows), longest name first at each position."""
    matches = list(_TOKEN.finditer(text))
    words = [match.group() for match in matches]
    folded = [fold(word) for word in words]
    found: list[PlaceMention] = []
    position = 0
    while position < len(folded):
        token = folded[position]
        best: tuple[int, tuple[str, ...]] | None = None
        for key in gazetteer.by_prefix.get(token[:3], ()):
            window = folded[position : position + len(key)]
            if len(window) == len(key) and all(
                _word_matches(word, key_word, last=index == len(key) - 1)
                for index, (word, key_word) in enumerate(zip(window, key, strict=True))
            ):
                size = sum(len(word) for word in key)
                if best is None or size > best[0]:
                    best = (size, key)
        fuzzy = False
        if best is None and len(token) >= 5:
            marked = position > 0 and folded[position - 1].startswith(_PLACE_MARKERS)
            # A capital counts inside a sentence only: "Самая большая яма" is no "Самал".
            before = text[: matches[position].start()].rstrip()
            named = words[position][:1].isupper() and bool(before) and before[-1] not in ".!?:"
            if marked or named:
                near = _fuzzy_key(token, gazetteer)
                if near is not None:
                    best, fuzzy = (len(near), (near,)), True
        if best is None:
            position += 1
            continue
        key = best[1]
        entry = gazetteer.keys[key][0]
        district = gazetteer.district_of(key)
        if district != entry.district:
            entry = GazetteerEntry(entry.name, entry.kind, district)
        evidence = " ".join(words[position : position + len(key)])
        found.append(PlaceMention(entry, evidence, fuzzy, position))
        position += len(key)
    return found


def detect_district(text: str, gazetteer: Gazetteer) -> tuple[str | None, str | None]:
    """The district of the longest place named in the text that has one, and its words."""
    best: PlaceMention | None = None
    for mention in find_places(text, gazetteer):
        if mention.entry.district is None:
            continue
        if best is None or len(fold(mention.evidence)) > len(fold(best.evidence)):
            best = mention
    return (best.entry.district, best.evidence) if best else (None, None)


# --- natasha (optional): addresses and locations where the gazetteer found nothing --------

_natasha_lock = threading.Lock()
_natasha: Any = None


def _natasha_models() -> Any:
    """Segmenter, NER tagger and address extractor; loaded once (~250 MB, ~1 s)."""
    global _natasha
    with _natasha_lock:
        if _natasha is None:
            from natasha import (
                AddrExtractor,
                MorphVocab,
                NewsEmbedding,
                NewsNERTagger,
                Segmenter,
            )

            embedding = NewsEmbedding()
            _natasha = (
                Segmenter(),
                NewsNERTagger(embedding),
                AddrExtractor(MorphVocab()),
            )
        return _natasha


def natasha_places(text: str) -> list[str]:
    """Location spans (NER ``LOC``) and address parts (``улица Абая``) natasha finds."""
    from natasha import Doc

    segmenter, tagger, addresses = _natasha_models()
    doc = Doc(text)
    doc.segment(segmenter)
    doc.tag_ner(tagger)
    spans = [span.text for span in doc.spans if span.type == "LOC"]
    for match in addresses(text):
        parts = match.fact.parts if hasattr(match.fact, "parts") else [match.fact]
        for part in parts:
            if getattr(part, "value", None):
                spans.append(f"{part.type or ''} {part.value}".strip())
    return list(dict.fromkeys(spans))

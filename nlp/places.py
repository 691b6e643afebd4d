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
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from nlp.gazetteer import (
    TOKEN,
    Gazetteer,
    GazetteerEntry,
    Key,
    build_gazetteer,
    fold,
    load_gazetteer,
)

__all__ = [
    "Gazetteer",
    "GazetteerEntry",
    "Learned",
    "Location",
    "PlaceMention",
    "build_gazetteer",
    "detect_district",
    "evidence_keys",
    "extract_places",
    "find_places",
    "fold",
    "load_gazetteer",
    "locate",
    "natasha_places",
    "split_key",
]

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


# --- the Almaty gazetteer: places → districts (issues 4 and 19) ------------------------------

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
# A one-word street name is also a surname or a word ("Маркова", "Желтоқсан" = December): it
# counts as a street after a street word or a preposition of place, before a house number or
# "көшесі", or next to another street (an intersection).
# fmt: off
_STREET_WORDS = frozenset((
    "ул", "улица", "улице", "улицу", "улицеи", "улици", "пр", "просп", "пркт", "пер", "бул",
    "бр", "кош", "данг", "мкр", "ш", "ave", "т", "кт",
))
# fmt: on
_STREET_PREFIXES = ("улиц", "проспект", "переул", "бульвар", "тракт", "шоссе", "адрес")
# fmt: off
_PLACE_PREPOSITIONS = frozenset((
    "на", "по", "с", "со", "у", "возле", "около", "рядом", "угол", "углу", "уг", "между", "от",
    "до", "напротив", "вдоль", "за", "ниже", "выше", "раионе", "пересечении", "пересечение",
    "перекресток", "перекрестке", "в", "во", "из",
))
# fmt: on
# fmt: off
_AFTER_STREET = (
    "кошес", "коше", "дангил", "данг", "кош", "киилис", "бои", "манинд", "жанинд", "улиц",
    "проспект",
)
_MICRO_WORDS = ("мкр", "микраион", "микрораион", "икшамаудан", "шагин", "трц", "тц", "рин")
_CONNECTORS = frozenset(("и", "угол", "уг", "мен", "пен", "бен", "пересечение", "пересечении"))
# fmt: on
_HOUSE_NUMBER = re.compile(r"^\d{1,4}[а-яa-z]?$")
_HOUSE_FILLERS = frozenset(("д", "дом", "доме", "дома", "уи", "уидин", "н", "no"))
# Almaty's numbered microdistricts ("мкр 12", "5-й микрорайон") are all in Auezov (gis: мкр 1, 2).
_NUMBERED_MICRO = re.compile(
    r"(?i:(?:мкр|микрорайон\w*|ықшамаудан\w*|ыкшамаудан\w*)\.?\s*№?\s*(\d{1,2})"
    r"(?![\d\-–]*[а-яa-z]{2}))"
    r"|(?<![\w\-–])(?i:(\d{1,2})(?:-?[йи]|-ші|-шы)?\s+(?:мкр|микрорайон|ықшамаудан|ыкшамаудан))"
)
NUMBERED_MICRO_DISTRICT = "auezov"
_NUMBERED_MICRO_MAX = 12

# How strongly each kind of evidence names the district; the strongest wins.
STRENGTH = {
    "district_name": 100,
    "learned_street_house": 92,
    "street_house": 90,
    "intersection": 85,
    "place": 80,
    "numbered_microdistrict": 78,
    "learned_street": 75,
    "street": 70,
    "learned_name": 68,
    "learned_cell": 62,
    "pin": 60,
    "street_main": 40,
}


@dataclass(frozen=True)
class PlaceMention:
    """A place found in a text: the gazetteer's entry, the words that named it, how."""

    entry: GazetteerEntry
    evidence: str
    fuzzy: bool
    start: int  # word position in the text
    end: int = 0  # word position after the name (and its house number)
    house: int | None = None  # the house number written after a street
    district: str | None = None  # resolved: the entry's district, or its segment's
    candidates: frozenset[str] = frozenset()
    how: str = "place"  # district_name, street_house, street, street_main, place
    context: bool = True  # a street: a street word, a preposition or a number beside it


@dataclass(frozen=True)
class Learned:
    """A place the deployment learned from its own appeals: the district operators and
    executors confirmed, from how many appeals, and the share that agreed."""

    district: str
    appeals: int
    share: float


@dataclass(frozen=True)
class Location:
    """The district of a text, the words that named it and what kind of evidence it was."""

    district: str | None
    evidence: str | None
    how: str | None = None
    candidates: frozenset[str] = frozenset()


NOWHERE = Location(None, None)


def house_bucket(number: int) -> str:
    """Learning groups houses by tens on each side of a street: 215 → "o21", 48 → "e4"."""
    return f"{'o' if number % 2 else 'e'}{number // 10}"


def _word_matches(token: str, key_word: str, *, last: bool) -> bool:
    """The last word may take an ending; an inner one may change its own ("Зелёного базара")."""
    if token == key_word:
        return True
    if last:
        # A final vowel declines: "Орбита" → "Орбите", "Орбиты".
        stem = key_word[:-1] if len(key_word) >= 5 and key_word[-1] in "аяеиоу" else key_word
        # Three letters only for an abbreviation ("ЦУМа"; checked against the capitals later).
        return (
            len(key_word) >= 3 and token.startswith(stem) and len(token) - len(stem) <= _MAX_SUFFIX
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
        allowed = 1 if len(key) < 9 else 2
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


def _fuzzy_allowed(
    key: str, token: str, folded: list[str], position: int, gazetteer: Gazetteer
) -> bool:
    """A misspelt street is taken only after a street word (or before "көшесі" or a house
    number), starting as the name does and one letter off once its ending is dropped: a city
    has more streets than any gazetteer, and "Маяковского" is no "Маркова"."""
    if not any(entry.kind == "street" for entry in gazetteer.keys[(key,)]):
        return True
    if len(key) < 6 or token[:1] != key[:1]:
        return False
    from rapidfuzz.distance import Levenshtein

    stems = {token, token[:-1], token[:-2], token[:-3]}
    if min(Levenshtein.distance(key, stem) for stem in stems if stem) > 1:
        return False
    before = folded[position - 1] if position > 0 else ""
    after = folded[position + 1] if position + 1 < len(folded) else ""
    house, _ = _house_after(folded, position + 1)
    return (
        before in _STREET_WORDS
        or before.startswith(_STREET_PREFIXES)
        or after.startswith(_AFTER_STREET)
        or house is not None
    )


def _house_after(folded: list[str], position: int) -> tuple[int | None, int]:
    """A house number written after a name ("Жарокова 215", "Абай даңғылы, 52-үй",
    "ул. Маркова, д. 5"): (number, word position after it)."""
    index = position
    for _ in range(3):
        if index >= len(folded):
            return None, position
        word = folded[index]
        if _HOUSE_NUMBER.match(word):
            digits = re.match(r"\d+", word)
            return (int(digits.group()) if digits else None), index + 1
        if word in _HOUSE_FILLERS or word in _STREET_WORDS or word.startswith(_AFTER_STREET):
            index += 1
            continue
        return None, position
    return None, position


def _street_context(folded: list[str], start: int, end: int, house: int | None) -> bool:
    if house is not None:
        return True
    before = folded[start - 1] if start > 0 else ""
    if (
        before in _STREET_WORDS
        or before in _PLACE_PREPOSITIONS
        or before.startswith(_STREET_PREFIXES)
    ):
        return True
    after = folded[end] if end < len(folded) else ""
    return bool(after) and after.startswith(_AFTER_STREET)


def _micro_context(folded: list[str], start: int, end: int) -> bool:
    before = folded[start - 1] if start > 0 else ""
    after = folded[end] if end < len(folded) else ""
    return before.startswith(_MICRO_WORDS) or after.startswith(_MICRO_WORDS)


def _resolve(
    entries: tuple[GazetteerEntry, ...], house: int | None, street_like: bool
) -> tuple[str | None, frozenset[str], str]:
    """(district, candidates, how) of a name. A name that is a street and something else
    ("Әуезов": a district and a street) is the street only with a street word or a house
    number beside it, and decides nothing without one."""
    streets = tuple(entry for entry in entries if entry.kind == "street")
    agreed = {entry.district for entry in entries}
    if streets and len(streets) < len(entries) and not (len(agreed) == 1 and None not in agreed):
        if not street_like:
            return None, frozenset(), "place"
        entries = streets
    candidates: frozenset[str] = frozenset().union(*(entry.candidates() for entry in entries))
    if streets:
        by_house = {entry.district_for(house) for entry in entries}
        if len(by_house) == 1 and None not in by_house:
            district = by_house.pop()
            exact = any(entry.segments and entry.district is None for entry in entries)
            return district, candidates, "street_house" if exact else "street"
        mains = {entry.main for entry in entries}
        in_gap = house is not None and any(entry.segments for entry in entries)
        if len(mains) == 1 and None not in mains and not in_gap:
            return mains.pop(), candidates, "street_main"
        return None, candidates, "street"
    districts = {entry.district for entry in entries}
    kind = "district_name" if all(entry.kind == "district" for entry in entries) else "place"
    return (districts.pop() if len(districts) == 1 else None), candidates, kind


def find_places(text: str, gazetteer: Gazetteer) -> list[PlaceMention]:
    """Gazetteer places named in ``text`` (Russian, Kazakh or Latin; inflected; a typo where
    a marker or a capital says a place follows), longest name first at each position, each
    with its house number and the district that number (or the place) lies in."""
    matches = list(TOKEN.finditer(text))
    words = [match.group() for match in matches]
    folded = [fold(word) for word in words]
    found: list[PlaceMention] = []
    position = 0
    while position < len(folded):
        token = folded[position]
        best: tuple[int, Key] | None = None
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
                if near is not None and _fuzzy_allowed(near, token, folded, position, gazetteer):
                    best, fuzzy = (len(near), (near,)), True
        if best is None:
            position += 1
            continue
        key = best[1]
        entries = gazetteer.keys[key]
        short = sum(len(word) for word in key) < 4
        if short and not any(words[position].startswith(entry.name) for entry in entries):
            position += 1  # "цум" inside "цумба": an abbreviation counts only as written
            continue
        end = position + len(key)
        house, after_house = None, end
        if any(entry.kind == "street" for entry in entries):
            house, after_house = _house_after(folded, end)
        street_like = _street_context(folded, position, end, house)
        if any(entry.needs_marker for entry in entries) and not _micro_context(
            folded, position, end
        ):
            position = end
            continue
        district, candidates, how = _resolve(entries, house, street_like)
        is_street = all(entry.kind == "street" for entry in entries)
        single_word = len(key) == 1 and "-" not in text[matches[position].start() : matches[
            end - 1].end()]  # fmt: skip
        entry = entries[0]
        if entry.district != gazetteer.district_of(key):
            entry = GazetteerEntry(entry.name, entry.kind, gazetteer.district_of(key),
                                   entry.districts, entry.segments, entry.main, entry.point,
                                   entry.radius_m, entry.needs_marker, entry.canonical)  # fmt: skip
        stop = after_house if house is not None else end
        evidence = " ".join(words[position:stop])
        found.append(
            PlaceMention(
                entry,
                evidence,
                fuzzy,
                position,
                end=stop,
                house=house,
                district=district,
                candidates=candidates,
                how=how,
                context=street_like or not (is_street and single_word),
            )
        )
        position = stop
    return _with_intersections(found, folded)


def _with_intersections(found: list[PlaceMention], folded: list[str]) -> list[PlaceMention]:
    """A street without a street word next to another street is an intersection ("Абая –
    Саина", "угол Толе би и Жарокова"): both count as streets."""
    streets = [m for m in found if m.entry.kind == "street" or m.how.startswith("street")]
    for first, second in pairwise(streets):
        between = folded[first.end : second.start]
        if len(between) <= 2 and all(word in _CONNECTORS for word in between):
            for mention in (first, second):
                if not mention.context:
                    index = found.index(mention)
                    found[index] = _replace(mention, context=True)
    return found


def _replace(mention: PlaceMention, **changes: Any) -> PlaceMention:
    from dataclasses import replace

    return replace(mention, **changes)


def _intersection(mentions: list[PlaceMention], folded_gap: int = 2) -> Location | None:
    """Two crossing streets named together decide where their district sets meet."""
    streets = [m for m in mentions if m.context and m.entry.kind == "street"]
    for first, second in pairwise(streets):
        if second.start - first.end > folded_gap or first.house is not None:
            continue
        common = first.candidates & second.candidates
        if len(common) == 1:
            evidence = f"{first.evidence} / {second.evidence}"
            return Location(next(iter(common)), evidence, "intersection", common)
    return None


def numbered_microdistrict(text: str) -> str | None:
    """ "мкр 12", "5-й микрорайон": the words, when the number is one of Almaty's 1–12."""
    for match in _NUMBERED_MICRO.finditer(text):
        number = match.group(1) or match.group(2)
        if number and 1 <= int(number) <= _NUMBERED_MICRO_MAX:
            return match.group().strip()
    return None


def learned_keys(mention: PlaceMention) -> list[str]:
    """The keys a street mention is learned under: the street, and its side and tens of
    houses ("street:жарокова:o21") when a number is written."""
    if mention.entry.kind != "street" or not mention.context:
        return []
    base = f"street:{mention.entry.canonical}"
    if mention.house is None:
        return [base]
    return [f"{base}:{house_bucket(mention.house)}", base]


def unknown_street_keys(text: str, mentions: list[PlaceMention]) -> list[str]:
    """Streets the gazetteer does not know, named with a street word ("ул. Кастеева 12"):
    learned under the regex key's street ("name:кастее")."""
    known = {fold(word)[:6] for mention in mentions for word in mention.evidence.split()}
    keys = []
    for key in extract_places(text):
        street, _ = split_key(key)
        if street and not street[:1].isdigit() and street.split()[0][:6] not in known:
            keys.append(f"name:{street}")
    return list(dict.fromkeys(keys))


def evidence_keys(text: str, gazetteer: Gazetteer) -> list[str]:
    """What an appeal whose district a person confirmed teaches: its streets (with side and
    tens of houses) and the streets the gazetteer does not know."""
    mentions = find_places(text, gazetteer)
    keys = [key for mention in mentions for key in learned_keys(mention)]
    keys.extend(unknown_street_keys(text, mentions))
    return list(dict.fromkeys(keys))


def locate(
    text: str, gazetteer: Gazetteer, *, learned: Mapping[str, Learned] | None = None
) -> Location:
    """The district a text names, by the strongest evidence: a district's name, a street and
    house (the deployment's own history first), an intersection, a microdistrict or
    landmark, a numbered microdistrict, a one-district street, and last a crossing street's
    main district. Equal evidence naming two districts decides nothing."""
    mentions = find_places(text, gazetteer)
    options: list[tuple[int, int, Location]] = []
    for mention in mentions:
        if mention.entry.kind == "street" and not mention.context:
            continue
        if learned:
            for key in learned_keys(mention):
                hit = learned.get(key)
                if hit is not None:
                    how = "learned_street_house" if key.count(":") == 2 else "learned_street"
                    options.append(
                        (STRENGTH[how], len(mention.evidence),
                         Location(hit.district, mention.evidence, how, mention.candidates))
                    )  # fmt: skip
                    break
        if mention.district is not None:
            how = mention.how if mention.how in STRENGTH else "place"
            options.append(
                (STRENGTH[how], len(fold(mention.evidence)),
                 Location(mention.district, mention.evidence, how, mention.candidates))
            )  # fmt: skip
    crossing = _intersection(mentions)
    if crossing is not None:
        options.append((STRENGTH["intersection"], len(crossing.evidence or ""), crossing))
    numbered = numbered_microdistrict(text)
    if numbered is not None:
        options.append(
            (STRENGTH["numbered_microdistrict"], len(numbered),
             Location(NUMBERED_MICRO_DISTRICT, numbered, "numbered_microdistrict"))
        )  # fmt: skip
    if learned:
        for key in unknown_street_keys(text, mentions):
            hit = learned.get(key)
            if hit is not None:
                where = Location(hit.district, key.split(":", 1)[1], "learned_name")
                options.append((STRENGTH["learned_name"], len(key), where))
    if not options:
        return NOWHERE
    options.sort(key=lambda option: (-option[0], -option[1]))
    top_strength = options[0][0]
    top = [option for option in options if option[0] == top_strength]
    if len({option[2].district for option in top}) > 1 and top[0][1] == top[1][1]:
        return NOWHERE
    return options[0][2]


def detect_district(
    text: str, gazetteer: Gazetteer, *, learned: Mapping[str, Learned] | None = None
) -> tuple[str | None, str | None]:
    """The district the text names and the words that named it (see :func:`locate`)."""
    location = locate(text, gazetteer, learned=learned)
    return location.district, location.evidence


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

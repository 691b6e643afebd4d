"""Place mentions in an appeal's text: streets, avenues, microdistricts and house numbers.

Pure and cheap (regular expressions); issue 4 adds NER and the gazetteer. The
result is a normalized key such as "абая 52" or "самал 2", good enough to tell
whether two appeals speak of the same place.
"""

from __future__ import annotations

import re

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

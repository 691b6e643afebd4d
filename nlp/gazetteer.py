"""The Almaty gazetteer: district names, microdistricts, landmarks and streets, read from data/.

Why a module of its own: ``nlp.places`` finds places in a text, ``nlp.geo`` turns a map pin
into a district, and both read the same entries. A street that crosses districts carries its
**segments** (house numbers per district, one side of a boundary street or both) or the set
of districts it touches, so a house number or a cross street can still decide.

Names are matched *folded*: Kazakh letters to their Russian look-alikes, Latin
transliterated, й/ы/ь/ё folded, so "Шаңырақ", "Шанырак" and "Shanyrak" meet. A Russian
genitive street name ("Жарокова", "Гагарина") also gets its Kazakh stem ("Жароков",
"Гагарин"), which is how the street is written in Kazakh ("Жароков көшесі").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

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
TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
# Russian genitive endings of street names; the Kazakh form drops them ("Жарокова" → "Жароков").
_GENITIVE = ("ова", "ева", "ина", "ына", "аева", "иева")


def fold(word: str) -> str:
    """One spelling for Russian, Kazakh and Latin forms of a name (lower case)."""
    word = word.lower()
    if word.isascii():
        for latin, cyrillic in _LATIN_DIGRAPHS:
            word = word.replace(latin, cyrillic)
        word = word.translate(_LATIN_SINGLE)
    return word.translate(_FOLD_CYRILLIC)


@dataclass(frozen=True)
class Segment:
    """House numbers of a street in one district: ``low``–``high``, one side or both."""

    district: str
    low: int
    high: int
    parity: str = "both"  # odd, even or both

    def holds(self, number: int) -> bool:
        if not self.low <= number <= self.high:
            return False
        if self.parity == "odd":
            return number % 2 == 1
        if self.parity == "even":
            return number % 2 == 0
        return True


_SEGMENT = re.compile(r"^\s*(?:(odd|even)\s+)?(\d+)\s*(?:-\s*(\d+)|(\+))\s*$")
OPEN_END = 99_999


def parse_houses(text: str) -> tuple[int, int, str]:
    """ "1-69" → (1, 69, both); "odd 101-469"; "121+" → (121, OPEN_END, both)."""
    match = _SEGMENT.match(str(text))
    if not match:
        raise ValueError(f"house range {text!r}: write '1-69', 'odd 101-469' or '121+'")
    parity, low, high, open_end = match.groups()
    upper = OPEN_END if open_end else int(high)
    if int(low) > upper:
        raise ValueError(f"house range {text!r} runs backwards")
    return int(low), upper, parity or "both"


@dataclass(frozen=True)
class GazetteerEntry:
    """One named place. ``district`` is set when the whole place lies in one district."""

    name: str  # as written in the data
    kind: str  # district, microdistrict, place, landmark, street
    district: str | None  # None: the place crosses districts, or its district is unknown
    districts: tuple[str, ...] = ()  # every district a crossing street touches
    segments: tuple[Segment, ...] = ()  # house numbers per district
    main: str | None = None  # where about three quarters of a crossing street lie
    point: tuple[float, float] | None = None  # (latitude, longitude), approximate
    radius_m: int = 0  # how far from the point a map pin still counts as this place
    needs_marker: bool = False  # a common word too: counts only after мкр, ТРЦ, ул. …
    canonical: str = ""  # the entry's first name, folded: the key learning counts under

    def candidates(self) -> frozenset[str]:
        """The districts this place may be in."""
        found = set(self.districts) | {segment.district for segment in self.segments}
        if self.district:
            found.add(self.district)
        return frozenset(found)

    def district_for(self, number: int | None) -> str | None:
        """The district of house ``number`` on this street (a segment), else the district."""
        if number is not None:
            for segment in self.segments:
                if segment.holds(number):
                    return segment.district
        return self.district


Key = tuple[str, ...]


@dataclass(frozen=True)
class Gazetteer:
    """Folded keys (tuples of words) → entries, indexed by the first letters of the key."""

    points: tuple[GazetteerEntry, ...]  # map anchors that are not matched in texts
    keys: dict[Key, tuple[GazetteerEntry, ...]]
    by_prefix: dict[str, tuple[Key, ...]]
    single_by_letter: dict[str, tuple[str, ...]]

    def district_of(self, key: Key) -> str | None:
        """The key's district, or None when its entries disagree (a street and a district)."""
        districts = {entry.district for entry in self.keys[key]}
        return districts.pop() if len(districts) == 1 else None

    def anchors(self) -> list[GazetteerEntry]:
        """Entries with a map point and a district (what a pin is compared with), once each."""
        seen: dict[tuple[str, tuple[float, float]], GazetteerEntry] = {}
        for entries in (*self.keys.values(), self.points):
            for entry in entries:
                if entry.point is not None and entry.district is not None:
                    seen.setdefault((entry.canonical, entry.point), entry)
        return list(seen.values())


def is_abbreviation(name: str) -> bool:
    """ "ЦУМ", "КБТУ": three or more capitals, no spaces."""
    return len(name) >= 3 and name.isupper() and " " not in name


def key_of(name: str) -> Key:
    return tuple(fold(word) for word in TOKEN.findall(name))


def build_gazetteer(
    entries: list[GazetteerEntry], points: list[GazetteerEntry] | None = None
) -> Gazetteer:
    """Index ``entries`` by their folded names; ``points`` are map anchors only."""
    keys: dict[Key, list[GazetteerEntry]] = {}
    for entry in entries:
        key = key_of(entry.name)
        # Short names are too easily part of other words; an abbreviation in capitals
        # ("ЦУМ") is kept and matched only as written (see nlp.places.find_places).
        if key and (sum(len(word) for word in key) >= 4 or is_abbreviation(entry.name)):
            keys.setdefault(key, []).append(entry)
    by_prefix: dict[str, list[Key]] = {}
    single: dict[str, list[str]] = {}
    for key in keys:
        by_prefix.setdefault(key[0][:3], []).append(key)
        if len(key) == 1 and len(key[0]) >= 5:
            single.setdefault(key[0][0], []).append(key[0])
    return Gazetteer(
        points=tuple(points or ()),
        keys={key: tuple(found) for key, found in keys.items()},
        by_prefix={prefix: tuple(found) for prefix, found in by_prefix.items()},
        single_by_letter={letter: tuple(found) for letter, found in single.items()},
    )


def _read_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def kazakh_stems(names: list[str]) -> list[str]:
    """The names plus the Kazakh form of each Russian genitive ("Жарокова" → "Жароков")."""
    out = list(names)
    for name in names:
        last = name.split()[-1] if name.split() else name
        lowered = last.lower()
        if any(lowered.endswith(ending) for ending in _GENITIVE) and len(lowered) >= 6:
            stem = name[: len(name) - 1]
            if stem not in out:
                out.append(stem)
    return out


def _street_entries(item: dict[str, Any]) -> list[GazetteerEntry]:
    names = [str(name) for name in item["names"]]
    segments = tuple(
        Segment(segment["district"], *parse_houses(segment["houses"]))
        for segment in item.get("segments") or ()
    )
    canonical = " ".join(key_of(names[0]))
    return [
        GazetteerEntry(
            name,
            "street",
            item.get("district"),
            districts=tuple(item.get("districts") or ()),
            segments=segments,
            main=item.get("main"),
            canonical=canonical,
        )
        for name in kazakh_stems(names)
    ]


def _place_entries(item: dict[str, Any]) -> list[GazetteerEntry]:
    names = [str(name) for name in item["names"]]
    point = item.get("point")
    canonical = " ".join(key_of(names[0]))
    return [
        GazetteerEntry(
            name,
            str(item.get("kind", "landmark")),
            item.get("district"),
            point=(float(point[0]), float(point[1])) if point else None,
            radius_m=int(item.get("radius_m", 500)),
            needs_marker=bool(item.get("needs_marker", False)),
            canonical=canonical,
        )
        for name in names
    ]


@lru_cache(maxsize=4)
def load_gazetteer(data_dir: Path) -> Gazetteer:
    """``data/districts.yaml`` (district names and places), ``data/nlp/gazetteer.yaml``,
    ``data/nlp/streets.yaml`` (streets with segments) and ``data/nlp/landmarks.yaml``
    (places with a map point). A street in streets.yaml replaces the gazetteer's entry."""
    entries: list[GazetteerEntry] = []
    for district in _read_yaml(data_dir / "districts.yaml"):
        code = district["code"]
        name_ru, name_kk = district["name_ru"].split()[0], district["name_kk"]
        # "Бостандыкский" → "бостандыкск" so "в Бостандыкском районе" matches too.
        for name in (name_ru[:-2], name_kk, name_kk.split()[0]):
            entries.append(GazetteerEntry(name, "district", code, canonical=" ".join(key_of(name))))
        entries.extend(
            GazetteerEntry(place, "place", code, canonical=" ".join(key_of(place)))
            for place in district["places"]
        )
    nlp_dir = data_dir / "nlp"
    streets: list[GazetteerEntry] = []
    if (nlp_dir / "streets.yaml").exists():
        for item in _read_yaml(nlp_dir / "streets.yaml")["streets"]:
            streets.extend(_street_entries(item))
    known_streets = {key_of(entry.name) for entry in streets}
    if (nlp_dir / "gazetteer.yaml").exists():
        for item in _read_yaml(nlp_dir / "gazetteer.yaml")["places"]:
            for name in item["names"]:
                if item["kind"] == "street" and key_of(str(name)) in known_streets:
                    continue
                entries.append(
                    GazetteerEntry(
                        str(name),
                        item["kind"],
                        item.get("district"),
                        canonical=" ".join(key_of(str(name))),
                    )
                )
    entries.extend(streets)
    points: list[GazetteerEntry] = []
    if (nlp_dir / "landmarks.yaml").exists():
        for item in _read_yaml(nlp_dir / "landmarks.yaml")["places"]:
            (entries if item.get("text", True) else points).extend(_place_entries(item))
    return build_gazetteer(entries, points)

"""Is a new appeal a repeat of an earlier one, or a duplicate of another citizen's? Pure.

A **repeat**: the same citizen (across merged identities) raises the same issue
again within ``repeat_window_days``. A **duplicate**: another citizen reports the
same problem, same topic, same district, same place, within
``duplicate_window_days`` (a street spanning districts leaves the district unknown: then
the place decides). Every verdict carries its evidence (which fields
matched, the text and place similarity, the days between) so an operator can
see why, and confirm or break the link.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rapidfuzz import fuzz

from appeals.models import LinkKind
from nlp.annotate import normalize
from nlp.places import extract_places, split_key


@dataclass(frozen=True)
class MatchRules:
    repeat_window_days: int = 90
    duplicate_window_days: int = 14
    repeat_threshold: float = 0.62
    duplicate_threshold: float = 0.7


@dataclass(frozen=True)
class AppealFacts:
    """What matching needs to know of an appeal; ``text`` normalized, ``places`` keyed."""

    id: int
    citizen_group: int | None
    category_code: str | None
    district_code: str | None
    places: tuple[str, ...]
    text: str
    received_at: datetime


@dataclass(frozen=True)
class Match:
    kind: LinkKind
    score: float
    evidence: dict[str, Any] = field(default_factory=dict)


def _place_pair(a: str, b: str) -> float:
    street_a, house_a = split_key(a)
    street_b, house_b = split_key(b)
    street = fuzz.ratio(street_a, street_b) / 100
    if street < 0.8:
        return street * 0.5  # another street
    if house_a and house_b:
        return 1.0 if house_a == house_b else 0.3  # the same street, another building
    return 0.85  # the same street, a house named on one side only


def place_similarity(new: tuple[str, ...], old: tuple[str, ...]) -> float | None:
    """1.0 for the same street and house, 0.3 for another house on the same street."""
    if not new or not old:
        return None
    return max(_place_pair(a, b) for a in new for b in old)


def match_keys(text: str, address: str | None) -> tuple[str, list[str], str | None]:
    """What matching compares, computed once when an appeal is annotated and stored:
    the normalized text, the place keys, and the street of the first place (an index key)."""
    places = extract_places(f"{address or ''} {text}")
    return normalize(text), places, split_key(places[0])[0] if places else None


def compare(new: AppealFacts, old: AppealFacts, rules: MatchRules) -> Match | None:
    """The link between ``new`` and the earlier ``old``, if the evidence is strong enough.

    The cheap tests (time, topic, district, place) come first; the text comparison,
    the costly one, only for pairs that can still qualify.
    """
    days = (new.received_at - old.received_at).total_seconds() / 86400
    if days < 0:
        return None
    same_citizen = new.citizen_group is not None and new.citizen_group == old.citizen_group
    same_topic = new.category_code is not None and new.category_code == old.category_code
    # An unknown topic or district (the classifier abstained) neither matches nor differs.
    topic = 1.0 if same_topic else (0.5 if None in (new.category_code, old.category_code) else 0.0)
    same_district = new.district_code is not None and new.district_code == old.district_code
    district_unknown = None in (new.district_code, old.district_code)
    if same_citizen:
        if days > rules.repeat_window_days:
            return None
    elif (
        days > rules.duplicate_window_days
        or not same_topic
        or (not same_district and not district_unknown)
    ):
        return None
    place = place_similarity(new.places, old.places)
    if same_citizen and place is not None and place < 0.6:
        return None  # the same person, but somewhere else: another issue
    if not same_citizen and place is not None and place < 0.8:
        return None  # another place: another problem
    if not same_citizen and place is None and not same_district:
        return None
    text = fuzz.token_set_ratio(new.text, old.text) / 100
    evidence: dict[str, Any] = {
        "same_topic": same_topic,
        "same_district": same_district,
        "text_similarity": round(text, 3),
        "place_similarity": None if place is None else round(place, 3),
        "days_between": round(days, 1),
    }
    if same_citizen:
        where = place if place is not None else (1.0 if same_district else 0.5)
        score = 0.35 * topic + 0.2 * where + 0.45 * text
        if score >= rules.repeat_threshold:
            return Match(LinkKind.REPEAT, round(score, 3), {**evidence, "same_citizen": True})
        return None
    if place is None:
        # Without a place on both sides only a near-identical text in the same district counts.
        if text >= 0.85:
            return Match(LinkKind.DUPLICATE, round(0.5 + 0.5 * text, 3), evidence)
        return None
    score = 0.3 + 0.5 * place + 0.2 * text
    if score >= rules.duplicate_threshold:
        return Match(LinkKind.DUPLICATE, round(score, 3), evidence)
    return None


def best_matches(
    new: AppealFacts, candidates: list[AppealFacts], rules: MatchRules
) -> tuple[Match | None, Match | None]:
    """The strongest repeat and the strongest duplicate among earlier appeals (with ids)."""
    best: dict[LinkKind, tuple[Match, int]] = {}
    for old in candidates:
        if old.id == new.id:
            continue
        match = compare(new, old, rules)
        if match is None:
            continue
        current = best.get(match.kind)
        if current is None or match.score > current[0].score:
            best[match.kind] = (match, old.id)
    repeat = best.get(LinkKind.REPEAT)
    duplicate = best.get(LinkKind.DUPLICATE)
    return (
        Match(repeat[0].kind, repeat[0].score, {**repeat[0].evidence, "other_id": repeat[1]})
        if repeat
        else None,
        Match(
            duplicate[0].kind,
            duplicate[0].score,
            {**duplicate[0].evidence, "other_id": duplicate[1]},
        )
        if duplicate
        else None,
    )

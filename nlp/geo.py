"""A map pin → the district: the nearest known place within its radius (issue 19).

Why not district boundaries: no boundary polygons of Almaty's districts can be had offline
here, and polygons drawn from memory would be wrong exactly where it matters, at the edges.
So a pin (a Telegram or WhatsApp location, the portal's map pin) takes the district of the
nearest place of the gazetteer that has a point (``data/nlp/landmarks.yaml``: microdistricts,
landmarks) when the pin lies within that place's radius, and nothing when it lies nowhere
near a known place or between two districts' places at about the same distance. The city
learns the rest: a grid cell where people confirmed a district often enough decides first
(``cell_key``; see ``intake.place_learning``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from nlp.gazetteer import GazetteerEntry
from nlp.places import STRENGTH, Learned, Location

# Almaty within its 2014 limits, with a margin: a pin outside is no city address.
CITY_BOUNDS = ((43.05, 43.45), (76.68, 77.20))
# A pin this much nearer one district's place than any other district's decides.
MARGIN = 1.3
CELL_LAT = 0.005  # ≈ 555 m
CELL_LON = 0.007  # ≈ 570 m at 43° N
_EARTH_M = 6_371_000.0


@dataclass(frozen=True)
class PinGuess:
    """Where a pin is: the district, the place it is near and how far, or why not."""

    district: str | None
    place: str | None
    distance_m: int | None
    reason: str  # near_place, learned_cell, outside_city, no_place_near, between_districts

    def location(self, latitude: float, longitude: float) -> Location:
        if self.district is None:
            return Location(None, None)
        how = "learned_cell" if self.reason == "learned_cell" else "pin"
        where = (
            f"{latitude:.5f}, {longitude:.5f}: {self.distance_m} m from {self.place}"
            if self.place
            else f"{latitude:.5f}, {longitude:.5f}"
        )
        return Location(self.district, where, how, frozenset({self.district}))


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in metres (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * _EARTH_M * math.asin(math.sqrt(h))


def in_city(latitude: float, longitude: float) -> bool:
    (south, north), (west, east) = CITY_BOUNDS
    return south <= latitude <= north and west <= longitude <= east


def cell_key(latitude: float, longitude: float) -> str:
    """The grid cell a pin falls in, the key a confirmed pin is learned under."""
    return f"cell:{math.floor(latitude / CELL_LAT)}:{math.floor(longitude / CELL_LON)}"


def district_at(
    latitude: float,
    longitude: float,
    anchors: Sequence[GazetteerEntry],
    *,
    learned: Mapping[str, Learned] | None = None,
) -> PinGuess:
    """The district of a pin: a learned grid cell first, else the nearest known place."""
    if not in_city(latitude, longitude):
        return PinGuess(None, None, None, "outside_city")
    if learned:
        hit = learned.get(cell_key(latitude, longitude))
        if hit is not None:
            return PinGuess(hit.district, None, None, "learned_cell")
    pin = (latitude, longitude)
    nearest: dict[str, tuple[float, GazetteerEntry]] = {}
    for anchor in anchors:
        if anchor.point is None or anchor.district is None:
            continue
        metres = distance_m(pin, anchor.point)
        known = nearest.get(anchor.district)
        if known is None or metres < known[0]:
            nearest[anchor.district] = (metres, anchor)
    ranked = sorted(nearest.items(), key=lambda item: item[1][0])
    if not ranked:
        return PinGuess(None, None, None, "no_place_near")
    district, (metres, anchor) = ranked[0]
    if metres > anchor.radius_m:
        return PinGuess(None, anchor.name, round(metres), "no_place_near")
    if len(ranked) > 1 and ranked[1][1][0] < metres * MARGIN:
        return PinGuess(None, anchor.name, round(metres), "between_districts")
    return PinGuess(district, anchor.name, round(metres), "near_place")


def pin_strength(guess: PinGuess) -> int:
    return STRENGTH["learned_cell" if guess.reason == "learned_cell" else "pin"]

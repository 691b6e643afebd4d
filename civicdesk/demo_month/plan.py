"""Who writes to the city in the demo month, when, on which channel, about what. Pure.

The plan is drawn once from the seed before anything is written: every arrival's moment,
channel, topic, language, text, place and citizen, the incidents (many citizens reporting one
problem at one place within hours) and the repeat callers (the same person again, about the
same problem or another). What happens to each appeal afterwards is played by
``civicdesk.demo_month.engine`` through the real services; its organization's profile
(``PROFILES``) and the appeal's own dice decide how fast and how well it is answered.

The proportions are documented in docs/demo.md.
"""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from appeals.models import Channel
from civicdesk.demo_month import texts
from civicdesk.demo_month.worktime import WorkTime

# --- proportions -------------------------------------------------------------------------

#: Channel shares (%): Open Almaty gets more than 91 % through social media and the call
#: center; here phone + Telegram + WhatsApp + social media make 92 %.
CHANNEL_SHARES: dict[Channel, float] = {
    Channel.PHONE: 46,
    Channel.TELEGRAM: 17,
    Channel.WHATSAPP: 15,
    Channel.SOCIAL: 14,
    Channel.PORTAL: 5,
    Channel.MOBILE: 1.5,
    Channel.FRONT_OFFICE: 1.5,
}
#: Calls answered on the spot by the operator (the KPI: 58 % in 2023 to 66 % in 2026).
QUICK_SHARE_OF_CALLS = 0.6
#: Calls that hang up in the queue, on top of the calls that file or answer an appeal.
ABANDONED_SHARE_OF_CALLS = 0.07
#: Topic areas of appeals that go to an organization, in % (Open Almaty 2025: public
#: transport 21 %, engineering networks 13 %, road repair 13 %, cleaning 11 %, greening
#: 8 %, lighting 5 %; the rest spread over the other areas).
AREA_WEIGHTS: dict[str, float] = {
    "transport": 14,
    "traffic": 7,
    "water": 6,
    "heating": 4,
    "electricity": 2,
    "gas": 1,
    "roads": 13,
    "improvement": 7,
    "waste": 4,
    "greenery": 5,
    "parks": 3,
    "lighting": 5,
    "housing": 6,
    "education": 3,
    "health": 2,
    "social": 2.5,
    "public_order": 2,
    "construction": 2,
    "land": 1,
    "animals": 2,
    "ecology": 1.5,
    "trade": 1.5,
    "culture": 0.7,
    "emergencies": 0.5,
    "reference": 1.5,
    "digital": 1,
    "feedback": 1,
    "corruption": 0.3,
    "religion": 0.2,
}
#: What callers ask that the operator answers on the spot.
INFO_WEIGHTS: dict[str, float] = {
    "reference.contacts": 20,
    "reference.how_to": 18,
    "reference.appeal_status": 14,
    "transport.routes": 8,
    "transport.onay_fares": 8,
    "transport.bus_service": 4,
    "education.kindergarten_queue": 8,
    "social.targeted_assistance": 4,
    "social.pensions": 3,
    "digital.egov": 4,
    "digital.con": 2,
    "housing.housing_queue": 3,
    "housing.utility_tariffs": 2,
    "electricity.billing": 2,
}
#: Seasonal topics: (months, factor in season, factor out of season).
SEASONAL: dict[str, tuple[frozenset[int], float, float]] = {
    "improvement.snow_removal": (frozenset({11, 12, 1, 2, 3}), 4.0, 0.05),
    "heating": (frozenset({10, 11, 12, 1, 2, 3, 4}), 1.8, 0.3),
    "greenery.planting_watering": (frozenset({4, 5, 6, 7, 8, 9}), 1.5, 0.2),
}
#: Problems many neighbours report at once.
INCIDENT_TOPICS = (
    "water.no_water",
    "water.sewerage",
    "heating.no_heating",
    "heating.weak_heating",
    "electricity.outage",
    "lighting.lights_off",
    "gas.no_gas",
    "waste.garbage_collection",
    "improvement.snow_removal",
)
#: Residents (thousands, 2024) by district: where appeals come from.
DISTRICT_WEIGHTS = {
    "alatau": 330,
    "almaly": 230,
    "auezov": 300,
    "bostandyk": 370,
    "zhetysu": 190,
    "medeu": 220,
    "nauryzbay": 170,
    "turksib": 260,
}
#: A point near each district's middle, for the appeals that come with a location.
DISTRICT_POINTS = {
    "alatau": (43.285, 76.845),
    "almaly": (43.252, 76.918),
    "auezov": (43.228, 76.850),
    "bostandyk": (43.215, 76.900),
    "zhetysu": (43.292, 76.930),
    "medeu": (43.245, 76.965),
    "nauryzbay": (43.190, 76.790),
    "turksib": (43.330, 76.960),
}
LANGUAGE_SHARES = {"ru": 0.63, "kk": 0.32, "mixed": 0.05}
#: Arrivals that are the same citizen again about the same problem (a repeat), or about
#: another one; the rest are new people.
REPEAT_SHARE = 0.07
RETURNING_SHARE = 0.06
#: Hour of day (Almaty) → relative volume; days off get ``DAY_OFF_VOLUME`` of a working day.
HOUR_WEIGHTS = (
    0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 1.2, 3, 6, 7, 7,
    6, 6, 6.5, 6, 5.5, 5, 4, 3.5, 3.5, 3, 2, 1,
)  # fmt: skip
DAY_OFF_VOLUME = 0.35
STREETS = ("Абая", "Толе би", "Сейфуллина", "Жандосова", "Райымбека", "Розыбакиева", "Момышулы")
_KK_LETTERS = frozenset("әғқңөұүһі")
#: Channels that know a citizen by their phone number.
_BY_PHONE = frozenset(
    {Channel.PHONE, Channel.WHATSAPP, Channel.PORTAL, Channel.MOBILE, Channel.FRONT_OFFICE}
)
_PHONE_PREFIXES = ("700", "701", "702", "705", "707", "708", "747", "771", "775", "776", "777")
_FIRST_NAMES = (
    "Айгерим", "Ерлан", "Сауле", "Нурлан", "Динара", "Асель", "Тимур", "Марат", "Гульнара",
    "Ольга", "Сергей", "Елена", "Дмитрий", "Бахыт", "Жанар", "Арман", "Мадина", "Алия",
    "Даурен", "Жанна", "Ирина", "Канат", "Ляззат", "Руслан", "Салтанат", "Виктор", "Айдос",
)  # fmt: skip
_INITIALS = "АБВГДЕЖЗИКЛМНОПРСТУХШЫЭ"


# --- the data it draws from ------------------------------------------------------------


@dataclass(frozen=True)
class DemoData:
    """The reference data the plan is drawn from (``data/``)."""

    categories: dict[str, dict[str, Any]]  # code → taxonomy entry (organization, urgent …)
    samples: dict[tuple[str, str], list[str]]  # (category, language) → texts with {place}
    corpus: dict[tuple[str, str], list[str]]  # (category, ru|kk|mixed) → texts
    places: dict[str, list[str]]  # district → its places (title case)
    akimats: dict[str, str]  # district → akimat organization code
    organizations: dict[str, str]  # code → name_ru, active organizations


def _load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=yaml.CSafeLoader)


@lru_cache(maxsize=4)
def load_data(data_dir: Path) -> DemoData:
    taxonomy = _load_yaml(data_dir / "taxonomy.yaml")
    categories = {
        category["code"]: category for area in taxonomy["areas"] for category in area["categories"]
    }
    samples: dict[tuple[str, str], list[str]] = defaultdict(list)
    for sample in _load_yaml(data_dir / "sample_appeals.yaml"):
        samples[(sample["category"], sample["language"])].append(sample["text"])
    corpus: dict[tuple[str, str], list[str]] = defaultdict(list)
    with (data_dir / "nlp" / "corpus.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["category"] in categories:
                corpus[(row["category"], row["language"])].append(row["text"])
    places: dict[str, list[str]] = {}
    akimats: dict[str, str] = {}
    for district in _load_yaml(data_dir / "districts.yaml"):
        places[district["code"]] = [
            place.title() for place in district.get("places", []) if len(place) >= 4
        ]
        akimats[district["code"]] = district["akimat"]
    organizations = {
        row["code"]: row["name_ru"]
        for row in _load_yaml(data_dir / "organizations.yaml")
        if not row.get("retired_on")
    }
    return DemoData(categories, dict(samples), dict(corpus), places, akimats, organizations)


# --- organizations' profiles -----------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """How an organization works: fast or slow, careful or sloppy."""

    name: str
    accept_hours: tuple[float, float]  # office hours from assignment to acceptance
    answer_days: tuple[float, float, float]  # working days to answer: low, high, most likely
    urgent_hours: tuple[float, float]  # calendar hours to answer an emergency
    return_rate: float  # answers the inspector returns for rework
    extend_in_time: float  # of answers heading past the deadline: extension asked in time
    repeat_weight: float  # how often its citizens come back about the same problem
    rating_shift: float  # citizens' mood beyond timeliness (the answers' quality)


PROFILES = {
    profile.name: profile
    for profile in (
        Profile("strong", (0.2, 3), (1, 7, 2.5), (1, 8), 0.04, 0.85, 0.5, 0.4),
        Profile("good", (0.5, 6), (2, 12, 4.5), (2, 16), 0.08, 0.7, 1.0, 0.0),
        Profile("average", (1, 10), (3, 18, 8), (4, 30), 0.13, 0.45, 1.5, -0.3),
        Profile("weak", (3, 20), (6, 28, 14), (8, 60), 0.22, 0.25, 2.5, -0.7),
    )
}
#: The busiest organizations get these profiles (so the ranking has strong and weak bodies
#: with enough appeals to rank); the others draw theirs with ``SMALL_PROFILE_ODDS``.
BIG_ORGANIZATIONS = 16
BIG_PROFILES = ("strong",) * 3 + ("good",) * 6 + ("average",) * 4 + ("weak",) * 3
SMALL_PROFILE_ODDS = {"strong": 0.25, "good": 0.4, "average": 0.2, "weak": 0.15}


def topic_weights(data: DemoData, month: int) -> dict[str, float]:
    """Category → weight of the appeals that go to an organization, for this month."""
    weights: dict[str, float] = {}
    for area, share in AREA_WEIGHTS.items():
        codes = [code for code in data.categories if code.split(".", 1)[0] == area]
        for code in codes:
            factor = 1.0
            for key, (months, in_season, off_season) in SEASONAL.items():
                if code == key or code.split(".", 1)[0] == key:
                    factor *= in_season if month in months else off_season
            weights[code] = share / len(codes) * factor
    return weights


def expected_volume(data: DemoData, weights: dict[str, float]) -> dict[str, float]:
    """Organization code → its expected share of the appeals (akimat topics by residents)."""
    volume: dict[str, float] = defaultdict(float)
    residents = sum(DISTRICT_WEIGHTS.values())
    for code, weight in weights.items():
        organization = data.categories[code]["organization"]
        if organization == "district_akimat":
            for district, people in DISTRICT_WEIGHTS.items():
                volume[data.akimats[district]] += weight * people / residents
        else:
            volume[organization] += weight
    return dict(volume)


def draw_profiles(data: DemoData, weights: dict[str, float], seed: int) -> dict[str, str]:
    """Organization code → profile name, drawn from the seed (the report lists them)."""
    rng = random.Random(f"{seed}:profiles")  # noqa: S311 - demo data, not secrets
    volume = expected_volume(data, weights)
    ranked = sorted(volume, key=lambda code: (-volume[code], code))
    big = ranked[:BIG_ORGANIZATIONS]
    profiles = list(BIG_PROFILES)
    rng.shuffle(profiles)
    drawn = dict(zip(big, profiles, strict=False))
    names, odds = list(SMALL_PROFILE_ODDS), list(SMALL_PROFILE_ODDS.values())
    for code in sorted(data.organizations):
        if code not in drawn:
            drawn[code] = rng.choices(names, odds)[0]
    return drawn


# --- citizens and arrivals ---------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A citizen of the demo; ``None`` fields are what they did not give."""

    key: int
    phone: str | None
    name: str | None
    telegram_user_id: str | None = None
    email: str | None = None


@dataclass
class Arrival:
    """One appeal as it comes in; ``category`` and ``district`` are what it is really
    about (the pipeline may read it otherwise, and staff correct it)."""

    index: int
    at: datetime
    channel: Channel
    language: str | None
    category: str
    text: str
    district: str | None
    person: Person | None  # None: anonymous
    kind: str = "new"  # new, repeat, returning, incident
    quick: bool = False  # a call answered on the spot
    earlier: int | None = None  # the arrival a repeat is about
    incident: int | None = None
    address: str | None = None
    point: tuple[float, float] | None = None
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass
class MonthPlan:
    arrivals: list[Arrival]
    abandoned_calls: list[datetime]
    profiles: dict[str, str]
    weights: dict[str, float]
    first_day: date
    working_days: list[date]


class _People:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.count = 0
        self.phones: set[str] = set()

    def _phone(self) -> str:
        while True:
            prefix = self.rng.choice(_PHONE_PREFIXES)
            number = f"+7{prefix}{self.rng.randrange(10**7):07d}"
            if number not in self.phones:
                self.phones.add(number)
                return number

    def _name(self) -> str:
        return f"{self.rng.choice(_FIRST_NAMES)} {self.rng.choice(_INITIALS)}."

    def new(self, channel: Channel) -> Person | None:
        """A new citizen as the channel knows them; None: gave nothing (anonymous)."""
        rng = self.rng
        self.count += 1
        key = self.count
        if channel is Channel.TELEGRAM:
            return Person(
                key,
                self._phone() if rng.random() < 0.4 else None,
                self._name() if rng.random() < 0.7 else None,
                telegram_user_id=str(rng.randrange(10**8, 7 * 10**9)),
            )
        if channel is Channel.SOCIAL:
            return Person(key, None, self._name()) if rng.random() < 0.92 else None
        if channel in (Channel.PORTAL, Channel.MOBILE):
            if rng.random() < 0.06:
                return None
            email = f"user{rng.randrange(10**6)}@example.kz" if rng.random() < 0.3 else None
            phone = self._phone() if rng.random() < 0.85 else None
            return Person(key, phone, self._name(), email=email)
        named = rng.random() < (0.5 if channel is Channel.WHATSAPP else 0.7)
        return Person(key, self._phone(), self._name() if named else None)


def _weighted(rng: random.Random, table: Mapping[Any, float]) -> Any:
    keys = list(table)
    return rng.choices(keys, [table[key] for key in keys])[0]


def _slots(worktime: WorkTime, first: date, until: datetime) -> tuple[list[datetime], list[float]]:
    """Every hour from the first day to ``until`` with its relative volume."""
    starts: list[datetime] = []
    weights: list[float] = []
    day = first
    last = worktime.day_of(until)
    latest = until - timedelta(minutes=30)  # the last arrival leaves time for its call
    while day <= last:
        day_weight = 1.0 if worktime.is_working_day(day) else DAY_OFF_VOLUME
        for hour in range(24):
            start = worktime.at(day, hour)
            if start >= latest:
                break
            starts.append(start)
            weights.append(day_weight * HOUR_WEIGHTS[hour])
        day += timedelta(days=1)
    return starts, weights


def _channel_at(rng: random.Random, hour: int) -> Channel:
    shares = dict(CHANNEL_SHARES)
    if not 8 <= hour < 21:
        shares[Channel.PHONE] *= 0.3  # the call center is open, but quiet at night
    if hour >= 18:
        for channel in (Channel.TELEGRAM, Channel.WHATSAPP, Channel.SOCIAL):
            shares[channel] *= 1.5
    return _weighted(rng, shares)  # type: ignore[no-any-return]


def _place(data: DemoData, district: str, language: str, rng: random.Random) -> str:
    """A microdistrict or landmark of the district (spelt for the language), sometimes a
    street address (whose district the text alone does not tell)."""
    if rng.random() < 0.2:
        return f"ул. {rng.choice(STREETS)}, {rng.randint(1, 180)}"
    places = data.places[district]
    spelt = [p for p in places if (language == "kk") == bool(_KK_LETTERS & set(p.lower()))]
    return rng.choice(spelt or places)


def _text(
    data: DemoData, category: str, language: str, district: str | None, rng: random.Random
) -> tuple[str, str | None, str | None]:
    """(text, language given to intake, district the text names) for a topic."""
    corpus = data.corpus.get((category, language), [])
    if language == "mixed" or (corpus and rng.random() < 0.35):
        rows = corpus or data.corpus.get((category, "ru"), [])
        if rows:
            return rng.choice(rows), None if language == "mixed" else language, None
    language = "kk" if language == "kk" and (category, "kk") in data.samples else "ru"
    options = data.samples.get((category, language)) or data.samples.get((category, "ru"), [])
    text = rng.choice(options) if options else data.categories[category]["name_ru"] + "."
    if "{place}" not in text:
        return text, language, None
    place_district = district or _weighted(rng, DISTRICT_WEIGHTS)
    return (
        text.replace("{place}", _place(data, place_district, language, rng)),
        language,
        (place_district),
    )


def _language(rng: random.Random) -> str:
    return str(_weighted(rng, LANGUAGE_SHARES))


def plan_month(
    data: DemoData,
    *,
    appeals: int,
    days: int,
    until: datetime,
    worktime: WorkTime,
    seed: int,
) -> MonthPlan:
    """Draw the month: ``appeals`` arrivals over the last ``days`` working days to ``until``."""
    rng = random.Random(f"{seed}:plan")  # noqa: S311 - demo data, not secrets
    working_days = worktime.last_working_days(worktime.day_of(until), days)
    first = working_days[0]
    weights = topic_weights(data, until.month)
    profiles = draw_profiles(data, weights, seed)
    starts, slot_weights = _slots(worktime, first, until)
    people = _People(rng)
    arrivals: list[Arrival] = []

    # Incidents: a few problems at one place that several neighbours report within hours.
    incident_count = max(2, round(appeals / 300)) if appeals >= 40 else 0
    in_season = [topic for topic in INCIDENT_TOPICS if weights.get(topic, 0) > 0.5]
    early = max(1, len(starts) - 30)  # not in the last hours: neighbours need time to write
    for incident in range(incident_count):
        topic = rng.choice(in_season)
        district = _weighted(rng, DISTRICT_WEIGHTS)
        place = rng.choice(data.places[district])
        house = rng.randint(2, 90)
        start = rng.choices(starts[:early], slot_weights[:early])[0]
        for member in range(rng.randint(3, 7)):
            at = start + timedelta(minutes=rng.uniform(0, 300) if member else rng.uniform(0, 30))
            channel = _channel_at(rng, int(worktime.hour_of(at)))
            language = "kk" if rng.random() < 0.3 else "ru"
            options = data.samples.get((topic, language)) or data.samples[(topic, "ru")]
            template = rng.choice([text for text in options if "{place}" in text] or options)
            where = f"{place}, {house}" if language == "ru" else f"{place}, {house}-үй"
            if "{place}" in template:
                text = template.replace("{place}", where)
            else:
                text = f"{where}: {template}"
            person = people.new(channel) or people.new(Channel.PHONE)
            arrivals.append(
                Arrival(
                    0,
                    min(at, until - timedelta(minutes=20)),
                    channel,
                    language,
                    topic,
                    text,
                    district,
                    person,
                    kind="incident",
                    incident=incident,
                    address=where,
                    point=_near(DISTRICT_POINTS[district], rng, 0.002),
                )
            )
    regular = max(0, appeals - len(arrivals))
    for at in sorted(rng.choices(starts, slot_weights, k=regular)):
        at = at + timedelta(seconds=rng.uniform(0, 3599))
        hour = int(worktime.hour_of(at))
        channel = _channel_at(rng, hour)
        quick = channel is Channel.PHONE and rng.random() < QUICK_SHARE_OF_CALLS
        category = _weighted(rng, INFO_WEIGHTS if quick else weights)
        language = _language(rng)
        text, given_language, district = _text(data, category, language, None, rng)
        person = people.new(channel)
        point = None
        if (
            district
            and channel in (Channel.PORTAL, Channel.MOBILE, Channel.TELEGRAM)
            and rng.random() < 0.4
        ):
            point = _near(DISTRICT_POINTS[district], rng, 0.02)
        arrivals.append(
            Arrival(
                0,
                min(at, until - timedelta(minutes=20)),
                channel,
                given_language,
                category,
                text,
                district,
                person,
                quick=quick,
                point=point,
            )
        )
    arrivals.sort(key=lambda arrival: arrival.at)
    _returning_citizens(arrivals, data, profiles, rng)
    for index, arrival in enumerate(arrivals):
        arrival.index = index  # ``earlier`` already holds positions in this sorted list
    calls = sum(1 for arrival in arrivals if arrival.channel is Channel.PHONE)
    abandoned_count = round(calls * ABANDONED_SHARE_OF_CALLS / (1 - ABANDONED_SHARE_OF_CALLS))
    abandoned = sorted(
        start + timedelta(seconds=rng.uniform(0, 3599))
        for start in rng.choices(starts, slot_weights, k=abandoned_count)
    )
    return MonthPlan(arrivals, abandoned, profiles, weights, first, working_days)


def _near(point: tuple[float, float], rng: random.Random, spread: float) -> tuple[float, float]:
    return (
        round(point[0] + rng.uniform(-spread, spread), 6),
        round(point[1] + rng.uniform(-spread, spread), 6),
    )


def organization_of(data: DemoData, category: str, district: str | None) -> str | None:
    """The organization code the taxonomy names for a topic (akimat topics: by district)."""
    organization = data.categories[category]["organization"]
    if organization == "district_akimat":
        return data.akimats.get(district) if district else None
    return str(organization)


def _returning_citizens(
    arrivals: list[Arrival], data: DemoData, profiles: dict[str, str], rng: random.Random
) -> None:
    """Make some arrivals the same citizen again: about the same problem (a repeat; more
    often where the organization answers badly), or about another one."""
    for position, arrival in enumerate(arrivals):
        if arrival.kind != "new" or arrival.quick or position < 5:
            continue
        roll = rng.random()
        window = [
            earlier
            for earlier in arrivals[max(0, position - 400) : position]
            if earlier.person is not None
            and earlier.kind in ("new", "returning")
            and not earlier.quick
            and timedelta(days=1) <= arrival.at - earlier.at <= timedelta(days=20)
        ]
        if not window:
            continue
        if roll < REPEAT_SHARE:
            weights = [
                PROFILES[
                    profiles.get(organization_of(data, e.category, e.district) or "", "good")
                ].repeat_weight
                for e in window
            ]
            earlier = rng.choices(window, weights)[0]
            assert earlier.person is not None
            same_channel = earlier.person.phone is None or rng.random() < 0.7
            channel = earlier.channel if same_channel else Channel.PHONE
            language = earlier.language
            opening = texts.pick(texts.REPEAT_OPENINGS, language, rng)
            arrival.channel = channel
            arrival.language = language
            arrival.category = earlier.category
            arrival.text = opening + earlier.text
            arrival.district = earlier.district
            arrival.person = earlier.person
            arrival.address = earlier.address
            arrival.point = earlier.point
            arrival.kind = "repeat"
            arrival.earlier = arrivals.index(earlier)
        elif roll < REPEAT_SHARE + RETURNING_SHARE:
            # The channel must know them by the same thing: a phone number, or the account.
            known = [
                e
                for e in window
                if e.channel is arrival.channel
                or (arrival.channel in _BY_PHONE and e.person is not None and e.person.phone)
            ]
            if known:
                arrival.person = rng.choice(known).person
                arrival.kind = "returning"

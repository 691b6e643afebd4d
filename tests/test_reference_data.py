"""The reference data in ``data/``: districts, organizations, their history, taxonomy, samples.

Plain YAML checks (no database): codes are unique and point at what exists, every district has
its akimat, every category is answered by an active organization, every category has samples
in both languages, and names exist in Russian and Kazakh.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

DATA = Path(__file__).parent.parent / "data"
DISTRICT_CODES = {
    "alatau",
    "almaly",
    "auezov",
    "bostandyk",
    "zhetysu",
    "medeu",
    "nauryzbay",
    "turksib",
}
ORG_KINDS = {"district_akimat", "city_department", "utility", "city_company", "republican", "other"}
CHANGE_KINDS = {"rename", "merge", "split", "retire"}
KAZAKH_LETTERS = set("әғқңөұүһі")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
DISTRICT_AKIMAT = "district_akimat"


def load(name: str) -> Any:
    with (DATA / name).open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="module")
def districts() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = load("districts.yaml")
    return rows


@pytest.fixture(scope="module")
def organizations() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = load("organizations.yaml")
    return rows


@pytest.fixture(scope="module")
def orgs_by_code(organizations: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {org["code"]: org for org in organizations}


@pytest.fixture(scope="module")
def changes() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = load("organization_changes.yaml")
    return rows


@pytest.fixture(scope="module")
def taxonomy() -> dict[str, Any]:
    data: dict[str, Any] = load("taxonomy.yaml")
    return data


@pytest.fixture(scope="module")
def categories(taxonomy: dict[str, Any]) -> list[dict[str, Any]]:
    return [category for area in taxonomy["areas"] for category in area["categories"]]


@pytest.fixture(scope="module")
def samples() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = load("sample_appeals.yaml")
    return rows


def as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def is_retired(org: dict[str, Any]) -> bool:
    return org.get("retired_on") is not None


# --- districts ----------------------------------------------------------------------------


def test_exactly_the_eight_districts(districts: list[dict[str, Any]]) -> None:
    codes = [district["code"] for district in districts]
    assert len(codes) == 8
    assert set(codes) == DISTRICT_CODES


def test_every_district_has_its_own_akimat(
    districts: list[dict[str, Any]], orgs_by_code: dict[str, dict[str, Any]]
) -> None:
    akimats = [district["akimat"] for district in districts]
    assert len(set(akimats)) == 8
    for district in districts:
        akimat = orgs_by_code.get(district["akimat"])
        assert akimat is not None, district["akimat"]
        assert akimat["kind"] == DISTRICT_AKIMAT
        assert akimat["district"] == district["code"]
        assert not is_retired(akimat)


def test_district_akimats_are_exactly_the_eight(organizations: list[dict[str, Any]]) -> None:
    akimats = [org for org in organizations if org["kind"] == DISTRICT_AKIMAT]
    assert {org["code"] for org in akimats} == {f"akimat-{code}" for code in DISTRICT_CODES}
    assert {org["district"] for org in akimats} == DISTRICT_CODES
    others = [org for org in organizations if org["kind"] != DISTRICT_AKIMAT]
    assert all(org.get("district") is None for org in others)


def test_places_are_lowercase_unique_and_long_enough(districts: list[dict[str, Any]]) -> None:
    seen: Counter[str] = Counter()
    for district in districts:
        places = district["places"]
        assert 12 <= len(places) <= 30, district["code"]
        for place in places:
            assert isinstance(place, str)
            assert place == place.lower(), place
            # nlp/annotate.py drops gazetteer entries shorter than 4 characters.
            assert len(place) >= 4, place
            seen[place] += 1
    assert [place for place, count in seen.items() if count > 1] == []


# --- organizations ------------------------------------------------------------------------


def test_organizations_have_unique_slugs_and_known_kinds(
    organizations: list[dict[str, Any]],
) -> None:
    codes = [org["code"] for org in organizations]
    assert len(codes) == len(set(codes))
    for org in organizations:
        assert SLUG.match(org["code"]), org["code"]
        assert org["kind"] in ORG_KINDS, org["code"]
        assert str(org.get("verified") or "").strip(), org["code"]


def test_at_least_fifty_active_organizations(organizations: list[dict[str, Any]]) -> None:
    active = [org for org in organizations if not is_retired(org)]
    assert len(active) >= 50


def test_activity_dates_are_ordered(organizations: list[dict[str, Any]]) -> None:
    for org in organizations:
        start, end = as_date(org.get("active_from")), as_date(org.get("retired_on"))
        if start and end:
            assert start < end, org["code"]


def test_required_organizations_exist(orgs_by_code: dict[str, dict[str, Any]]) -> None:
    for code in (
        "open-almaty",
        "almaty-su",
        "almaty-heat-networks",
        "almaty-qala-zharyq",
        "qazaqgaz-aimak",
        "traffic-passenger-transport",
        "road-infrastructure",
        "education",
        "police",
        "emergencies",
    ):
        assert code in orgs_by_code, code
        assert not is_retired(orgs_by_code[code]), code
    assert orgs_by_code["open-almaty"]["kind"] == "other"
    assert as_date(orgs_by_code["urban-mobility"]["retired_on"]) == date(2025, 8, 1)


def test_phones_are_strings(organizations: list[dict[str, Any]]) -> None:
    for org in organizations:
        if org.get("phone") is not None:
            assert isinstance(org["phone"], str), org["code"]
            assert re.fullmatch(r"\+?\d{3,15}", org["phone"]), org["code"]


# --- organization changes -----------------------------------------------------------------


def test_changes_refer_to_existing_codes(
    changes: list[dict[str, Any]], orgs_by_code: dict[str, dict[str, Any]]
) -> None:
    assert changes
    for change in changes:
        assert change["kind"] in CHANGE_KINDS
        effective_on = as_date(change["effective_on"])
        assert effective_on is not None
        predecessors, successors = change["from"], change.get("to") or []
        assert predecessors
        for code in [*predecessors, *successors]:
            assert code in orgs_by_code, code
        if change["kind"] == "retire":
            assert successors == []
        else:
            assert successors, change
        if change["kind"] == "merge":
            assert len(predecessors) >= 2
        if change["kind"] == "split":
            assert len(successors) >= 2
        if change["kind"] == "rename":
            assert len(predecessors) == len(successors) == 1
        # A predecessor stops the day its successors start.
        for code in predecessors:
            assert as_date(orgs_by_code[code].get("retired_on")) == effective_on, code
        for code in successors:
            start = as_date(orgs_by_code[code].get("active_from"))
            assert start is None or start == effective_on, code


def test_august_2025_reorganization_is_recorded(changes: list[dict[str, Any]]) -> None:
    found = {(change["kind"], tuple(change["from"]), tuple(change["to"])) for change in changes}
    assert (
        "split",
        ("urban-mobility",),
        ("traffic-passenger-transport", "road-infrastructure"),
    ) in found
    assert ("merge", ("economy", "finance"), ("economy-finance",)) in found
    assert ("rename", ("public-development",), ("internal-policy",)) in found


# --- taxonomy -----------------------------------------------------------------------------


def test_enough_areas_and_categories(
    taxonomy: dict[str, Any], categories: list[dict[str, Any]]
) -> None:
    assert len(taxonomy["areas"]) >= 15
    assert len(categories) >= 80


def test_codes_are_unique_and_prefixed_by_area(taxonomy: dict[str, Any]) -> None:
    area_codes = [area["code"] for area in taxonomy["areas"]]
    assert len(area_codes) == len(set(area_codes))
    codes: list[str] = []
    for area in taxonomy["areas"]:
        assert area["categories"], area["code"]
        for category in area["categories"]:
            prefix, _, slug = category["code"].partition(".")
            assert prefix == area["code"] and re.fullmatch(r"[a-z0-9_]+", slug), category["code"]
            codes.append(category["code"])
    assert len(codes) == len(set(codes))


def test_every_category_goes_to_an_active_organization(
    categories: list[dict[str, Any]], orgs_by_code: dict[str, dict[str, Any]]
) -> None:
    for category in categories:
        target = category["organization"]
        if target == DISTRICT_AKIMAT:
            continue
        assert target in orgs_by_code, (category["code"], target)
        assert not is_retired(orgs_by_code[target]), (category["code"], target)
        assert orgs_by_code[target]["kind"] != DISTRICT_AKIMAT, category["code"]


def test_keywords_are_lowercase_strings_in_range(categories: list[dict[str, Any]]) -> None:
    for category in categories:
        ru, kk = category["keywords_ru"], category["keywords_kk"]
        assert 5 <= len(ru) <= 15, category["code"]
        assert 3 <= len(kk) <= 10, category["code"]
        for keyword in [*ru, *kk]:
            assert isinstance(keyword, str) and keyword.strip(), category["code"]
            assert keyword == keyword.lower(), (category["code"], keyword)
        assert isinstance(category.get("urgent", False), bool), category["code"]


def test_urgent_categories_cover_the_emergencies(categories: list[dict[str, Any]]) -> None:
    urgent = {category["code"] for category in categories if category.get("urgent")}
    for code in ("gas.gas_smell", "heating.no_heating", "electricity.fallen_wires", "water.leak"):
        assert code in urgent, code


def test_routing_of_well_known_topics(categories: list[dict[str, Any]]) -> None:
    by_code = {category["code"]: category["organization"] for category in categories}
    assert by_code["improvement.snow_removal"] == DISTRICT_AKIMAT
    assert by_code["water.leak"] == "almaty-su"
    assert by_code["heating.no_heating"] == "almaty-heat-networks"
    assert by_code["gas.gas_smell"] == "qazaqgaz-aimak"
    assert by_code["lighting.lights_off"] == "almaty-qala-zharyq"
    assert by_code["education.kindergarten_queue"] == "education"


# --- samples ------------------------------------------------------------------------------


def test_every_category_has_samples_in_both_languages(
    categories: list[dict[str, Any]], samples: list[dict[str, Any]]
) -> None:
    known = {category["code"] for category in categories}
    counts: Counter[tuple[str, str]] = Counter()
    for sample in samples:
        assert sample["category"] in known, sample["category"]
        assert sample["language"] in {"ru", "kk"}, sample
        counts[(sample["category"], sample["language"])] += 1
    for code in known:
        assert counts[(code, "ru")] >= 2, code
        assert counts[(code, "kk")] >= 1, code


def test_sample_texts_are_well_formed(samples: list[dict[str, Any]]) -> None:
    texts = [sample["text"] for sample in samples]
    assert len(texts) == len(set(texts))
    for sample in samples:
        text = sample["text"]
        assert isinstance(text, str) and 20 <= len(text) <= 400, text
        # Only the {place} placeholder is allowed.
        assert re.sub(r"\{place\}", "", text).count("{") == 0, text
        if sample["language"] == "kk":
            assert set(text.lower()) & KAZAKH_LETTERS, text


# --- names in both languages --------------------------------------------------------------


def _named_rows(
    districts: list[dict[str, Any]],
    organizations: list[dict[str, Any]],
    taxonomy: dict[str, Any],
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [*districts, *organizations]
    for area in taxonomy["areas"]:
        rows.append(area)
        rows.extend(area["categories"])
    return rows


def test_names_are_present_in_both_languages(
    districts: list[dict[str, Any]],
    organizations: list[dict[str, Any]],
    taxonomy: dict[str, Any],
) -> None:
    for row in _named_rows(districts, organizations, taxonomy):
        for key in ("name_ru", "name_kk"):
            assert isinstance(row.get(key), str) and row[key].strip(), (row["code"], key)


@pytest.mark.parametrize("name", ["districts.yaml", "organizations.yaml", "taxonomy.yaml"])
def test_kazakh_names_use_kazakh_letters(name: str) -> None:
    data = load(name)
    rows = data["areas"] if name == "taxonomy.yaml" else data
    names: list[str] = []
    for row in rows:
        names.append(row["name_kk"])
        names.extend(category["name_kk"] for category in row.get("categories", []))
    assert any(set(text.lower()) & KAZAKH_LETTERS for text in names)


def test_most_kazakh_names_differ_from_russian(
    districts: list[dict[str, Any]],
    organizations: list[dict[str, Any]],
    taxonomy: dict[str, Any],
) -> None:
    rows = _named_rows(districts, organizations, taxonomy)
    same = [row["code"] for row in rows if row["name_kk"] == row["name_ru"]]
    # Only names that are the same word in both languages (e.g. «Экология») may repeat.
    assert len(same) <= 3, same

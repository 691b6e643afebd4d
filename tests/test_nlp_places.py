"""Places in Russian, Kazakh and Latin, with endings and typos, mapped to Almaty's districts."""

from __future__ import annotations

import importlib.util

import pytest

from nlp.places import detect_district, find_places, fold, load_gazetteer, natasha_places
from tests.nlp_support import DATA

GAZETTEER = load_gazetteer(DATA)


@pytest.mark.parametrize(
    ("text", "district", "evidence"),
    [
        ("Во дворе на Самале третий день не вывозят мусор", "medeu", "Самале"),
        ("мкр Самал-2, нет воды с утра", "medeu", "Самал"),
        ("Шаңырақта жарық жоқ, балалар қараңғыда", "alatau", "Шаңырақта"),
        ("Ақсай-4 шағын ауданында қоқыс шығарылмайды", "auezov", "Ақсай"),
        ("Әуезов ауданы, жол бұзылған", "auezov", "Әуезов ауданы"),
        ("в Бостандыкском районе не горят фонари", "bostandyk", "Бостандыкском"),
        ("На Орбите-3 сломан лифт", "bostandyk", "Орбите"),
        ("Нұр-Алатау ықшамауданында газ жоқ", "bostandyk", "Нұр Алатау"),
        ("Калкаманда су жок", "nauryzbay", "Калкаманда"),  # Kazakh typed on a Russian keyboard
        ("Kalkaman-2 svet net tretiy den", "nauryzbay", "Kalkaman"),  # Latin
        ("у Зелёного базара торгуют с машин", "medeu", "Зелёного базара"),
        ("возле ТРЦ Мега Альма-Ата яма", "bostandyk", "ТРЦ Мега"),
    ],
)
def test_places_map_to_their_district(text: str, district: str, evidence: str) -> None:
    assert detect_district(text, GAZETTEER) == (district, evidence)


@pytest.mark.parametrize(
    ("text", "district"),
    [
        ("мкр Самвл-2, сугробы", "medeu"),  # after a marker one typo is forgiven
        ("Мы живём в Кулгере, света нет", "zhetysu"),  # a capital inside a sentence
        ("Шанырак 2 ыкшамауданы", "alatau"),
    ],
)
def test_typos_in_place_names(text: str, district: str) -> None:
    mentions = find_places(text, GAZETTEER)
    assert [mention.entry.district for mention in mentions] == [district]


def test_common_words_and_cross_district_streets_pick_no_district() -> None:
    # "Самая" looks like "Самал" with one typo, but a sentence's first word is no place name.
    assert detect_district("Самая большая яма в городе", GAZETTEER) == (None, None)
    assert detect_district("коктейль и мамы во дворе", GAZETTEER) == (None, None)
    # Абая crosses districts: the street is found, the district is not guessed.
    mentions = find_places("яма на проспекте Абая 52", GAZETTEER)
    assert [(m.entry.kind, m.entry.district) for m in mentions] == [("street", None)]
    # "Әуезов" is both a district and a street: alone it decides nothing.
    assert detect_district("Әуезов көшесі 12", GAZETTEER)[0] is None


def test_folding_joins_russian_kazakh_and_latin_spellings() -> None:
    assert fold("Шаңырақ") == fold("Шанырак") == fold("Shanyrak")
    assert fold("Жетісу") == fold("Жетысу") == fold("Zhetysu")


@pytest.mark.skipif(importlib.util.find_spec("natasha") is None, reason="natasha is not installed")
def test_natasha_finds_streets_the_gazetteer_does_not_know() -> None:
    spans = natasha_places("Прошу отремонтировать дорогу на улице Абая в Бостандыкском районе")
    assert any("Абая" in span for span in spans)

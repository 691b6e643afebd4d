"""Finding appeals on /staff/appeals and GET /api/v1/appeals (issue 14, items 3 and 8).

A tracking number typed with a space, without the dash or in lower case; a phone in any
notation; a citizen's name; words of the text in another word form (Russian full-text
search); status, organization, district, category, channel and date filters; ranked and
paged; an executor finds only their organization's appeals. The portal's status page takes
the same sloppy numbers. SQLite keeps a simpler path (case-folded substrings).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from appeals.access import canonical_tracking_number
from appeals.models import Appeal, Channel
from core.clock import local
from intake.schemas import CitizenContact
from tests.conftest import login, staff_sign_in

pytestmark = pytest.mark.postgres

WATER = "На улице Жандосова 58 прорвало трубу водопровода, вода заливает подвал дома"
TRASH = "Во дворе дома на Самале третий день не вывозят мусор, контейнеры переполнены"
LIGHT = "На проспекте Абая возле дома 150 не горят фонари, темно и опасно вечером"


@pytest.fixture
def appeals(submit_appeal: Any, session: Session) -> dict[str, Appeal]:
    found = {
        "water": submit_appeal(
            WATER, citizen=CitizenContact(phone="+77015550101", full_name="Нурланова Асель")
        ),
        "trash": submit_appeal(
            TRASH,
            channel=Channel.TELEGRAM,
            external_id="search-1",
            citizen=CitizenContact(phone="+77075550202", full_name="Ерлан Сейткали"),
        ),
        "light": submit_appeal(
            LIGHT, citizen=CitizenContact(phone="+77775550303", full_name="Ольга Петрова")
        ),
    }
    # The light appeal came in three weeks ago: the date filter tells it apart.
    found["light"].received_at = found["light"].received_at - timedelta(days=21)
    session.commit()
    return found


def _numbers(page: str) -> set[str]:
    return set(re.findall(r"\b\d{4}-[0-9A-Z]{8}\b", page))


def _api(client: TestClient, headers: dict[str, str], **params: Any) -> list[str]:
    response = client.get("/api/v1/appeals", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [view["tracking_number"] for view in response.json()]


def test_tracking_numbers_are_read_as_people_type_them() -> None:
    for typed in (
        "2611-7KQ3M9XA",
        "2611 7kq3m9xa",
        "26117KQ3M9XA",
        " 2611-7kq3m9xa ",
        "2611—7KQ3M9XA",
    ):
        assert canonical_tracking_number(typed) == "2611-7KQ3M9XA", typed
    assert canonical_tracking_number("2611-7KQ3M9X") is None
    assert canonical_tracking_number("трубу прорвало") is None


def test_the_list_page_finds_by_number_phone_name_and_words(
    client: TestClient, make_user: Any, appeals: dict[str, Appeal]
) -> None:
    user, password = make_user("operator")
    staff_sign_in(client, user, password, next_path="/staff/appeals")
    water, trash = appeals["water"].tracking_number, appeals["trash"].tracking_number
    sloppy = water.replace("-", " ").lower()
    cases = {
        sloppy: {water},
        water.replace("-", ""): {water},
        "8 (707) 555-02-02": {trash},
        "Нурланова": {water},
        "трубы прорвало": {water},  # another word form: the Russian dictionary's stem
    }
    for q, expected in cases.items():
        page = client.get("/staff/appeals", params={"tab": "all", "q": q})
        assert page.status_code == 200
        assert _numbers(page.text) == expected, q
        assert f'value="{q}"' in page.text.replace("&#34;", '"')  # the box keeps what was typed
    page = client.get("/staff/appeals", params={"tab": "all", "q": "прорвало"})
    assert "<mark>прорвало</mark>" in page.text  # the match is marked in the text
    nothing = client.get(
        "/staff/appeals", params={"tab": "all", "q": "землетрясение", "lang": "kk"}
    )
    assert "Бұл сұрау бойынша ештеңе табылмады." in nothing.text


def test_the_list_page_filters_and_keeps_the_filters_across_pages(
    client: TestClient, make_user: Any, appeals: dict[str, Appeal]
) -> None:
    user, password = make_user("inspector")
    staff_sign_in(client, user, password, next_path="/staff/appeals")
    everyone = {appeal.tracking_number for appeal in appeals.values()}
    trash = appeals["trash"]
    telegram = client.get("/staff/appeals", params={"tab": "all", "channel": "telegram"})
    assert _numbers(telegram.text) == {trash.tracking_number}
    today = local(appeals["water"].received_at).date()
    recent = client.get(
        "/staff/appeals", params={"tab": "all", "from": (today - timedelta(days=7)).isoformat()}
    )
    assert _numbers(recent.text) == everyone - {appeals["light"].tracking_number}
    old = client.get(
        "/staff/appeals", params={"tab": "all", "to": (today - timedelta(days=7)).isoformat()}
    )
    assert _numbers(old.text) == {appeals["light"].tracking_number}
    by_status = client.get("/staff/appeals", params={"tab": "all", "status": trash.status.value})
    assert trash.tracking_number in _numbers(by_status.text)
    for name, value in (("category", trash.category_code), ("district", trash.district_code)):
        if value:
            found = _numbers(client.get("/staff/appeals", params={"tab": "all", name: value}).text)
            assert trash.tracking_number in found
            assert found == {
                a.tracking_number for a in appeals.values() if getattr(a, f"{name}_code") == value
            }
    # A value that is not one: said on the page (in the reader's language), never a 500.
    bad = client.get("/staff/appeals", params={"tab": "all", "district": "atlantis", "lang": "kk"})
    assert bad.status_code == 200 and "«Аудан» сүзгісі қолданылмады" in bad.text
    assert _numbers(bad.text) == everyone
    bad = client.get("/staff/appeals", params={"tab": "all", "from": "вчера", "lang": "ru"})
    assert bad.status_code == 200 and "Фильтр «Поступило с» не применён" in bad.text


def test_the_pager_and_tabs_keep_the_search(
    client: TestClient, make_user: Any, appeals: dict[str, Appeal], monkeypatch: Any
) -> None:
    from civicdesk.web.staff import pages

    monkeypatch.setattr(pages, "PAGE_SIZE", 1)
    user, password = make_user("admin")
    staff_sign_in(client, user, password, next_path="/staff/appeals")
    first = client.get("/staff/appeals", params={"tab": "all", "q": "дома"})
    assert len(_numbers(first.text)) == 1
    assert "q=%D0%B4%D0%BE%D0%BC%D0%B0&amp;tab=all&amp;page=2" in first.text
    second = client.get("/staff/appeals", params={"tab": "all", "q": "дома", "page": "2"})
    assert len(_numbers(second.text)) == 1 and _numbers(second.text) != _numbers(first.text)


def test_an_executor_finds_only_their_organizations_appeals(
    client: TestClient, make_user: Any, appeals: dict[str, Appeal], session: Session
) -> None:
    from routing.models import Organization

    water = appeals["water"]
    assert water.organization_id is not None
    organization = session.get(Organization, water.organization_id)
    assert organization is not None
    user, password = make_user("executor", organization.code)
    headers = login(client, user.username, password)
    mine = {
        a.tracking_number for a in appeals.values() if a.organization_id == water.organization_id
    }
    assert set(_api(client, headers, q="дома")) == mine & {
        a.tracking_number for a in appeals.values() if "дом" in a.text
    }
    if appeals["trash"].organization_id != water.organization_id:
        assert _api(client, headers, q=appeals["trash"].tracking_number) == []


def test_the_api_takes_q_and_the_same_filters(
    client: TestClient, make_user: Any, appeals: dict[str, Appeal]
) -> None:
    user, password = make_user("operator")
    headers = login(client, user.username, password)
    water, trash = appeals["water"], appeals["trash"]
    assert _api(client, headers, q=water.tracking_number.replace("-", "").lower()) == [
        water.tracking_number
    ]
    assert _api(client, headers, q="+7 701 555 01 01") == [water.tracking_number]
    assert _api(client, headers, q="Ольга") == [appeals["light"].tracking_number]
    assert _api(client, headers, channel="telegram") == [trash.tracking_number]
    today = local(water.received_at).date()
    assert appeals["light"].tracking_number not in _api(
        client, headers, received_from=(today - timedelta(days=7)).isoformat()
    )
    response = client.get("/api/v1/appeals", params={"q": "дома"}, headers=headers)
    assert response.headers["X-Total-Count"] == str(len(response.json()))
    assert response.headers["X-Total-Capped"] == "false"
    for params, code in (
        ({"district": "atlantis"}, "unknown_district"),
        ({"category": "nothing.at_all"}, "unknown_category"),
        ({"received_from": "2026-05-02", "received_to": "2026-05-01"}, "bad_date_range"),
    ):
        response = client.get("/api/v1/appeals", params=params, headers=headers)
        assert response.status_code == 422 and code in response.text, params
    for params in ({"channel": "pigeon"}, {"received_from": "yesterday"}, {"q": "x" * 201}):
        assert client.get("/api/v1/appeals", params=params, headers=headers).status_code == 422


def test_the_portal_finds_a_number_typed_with_a_space_or_without_the_dash(
    client: TestClient, appeals: dict[str, Appeal]
) -> None:
    number = appeals["water"].tracking_number
    for typed in (number.replace("-", " "), number.replace("-", "").lower()):
        page = client.get(f"/appeals/{typed}")
        assert page.status_code == 200 and number in page.text, typed
        tracked = client.get("/track", params={"number": typed}, follow_redirects=False)
        assert tracked.status_code in (302, 303, 307)
        assert tracked.headers["location"].startswith(f"/appeals/{number}")


def test_the_embedded_sqlite_path_finds_numbers_phones_names_and_words(tmp_path: Any) -> None:
    """SQLite, the first run's database: the same readings of ``q``, case-folded substrings
    for words (Cyrillic folded by Python, not SQLite's ASCII lower())."""
    from sqlalchemy.orm import sessionmaker

    from appeals.search import SearchFilters, search
    from civicdesk.bootstrap import load_all_reference
    from core import db
    from core.migrate import upgrade
    from core.models import Role
    from core.security import create_staff_user
    from core.settings import Settings, override_settings
    from intake.schemas import IncomingContact
    from intake.service import submit

    url = f"sqlite:///{tmp_path}/search.sqlite3"
    upgrade(url)
    engine = db.make_engine(url)
    settings = Settings(environment="test", database_url=url, redis_url=None)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    previous = db._session_factory, db._engine
    try:
        with override_settings(settings):
            db._session_factory, db._engine = factory, engine
            with factory() as session:
                load_all_reference(session, settings)
                operator = create_staff_user(
                    session,
                    username="op-sqlite",
                    full_name="Оператор",
                    role=Role.OPERATOR,
                    password="long-enough-pw-1",
                )
                numbers = {}
                for key, text, phone, name in (
                    ("water", WATER, "+77015550101", "Нурланова Асель"),
                    ("trash", TRASH, "+77075550202", "Ерлан Сейткали"),
                ):
                    result = submit(
                        session,
                        IncomingContact(
                            channel=Channel.PORTAL,
                            external_id=f"sqlite-{key}",
                            text=text,
                            citizen=CitizenContact(phone=phone, full_name=name),
                        ),
                    )
                    numbers[key] = result.tracking_number
                session.commit()

                def found(q: str) -> set[str]:
                    page = search(session, user=operator, filters=SearchFilters(q=q))
                    return {appeal.tracking_number for appeal in page.appeals}

                water, trash = numbers["water"], numbers["trash"]
                assert found(water.replace("-", " ").lower()) == {water}
                assert found("8 707 555 02 02") == {trash}
                assert found("нурланова") == {water}
                assert found("ПРОРВАЛО трубу") == {water}
                assert found("землетрясение") == set()
    finally:
        db._session_factory, db._engine = previous
        engine.dispose()


def test_dates_at_the_ends_of_the_calendar_are_no_bound_not_a_500(
    client: TestClient, make_user: Any, appeals: dict[str, Appeal]
) -> None:
    user, password = make_user("operator")
    headers = login(client, user.username, password)
    everyone = {appeal.tracking_number for appeal in appeals.values()}
    assert set(_api(client, headers, received_from="0001-01-01", received_to="9999-12-31")) == (
        everyone
    )
    staff_sign_in(client, user, password, next_path="/staff/appeals")
    page = client.get(
        "/staff/appeals", params={"tab": "all", "from": "0001-01-01", "to": "9999-12-31"}
    )
    assert page.status_code == 200 and _numbers(page.text) == everyone
    for q in ("\x00", "'\"", "!!! & | :*", "(((", "-", "or or", "Ё" * 200):
        assert client.get("/staff/appeals", params={"q": q}).status_code < 500, q
        assert client.get("/api/v1/appeals", params={"q": q}, headers=headers).status_code < 500

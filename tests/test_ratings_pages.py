"""The ranking pages: the league table and the anti-ranking with reasons in words (ru and kk),
arrows, the drill-down behind a figure, CSV/JSON export, the printable view, an executor's own
page, the supervisors' page, the public page only when turned on, and 4xx on bad input."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session

from core.models import Role
from core.settings import Settings, override_settings
from tests.conftest import staff_sign_in
from tests.test_ranking import fill, make  # noqa: F401 - the scenario fixture

WEEK = "period=custom&from=2026-03-02&to=2026-03-08"


@pytest.fixture
def scenario(session: Session, make: Callable[..., int]) -> None:  # noqa: F811
    fill(make, "almaty-su", on_time=40, late=0)
    fill(make, "almaty-heat-networks", on_time=30, late=10)
    fill(make, "almaty-qala-zharyq", on_time=0, late=40)
    fill(make, "akimat-medeu", on_time=3, late=0)
    session.commit()


def signed_in(client: Any, make_user: Any, role: Role, organization: str | None = None) -> Any:
    user, password = make_user(role, organization)
    staff_sign_in(client, user, password, next_path="/staff/ratings")
    return user


def test_the_league_table_and_the_anti_ranking_in_both_languages(
    client: Any, make_user: Any, scenario: None
) -> None:
    signed_in(client, make_user, Role.INSPECTOR)
    page = client.get(f"/staff/ratings?{WEEK}&lang=ru")
    assert page.status_code == 200, page.text
    html = page.text
    assert 'id="ranking-table"' in html
    assert "Антирейтинг" in html
    # The always-late utility heads the anti-ranking, with its reason in words.
    anti = html.split('id="anti"')[1].split("</ol>")[0]
    assert "Алматы Қала Жарық" in anti or "almaty-qala-zharyq" in anti or "Жарық" in anti
    assert "просрочено 100 %" in anti
    assert "без места" in html  # three appeals: listed, not ranked
    # Every figure opens the appeals behind it.
    assert "/staff/ratings/appeals?" in html and "component=on_time" in html
    assert 'id="weights"' in html and "Веса в силе" in html
    kk = client.get(f"/staff/ratings?{WEEK}&lang=kk").text
    assert "мерзімі өткені — 100 %" in kk
    assert "Ұйымдар рейтингі" in kk and "орынсыз" in kk


def test_a_kind_is_ranked_among_its_own_on_the_page(
    client: Any, make_user: Any, scenario: None
) -> None:
    signed_in(client, make_user, Role.ANALYST)
    html = client.get(f"/staff/ratings?{WEEK}&kind=district_akimat").text
    table = html.split('id="ranking-table"')[1]
    assert "row-akimat-medeu" in table and "row-almaty-su" not in table
    assert "среди организаций этого вида" in html


def test_the_custom_range_is_typed_as_the_page_shows_it(
    client: Any, make_user: Any, scenario: None
) -> None:
    """дд.мм.гггг in a text field (a date field shows 03/02/2026 in an English browser); the
    links keep ISO dates, and both are read."""
    signed_in(client, make_user, Role.INSPECTOR)
    typed = client.get("/staff/ratings?period=custom&from=02.03.2026&to=08.03.2026")
    assert typed.status_code == 200, typed.text
    assert 'name="from" value="02.03.2026"' in typed.text
    assert 'name="to" value="08.03.2026"' in typed.text
    assert 'type="date"' not in typed.text
    linked = client.get(f"/staff/ratings?{WEEK}")
    assert 'name="from" value="02.03.2026"' in linked.text
    assert "просрочено 100 %" in typed.text and "просрочено 100 %" in linked.text
    assert (
        client.get("/staff/ratings?period=custom&from=31.02.2026&to=08.03.2026").status_code == 422
    )


def test_the_drill_down_lists_the_appeals_behind_a_figure(
    client: Any, make_user: Any, scenario: None
) -> None:
    signed_in(client, make_user, Role.INSPECTOR)
    page = client.get(
        f"/staff/ratings/appeals?organization=almaty-heat-networks&component=on_time&{WEEK}"
    )
    assert page.status_code == 200
    assert "Всего: 10" in page.text  # the ten late ones
    assert page.text.count("/staff/appeals/") >= 10
    everything = client.get(
        "/staff/ratings/appeals?organization=almaty-heat-networks&component=on_time"
        f"&which=all&{WEEK}"
    )
    assert "Всего: 40" in everything.text
    bad = client.get(f"/staff/ratings/appeals?organization=almaty-su&component=speed&{WEEK}")
    assert bad.status_code == 422


def test_exports_and_the_printable_view(client: Any, make_user: Any, scenario: None) -> None:
    signed_in(client, make_user, Role.ADMIN)
    exported = client.get(f"/staff/ratings.csv?{WEEK}")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    ranked = [row["organization_code"] for row in rows if row["rank"]]
    assert ranked == ["almaty-su", "almaty-heat-networks", "almaty-qala-zharyq"]
    assert rows[2]["on_time_rate"] == "0.0"
    data = client.get(f"/staff/ratings.json?{WEEK}")
    assert json.loads(data.text)["anti"] == ["almaty-qala-zharyq"]
    printed = client.get(f"/staff/ratings/print?{WEEK}")
    assert printed.status_code == 200
    assert "staff-nav" not in printed.text and 'id="ranking-table"' in printed.text
    assert "/staff/ratings/appeals" not in printed.text


def test_an_executor_sees_where_its_organization_loses_points(
    client: Any, make_user: Any, scenario: None
) -> None:
    signed_in(client, make_user, Role.EXECUTOR, "almaty-qala-zharyq")
    redirected = client.get(f"/staff/ratings?{WEEK}", follow_redirects=False)
    assert redirected.status_code == 303
    assert redirected.headers["location"].startswith("/staff/ratings/mine")
    page = client.get(f"/staff/ratings/mine?{WEEK}")
    assert page.status_code == 200
    assert "Где теряются баллы" in page.text
    assert "Место 3 из 3" in page.text
    # Timeliness first: it is where the points go.
    components = page.text.split('id="components"')[1]
    assert components.index('id="c-on_time"') < components.index('id="c-satisfaction"')
    assert "просрочено 100 %" in page.text
    other = client.get(f"/staff/ratings/appeals?organization=almaty-su&component=on_time&{WEEK}")
    assert other.status_code == 403
    other_page = client.get(f"/staff/ratings/organization/almaty-su?{WEEK}")
    assert other_page.status_code == 403
    assert client.get(f"/staff/ratings.csv?{WEEK}").status_code == 403


def test_the_supervisors_page(client: Any, make_user: Any) -> None:
    signed_in(client, make_user, Role.ADMIN)
    page = client.get(f"/staff/ratings/operators?{WEEK}")
    assert page.status_code == 200
    assert "Операторы колл-центра" in page.text
    kk = client.get(f"/staff/ratings/operators?{WEEK}&lang=kk")
    assert "Байланыс орталығының операторлары" in kk.text


def test_the_public_page_only_when_the_city_turns_it_on(
    client: Any, settings: Settings, scenario: None
) -> None:
    assert client.get("/ratings?period=month&at=2026-03-01").status_code == 404
    with override_settings(settings.model_copy(update={"ratings_public": True})):
        page = client.get("/ratings?period=month&at=2026-03-01")
        assert page.status_code == 200
        assert "Рейтинг организаций города Алматы" in page.text
        assert 'id="formulas"' in page.text and 'id="weights-in-force"' in page.text
        assert "/staff/ratings/appeals" not in page.text  # no appeals for the public
        assert "просрочено 100 %" in page.text
        kk = client.get("/ratings?period=month&at=2026-03-01&lang=kk")
        assert "Алматы қаласы ұйымдарының рейтингі" in kk.text


@pytest.mark.parametrize(
    "query",
    [
        "period=custom&from=2026-03-10&to=2026-03-01",
        "period=fortnight",
        "from=yesterday",
        "kind=bakery",
    ],
)
def test_bad_choices_are_a_clear_page_not_a_500(client: Any, make_user: Any, query: str) -> None:
    signed_in(client, make_user, Role.INSPECTOR)
    page = client.get(f"/staff/ratings?{query}")
    assert page.status_code == 422
    assert "alert" in page.text


def test_every_ranking_text_has_russian_and_kazakh() -> None:
    from civicdesk.web.ratings.texts import RATINGS_TEXTS
    from civicdesk.web.texts import TEXTS

    for key, entry in RATINGS_TEXTS.items():
        assert entry.get("ru") and entry.get("kk"), key
        assert TEXTS[key] is entry

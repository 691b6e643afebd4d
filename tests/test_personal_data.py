"""Each role sees as much of the citizen as it needs (issue 13, items 7 and 8).

Analysts work on statistics: no name, no phone, and ИИН, phones, e-mails and names typed in
the text masked. Executors and inspectors see the name and a masked phone, contact data in
the text masked, and may ask for the contact (logged, without the contact). Operators and
admins see everything. The matrix is in docs/web.md.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.pii import find, mask_text
from tests.conftest import login, staff_sign_in

pytestmark = pytest.mark.postgres

PHONE = "+77015550123"
IIN = "850612401236"  # a valid check digit
TEXT = (
    "Меня зовут Асель Нурланова, мой ИИН 850612401236, телефон 8 701 555 01 23, "
    "почта asel.n@mail.kz. На улице Розыбакиева 150 у дома 12 с 12.01.2025 нет света."
)


def test_the_masker_finds_contacts_in_russian_and_kazakh() -> None:
    assert mask_text(TEXT) == (
        "Меня зовут [ФИО/аты-жөні], мой ИИН [ИИН/ЖСН], телефон [телефон], "
        "почта [e-mail]. На улице Розыбакиева 150 у дома 12 с 12.01.2025 нет света."
    )
    kazakh = "Менің атым Айгүл Серікқызы, телефоным +7 (707) 555-12-34. Аулада жарық жоқ."
    assert mask_text(kazakh) == "Менің атым [ФИО/аты-жөні], телефоным [телефон]. Аулада жарық жоқ."
    assert mask_text(TEXT, kinds={"PHONE"}) == TEXT.replace("8 701 555 01 23", "[телефон]")


@pytest.mark.parametrize(
    "clean",
    [
        "Яма на проспекте Абая 150, угол Толе би, третий день не засыпают.",
        "Нет отопления в доме 45 по улице Райымбека, 14 градусов, сумма 15 000 тенге.",
        "Жетысу-4, дом 12, квартира 48: с 01.12.2025 по 05.12.2025 нет горячей воды.",
        "Әл-Фараби даңғылы 77/8 бойынша бағдаршам істемейді, 2 сағат кептеліс.",
    ],
)
def test_places_dates_and_amounts_are_left_alone(clean: str) -> None:
    assert find(clean) == []


@pytest.fixture
def appeal(submit_appeal: Any) -> Any:
    from intake.schemas import CitizenContact

    return submit_appeal(TEXT, citizen=CitizenContact(phone=PHONE, full_name="Асель Нурланова"))


def _view(client: TestClient, headers: dict[str, str], appeal_id: int) -> dict[str, Any]:
    response = client.get(f"/api/v1/appeals/{appeal_id}", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_an_analyst_sees_no_name_no_phone_and_a_masked_text(
    client: TestClient, make_user: Any, appeal: Any
) -> None:
    user, password = make_user("analyst")
    headers = login(client, user.username, password)
    view = _view(client, headers, appeal.id)
    assert view["citizen_name"] is None and view["citizen_phone"] is None
    assert IIN not in view["text"] and "Нурланова" not in view["text"]
    assert "asel.n@mail.kz" not in view["text"] and "555 01 23" not in view["text"]
    assert "Розыбакиева 150" in view["text"]  # the place stays: analysts need it
    listed = client.get("/api/v1/appeals", headers=headers).json()
    assert all(item["citizen_phone"] is None and item["citizen_name"] is None for item in listed)
    assert not any(IIN in item["text"] for item in listed)
    refused = client.post(f"/api/v1/appeals/{appeal.id}/contact", headers=headers)
    assert refused.status_code == 403


def test_an_executor_reveals_the_contact_and_it_is_logged(
    client: TestClient, make_user: Any, appeal: Any, caplog: pytest.LogCaptureFixture, session: Any
) -> None:
    from routing.models import Organization

    session.refresh(appeal)
    organization = session.get(Organization, appeal.organization_id)
    user, password = make_user("executor", organization.code)
    headers = login(client, user.username, password)
    view = _view(client, headers, appeal.id)
    assert view["citizen_name"] == "Асель Нурланова"  # the answer is addressed to her
    assert view["citizen_phone"] != PHONE and "*" in view["citizen_phone"]
    assert IIN not in view["text"] and "Асель Нурланова" in view["text"]
    caplog.set_level(logging.INFO, logger="civicdesk.audit")
    revealed = client.post(f"/api/v1/appeals/{appeal.id}/contact", headers=headers)
    assert revealed.status_code == 200
    assert revealed.json()["citizen_phone"] == PHONE and revealed.json()["text"] == TEXT
    assert f"contact revealed: user={user.username}" in caplog.text
    assert PHONE not in caplog.text and IIN not in caplog.text


@pytest.mark.parametrize("role", ["operator", "admin"])
def test_operators_and_admins_see_everything(
    client: TestClient, make_user: Any, appeal: Any, role: str
) -> None:
    user, password = make_user(role)
    view = _view(client, login(client, user.username, password), appeal.id)
    assert view["citizen_phone"] == PHONE and view["text"] == TEXT


def test_the_analyst_pages_hide_the_citizen(
    client: TestClient, make_user: Any, appeal: Any
) -> None:
    user, password = make_user("analyst")
    staff_sign_in(client, user, password, next_path="/staff/appeals")
    page = client.get(f"/staff/appeals/{appeal.id}")
    assert page.status_code == 200
    assert "Нурланова" not in page.text and IIN not in page.text
    assert PHONE not in page.text and 'id="contact-hidden"' in page.text
    assert 'id="reveal-contact"' not in page.text
    listing = client.get("/staff/appeals?tab=all")
    assert IIN not in listing.text and "Нурланова" not in listing.text


def test_an_executor_page_reveals_the_phone_on_request(
    client: TestClient, make_user: Any, appeal: Any, session: Any
) -> None:
    from routing.models import Organization
    from tests.conftest import hidden_field

    session.refresh(appeal)
    organization = session.get(Organization, appeal.organization_id)
    user, password = make_user("executor", organization.code)
    staff_sign_in(client, user, password, next_path="/staff/appeals")
    page = client.get(f"/staff/appeals/{appeal.id}")
    assert PHONE not in page.text and IIN not in page.text and 'id="reveal-contact"' in page.text
    shown = client.post(
        f"/staff/appeals/{appeal.id}/contact", data={"csrf": hidden_field(page.text, "csrf")}
    )
    assert shown.status_code == 200
    assert PHONE in shown.text and IIN in shown.text
    forged = client.post(f"/staff/appeals/{appeal.id}/contact", data={"csrf": "forged"})
    assert forged.status_code == 403 and PHONE not in forged.text

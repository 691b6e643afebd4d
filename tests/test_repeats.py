"""Repeats of the same citizen, duplicates across citizens, incidents and the bulk answer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals.lifecycle import Status
from appeals.models import AppealLink, Channel, Incident, LinkKind
from core.clock import now
from intake.schemas import CitizenContact
from tests.conftest import login

LIGHT = "На улице Жандосова, 84 не горит уличное освещение, вечером совсем темно"
LIGHT_AGAIN = "Опять не горят фонари на ул. Жандосова, 84 — уже писал, темно, ничего не сделали"
LIGHT_NEIGHBOUR = "Ул. Жандосова, 84: третий день не работают фонари, темно и опасно"
OTHER_STREET = "Не горит уличное освещение на ул. Сатпаева, 30, темно во дворе"


def phone(n: int) -> CitizenContact:
    return CitizenContact(phone=f"+7701555{n:04d}")


def test_the_same_citizen_raising_the_same_issue_again_is_a_repeat(
    session: Session, submit_appeal: Any
) -> None:
    first = submit_appeal(LIGHT, citizen=phone(1))
    # The second time through another channel: the same phone is the same citizen.
    again = submit_appeal(LIGHT_AGAIN, citizen=phone(1), channel=Channel.WHATSAPP)
    assert again.is_repeat and again.earlier_appeal_id == first.id
    link = session.scalar(select(AppealLink).where(AppealLink.appeal_id == again.id))
    assert link is not None and link.kind is LinkKind.REPEAT
    assert link.evidence["same_topic"] and link.evidence["same_citizen"]
    assert link.evidence["place_similarity"] == 1.0
    different = submit_appeal(OTHER_STREET.replace("освещение", "свет фонарей"), citizen=phone(1))
    assert not different.is_repeat


def test_outside_the_window_it_is_a_new_appeal(session: Session, submit_appeal: Any) -> None:
    submit_appeal(LIGHT, citizen=phone(2), received_at=now() - timedelta(days=200))
    later = submit_appeal(LIGHT_AGAIN, citizen=phone(2))
    assert not later.is_repeat and later.earlier_appeal_id is None


def test_many_citizens_at_one_place_form_one_incident_answered_once(
    client: Any, session: Session, submit_appeal: Any, make_user: Any
) -> None:
    appeals = [
        submit_appeal(text, citizen=phone(10 + n))
        for n, text in enumerate((LIGHT, LIGHT_NEIGHBOUR, LIGHT_AGAIN))
    ]
    elsewhere = submit_appeal(OTHER_STREET, citizen=phone(20))
    for appeal in appeals:
        session.refresh(appeal)  # the first joins the incident when the second arrives
    incident_ids = {appeal.incident_id for appeal in appeals}
    assert len(incident_ids) == 1 and None not in incident_ids
    assert elsewhere.incident_id is None
    incident = session.get(Incident, incident_ids.pop())
    assert incident is not None and incident.appeals_count == 3
    assert incident.place.startswith("жандос")

    executor, _ = make_user("executor", "almaty-qala-zharyq")
    inspector, _ = make_user("inspector")
    listed = client.get("/api/v1/incidents", headers=login(client, inspector.username)).json()
    assert incident.id in {item["id"] for item in listed}
    answer = "Заменены лампы на опорах по ул. Жандосова, 84, освещение работает с 26 ноября."
    done = client.post(
        f"/api/v1/incidents/{incident.id}/answer",
        json={"text": answer},
        headers=login(client, executor.username),
    )
    assert done.status_code == 200 and done.json()["status"] == "answered"
    for appeal in appeals:
        session.refresh(appeal)
        assert (appeal.status, appeal.answer_text) == (Status.ANSWERED, answer)
    other_org, _ = make_user("executor", "akimat-turksib")
    refused = client.post(
        f"/api/v1/incidents/{incident.id}/answer",
        json={"text": answer},
        headers=login(client, other_org.username),
    )
    assert refused.status_code == 409


def test_a_wrong_link_is_broken_and_undone(
    client: Any, session: Session, submit_appeal: Any, make_user: Any
) -> None:
    first = submit_appeal(LIGHT, citizen=phone(30))
    again = submit_appeal(LIGHT_AGAIN, citizen=phone(30))
    neighbour = submit_appeal(LIGHT_NEIGHBOUR, citizen=phone(31))
    operator, _ = make_user("operator")
    executor, _ = make_user("executor", "almaty-qala-zharyq")
    headers = login(client, operator.username)
    links = client.get(f"/api/v1/appeals/{again.id}/links", headers=headers).json()
    repeat = next(link for link in links if link["kind"] == "repeat")
    assert repeat["other_id"] == first.id and repeat["status"] == "suggested"
    as_executor = client.post(
        f"/api/v1/appeals/{again.id}/links/{repeat['id']}/break",
        headers=login(client, executor.username),
    )
    assert as_executor.status_code == 403
    broken = client.post(f"/api/v1/appeals/{again.id}/links/{repeat['id']}/break", headers=headers)
    assert broken.status_code == 200 and broken.json()["status"] == "broken"
    session.refresh(again)
    assert not again.is_repeat and again.earlier_appeal_id is None
    twice = client.post(f"/api/v1/appeals/{again.id}/links/{repeat['id']}/confirm", headers=headers)
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "link_decided")

    duplicate = next(
        link
        for link in client.get(f"/api/v1/appeals/{neighbour.id}/links", headers=headers).json()
        if link["kind"] == "duplicate" and link["appeal_id"] == neighbour.id
    )
    assert neighbour.incident_id is not None
    client.post(f"/api/v1/appeals/{neighbour.id}/links/{duplicate['id']}/break", headers=headers)
    session.refresh(neighbour)
    assert neighbour.incident_id is None
    view = client.get(f"/api/v1/appeals/{first.id}", headers=headers).json()
    assert view["is_repeat"] is False


def test_the_console_warns_of_a_repeat_and_shows_the_incident(
    client: Any, session: Session, submit_appeal: Any, make_user: Any
) -> None:
    from tests.test_web_pages import _sign_in

    first = submit_appeal(LIGHT, citizen=phone(40))
    again = submit_appeal(LIGHT_AGAIN, citizen=phone(40))
    submit_appeal(LIGHT_NEIGHBOUR, citizen=phone(41))
    operator, password = make_user("operator")
    assert _sign_in(client, operator, password).status_code == 303
    html = client.get(f"/staff/appeals/{again.id}").text
    assert "Повторное обращение" in html and first.tracking_number in html
    assert "Часть инцидента" in html

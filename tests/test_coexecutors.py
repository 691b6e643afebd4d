"""Co-executors: a lead organization plus organizations answering their own parts.

Services, executor scoping, the JSON API and the staff page forms, against PostgreSQL.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals import access, actions, assignments
from appeals.lifecycle import Status
from appeals.models import Appeal, Assignment, AssignmentRole
from civicdesk import appeal_actions
from civicdesk.web.texts import t
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.models import StaffUser
from routing import coexecutors, forwarding
from routing.models import Organization
from routing.service import organization_by_code
from sla import actions as sla_actions
from tests.conftest import login

WATER = "На улице Жандосова прорвало трубу водопровода, вода течёт по дороге уже сутки"
LEAD, CO1, CO2, OTHER = "almaty-su", "akimat-medeu", "road-infrastructure", "akimat-turksib"
RETIRED = "urban-mobility"
PART1 = "Восстановить асфальт и благоустройство двора после раскопки"
PART2 = "Проверить дорожное покрытие улицы Жандосова после аварии"
ANSWER1 = "Асфальт во дворе восстановлен 20 ноября, бордюры установлены."
ANSWER2 = "Покрытие улицы проверено, яма заделана 21 ноября."
API = "/api/v1/appeals/{id}/co-executors"


def org(session: Session, code: str) -> Organization:
    return organization_by_code(session, code)


def place(session: Session, appeal: Appeal, code: str, admin: StaffUser) -> Appeal:
    """Make sure the appeal's lead is ``code``, whatever the classifier decided."""
    target = org(session, code)
    if appeal.organization_id != target.id:
        appeal_actions.perform(
            session, appeal, user=admin, action="route", organization_code=code, reason="setup"
        )
        session.commit()
    placed = session.get(Appeal, appeal.id, populate_existing=True)
    assert placed is not None and placed.organization_id == target.id
    return placed


@pytest.fixture
def admin(make_user: Any) -> StaffUser:
    user: StaffUser = make_user("admin")[0]
    return user


@pytest.fixture
def appeal(session: Session, submit_appeal: Any, admin: StaffUser) -> Appeal:
    placed = place(session, submit_appeal(WATER), LEAD, admin)
    assert placed.status in (Status.ASSIGNED, Status.FORWARDED)
    return placed


#: Who plays in these tests: an executor of each organization, and the other staff roles.
CAST: dict[str, tuple[str, str | None]] = {
    "lead": ("executor", LEAD),
    "co1": ("executor", CO1),
    "co2": ("executor", CO2),
    "other": ("executor", OTHER),
    "operator": ("operator", None),
    "inspector": ("inspector", None),
    "analyst": ("analyst", None),
}


class People(dict[str, StaffUser]):
    """Staff users made on first use (each costs an Argon2 hash)."""

    def __init__(self, make_user: Any) -> None:
        super().__init__()
        self._make_user = make_user

    def __missing__(self, name: str) -> StaffUser:
        role, organization_code = CAST[name]
        user: StaffUser = self._make_user(role, organization_code)[0]
        self[name] = user
        return user


@pytest.fixture
def people(make_user: Any) -> People:
    return People(make_user)


def add_both(session: Session, appeal: Appeal, people: dict[str, StaffUser]) -> None:
    coexecutors.add_co_executor(
        session, appeal, organization_id=org(session, CO1).id, part=PART1, by=people["lead"]
    )
    coexecutors.add_co_executor(
        session, appeal, organization_id=org(session, CO2).id, part=PART2, by=people["operator"]
    )
    session.commit()


def visible_ids(session: Session, user: StaffUser, **filters: Any) -> set[int]:
    appeals, total = access.list_for_staff(session, user=user, limit=500, **filters)
    assert total == len(appeals)
    return {appeal.id for appeal in appeals}


# --- services ------------------------------------------------------------------------------


def test_two_co_executors_each_see_the_appeal_and_answer_only_their_part(
    session: Session, appeal: Appeal, people: dict[str, StaffUser]
) -> None:
    add_both(session, appeal, people)
    rows = coexecutors.parts(session, appeal.id)
    assert [(row.organization_id, row.part) for row in rows] == [
        (org(session, CO1).id, PART1),
        (org(session, CO2).id, PART2),
    ]
    assert all(row.role is AssignmentRole.CO_EXECUTOR and row.kind == "manual" for row in rows)
    assert [row.assigned_by_id for row in rows] == [people["lead"].id, people["operator"].id]
    assert appeal.organization_id == org(session, LEAD).id  # the lead is unchanged

    for name in ("co1", "co2", "lead"):
        user = people[name]
        assert access.can_view(user, appeal), name
        assert access.get_for_staff(session, user=user, appeal_id=appeal.id).id == appeal.id
        assert appeal.id in visible_ids(session, user), name
    assert appeal.id in visible_ids(session, people["co1"], statuses=[appeal.status])
    assert appeal.id not in visible_ids(session, people["co1"], statuses=[Status.CLOSED])
    # The lead-organization filter still belongs to the executor only.
    with pytest.raises(PermissionDenied):
        access.list_for_staff(session, user=people["co1"], organization_id=org(session, LEAD).id)
    assert not access.can_view(people["other"], appeal)
    assert appeal.id not in visible_ids(session, people["other"])
    with pytest.raises(NotFound):
        access.get_for_staff(session, user=people["other"], appeal_id=appeal.id)

    pending = assignments.pending_parts(session, appeal.id)
    assert [part.organization_id for part in pending] == [
        org(session, CO1).id,
        org(session, CO2).id,
    ]
    # Nobody answers another organization's part.
    with pytest.raises(PermissionDenied):
        coexecutors.answer_part(
            session, appeal, user=people["co1"], text=ANSWER2, organization_id=org(session, CO2).id
        )
    with pytest.raises(PermissionDenied):
        coexecutors.answer_part(session, appeal, user=people["lead"], text=ANSWER1)
    with pytest.raises(PermissionDenied):
        coexecutors.answer_part(session, appeal, user=people["inspector"], text=ANSWER1)

    first = coexecutors.answer_part(session, appeal, user=people["co1"], text=ANSWER1)
    assert first.organization_id == org(session, CO1).id
    assert (first.answer_text, first.answered_by_id) == (ANSWER1, people["co1"].id)
    assert first.answered_at is not None
    assert [p.organization_id for p in assignments.pending_parts(session, appeal.id)] == [
        org(session, CO2).id
    ]
    with pytest.raises(Conflict) as waiting:
        assignments.require_parts_answered(session, appeal.id)
    assert waiting.value.code == "co_executor_parts_pending"

    coexecutors.answer_part(session, appeal, user=people["co2"], text=ANSWER2)
    assert assignments.pending_parts(session, appeal.id) == []
    assignments.require_parts_answered(session, appeal.id)
    # A part may be revised until the lead answers.
    revised = coexecutors.answer_part(session, appeal, user=people["co1"], text=ANSWER1 + " Всё.")
    assert revised.id == first.id and revised.answer_text == ANSWER1 + " Всё."

    draft = coexecutors.combined_answer(session, appeal)
    assert draft.index(org(session, CO1).name_ru) < draft.index(ANSWER1)
    assert draft.index(ANSWER1) < draft.index(org(session, CO2).name_ru) < draft.index(ANSWER2)
    assert org(session, CO1).name_kk in coexecutors.combined_answer(session, appeal, language="kk")


def test_a_co_executor_cannot_take_the_leads_actions(
    session: Session, appeal: Appeal, people: dict[str, StaffUser]
) -> None:
    add_both(session, appeal, people)
    co1 = people["co1"]
    for action, extra in (
        ("accept", {}),
        ("answer", {"text": ANSWER1}),
        ("send_back", {"reason": "не наша компетенция"}),
    ):
        with pytest.raises(PermissionDenied) as refused:
            appeal_actions.perform(session, appeal, user=co1, action=action, **extra)
        assert refused.value.code == "other_organization", action
    # Nor manage the other co-executors.
    with pytest.raises(PermissionDenied) as refused:
        coexecutors.add_co_executor(
            session, appeal, organization_id=org(session, OTHER).id, part=PART1, by=co1
        )
    assert refused.value.code == "not_lead_organization"
    with pytest.raises(PermissionDenied):
        coexecutors.remove_co_executor(
            session, appeal, organization_id=org(session, CO2).id, by=co1, reason="лишний"
        )
    session.refresh(appeal)
    assert appeal.status in (Status.ASSIGNED, Status.FORWARDED)


@pytest.mark.parametrize("role", ["operator", "inspector", "admin", "lead"])
def test_who_may_add_a_co_executor(
    session: Session, appeal: Appeal, people: dict[str, StaffUser], admin: StaffUser, role: str
) -> None:
    user = admin if role == "admin" else people[role]
    added = coexecutors.add_co_executor(
        session, appeal, organization_id=org(session, CO1).id, part=PART1, by=user
    )
    assert added.id is not None and added.assigned_by_id == user.id


@pytest.mark.parametrize(
    ("role", "code"), [("analyst", "role_not_allowed"), ("other", "not_lead_organization")]
)
def test_who_may_not_add_a_co_executor(
    session: Session, appeal: Appeal, people: dict[str, StaffUser], role: str, code: str
) -> None:
    with pytest.raises(PermissionDenied) as refused:
        coexecutors.add_co_executor(
            session, appeal, organization_id=org(session, CO1).id, part=PART1, by=people[role]
        )
    assert refused.value.code == code
    assert coexecutors.parts(session, appeal.id) == []


def test_adding_is_refused_for_bad_input(
    session: Session, appeal: Appeal, people: dict[str, StaffUser]
) -> None:
    lead = people["lead"]

    def add(code: str, part: str = PART1) -> Assignment:
        return coexecutors.add_co_executor(
            session, appeal, organization_id=org(session, code).id, part=part, by=lead
        )

    with pytest.raises(ValidationFailed) as refused:
        add(LEAD)
    assert refused.value.code == "lead_organization"
    for blank in ("", "   \n "):
        with pytest.raises(ValidationFailed) as refused:
            add(CO1, blank)
        assert refused.value.code == "part_required"
    with pytest.raises(ValidationFailed) as refused:
        add(CO1, "x" * (coexecutors.MAX_PART_CHARS + 1))
    assert refused.value.code == "part_too_long"
    with pytest.raises(ValidationFailed) as refused:
        add(RETIRED)
    assert refused.value.code == "organization_retired"
    with pytest.raises(NotFound):
        coexecutors.add_co_executor(session, appeal, organization_id=10**9, part=PART1, by=lead)
    add(CO1)
    with pytest.raises(Conflict) as refused:
        add(CO1, PART2)
    assert refused.value.code == "co_executor_exists"
    assert len(coexecutors.parts(session, appeal.id)) == 1


@pytest.mark.parametrize("how", ["rejected", "quick_answered", "closed"])
def test_finished_appeals_take_no_co_executors(
    session: Session,
    submit_appeal: Any,
    admin: StaffUser,
    people: dict[str, StaffUser],
    how: str,
) -> None:
    appeal = place(session, submit_appeal(WATER), LEAD, admin)
    if how == "rejected":
        actions.reject(session, appeal, user=people["operator"], reason_code="spam", note=None)
    elif how == "quick_answered":
        actions.quick_answer(session, appeal, user=admin, text="Ответ из базы знаний: звоните 109.")
    else:
        actions.accept(session, appeal, user=people["lead"])
        actions.answer(session, appeal, user=people["lead"], text="Трубу заменили 12 ноября.")
        sla_actions.close(session, appeal, user=people["inspector"])
    assert appeal.status.value == how
    with pytest.raises(Conflict) as refused:
        coexecutors.add_co_executor(
            session, appeal, organization_id=org(session, CO1).id, part=PART1, by=admin
        )
    assert refused.value.code == "appeal_not_open"


def test_an_unrouted_appeal_takes_no_co_executor(
    session: Session, submit_appeal: Any, admin: StaffUser
) -> None:
    appeal = submit_appeal("Прошу разобраться с моим вопросом, он давно не решается никем")
    if appeal.organization_id is not None:
        forwarding.send_back(session, appeal, user=admin, reason="для проверки разбора")
    assert appeal.organization_id is None
    with pytest.raises(Conflict) as refused:
        coexecutors.add_co_executor(
            session, appeal, organization_id=org(session, CO1).id, part=PART1, by=admin
        )
    assert refused.value.code == "no_lead_organization"


def test_parts_are_final_once_the_lead_answers(
    session: Session, appeal: Appeal, people: dict[str, StaffUser]
) -> None:
    add_both(session, appeal, people)
    coexecutors.answer_part(session, appeal, user=people["co1"], text=ANSWER1)
    coexecutors.answer_part(session, appeal, user=people["co2"], text=ANSWER2)
    actions.accept(session, appeal, user=people["lead"])
    actions.answer(
        session, appeal, user=people["lead"], text=coexecutors.combined_answer(session, appeal)
    )
    assert appeal.status is Status.ANSWERED
    with pytest.raises(Conflict) as refused:
        coexecutors.answer_part(session, appeal, user=people["co1"], text=ANSWER1 + " Ещё.")
    assert refused.value.code == "appeal_not_open"
    with pytest.raises(Conflict):
        coexecutors.remove_co_executor(
            session, appeal, organization_id=org(session, CO1).id, by=people["lead"], reason="x"
        )
    # Returned for rework, the appeal is open again and so are the parts.
    sla_actions.return_for_rework(session, appeal, user=people["inspector"], reason="подробнее")
    coexecutors.answer_part(session, appeal, user=people["co1"], text=ANSWER1 + " Подробно.")
    # The co-executors still see the appeal after it is answered.
    assert access.can_view(people["co2"], appeal)


def test_answer_part_validation(
    session: Session, appeal: Appeal, people: dict[str, StaffUser], admin: StaffUser
) -> None:
    add_both(session, appeal, people)
    for short in ("", "Готово", "  готово   "):
        with pytest.raises(ValidationFailed) as refused:
            coexecutors.answer_part(session, appeal, user=people["co1"], text=short)
        assert refused.value.code == "answer_too_short"
    with pytest.raises(ValidationFailed) as refused:
        coexecutors.answer_part(session, appeal, user=admin, text=ANSWER1)
    assert refused.value.code == "organization_required"
    with pytest.raises(NotFound):
        coexecutors.answer_part(
            session, appeal, user=admin, text=ANSWER1, organization_id=org(session, OTHER).id
        )
    # An admin may answer on a co-executor's behalf.
    done = coexecutors.answer_part(
        session, appeal, user=admin, text=ANSWER2, organization_id=org(session, CO2).id
    )
    assert done.answered_by_id == admin.id
    assert assignments.pending_parts(session, appeal.id)[0].organization_id == org(session, CO1).id


def test_removing_a_co_executor(
    session: Session, appeal: Appeal, people: dict[str, StaffUser]
) -> None:
    add_both(session, appeal, people)
    co1_id = org(session, CO1).id
    coexecutors.answer_part(session, appeal, user=people["co1"], text=ANSWER1)
    with pytest.raises(ValidationFailed) as refused:
        coexecutors.remove_co_executor(
            session, appeal, organization_id=co1_id, by=people["inspector"], reason="  "
        )
    assert refused.value.code == "reason_required"
    with pytest.raises(NotFound):
        coexecutors.remove_co_executor(
            session, appeal, organization_id=org(session, OTHER).id, by=people["lead"], reason="x"
        )
    removed = coexecutors.remove_co_executor(
        session, appeal, organization_id=co1_id, by=people["inspector"], reason="ошибочно"
    )
    session.commit()
    assert removed.end_reason == "removed" and removed.ended_at is not None
    assert "ошибочно" in removed.reason
    assert removed.answer_text == ANSWER1  # what it answered stays in the record
    assert [coexecutors.part_state(part) for part in coexecutors.parts(session, appeal.id)] == [
        "removed",
        "pending",
    ]
    assert len(coexecutors.parts(session, appeal.id, include_removed=False)) == 1
    assert [p.organization_id for p in assignments.pending_parts(session, appeal.id)] == [
        org(session, CO2).id
    ]
    assert ANSWER1 not in coexecutors.combined_answer(session, appeal)
    # A removed co-executor no longer sees the appeal, nor answers.
    assert not access.can_view(people["co1"], appeal)
    assert appeal.id not in visible_ids(session, people["co1"])
    with pytest.raises(NotFound):
        access.get_for_staff(session, user=people["co1"], appeal_id=appeal.id)
    with pytest.raises(PermissionDenied):
        coexecutors.answer_part(session, appeal, user=people["co1"], text=ANSWER1)
    with pytest.raises(NotFound):
        coexecutors.remove_co_executor(
            session, appeal, organization_id=co1_id, by=people["lead"], reason="ещё раз"
        )
    # And can be added again, as a new stint.
    again = coexecutors.add_co_executor(
        session, appeal, organization_id=co1_id, part=PART1, by=people["lead"]
    )
    assert again.id != removed.id and again.answer_text is None
    assert access.can_view(people["co1"], appeal)
    rows = session.scalars(select(Assignment).where(Assignment.appeal_id == appeal.id)).all()
    assert sum(1 for row in rows if row.organization_id == co1_id) == 2


# --- the JSON API --------------------------------------------------------------------------


@pytest.fixture
def api(client: Any) -> Any:
    """The client, with the co-executors router mounted if the app does not mount it yet."""
    from routing.coexecutors_api import router

    app = client.app
    if not any(getattr(route, "path", "").endswith("/co-executors") for route in app.routes):
        app.include_router(router)
    return client


def test_the_api_end_to_end(
    api: Any, session: Session, appeal: Appeal, people: dict[str, StaffUser]
) -> None:
    url = API.format(id=appeal.id)
    lead, co1, co2 = (login(api, people[name].username) for name in ("lead", "co1", "co2"))
    other, analyst = login(api, people["other"].username), login(api, people["analyst"].username)
    operator = login(api, people["operator"].username)

    assert api.get(url).status_code == 401
    assert api.get(url, headers=lead).json() == []
    created = api.post(url, json={"organization_code": CO1, "part": PART1}, headers=lead)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["organization_code"], body["part"], body["state"]) == (CO1, PART1, "pending")
    assert body["organization_name"] == org(session, CO1).name_ru
    second = api.post(
        url, params={"lang": "kk"}, json={"organization_code": CO2, "part": PART2}, headers=operator
    )
    assert second.status_code == 201
    assert second.json()["organization_name"] == org(session, CO2).name_kk

    def refused(response: Any) -> tuple[int, str]:
        return response.status_code, response.json()["error"]["code"]

    assert refused(api.post(url, json={"organization_code": CO1, "part": PART2}, headers=lead)) == (
        409,
        "co_executor_exists",
    )
    assert refused(
        api.post(url, json={"organization_code": LEAD, "part": PART2}, headers=lead)
    ) == (
        422,
        "lead_organization",
    )
    assert refused(
        api.post(url, json={"organization_code": OTHER, "part": "  "}, headers=lead)
    ) == (
        422,
        "validation_failed",
    )
    assert refused(
        api.post(url, json={"organization_code": "no-such-org", "part": PART2}, headers=lead)
    ) == (422, "unknown_organization")
    assert refused(
        api.post(url, json={"organization_code": OTHER, "part": PART2}, headers=analyst)
    ) == (403, "role_not_allowed")
    assert refused(
        api.post(url, json={"organization_code": OTHER, "part": PART2}, headers=co1)
    ) == (
        403,
        "not_lead_organization",
    )
    assert api.post(url, json={"organization_code": OTHER}, headers=lead).status_code == 422

    # Co-executors see the appeal and its parts; another organization gets 404 everywhere.
    assert [item["organization_code"] for item in api.get(url, headers=co2).json()] == [CO1, CO2]
    listed = api.get("/api/v1/appeals", headers=co1).json()
    assert appeal.id in {item["id"] for item in listed}
    assert api.get(f"/api/v1/appeals/{appeal.id}", headers=co1).status_code == 200
    assert refused(api.get(url, headers=other)) == (404, "appeal_not_found")
    assert api.get(f"/api/v1/appeals/{appeal.id}", headers=other).status_code == 404
    assert (
        api.post(f"{url}/{OTHER}/answer", json={"text": ANSWER1}, headers=other).status_code == 404
    )
    assert appeal.id not in {
        item["id"] for item in api.get("/api/v1/appeals", headers=other).json()
    }
    assert api.get(API.format(id=10**9), headers=lead).status_code == 404

    # The lead's actions are refused to a co-executor: 403, not a change.
    for action in ("accept", "answer", "send_back"):
        body = {"text": ANSWER1, "reason": "не наша"}
        response = api.post(f"/api/v1/appeals/{appeal.id}/actions/{action}", json=body, headers=co1)
        assert refused(response) == (403, "other_organization"), action

    # Each answers their own part only.
    answered = api.post(f"{url}/{CO1}/answer", json={"text": ANSWER1}, headers=co1)
    assert answered.status_code == 200, answered.text
    assert (answered.json()["state"], answered.json()["answer_text"]) == ("answered", ANSWER1)
    assert refused(api.post(f"{url}/{CO2}/answer", json={"text": ANSWER2}, headers=co1)) == (
        403,
        "not_co_executor",
    )
    assert refused(api.post(f"{url}/{CO1}/answer", json={"text": ANSWER1}, headers=lead)) == (
        403,
        "not_co_executor",
    )
    assert refused(api.post(f"{url}/{CO2}/answer", json={"text": "ok"}, headers=co2)) == (
        422,
        "answer_too_short",
    )
    states = {
        item["organization_code"]: item["state"] for item in api.get(url, headers=lead).json()
    }
    assert states == {CO1: "answered", CO2: "pending"}
    assert [p.organization_id for p in assignments.pending_parts(session, appeal.id)] == [
        org(session, CO2).id
    ]

    # Removal needs a reason, and the removed organization loses the appeal.
    assert refused(api.delete(f"{url}/{CO2}", headers=lead)) == (422, "reason_required")
    assert refused(api.delete(f"{url}/{CO2}", params={"reason": "лишний"}, headers=co1)) == (
        403,
        "not_lead_organization",
    )
    assert api.delete(f"{url}/{OTHER}", params={"reason": "x"}, headers=lead).status_code == 404
    gone = api.delete(f"{url}/{CO2}", params={"reason": "не требуется"}, headers=lead)
    assert gone.status_code == 200, gone.text
    assert (gone.json()["state"], gone.json()["end_reason"]) == ("removed", "removed")
    assert api.get(url, headers=co2).status_code == 404
    assert [item["state"] for item in api.get(url, headers=co1).json()] == ["answered", "removed"]
    assert assignments.pending_parts(session, appeal.id) == []


# --- the staff pages -----------------------------------------------------------------------


def _hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no hidden field {name!r} on the page"
    return html.unescape(match.group(1))


def _sign_in(client: Any, user: StaffUser) -> None:
    from tests.conftest import PASSWORD

    client.cookies.clear()
    page = client.get("/staff/login")
    response = client.post(
        "/staff/login",
        data={
            "username": user.username,
            "password": PASSWORD,
            "login_csrf": _hidden(page.text, "login_csrf"),
            "next": "/staff/appeals",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def test_the_staff_pages_add_answer_and_remove(
    client: Any, session: Session, appeal: Appeal, people: dict[str, StaffUser]
) -> None:
    page_url = f"/staff/appeals/{appeal.id}"
    co1_name = org(session, CO1).name_ru

    # The lead's executor adds a co-executor from the appeal page.
    _sign_in(client, people["lead"])
    page = client.get(page_url)
    assert page.status_code == 200
    assert f'action="{page_url}/co-executors"' in page.text
    assert f'<option value="{CO1}">' in page.text
    assert f'<option value="{LEAD}">' not in page.text
    csrf = _hidden(page.text, "csrf")
    forged = client.post(
        f"{page_url}/co-executors", data={"csrf": "x", "organization_code": CO1, "part": PART1}
    )
    assert forged.status_code == 403 and coexecutors.parts(session, appeal.id) == []
    blank = client.post(
        f"{page_url}/co-executors", data={"csrf": csrf, "organization_code": CO1, "part": " "}
    )
    assert blank.status_code == 422
    assert t("staff_error.part_required", "ru") in blank.text
    added = client.post(
        f"{page_url}/co-executors",
        data={"csrf": csrf, "organization_code": CO1, "part": PART1},
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text
    assert added.headers["location"] == f"{page_url}?done=co_executor_add"
    page = client.get(added.headers["location"])
    assert t("done.co_executor_add", "ru") in page.text
    assert co1_name in page.text and PART1 in page.text
    assert t("coexec.state.pending", "ru") in page.text
    assert f'<option value="{CO1}">' not in page.text  # already on the appeal
    duplicate = client.post(
        f"{page_url}/co-executors", data={"csrf": csrf, "organization_code": CO1, "part": PART2}
    )
    assert duplicate.status_code == 409
    assert t("staff_error.co_executor_exists", "ru") in duplicate.text
    client.post(
        f"{page_url}/co-executors", data={"csrf": csrf, "organization_code": CO2, "part": PART2}
    )
    assert len(coexecutors.parts(session, appeal.id)) == 2

    # The co-executor's executor finds it in their list and answers their part only.
    _sign_in(client, people["co1"])
    listing = client.get("/staff/appeals", params={"tab": "all"})
    assert appeal.tracking_number in listing.text
    assert t("coexec.flag", "ru") in listing.text
    page = client.get(page_url)
    assert page.status_code == 200
    assert t("coexec.your_part", "ru") in page.text
    in_kazakh = client.get(page_url, params={"lang": "kk"})
    assert t("coexec.your_part", "kk") in in_kazakh.text
    assert org(session, CO1).name_kk in in_kazakh.text
    client.get(page_url, params={"lang": "ru"})  # the choice is remembered: back to Russian
    assert f'action="{page_url}/co-executors/{CO1}/answer"' in page.text
    assert f"/co-executors/{CO2}/answer" not in page.text
    assert "/actions/accept" not in page.text and "/actions/answer" not in page.text
    assert f'action="{page_url}/co-executors"' not in page.text  # may not add
    csrf = _hidden(page.text, "csrf")
    short = client.post(f"{page_url}/co-executors/{CO1}/answer", data={"csrf": csrf, "text": "ок"})
    assert short.status_code == 422
    assert t("staff_error.answer_too_short", "ru") in short.text
    theirs = client.post(
        f"{page_url}/co-executors/{CO2}/answer", data={"csrf": csrf, "text": ANSWER2}
    )
    assert theirs.status_code == 403
    answered = client.post(
        f"{page_url}/co-executors/{CO1}/answer",
        data={"csrf": csrf, "text": ANSWER1},
        follow_redirects=False,
    )
    assert answered.status_code == 303, answered.text
    page = client.get(answered.headers["location"])
    assert t("done.co_executor_answer", "ru") in page.text
    assert f"{ANSWER1}</textarea>" in page.text  # ready to be revised
    session.expire_all()
    assert [coexecutors.part_state(p) for p in coexecutors.parts(session, appeal.id)] == [
        "answered",
        "pending",
    ]
    # Taking a lead action by posting the form anyway is refused.
    refused = client.post(f"/staff/appeals/{appeal.id}/actions/accept", data={"csrf": csrf})
    assert refused.status_code == 403

    # Another organization's executor sees nothing and changes nothing.
    _sign_in(client, people["other"])
    assert client.get(page_url).status_code == 404
    assert appeal.tracking_number not in client.get("/staff/appeals?tab=all").text
    other_csrf = _hidden(client.get("/staff/appeals").text, "csrf")
    assert (
        client.post(
            f"{page_url}/co-executors/{CO1}/answer", data={"csrf": other_csrf, "text": ANSWER2}
        ).status_code
        == 404
    )

    # The lead waits for the second part; then starts from the combined draft.
    _sign_in(client, people["lead"])
    lead_csrf = _hidden(client.get(page_url).text, "csrf")
    client.post(f"/staff/appeals/{appeal.id}/actions/accept", data={"csrf": lead_csrf})
    page = client.get(page_url)
    assert t("coexec.pending_note", "ru", count=1) in page.text
    assert html.escape(ANSWER1, quote=False) in page.text

    # An operator removes the second co-executor, with a reason.
    _sign_in(client, people["operator"])
    page = client.get(page_url)
    csrf = _hidden(page.text, "csrf")
    no_reason = client.post(f"{page_url}/co-executors/{CO2}/remove", data={"csrf": csrf})
    assert no_reason.status_code == 422
    assert t("staff_error.reason_required", "ru") in no_reason.text
    removed = client.post(
        f"{page_url}/co-executors/{CO2}/remove",
        data={"csrf": csrf, "reason": "часть не нужна"},
        follow_redirects=False,
    )
    assert removed.status_code == 303
    page = client.get(removed.headers["location"])
    assert t("done.co_executor_remove", "ru") in page.text
    assert t("coexec.state.removed", "ru") in page.text

    # Now nothing is pending: the lead's answer form starts from the parts.
    _sign_in(client, people["lead"])
    page = client.get(page_url)
    assert t("coexec.pending_note", "ru", count=1) not in page.text
    assert t("coexec.draft_note", "ru") in page.text
    draft = re.search(r'name="text"[^>]*>([^<]*)</textarea>', page.text)
    assert draft is not None
    assert co1_name in html.unescape(draft.group(1))
    assert ANSWER1 in html.unescape(draft.group(1))

"""Reorganizations: merge, split, rename and retire move open appeals with their history,
leave closed ones (and their attribution) with the old organization, and executors see
only what their organization now leads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from appeals import actions
from appeals.access import get_for_staff, staff_query
from appeals.assignments import lead_history, open_co_executors
from appeals.lifecycle import Status
from appeals.models import Appeal, AppealStatusChange, Assignment, AssignmentRole
from core.clock import frozen, local, now
from core.errors import Conflict, DomainError, NotFound, ValidationFailed
from core.models import StaffUser
from routing import forwarding
from routing.models import Category, ChangeKind, District, Organization, OrganizationChange
from routing.reorganization import create_organization, record_change
from routing.reorganization_apply import apply_change, apply_due_changes, attributable_counts
from routing.rules import RuleScope, active_rule, rule_history
from routing.service import decide, organization_by_code
from sla import actions as sla_actions
from tests.conftest import login

TEXT = "Прошу рассмотреть моё обращение и принять меры по существу вопроса"
ANSWER = "Вопрос рассмотрен, меры приняты, мероприятие перенесено на субботу."


def today() -> date:
    return local(now()).date()


@pytest.fixture
def admin(make_user: Callable[..., tuple[StaffUser, str]]) -> StaffUser:
    return make_user("admin")[0]


@pytest.fixture
def file_appeal(submit_appeal: Callable[..., Appeal]) -> Callable[..., Appeal]:
    """An appeal in a category (routed by the rules), checked to land where expected."""

    def file(category: str, expected_org: str, session: Session) -> Appeal:
        appeal = submit_appeal(TEXT, category_code=category)
        assert appeal.status is Status.ASSIGNED, appeal.triage_reason
        assert appeal.organization_id == organization_by_code(session, expected_org).id
        return appeal

    return file


def successor(session: Session, code: str, *, active_from: date | None = None) -> Organization:
    return create_organization(
        session,
        code=code,
        name_ru=f"Управление {code}",
        name_kk=f"{code} басқармасы",
        kind="city_department",
        active_from=active_from or today(),
    )


def history_rows(session: Session, appeal: Appeal) -> int:
    query = select(func.count()).where(AppealStatusChange.appeal_id == appeal.id)
    return int(session.scalar(query) or 0)


def codes_of(session: Session, stints: list[Assignment]) -> list[tuple[str, str, str | None]]:
    return [
        (
            session.get_one(Organization, stint.organization_id).code,
            stint.kind,
            stint.end_reason,
        )
        for stint in stints
    ]


def refreshed(session: Session, appeal: Appeal) -> Appeal:
    return session.get_one(Appeal, appeal.id, populate_existing=True)


# --- merge ----------------------------------------------------------------------------------


def test_merge_moves_open_appeals_rules_and_executors_but_not_closed_appeals(
    session: Session,
    admin: StaffUser,
    file_appeal: Callable[..., Appeal],
    make_user: Callable[..., tuple[StaffUser, str]],
) -> None:
    culture = organization_by_code(session, "culture")
    sports = organization_by_code(session, "sports")
    culture_exec = make_user("executor", "culture")[0]
    sports_exec = make_user("executor", "sports")[0]
    inspector = make_user("inspector")[0]

    open_culture = file_appeal("culture.culture_events", "culture", session)
    in_progress = file_appeal("culture.culture_events", "culture", session)
    actions.accept(session, in_progress, user=culture_exec)
    closed = file_appeal("culture.culture_events", "culture", session)
    actions.accept(session, closed, user=culture_exec)
    actions.answer(session, closed, user=culture_exec, text=ANSWER)
    sla_actions.close(session, closed, user=inspector)
    reviewing = file_appeal("culture.culture_events", "culture", session)
    actions.accept(session, reviewing, user=culture_exec)
    actions.answer(session, reviewing, user=culture_exec, text=ANSWER)
    open_sports = file_appeal("culture.sport", "sports", session)
    # Sports also holds a part of a school's appeal as co-executor.
    school = file_appeal("education.schools", "education", session)
    session.add(
        Assignment(
            appeal_id=school.id,
            organization_id=sports.id,
            role=AssignmentRole.CO_EXECUTOR,
            kind="manual",
            reason="sports section in the school",
            part="спортивная секция",
        )
    )
    session.commit()
    old_rule = active_rule(session, RuleScope("culture.sport"))
    assert old_rule is not None and old_rule.organization_id == sports.id
    rows_before = history_rows(session, open_culture)

    merged = successor(session, "culture-sports")
    change = record_change(
        session,
        kind="merge",
        effective_on=today(),
        predecessor_codes=["culture", "sports"],
        successor_codes=["culture-sports"],
        note="Управления культуры и спорта объединены",
        by=admin,
    )
    applied = apply_change(session, change, by=admin, today=today())
    session.commit()

    assert applied.applied_at is not None
    assert applied.moved_appeals == 4
    for appeal in (open_culture, in_progress, reviewing, open_sports):
        assert refreshed(session, appeal).organization_id == merged.id
    assert refreshed(session, in_progress).status is Status.IN_PROGRESS
    assert history_rows(session, open_culture) == rows_before  # the status did not change
    assert codes_of(session, lead_history(session, open_culture.id)) == [
        ("culture", "rule", "reorganized"),
        ("culture-sports", "reorganization", None),
    ]
    new_lead = lead_history(session, open_sports.id)[-1]
    assert new_lead.reason == f"reorganization #{change.id}: merge sports→culture-sports"
    assert new_lead.assigned_by_id == admin.id
    # The closed appeal stays with culture: its only stint still names it.
    assert refreshed(session, closed).organization_id == culture.id
    assert codes_of(session, lead_history(session, closed.id)) == [("culture", "rule", None)]
    # Predecessors retired from today; the successor routes new appeals.
    assert culture.retired_on == today() and sports.retired_on == today()
    assert merged.is_active_on(today())
    # Rules: a new version names the successor, the old version is kept.
    versions = rule_history(session, RuleScope("culture.sport"))
    assert [(rule.version, rule.organization_id) for rule in versions][-2:] == [
        (old_rule.version, sports.id),
        (old_rule.version + 1, merged.id),
    ]
    assert versions[-2].superseded_by_id == versions[-1].id
    assert (
        decide(
            session, category_code="culture.sport", district_code=None, on=today()
        ).organization_id
        == merged.id
    )
    assert session.get_one(Category, "culture.sport").organization_id == merged.id
    # The co-executor's part moved with its text.
    parts = open_co_executors(session, school.id)
    assert [(p.organization_id, p.part, p.kind) for p in parts] == [
        (merged.id, "спортивная секция", "reorganization")
    ]
    # Executors of both merged departments now work in the successor and see the appeals.
    for user in (culture_exec, sports_exec):
        session.refresh(user)
        assert user.organization_id == merged.id
    moved = {open_culture.id, in_progress.id, reviewing.id, open_sports.id}
    visible = {appeal.id for appeal in session.scalars(staff_query(sports_exec))}
    assert moved <= visible <= moved | {school.id}  # the school's, if co-executors see theirs
    assert get_for_staff(session, user=culture_exec, appeal_id=open_sports.id).id == open_sports.id
    # An answer under review moved too: returned for rework, the same people can act on it.
    sla_actions.return_for_rework(session, reviewing, user=inspector, reason="уточните даты")
    actions.accept(session, reviewing, user=culture_exec)
    assert reviewing.status is Status.IN_PROGRESS
    # Attribution: the old department keeps its answers (the closed one and the one given
    # before the change); the successor has only what moved in.
    assert attributable_counts(session, culture.id) == {
        "led": 4,
        "answered": 2,
        "closed": 1,
        "open": 0,
        "moved_away": 3,
        "moved_in": 0,
    }
    assert attributable_counts(session, merged.id) == {
        "led": 4,
        "answered": 0,
        "closed": 0,
        "open": 4,
        "moved_away": 0,
        "moved_in": 4,
    }


# --- split and executor scoping -------------------------------------------------------------

TRAFFIC_MAP = {
    "traffic.traffic_lights": "traffic-organization",
    "traffic.signs_marking": "traffic-organization",
    "traffic.traffic_flow": "traffic-organization",
    "transport.bus_service": "passenger-transport",
    "transport.driver_behavior": "passenger-transport",
    "transport.routes": "passenger-transport",
    # Not a category of the old department's rules: for appeals forwarded to it by hand.
    "transport.metro": "passenger-transport",
}


def split_traffic(session: Session, admin: StaffUser) -> OrganizationChange:
    successor(session, "traffic-organization")
    successor(session, "passenger-transport")
    change = record_change(
        session,
        kind=ChangeKind.SPLIT,
        effective_on=today(),
        predecessor_codes=["traffic-passenger-transport"],
        successor_codes=["traffic-organization", "passenger-transport"],
        category_map=TRAFFIC_MAP,
        by=admin,
    )
    applied = apply_change(session, change, by=admin, today=today())
    session.commit()
    return applied


def test_split_sends_each_open_appeal_to_the_successor_of_its_category(
    session: Session,
    admin: StaffUser,
    file_appeal: Callable[..., Appeal],
    make_user: Callable[..., tuple[StaffUser, str]],
) -> None:
    bus = file_appeal("transport.bus_service", "traffic-passenger-transport", session)
    lights = file_appeal("traffic.traffic_lights", "traffic-passenger-transport", session)
    routes = file_appeal("transport.routes", "traffic-passenger-transport", session)
    # Two appeals an operator forwarded to the department though the rules name others.
    operator = make_user("operator")[0]
    metro = file_appeal("transport.metro", "almaty-metro", session)
    trolleybus = file_appeal("transport.trolleybus", "almatyelectrotrans", session)
    old = organization_by_code(session, "traffic-passenger-transport")
    for appeal in (metro, trolleybus):
        forwarding.route(session, appeal, user=operator, organization_id=old.id, reason="по ошибке")
    session.commit()

    change = split_traffic(session, admin)

    traffic = organization_by_code(session, "traffic-organization")
    passenger = organization_by_code(session, "passenger-transport")
    assert change.moved_appeals == 5
    assert refreshed(session, bus).organization_id == passenger.id
    assert refreshed(session, routes).organization_id == passenger.id
    assert refreshed(session, lights).organization_id == traffic.id
    # By the category map, though the metro's rule names almaty-metro ...
    assert refreshed(session, metro).organization_id == passenger.id
    # ... and with no mapping and no rule naming a successor, to the first successor.
    assert refreshed(session, trolleybus).organization_id == traffic.id
    assert refreshed(session, trolleybus).status is Status.FORWARDED
    assert codes_of(session, lead_history(session, lights.id)) == [
        ("traffic-passenger-transport", "rule", "reorganized"),
        ("traffic-organization", "reorganization", None),
    ]
    # Every rule of the old department now names the successor of its category.
    for category, code in TRAFFIC_MAP.items():
        rule = active_rule(session, RuleScope(category))
        assert rule is not None
        if category == "transport.metro":  # not the old department's rule: untouched
            assert rule.organization_id == organization_by_code(session, "almaty-metro").id
            continue
        assert rule.organization_id == organization_by_code(session, code).id
        assert rule.note.startswith(f"reorganization #{change.id}: split")
    assert organization_by_code(session, "traffic-passenger-transport").retired_on == today()


def test_executor_scoping_after_a_split(
    session: Session,
    admin: StaffUser,
    client: Any,
    file_appeal: Callable[..., Appeal],
    make_user: Callable[..., tuple[StaffUser, str]],
) -> None:
    old_exec = make_user("executor", "traffic-passenger-transport")[0]
    bus = file_appeal("transport.bus_service", "traffic-passenger-transport", session)
    lights = file_appeal("traffic.traffic_lights", "traffic-passenger-transport", session)
    assert {a.id for a in session.scalars(staff_query(old_exec))} == {bus.id, lights.id}

    split_traffic(session, admin)
    passenger_exec = make_user("executor", "passenger-transport")[0]

    # The executor still bound to the retired department keeps their account, sees none of
    # the moved appeals, and gets the same 404 as for any other organization's appeal.
    session.refresh(old_exec)
    assert (
        old_exec.organization_id == organization_by_code(session, "traffic-passenger-transport").id
    )
    assert list(session.scalars(staff_query(old_exec))) == []
    for appeal in (bus, lights):
        with pytest.raises(NotFound):
            get_for_staff(session, user=old_exec, appeal_id=appeal.id)
    with pytest.raises(DomainError) as refused:
        actions.accept(session, refreshed(session, bus), user=old_exec)
    assert refused.value.code == "other_organization"
    # The successor's executor sees exactly the appeal of its categories.
    assert [a.id for a in session.scalars(staff_query(passenger_exec))] == [bus.id]
    with pytest.raises(NotFound):
        get_for_staff(session, user=passenger_exec, appeal_id=lights.id)
    # The same over HTTP.
    old_headers = login(client, old_exec.username)
    new_headers = login(client, passenger_exec.username)
    assert client.get(f"/api/v1/appeals/{bus.id}", headers=old_headers).status_code == 404
    assert client.get("/api/v1/appeals", headers=old_headers).json() == []
    assert client.get(f"/api/v1/appeals/{bus.id}", headers=new_headers).status_code == 200
    assert client.get(f"/api/v1/appeals/{lights.id}", headers=new_headers).status_code == 404


# --- rename, retire ---------------------------------------------------------------------------


def test_rename_moves_appeals_rules_and_people(
    session: Session,
    admin: StaffUser,
    file_appeal: Callable[..., Appeal],
    make_user: Callable[..., tuple[StaffUser, str]],
) -> None:
    executor = make_user("executor", "youth-policy")[0]
    appeal = file_appeal("culture.youth", "youth-policy", session)
    renamed = successor(session, "youth-affairs")
    change = record_change(
        session,
        kind="rename",
        effective_on=today(),
        predecessor_codes=["youth-policy"],
        successor_codes=["youth-affairs"],
        by=admin,
    )
    apply_change(session, change, by=admin, today=today())
    session.commit()

    moved = refreshed(session, appeal)
    assert moved.organization_id == renamed.id
    assert moved.routing_reason == f"reorganization #{change.id}: rename youth-policy→youth-affairs"
    rule = active_rule(session, RuleScope("culture.youth"))
    assert rule is not None and rule.organization_id == renamed.id
    assert lead_history(session, appeal.id)[-1].rule_id == rule.id
    session.refresh(executor)
    assert executor.organization_id == renamed.id
    assert get_for_staff(session, user=executor, appeal_id=appeal.id).id == appeal.id
    assert not organization_by_code(session, "youth-policy").is_active_on(today())


def test_a_renamed_district_akimat_takes_over_its_district(
    session: Session, admin: StaffUser, submit_appeal: Callable[..., Appeal]
) -> None:
    snow = submit_appeal(TEXT, category_code="improvement.snow_removal", district_code="medeu")
    assert snow.organization_id == organization_by_code(session, "akimat-medeu").id
    akimat = create_organization(
        session,
        code="akimat-medeu-new",
        name_ru="Аппарат акима Медеуского района",
        name_kk="Медеу ауданы әкімінің аппараты",
        kind="district_akimat",
        district_code="medeu",
        active_from=today(),
    )
    change = record_change(
        session,
        kind="rename",
        effective_on=today(),
        predecessor_codes=["akimat-medeu"],
        successor_codes=["akimat-medeu-new"],
        by=admin,
    )
    apply_change(session, change, by=admin, today=today())
    assert refreshed(session, snow).organization_id == akimat.id
    assert session.get_one(District, "medeu").akimat_id == akimat.id
    decision = decide(
        session, category_code="improvement.snow_removal", district_code="medeu", on=today()
    )
    assert decision.organization_id == akimat.id


def test_retire_without_successor_reroutes_open_appeals_by_the_rules(
    session: Session,
    admin: StaffUser,
    file_appeal: Callable[..., Appeal],
    make_user: Callable[..., tuple[StaffUser, str]],
) -> None:
    operator = make_user("operator")[0]
    otbasy = organization_by_code(session, "otbasy-bank")
    appeal = file_appeal("housing.housing_queue", "utility-infrastructure", session)
    forwarding.route(
        session, appeal, user=operator, organization_id=otbasy.id, reason="очередь ведёт банк"
    )
    session.commit()
    change = record_change(
        session,
        kind="retire",
        effective_on=today(),
        predecessor_codes=["otbasy-bank"],
        successor_codes=[],
        by=admin,
    )
    apply_change(session, change, by=admin, today=today())
    assert (
        refreshed(session, appeal).organization_id
        == organization_by_code(session, "utility-infrastructure").id
    )
    assert codes_of(session, lead_history(session, appeal.id)) == [
        ("utility-infrastructure", "rule", "forwarded"),
        ("otbasy-bank", "forward", "reorganized"),
        ("utility-infrastructure", "reorganization", None),
    ]


# --- dates and idempotency ----------------------------------------------------------------------


def test_a_future_change_moves_nothing_until_it_is_due(
    session: Session, admin: StaffUser, file_appeal: Callable[..., Appeal]
) -> None:
    appeal = file_appeal("culture.tourism", "tourism", session)
    effective = today() + timedelta(days=10)
    tourism_new = successor(session, "tourism-development", active_from=effective)
    change = record_change(
        session,
        kind="rename",
        effective_on=effective,
        predecessor_codes=["tourism"],
        successor_codes=["tourism-development"],
        by=admin,
    )
    with pytest.raises(Conflict) as early:
        apply_change(session, change, by=admin, today=today())
    assert early.value.code == "change_not_due"
    assert change.id not in {c.id for c in apply_due_changes(session, today=today())}
    assert refreshed(session, appeal).organization_id == organization_by_code(session, "tourism").id
    assert change.applied_at is None
    assert organization_by_code(session, "tourism").retired_on is None

    with frozen(now() + timedelta(days=10)):
        applied = apply_due_changes(session, today=effective)
        assert change.id in {c.id for c in applied}
        assert refreshed(session, appeal).organization_id == tourism_new.id
        first_applied_at = change.applied_at
        rows = session.scalar(select(func.count()).select_from(Assignment))
        rule = active_rule(session, RuleScope("culture.tourism"))
        assert rule is not None and rule.organization_id == tourism_new.id

        # Applying it again, by hand or by the next sweep, does nothing.
        again = apply_change(session, change, by=admin, today=effective)
        assert change.id not in {c.id for c in apply_due_changes(session, today=effective)}
    assert again.applied_at == first_applied_at
    assert again.moved_appeals == 1
    assert session.scalar(select(func.count()).select_from(Assignment)) == rows
    assert active_rule(session, RuleScope("culture.tourism")) == rule


# --- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "before", "after", "category_map", "code"),
    [
        ("merge", ["culture", "no-such-org"], ["youth-policy"], None, "unknown_organization"),
        ("merge", ["culture"], ["youth-policy"], None, "change_arity"),
        ("rename", ["culture"], ["youth-policy", "sports"], None, "change_arity"),
        ("split", ["culture"], ["sports"], None, "change_arity"),
        ("retire", ["culture"], ["sports", "tourism"], None, "change_arity"),
        ("rename", ["urban-mobility"], ["culture"], None, "predecessor_not_active"),
        ("rename", ["culture"], ["urban-mobility"], None, "successor_not_active"),
        ("rename", ["culture"], ["culture"], None, "successor_is_predecessor"),
        (
            "rename",
            ["culture"],
            ["sports"],
            {"culture.sport": "sports"},
            "category_map_not_allowed",
        ),
        (
            "split",
            ["traffic-passenger-transport"],
            ["road-infrastructure", "almaty-parking"],
            {"transport.bus_service": "road-infrastructure"},
            "category_map_incomplete",
        ),
        (
            "split",
            ["traffic-passenger-transport"],
            ["road-infrastructure", "almaty-parking"],
            {"*": "police"},
            "category_map_target",
        ),
        (
            "split",
            ["akimat-medeu"],
            ["road-infrastructure", "almaty-parking"],
            {"*": "road-infrastructure"},
            "district_needs_akimat",
        ),
        ("retire", ["culture"], [], None, "retire_has_rules"),
        ("demolish", ["culture"], [], None, "unknown_change_kind"),
    ],
)
def test_invalid_changes_are_refused_with_a_stable_code(
    session: Session,
    admin: StaffUser,
    kind: str,
    before: list[str],
    after: list[str],
    category_map: dict[str, str] | None,
    code: str,
) -> None:
    stored = select(func.count()).select_from(OrganizationChange)
    before_count = session.scalar(stored)
    with pytest.raises(ValidationFailed) as refused:
        record_change(
            session,
            kind=kind,
            effective_on=today(),
            predecessor_codes=before,
            successor_codes=after,
            category_map=category_map,
            by=admin,
        )
    assert refused.value.code == code
    assert session.scalar(stored) == before_count  # nothing was stored


def test_a_split_with_a_fallback_needs_no_full_map(session: Session, admin: StaffUser) -> None:
    change = record_change(
        session,
        kind="split",
        effective_on=today() + timedelta(days=3),
        predecessor_codes=["traffic-passenger-transport"],
        successor_codes=["road-infrastructure", "almaty-parking"],
        category_map={"*": "road-infrastructure", "traffic.paid_parking": "almaty-parking"},
        by=admin,
    )
    assert change.applied_at is None
    with pytest.raises(Conflict) as twice:
        record_change(
            session,
            kind="retire",
            effective_on=today() + timedelta(days=5),
            predecessor_codes=["traffic-passenger-transport"],
            successor_codes=["road-infrastructure"],
            by=admin,
        )
    assert twice.value.code == "pending_change"


def test_a_new_organization_is_validated(session: Session) -> None:
    with pytest.raises(ValidationFailed) as bad_code:
        successor(session, "Не Код")
    assert bad_code.value.code == "invalid_organization_code"
    with pytest.raises(Conflict) as taken:
        successor(session, "culture")
    assert taken.value.code == "organization_exists"


# --- the API --------------------------------------------------------------------------------


@pytest.fixture
def api(client: Any) -> Any:
    """The app with the reorganization router (until civicdesk/app.py includes it)."""
    from routing.reorganization_api import router

    if not any(
        getattr(r, "path", "") == "/api/v1/organizations/changes" for r in client.app.routes
    ):
        client.app.include_router(router)
    return client


def test_api_for_admins_only(
    api: Any,
    session: Session,
    admin: StaffUser,
    file_appeal: Callable[..., Appeal],
    make_user: Callable[..., tuple[StaffUser, str]],
) -> None:
    appeal = file_appeal("religion.worship_places", "religious-affairs", session)
    inspector = make_user("inspector")[0]
    executor = make_user("executor", "religious-affairs")[0]
    refused_headers = login(api, inspector.username)
    body = {
        "code": "religion-committee",
        "name_ru": "Комитет по делам религий",
        "name_kk": "Дін істері комитеті",
        "kind": "city_department",
        "active_from": today().isoformat(),
    }
    for response in (
        api.post("/api/v1/organizations", json=body, headers=refused_headers),
        api.get("/api/v1/organizations/changes", headers=refused_headers),
        api.post("/api/v1/organizations/changes/1/apply", headers=refused_headers),
        api.get("/api/v1/organizations/changes", headers=login(api, executor.username)),
    ):
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "role_not_allowed"
    assert api.post("/api/v1/organizations", json=body).status_code == 401

    headers = login(api, admin.username)
    created = api.post("/api/v1/organizations", json=body, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["code"] == "religion-committee"
    change = api.post(
        "/api/v1/organizations/changes",
        json={
            "kind": "rename",
            "effective_on": today().isoformat(),
            "predecessor_codes": ["religious-affairs"],
            "successor_codes": ["religion-committee"],
            "note": "переименование",
        },
        headers=headers,
    )
    assert change.status_code == 201, change.text
    recorded = change.json()
    assert recorded["applied_at"] is not None  # effective today: applied at once
    assert recorded["moved_appeals"] == 1
    again = api.post(f"/api/v1/organizations/changes/{recorded['id']}/apply", headers=headers)
    assert (again.status_code, again.json()["applied_at"]) == (200, recorded["applied_at"])
    listed = api.get("/api/v1/organizations/changes", params={"pending": False}, headers=headers)
    assert recorded["id"] in [row["id"] for row in listed.json()]
    attribution = api.get("/api/v1/organizations/religious-affairs/attribution", headers=headers)
    assert attribution.json()["moved_away"] == 1
    moved = session.get_one(Appeal, appeal.id, populate_existing=True)
    assert moved.organization_id == organization_by_code(session, "religion-committee").id

    future = api.post(
        "/api/v1/organizations/changes",
        json={
            "kind": "retire",
            "effective_on": (today() + timedelta(days=30)).isoformat(),
            "predecessor_codes": ["tourism"],
            "successor_codes": ["culture"],
        },
        headers=headers,
    )
    assert (future.status_code, future.json()["applied_at"]) == (201, None)
    early = api.post(f"/api/v1/organizations/changes/{future.json()['id']}/apply", headers=headers)
    assert (early.status_code, early.json()["error"]["code"]) == (409, "change_not_due")
    bad = api.post(
        "/api/v1/organizations/changes",
        json={
            "kind": "merge",
            "effective_on": today().isoformat(),
            "predecessor_codes": ["sports"],
            "successor_codes": ["culture"],
        },
        headers=headers,
    )
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "change_arity")

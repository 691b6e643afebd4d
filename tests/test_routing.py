"""Routing: the category × district matrix, precedence, versioned rules, forwarding, ping-pong."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals import actions, assignments
from appeals.lifecycle import Status
from civicdesk import appeal_actions
from core.clock import frozen, local, now
from core.settings import get_settings, override_settings
from routing import forwarding
from routing.models import Category, District, Organization, RoutingRule
from routing.rules import RuleScope, put_rule, retire_rule, rule_history
from routing.service import organization_by_code, routing_table
from tests.conftest import login

TODAY = local(now()).date()
POTHOLE_YARD = "Во дворе дома в мкр Самал-2 огромная яма на дороге, машины бьют колёса"
POTHOLE_AVENUE = "Огромная яма на проспекте Абая возле дома 52, на дороге машины бьют колёса"
WATER = "На улице Жандосова прорвало трубу водопровода, вода течёт по дороге уже сутки"


def code_of(session: Session, organization_id: int | None) -> str | None:
    organization = session.get(Organization, organization_id) if organization_id else None
    return organization.code if organization else None


def test_every_category_resolves_in_every_district(session: Session) -> None:
    table = routing_table(session)
    categories = list(session.scalars(select(Category.code)))
    districts = list(session.scalars(select(District.code)))
    assert len(categories) >= 80 and len(districts) == 8
    unresolved = []
    for category in categories:
        for district in districts:
            for place in (None, "проспект Абая"):
                decision = table.decide(
                    category_code=category, district_code=district, on=TODAY, place_text=place
                )
                organization = table.organizations.get(decision.organization_id or -1)
                if not decision.routed or organization is None or not organization.active_on(TODAY):
                    unresolved.append((category, district, place, decision.reason))
    assert unresolved == []


def test_precedence_arterial_road_beats_the_akimat_and_water_goes_to_the_utility(
    session: Session,
) -> None:
    table = routing_table(session)

    def route(category: str, district: str, place: str | None) -> str | None:
        decision = table.decide(
            category_code=category, district_code=district, on=TODAY, place_text=place
        )
        return code_of(session, decision.organization_id)

    assert route("roads.local_repair", "medeu", "двор дома в Самал-2") == "akimat-medeu"
    assert route("roads.local_repair", "medeu", "проспект Абая, 52") == "road-infrastructure"
    assert route("roads.local_repair", "turksib", "Абай даңғылы") == "road-infrastructure"
    assert route("improvement.snow_removal", "almaly", "ул. Толе би") == "road-infrastructure"
    assert route("improvement.snow_removal", "almaly", "во дворе") == "akimat-almaly"
    assert route("water.leak", "auezov", "проспект Абая") == "almaty-su"
    assert route("water.leak", "auezov", None) == "almaty-su"


def test_a_district_rule_beats_the_citywide_one_and_an_area_rule_beats_both(
    session: Session,
) -> None:
    lighting = organization_by_code(session, "almaty-qala-zharyq")
    akimat = organization_by_code(session, "akimat-turksib")
    put_rule(session, RuleScope("lighting.lights_off", "turksib"), organization_id=akimat.id)
    table = routing_table(session)
    in_turksib = table.decide(
        category_code="lighting.lights_off", district_code="turksib", on=TODAY
    )
    in_medeu = table.decide(category_code="lighting.lights_off", district_code="medeu", on=TODAY)
    assert (in_turksib.organization_id, in_medeu.organization_id) == (akimat.id, lighting.id)
    assert "district turksib" in in_turksib.reason
    road = organization_by_code(session, "road-infrastructure")
    put_rule(
        session,
        RuleScope("lighting.lights_off", service_area_code="arterial_roads"),
        organization_id=road.id,
    )
    on_avenue = routing_table(session).decide(
        category_code="lighting.lights_off",
        district_code="turksib",
        on=TODAY,
        place_text="на Суюнбая",
    )
    assert on_avenue.organization_id == road.id
    assert "arterial_roads (суюнбая)" in on_avenue.reason


def test_rules_are_versioned_and_assignments_keep_the_rule_that_made_them(
    session: Session, submit_appeal: Any
) -> None:
    before = submit_appeal(WATER)
    first_rule = before.routing_rule_id
    assert first_rule is not None
    qazaqgaz = organization_by_code(session, "qazaqgaz-aimak")
    new = put_rule(session, RuleScope("water.leak"), organization_id=qazaqgaz.id, note="test")
    versions = rule_history(session, RuleScope("water.leak"))
    assert [rule.version for rule in versions] == [1, 2]
    assert versions[0].superseded_by_id == new.id and versions[0].superseded_at is not None
    session.commit()
    after = submit_appeal(WATER.replace("сутки", "двое суток"))
    assert (after.routing_rule_id, after.organization_id) == (new.id, qazaqgaz.id)
    # The earlier appeal still names the old version, which still names Almaty Su.
    old = session.get(RoutingRule, first_rule)
    assert old is not None and code_of(session, old.organization_id) == "almaty-su"
    lead = assignments.current_lead(session, before.id)
    assert lead is not None and lead.rule_id == first_rule
    retire_rule(session, new.id)
    with pytest.raises(Exception, match="no active rule"):
        retire_rule(session, new.id)


def test_low_confidence_topics_go_to_triage_with_the_reason(
    session: Session, submit_appeal: Any
) -> None:
    with override_settings(get_settings().model_copy(update={"routing_min_confidence": 0.99})):
        unsure = submit_appeal(POTHOLE_AVENUE)
        chosen = submit_appeal(POTHOLE_AVENUE + " ", category_code="roads.arterial_repair")
    assert (unsure.status, unsure.triage_reason) == (Status.REGISTERED, "low_confidence")
    assert "confidence" in (unsure.routing_reason or "")
    assert chosen.status is Status.ASSIGNED  # the operator's choice is not second-guessed


def test_forwarding_within_the_term_restarts_the_clock_at_the_receiving_organization(
    session: Session, submit_appeal: Any, make_user: Any
) -> None:
    appeal = submit_appeal(POTHOLE_YARD)
    assert code_of(session, appeal.organization_id) == "akimat-medeu"
    inspector, _ = make_user("inspector")
    later = now() + timedelta(days=1)
    with frozen(later):
        appeal_actions.perform(
            session,
            appeal,
            user=inspector,
            action="route",
            organization_code="road-infrastructure",
            reason="это магистраль",
        )
    history = assignments.lead_history(session, appeal.id)
    assert [(code_of(session, a.organization_id), a.end_reason, a.late) for a in history] == [
        ("akimat-medeu", "forwarded", False),
        ("road-infrastructure", None, False),
    ]
    assert history[1].kind == "forward"
    from sla.service import deadline_policy

    assert appeal.due_at == deadline_policy().due_at(later, appeal.appeal_type)
    assert appeal.status is Status.FORWARDED


def test_forwarding_past_three_working_days_is_marked_late(
    session: Session, submit_appeal: Any, make_user: Any
) -> None:
    appeal = submit_appeal(POTHOLE_YARD)
    executor, _ = make_user("executor", "akimat-medeu")
    with frozen(now() + timedelta(days=9)):  # at least 5 working days later
        forwarding.send_back(session, appeal, user=executor, reason="это магистраль, не наше")
    medeu = assignments.lead_history(session, appeal.id)[0]
    assert (medeu.end_reason, medeu.late) == ("sent_back", True)
    assert (appeal.status, appeal.triage_reason) == (Status.REGISTERED, "sent_back")


def pass_on(session: Session, appeal: Any, *, sender: Any, router: Any, to: str) -> None:
    """The holder sends the appeal back as not theirs; an operator routes it to ``to``."""
    forwarding.send_back(session, appeal, user=sender, reason="не наш участок")
    appeal_actions.perform(
        session, appeal, user=router, action="route", organization_code=to, reason="по адресу"
    )


def test_ping_pong_between_two_organizations_is_escalated(
    session: Session, submit_appeal: Any, make_user: Any
) -> None:
    appeal = submit_appeal(POTHOLE_YARD)
    operator, _ = make_user("operator")
    medeu, _ = make_user("executor", "akimat-medeu")
    road, _ = make_user("executor", "road-infrastructure")
    pass_on(session, appeal, sender=medeu, router=operator, to="road-infrastructure")
    assert appeal.escalated_at is None
    pass_on(session, appeal, sender=road, router=operator, to="akimat-medeu")
    assert appeal.escalated_at is not None
    assert appeal.escalation_reason is not None
    assert appeal.escalation_reason.startswith("ping_pong: akimat-medeu → road-infrastructure")


def test_rules_api_is_for_admins_and_keeps_versions(client: Any, make_user: Any) -> None:
    admin, _ = make_user("admin")
    inspector, _ = make_user("inspector")
    body = {
        "category": "lighting.lights_off",
        "district": "alatau",
        "organization": "akimat-alatau",
        "note": "test: the district lights its own streets",
    }
    refused = client.post(
        "/api/v1/routing/rules", json=body, headers=login(client, inspector.username)
    )
    assert refused.status_code == 403
    headers = login(client, admin.username)
    created = client.post("/api/v1/routing/rules", json=body, headers=headers)
    assert created.status_code == 201 and created.json()["version"] == 1
    body["organization"] = "almaty-qala-zharyq"
    second = client.post("/api/v1/routing/rules", json=body, headers=headers).json()
    assert second["version"] == 2
    history = client.get(
        "/api/v1/routing/rules/history",
        params={"category": "lighting.lights_off", "district": "alatau"},
        headers=headers,
    ).json()
    assert [(rule["version"], rule["organization"]) for rule in history] == [
        (1, "akimat-alatau"),
        (2, "almaty-qala-zharyq"),
    ]
    assert history[0]["superseded_at"] is not None
    bad = client.post(
        "/api/v1/routing/rules", json={**body, "category": "no.such"}, headers=headers
    )
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "unknown_category")
    both = client.post(
        "/api/v1/routing/rules", json={**body, "to_district_akimat": True}, headers=headers
    )
    assert both.json()["error"]["code"] == "rule_target"
    assert (
        client.delete(f"/api/v1/routing/rules/{second['id']}", headers=headers).status_code == 200
    )


def test_dry_run_and_the_suggestion_beside_an_appeal(client: Any, make_user: Any) -> None:
    operator, _ = make_user("operator")
    headers = login(client, operator.username)
    run = client.post(
        "/api/v1/routing/dry-run", json={"text": POTHOLE_AVENUE}, headers=headers
    ).json()
    assert run["organization_code"] == "road-infrastructure"
    assert run["service_areas"] == {"arterial_roads": "абая"}
    assert run["rule"].startswith("rule #")
    assert all("organization" in alternative for alternative in run["alternatives"])
    filed = client.post(
        "/api/v1/appeals", json={"text": POTHOLE_YARD, "citizen": {"phone": "+77017770000"}}
    )
    appeal_id = next(
        item["id"]
        for item in client.get("/api/v1/appeals", headers=headers).json()
        if item["tracking_number"] == filed.json()["tracking_number"]
    )
    advice = client.get(f"/api/v1/appeals/{appeal_id}/routing", headers=headers).json()
    assert advice["current"]["organization_code"] == "akimat-medeu"
    assert advice["current"]["rule_id"] == advice["rule_id"]
    assert client.post("/api/v1/routing/dry-run", json={"text": "x"}).status_code == 401


def test_reloading_the_reference_files_keeps_what_admins_changed(session: Session) -> None:
    from civicdesk.bootstrap import load_all_reference
    from routing.rules import active_rule

    qazaqgaz = organization_by_code(session, "qazaqgaz-aimak")
    edited = put_rule(session, RuleScope("water.leak"), organization_id=qazaqgaz.id, note="admin")
    parking = organization_by_code(session, "almaty-parking")
    parking.retired_on = TODAY
    load_all_reference(session, get_settings())
    rule = active_rule(session, RuleScope("water.leak"))
    assert rule is not None and (rule.id, rule.version) == (edited.id, 2)
    assert organization_by_code(session, "almaty-parking").retired_on == TODAY


def test_the_lead_cannot_answer_while_a_co_executors_part_is_missing(
    session: Session, submit_appeal: Any, make_user: Any
) -> None:
    from core.errors import Conflict
    from routing import coexecutors

    appeal = submit_appeal(POTHOLE_YARD)
    operator, _ = make_user("operator")
    medeu, _ = make_user("executor", "akimat-medeu")
    water, _ = make_user("executor", "almaty-su")
    coexecutors.add_co_executor(
        session,
        appeal,
        organization_id=organization_by_code(session, "almaty-su").id,
        part="проверить, не течёт ли под ямой водопровод",
        by=operator,
    )
    actions.accept(session, appeal, user=medeu)
    with pytest.raises(Conflict) as refused:
        actions.answer(session, appeal, user=medeu, text="Яму заделали асфальтом 25 ноября.")
    assert refused.value.code == "co_executor_parts_pending"
    coexecutors.answer_part(session, appeal, user=water, text="Утечек водопровода под ямой нет.")
    actions.answer(session, appeal, user=medeu, text="Яму заделали асфальтом 25 ноября.")
    assert appeal.status is Status.ANSWERED


def test_routing_to_a_co_executor_makes_it_the_lead_and_ends_its_part(
    session: Session, submit_appeal: Any, make_user: Any
) -> None:
    from routing import coexecutors

    appeal = submit_appeal(POTHOLE_YARD)
    inspector, _ = make_user("inspector")
    road = organization_by_code(session, "road-infrastructure")
    coexecutors.add_co_executor(
        session, appeal, organization_id=road.id, part="оценить покрытие", by=inspector
    )
    appeal_actions.perform(
        session,
        appeal,
        user=inspector,
        action="route",
        organization_code="road-infrastructure",
        reason="это магистраль",
    )
    assert appeal.organization_id == road.id
    assert assignments.open_co_executors(session, appeal.id) == []


def test_the_inspectors_queue_lists_escalated_appeals(
    client: Any, session: Session, submit_appeal: Any, make_user: Any
) -> None:
    appeal = submit_appeal(POTHOLE_YARD)
    calm = submit_appeal(WATER)
    operator, _ = make_user("operator")
    medeu, _ = make_user("executor", "akimat-medeu")
    road, _ = make_user("executor", "road-infrastructure")
    pass_on(session, appeal, sender=medeu, router=operator, to="road-infrastructure")
    pass_on(session, appeal, sender=road, router=operator, to="akimat-medeu")
    session.commit()
    inspector, _ = make_user("inspector")
    queue = client.get(
        "/api/v1/appeals", params={"escalated": "true"}, headers=login(client, inspector.username)
    ).json()
    ids = {item["id"] for item in queue}
    assert appeal.id in ids and calm.id not in ids


def test_the_console_shows_the_suggestion_and_preselects_it(
    client: Any, session: Session, submit_appeal: Any, make_user: Any
) -> None:
    appeal = submit_appeal("Во дворе нашего дома огромная яма на дороге, машины бьют колёса")
    assert appeal.triage_reason == "no_district"
    from tests.test_web_pages import _sign_in

    operator, password = make_user("operator")
    assert _sign_in(client, operator, password).status_code == 303
    html = client.get(f"/staff/appeals/{appeal.id}").text
    assert "Подсказка классификатора" in html
    assert "Ремонт местных дорог" in html
    # Sent back by the road department: the suggestion (the arterial-road rule) is preselected.
    avenue = submit_appeal(POTHOLE_AVENUE)
    road, _ = make_user("executor", "road-infrastructure")
    forwarding.send_back(session, avenue, user=road, reason="проверьте адрес")
    session.commit()
    html = client.get(f"/staff/appeals/{avenue.id}").text
    assert '<option value="road-infrastructure" selected>' in html

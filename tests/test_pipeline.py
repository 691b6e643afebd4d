"""The pipeline from submit to an organization: inline, through RQ, and after a lost enqueue."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals.lifecycle import Status
from appeals.models import Appeal, Channel
from core import jobs
from core.clock import local
from core.settings import override_settings
from intake.schemas import CitizenContact, IncomingContact
from intake.service import submit
from routing.models import Organization
from sla.service import deadline_policy

WATER = "На улице Жандосова прорвало трубу водопровода, вода течёт по дороге уже сутки"
SNOW_MEDEU = "Во дворе на Самале не чистят снег третий день, сугробы и наледь у подъезда"


def org_code(session: Session, appeal: Appeal) -> str | None:
    org = session.get(Organization, appeal.organization_id) if appeal.organization_id else None
    return org.code if org else None


def test_water_leak_goes_to_the_water_utility_with_its_rule(
    session: Session, submit_appeal: Any
) -> None:
    appeal = submit_appeal(WATER)
    assert appeal.status is Status.ASSIGNED
    assert org_code(session, appeal) == "almaty-su"
    assert appeal.routing_rule_id is not None
    assert "almaty-su" in (appeal.routing_reason or "")
    assert appeal.language == "ru"


def test_yard_snow_goes_to_the_district_akimat(session: Session, submit_appeal: Any) -> None:
    appeal = submit_appeal(SNOW_MEDEU)
    assert appeal.district_code == "medeu"
    assert org_code(session, appeal) == "akimat-medeu"


def test_kazakh_appeal_is_detected_and_routed(session: Session, submit_appeal: Any) -> None:
    appeal = submit_appeal("Самал ауласында үш күннен бері қар тазаланбайды, кіреберісте мұз")
    assert appeal.language == "kk"
    assert appeal.status is Status.ASSIGNED


def test_district_unknown_leaves_akimat_topics_in_triage(
    session: Session, submit_appeal: Any
) -> None:
    appeal = submit_appeal("Во дворе нашего дома третий день не чистят снег, сугробы по колено")
    assert appeal.status is Status.REGISTERED
    assert appeal.organization_id is None
    assert appeal.triage_reason == "no_district"


def test_registration_sets_the_legal_deadline(session: Session, submit_appeal: Any) -> None:
    received = datetime(2026, 3, 19, 15, 0, tzinfo=UTC)  # Thursday 20:00 in Almaty: after hours
    appeal = submit_appeal(WATER, received_at=received)
    policy = deadline_policy()
    assert appeal.registered_on == policy.registration_date(received)
    # 20 March is a Friday; Nauryz 21-23 March (and its transfers) follow, so registration
    # is on the first working day after 19 March and the deadline lies 15 working days later.
    assert appeal.registered_on is not None and appeal.registered_on > local(received).date()
    assert appeal.due_at == policy.due_at(received, appeal.appeal_type)


def test_pipeline_is_idempotent(session: Session, submit_appeal: Any) -> None:
    from appeals.models import AppealStatusChange
    from intake.pipeline import process

    appeal = submit_appeal(WATER)

    def changes() -> int:
        rows = session.scalars(
            select(AppealStatusChange).where(AppealStatusChange.appeal_id == appeal.id)
        )
        return len(rows.all())

    before = changes()
    assert before == 3  # received, registered, assigned
    process(session, appeal.id)
    process(session, appeal.id)
    assert appeal.status is Status.ASSIGNED
    assert changes() == before


def test_through_rq_and_a_real_worker(session: Session, rq_settings: Any) -> None:
    from rq import SimpleWorker

    results = [
        submit(
            session,
            IncomingContact(
                channel=Channel.WHATSAPP,
                external_id=f"wamid.{n}",
                text=WATER,
                citizen=CitizenContact(phone="+77017654321"),
            ),
        )
        for n in range(3)
    ]
    session.commit()
    appeals = [session.get(Appeal, result.appeal_id) for result in results]
    # Not processed in the request: one coalesced job waits in Redis for all three.
    assert {appeal.status for appeal in appeals if appeal} == {Status.RECEIVED}
    queue = jobs.queue(rq_settings)
    assert queue.count == 1
    submit(
        session,
        IncomingContact(
            channel=Channel.WHATSAPP,
            external_id="wamid.9",
            text=WATER,
            citizen=CitizenContact(phone="+77017654321"),
        ),
    )
    session.commit()
    assert queue.count == 1  # still one: the queued run will drain this one too
    worker = SimpleWorker([queue], connection=queue.connection, serializer=queue.serializer)
    worker.work(burst=True)
    for appeal in appeals:
        assert appeal is not None
        session.refresh(appeal)
        assert appeal.status is Status.ASSIGNED
    assert (
        queue.connection.exists(f"{rq_settings.queue_name}:coalesced:intake.jobs.process_pending")
        == 0
    )


def test_lost_enqueue_is_recovered_by_the_relay(session: Session, rq_settings: Any) -> None:
    from rq import SimpleWorker

    from intake.jobs import relay_stale

    broken = rq_settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    with override_settings(broken):
        result = submit(
            session,
            IncomingContact(
                channel=Channel.PORTAL, text=WATER, citizen=CitizenContact(phone="+77017654320")
            ),
        )
        session.commit()  # the enqueue fails after commit: the appeal is safe, still received
    appeal = session.get(Appeal, result.appeal_id)
    assert appeal is not None and appeal.status is Status.RECEIVED
    queue = jobs.queue(rq_settings)
    assert queue.count == 0
    assert relay_stale(session, older_than_s=3600) == 0  # not stale yet: nothing asked
    assert relay_stale(session, older_than_s=0) >= 1
    assert queue.count == 1
    SimpleWorker([queue], connection=queue.connection, serializer=queue.serializer).work(burst=True)
    session.refresh(appeal)
    assert appeal.status is Status.ASSIGNED

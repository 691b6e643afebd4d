"""``submit()``: durable, idempotent on (channel, external id), and all-or-nothing on bad input."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from appeals.lifecycle import Status
from appeals.models import Appeal, AppealStatusChange, Channel, Citizen
from core import db
from core.errors import ValidationFailed
from core.models import OutboxMessage
from intake.schemas import CitizenContact, IncomingContact
from intake.service import submit

TEXT = "Во дворе дома на Самале третий день не вывозят мусор, контейнеры переполнены"


def counts(session: Session) -> tuple[int, ...]:
    return tuple(
        session.scalar(select(func.count()).select_from(model)) or 0
        for model in (Appeal, Citizen, AppealStatusChange, OutboxMessage)
    )


def test_same_external_id_twice_gives_one_appeal(session: Session) -> None:
    contact = IncomingContact(
        channel=Channel.TELEGRAM,
        external_id="update-1001",
        text=TEXT,
        citizen=CitizenContact(telegram_user_id="555"),
    )
    first = submit(session, contact)
    session.commit()
    second = submit(session, contact)
    session.commit()
    assert first.created and not second.created
    assert first.appeal_id == second.appeal_id
    assert first.tracking_number == second.tracking_number
    n = session.scalar(
        select(func.count()).select_from(Appeal).where(Appeal.external_id == "update-1001")
    )
    assert n == 1


def test_same_external_id_on_another_channel_is_another_appeal(session: Session) -> None:
    one = submit(
        session,
        IncomingContact(
            channel=Channel.TELEGRAM,
            external_id="42",
            text=TEXT,
            citizen=CitizenContact(phone="87011234567"),
        ),
    )
    two = submit(
        session,
        IncomingContact(
            channel=Channel.WHATSAPP,
            external_id="42",
            text=TEXT,
            citizen=CitizenContact(phone="87011234567"),
        ),
    )
    assert one.appeal_id != two.appeal_id
    # One citizen behind both, found by the normalized phone.
    citizens = {session.get(Appeal, r.appeal_id).citizen_id for r in (one, two)}  # type: ignore[union-attr]
    assert len(citizens) == 1


def test_phone_is_normalized_to_e164(session: Session) -> None:
    result = submit(
        session,
        IncomingContact(
            channel=Channel.PHONE, text=TEXT, citizen=CitizenContact(phone="8 (701) 123-45-67")
        ),
    )
    appeal = session.get(Appeal, result.appeal_id)
    assert appeal is not None
    citizen = session.get(Citizen, appeal.citizen_id)
    assert citizen is not None and citizen.phone_e164 == "+77011234567"


def test_concurrent_delivery_from_two_connections_gives_one_appeal(
    pg_engine: Engine, settings: Any
) -> None:
    """Two connections commit the same external id at once: one appeal, both get its number."""
    external_id = f"race-{uuid.uuid4().hex}"
    contact = IncomingContact(
        channel=Channel.WHATSAPP,
        external_id=external_id,
        text=TEXT,
        citizen=CitizenContact(phone=f"+7701{uuid.uuid4().int % 10**7:07d}"),
    )
    barrier = threading.Barrier(2)
    results: list[tuple[int, str, bool]] = []
    errors: list[BaseException] = []
    factory = db.sessionmaker(bind=pg_engine, expire_on_commit=False)

    def deliver() -> None:
        try:
            with factory() as own:
                barrier.wait(timeout=10)
                result = submit(own, contact)
                # Hold the transaction open briefly so both inserts really overlap.
                own.execute(text("SELECT pg_sleep(0.2)"))
                own.commit()
                results.append((result.appeal_id, result.tracking_number, result.created))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    try:
        assert errors == []
        assert len(results) == 2
        assert results[0][:2] == results[1][:2]
        assert sorted(created for *_, created in results) == [False, True]
        with factory() as check:
            n = check.scalar(
                select(func.count()).select_from(Appeal).where(Appeal.external_id == external_id)
            )
            assert n == 1
    finally:
        with factory() as cleanup:
            ids = cleanup.scalars(select(Appeal.id).where(Appeal.external_id == external_id)).all()
            for appeal_id in ids:
                cleanup.execute(
                    text("DELETE FROM appeal_status_changes WHERE appeal_id = :i"), {"i": appeal_id}
                )
                cleanup.execute(
                    text("DELETE FROM outbox WHERE args::text = :a"), {"a": f"[{appeal_id}]"}
                )
                cleanup.execute(text("DELETE FROM appeals WHERE id = :i"), {"i": appeal_id})
            cleanup.execute(
                text("DELETE FROM citizens WHERE phone_e164 = :p"), {"p": contact.citizen.phone}
            )
            cleanup.commit()


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"text": "   "}, "text_too_short"),
        ({"text": "мусор"}, "text_too_short"),
        ({"text": "я" * 5001}, "text_too_long"),
        ({"category_code": "no.such.category"}, "unknown_category"),
        ({"district_code": "atlantis"}, "unknown_district"),
        ({"appeal_type": "petition"}, "unknown_appeal_type"),
        ({"citizen": CitizenContact(phone="12345")}, "invalid_phone"),
        ({"citizen": CitizenContact(phone="+7 701 123")}, "invalid_phone"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    session: Session, fields: dict[str, Any], code: str
) -> None:
    before = counts(session)
    contact = IncomingContact(channel=Channel.PORTAL, **{"text": TEXT, **fields})
    with pytest.raises(ValidationFailed) as refused:
        submit(session, contact)
    assert refused.value.code == code
    session.rollback()
    assert counts(session) == before


def test_submit_records_received_history_and_asks_for_the_pipeline_once(session: Session) -> None:
    from core.jobs import _COALESCED_KEY

    results = [
        submit(
            session,
            IncomingContact(
                channel=Channel.PORTAL, text=TEXT, citizen=CitizenContact(email="a@example.kz")
            ),
        )
        for _ in range(3)
    ]
    appeal = session.get(Appeal, results[0].appeal_id)
    assert appeal is not None and appeal.status is Status.RECEIVED
    changes = session.scalars(
        select(AppealStatusChange).where(AppealStatusChange.appeal_id == appeal.id)
    ).all()
    assert [(c.from_status, c.to_status, c.actor_kind) for c in changes] == [
        (None, Status.RECEIVED, "citizen")
    ]
    # Three appeals in one transaction ask for one pipeline run after commit.
    assert session.info[_COALESCED_KEY] == {"intake.jobs.process_pending"}
    session.commit()
    session.refresh(appeal)
    assert appeal.status is not Status.RECEIVED


def test_tracking_numbers_are_unique_and_readable(session: Session) -> None:
    numbers = {
        submit(
            session,
            IncomingContact(
                channel=Channel.PORTAL, text=TEXT, citizen=CitizenContact(phone="+77011234567")
            ),
        ).tracking_number
        for _ in range(30)
    }
    assert len(numbers) == 30
    for number in numbers:
        prefix, suffix = number.split("-")
        assert len(prefix) == 4 and prefix.isdigit()
        assert len(suffix) == 8 and not set(suffix) & set("01OIL")


def test_the_embedded_sqlite_path_is_idempotent_too(tmp_path: Any) -> None:
    """SQLite runs the same statements one by one; same guarantees, same answers."""
    from sqlalchemy.orm import sessionmaker

    from core.migrate import upgrade
    from core.settings import Settings, override_settings

    url = f"sqlite:///{tmp_path}/submit.sqlite3"
    upgrade(url)
    engine = db.make_engine(url)
    settings = Settings(environment="test", database_url=url)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    previous = db._session_factory, db._engine
    try:
        with override_settings(settings):
            db._session_factory, db._engine = factory, engine
            from civicdesk.bootstrap import load_all_reference

            with factory() as own:
                load_all_reference(own, settings)
                own.commit()
                contact = IncomingContact(
                    channel=Channel.TELEGRAM,
                    external_id="77",
                    text=TEXT,
                    citizen=CitizenContact(phone="87011234567", full_name="Асель"),
                )
                first, second = submit(own, contact), submit(own, contact)
                anonymous = submit(own, IncomingContact(channel=Channel.PORTAL, text=TEXT))
                own.commit()
                assert (first.created, second.created) == (True, False)
                assert first.tracking_number == second.tracking_number
                stored = own.get(Appeal, first.appeal_id)
                assert stored is not None and stored.status is Status.ASSIGNED
                citizen = own.get(Citizen, stored.citizen_id)
                assert citizen is not None
                assert (citizen.phone_e164, citizen.full_name) == ("+77011234567", "Асель")
                rejected = own.get(Appeal, anonymous.appeal_id)
                assert rejected is not None and rejected.anonymous
                assert rejected.status is Status.REJECTED
    finally:
        db._session_factory, db._engine = previous
        engine.dispose()


def test_a_database_error_message_carries_no_personal_data(pg_engine: Engine) -> None:
    """Errors are logged with their message; SQLAlchemy's copy of the bound values (a phone,
    a text) stays out of it."""
    engine = db.make_engine(pg_engine.url.render_as_string(hide_password=False))
    phone = "+77015550123"
    try:
        with engine.connect() as connection, pytest.raises(DBAPIError) as raised:
            connection.execute(text("SELECT CAST(:phone AS text), 1 / 0"), {"phone": phone})
    finally:
        engine.dispose()
    assert "division by zero" in str(raised.value)
    assert phone not in str(raised.value)

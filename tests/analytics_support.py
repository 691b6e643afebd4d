"""Appeals as analytics must see them: a factory writing rows in the states analytics reads.

Analytics is read-only over the other rooms, and the lifecycle's own tests cover how an
appeal gets into each state; here one INSERT per row puts it there (status, deadline,
organization, history step, rating, assignment), so the tests can build months of appeals
fast. Every appeal carries a citizen with a name, a phone and an e-mail, a text and an
address with personal details, and a tracking number, so an export or an API answer that
leaked any of them is caught by ``assert_no_personal_data``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from appeals.lifecycle import Status
from appeals.models import (
    Appeal,
    AppealStatusChange,
    Assignment,
    AssignmentRole,
    Channel,
    Citizen,
)
from core.db import table_of
from ratings.models import AnswerRating
from routing.models import Organization

PHONE = "+77017654321"
NAME = "Айгерим Сапарова"
EMAIL = "aigerim.saparova@example.kz"
SECRET_TEXT = "Меня зовут Айгерим Сапарова, тел. 87017654321: во дворе нет воды третий день"
ADDRESS = "мкр Самал-2, дом 58, кв. 14"
PERSONAL = (
    PHONE,
    "87017654321",
    "7654321",
    NAME,
    "Сапарова",
    EMAIL,
    SECRET_TEXT,
    ADDRESS,
    "кв. 14",
)


def assert_no_personal_data(text: str, tracking_numbers: Sequence[str] = ()) -> None:
    for secret in (*PERSONAL, *tracking_numbers):
        assert secret not in text, f"personal data leaked: {secret!r}"


def org_id(session: Session, code: str) -> int:
    found = session.scalar(select(Organization.id).where(Organization.code == code))
    assert found is not None, code
    return int(found)


def appeal_factory(session: Session) -> Callable[..., Appeal]:
    """``make(received_at=…, status=…, …)``: one appeal row with its history, assignment and
    rating; each test module exposes it as its ``make_appeal`` fixture."""
    citizen_id = session.scalar(
        insert(table_of(Citizen))
        .values(
            phone_e164=PHONE,
            full_name=NAME,
            email=EMAIL,
            preferred_language="ru",
            created_at=datetime(2026, 1, 1, tzinfo=UTC),
        )
        .returning(table_of(Citizen).c.id)
    )

    def make(
        *,
        received_at: datetime,
        category: str | None = "water.no_water",
        district: str | None = "auezov",
        organization: str | None = "almaty-su",
        status: Status = Status.IN_PROGRESS,
        channel: Channel = Channel.PHONE,
        due_at: datetime | None = None,
        answered_at: datetime | None = None,
        closed_at: datetime | None = None,
        latitude: float | None = None,
        longitude: float | None = None,
        rating: int | None = None,
        history: tuple[Status, ...] = (),
        earlier: Appeal | None = None,
        incident_id: int | None = None,
        extension_reason: str | None = None,
        returns: int = 0,
        language: str = "ru",
        urgency: str = "normal",
        updated_at: datetime | None = None,
        **extra: Any,
    ) -> Appeal:
        organization_id = org_id(session, organization) if organization else None
        appeal_id = session.scalar(
            insert(table_of(Appeal))
            .values(
                tracking_number=f"AN-{uuid.uuid4().hex[:8].upper()}",
                channel=channel,
                external_id=uuid.uuid4().hex,
                citizen_id=citizen_id,
                text=SECRET_TEXT,
                language=language,
                appeal_type="complaint",
                category_code=category,
                district_code=district,
                address=ADDRESS,
                latitude=latitude,
                longitude=longitude,
                urgency=urgency,
                organization_id=organization_id,
                status=status,
                received_at=received_at,
                registered_on=received_at.date(),
                due_at=due_at,
                answered_at=answered_at,
                answer_text="Уважаемая Айгерим Сапарова, вода будет дана" if answered_at else None,
                closed_at=closed_at,
                anonymous=False,
                is_repeat=earlier is not None,
                earlier_appeal_id=earlier.id if earlier is not None else None,
                incident_id=incident_id,
                extension_reason=extension_reason,
                returns_count=returns,
                updated_at=updated_at or received_at,
                **extra,
            )
            .returning(table_of(Appeal).c.id)
        )
        assert appeal_id is not None
        steps = [Status.RECEIVED, *history]
        previous: Status | None = None
        for step in steps:
            session.execute(
                insert(table_of(AppealStatusChange)).values(
                    appeal_id=appeal_id,
                    from_status=previous,
                    to_status=step,
                    actor_kind="system",
                    reason="",
                    at=received_at,
                )
            )
            previous = step
        if organization_id is not None:
            session.execute(
                insert(table_of(Assignment)).values(
                    appeal_id=appeal_id,
                    organization_id=organization_id,
                    role=AssignmentRole.LEAD,
                    kind="rule",
                    reason="",
                    started_at=received_at,
                    late=False,
                )
            )
        if rating is not None:
            assert answered_at is not None
            session.execute(
                insert(table_of(AnswerRating)).values(
                    appeal_id=appeal_id,
                    answered_at=answered_at,
                    organization_id=organization_id,
                    score=rating,
                    channel=channel.value,
                    rated_at=closed_at or answered_at,
                    changes=0,
                )
            )
        session.flush()
        appeal = session.get(Appeal, appeal_id)
        assert appeal is not None
        return appeal

    return make

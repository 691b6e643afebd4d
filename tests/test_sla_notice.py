"""The citizen is told of an extension within 3 working days: the sweep raises an inspector
inbox item when the notice deadline passes with no extension notice sent (the notifications
table records delivery), once, and the board counts those appeals."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals import actions
from appeals.models import Appeal, Channel
from channels import notifications, senders
from channels.notification_models import DeliveryState, NotificationKind
from channels.senders import DeliveryError, OutboundMessage
from core.clock import ALMATY, frozen
from core.models import StaffUser
from intake.schemas import CitizenContact
from routing.models import Organization
from sla import actions as sla_actions
from sla import board, workflow
from sla.board import BoardFilters
from sla.jobs import run_sweep
from sla.models import SlaReminder

WATER_LEAK = "На улице Жандосова прорвало трубу водопровода, вода течёт по дороге уже сутки"
MISSED = "extension_notice_missed"


def almaty(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ALMATY).astimezone(UTC)


class FakeTelegram:
    """The Telegram transport as the notifications see it; ``fail`` makes every send fail."""

    def __init__(self) -> None:
        self.sent: list[OutboundMessage] = []
        self.fail = False

    def send(self, message: OutboundMessage) -> str:
        if self.fail:
            raise DeliveryError("bot was blocked by the user", retryable=False)
        self.sent.append(message)
        return f"msg-{len(self.sent)}"


@pytest.fixture
def telegram(monkeypatch: pytest.MonkeyPatch) -> FakeTelegram:
    fake = FakeTelegram()
    monkeypatch.setattr(senders, "_factories", dict(senders._factories))
    senders.register_sender("telegram", lambda: fake)
    return fake


@pytest.fixture
def monday() -> Iterator[None]:
    with frozen(almaty(2026, 3, 16, 11)):
        yield


def _submit(submit_appeal: Any, channel: Channel) -> Appeal:
    fields: dict[str, Any] = {"channel": channel}
    if channel is Channel.TELEGRAM:
        user_id = str(uuid.uuid4().int % 10**9)
        fields.update(
            external_id=f"update-{user_id}",
            citizen=CitizenContact(telegram_user_id=user_id, full_name="Асель"),
        )
    appeal: Appeal = submit_appeal(WATER_LEAK, **fields)
    assert appeal.organization_id is not None
    return appeal


def _people(session: Session, appeal: Appeal, make_user: Any) -> tuple[StaffUser, StaffUser]:
    org = session.get(Organization, appeal.organization_id)
    assert org is not None
    return make_user("executor", org.code)[0], make_user("inspector")[0]


def _extend(
    session: Session,
    appeal: Appeal,
    executor: StaffUser,
    inspector: StaffUser,
    *,
    at: datetime,
    until: datetime,
) -> None:
    with frozen(at):
        request = sla_actions.request_extension(
            session, appeal, user=executor, until=until, reason="нужна экспертиза"
        )
        sla_actions.approve_extension(session, request.id, user=inspector)
        session.commit()


def _missed(session: Session, appeal: Appeal) -> list[datetime]:
    return list(
        session.scalars(
            select(SlaReminder.due_moment).where(
                SlaReminder.appeal_id == appeal.id, SlaReminder.kind == MISSED
            )
        )
    )


def _inspector_items(session: Session, inspector: StaffUser, appeal: Appeal) -> list[str]:
    return [
        n.text_ru
        for n in workflow.inbox(session, user=inspector)
        if n.kind == MISSED and n.appeal_id == appeal.id
    ]


def test_an_extension_nobody_told_the_citizen_of_reaches_the_inspectors_once(
    session: Session, submit_appeal: Any, make_user: Any, monday: None
) -> None:
    """A portal appeal has no push channel: its extension notice is recorded undeliverable,
    so someone must tell the citizen otherwise. Decided Friday 20 March 2026: notice due by
    the close of Monday 30 March (26, 27, 30 March; Nauryz between)."""
    appeal = _submit(submit_appeal, Channel.PORTAL)
    executor, inspector = _people(session, appeal, make_user)
    actions.accept(session, appeal, user=executor)
    _extend(
        session,
        appeal,
        executor,
        inspector,
        at=almaty(2026, 3, 20, 16),
        until=almaty(2026, 4, 30, 18),
    )
    assert appeal.extension_notice_due_at == almaty(2026, 3, 30, 18)
    notice = next(
        n
        for n in notifications.notifications_for(session, appeal_id=appeal.id)
        if n.kind is NotificationKind.EXTENSION_NOTICE
    )
    assert notice.state is DeliveryState.UNDELIVERABLE
    run_sweep(at=almaty(2026, 3, 30, 17, 59))
    assert _missed(session, appeal) == []
    with frozen(almaty(2026, 3, 30, 17, 59)):
        assert board.summary(session, user=inspector, filters=BoardFilters()).notice_missed == 0
    run_sweep(at=almaty(2026, 3, 30, 18))
    run_sweep(at=almaty(2026, 3, 31, 9))
    assert _missed(session, appeal) == [almaty(2026, 3, 30, 18)]
    items = _inspector_items(session, inspector, appeal)
    assert len(items) == 1
    assert appeal.tracking_number in items[0] and "30.03.2026 18:00" in items[0]
    assert "Асель" not in items[0]
    with frozen(almaty(2026, 3, 31, 9)):
        counted = board.summary(session, user=inspector, filters=BoardFilters())
        other = session.scalar(
            select(Organization.id).where(Organization.id != appeal.organization_id).limit(1)
        )
        narrowed = board.summary(
            session, user=inspector, filters=BoardFilters(organization_id=other)
        )
    assert counted.notice_missed == 1
    assert narrowed.notice_missed == 0
    # The executor's inbox does not get it: telling the citizen is checked by inspectors.
    assert MISSED not in {n.kind for n in workflow.inbox(session, user=executor)}


def test_a_notice_sent_in_time_raises_nothing_but_a_later_extension_needs_its_own(
    session: Session, submit_appeal: Any, make_user: Any, telegram: FakeTelegram, monday: None
) -> None:
    appeal = _submit(submit_appeal, Channel.TELEGRAM)
    executor, inspector = _people(session, appeal, make_user)
    actions.accept(session, appeal, user=executor)
    _extend(
        session,
        appeal,
        executor,
        inspector,
        at=almaty(2026, 3, 20, 16),
        until=almaty(2026, 4, 20, 18),
    )
    assert notifications.extension_notice_sent_at(session, appeal_id=appeal.id) is not None
    run_sweep(at=almaty(2026, 3, 31, 9))
    assert _missed(session, appeal) == []
    # A second extension: the first notice does not count for it, and this one fails.
    telegram.fail = True
    _extend(
        session,
        appeal,
        executor,
        inspector,
        at=almaty(2026, 4, 14, 10),
        until=almaty(2026, 5, 12, 18),
    )
    assert appeal.extension_notice_due_at == almaty(2026, 4, 17, 18)
    run_sweep(at=almaty(2026, 4, 17, 17))
    assert _missed(session, appeal) == []
    run_sweep(at=almaty(2026, 4, 17, 18))
    assert _missed(session, appeal) == [almaty(2026, 4, 17, 18)]
    assert len(_inspector_items(session, inspector, appeal)) == 1

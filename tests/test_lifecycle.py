"""Every lifecycle transition and refusal, as the staff actions perform them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals import actions
from appeals.lifecycle import TRANSITIONS, Status, check_transition
from appeals.models import Appeal, AppealStatusChange
from civicdesk import appeal_actions
from core.errors import InvalidTransition, PermissionDenied, ValidationFailed
from intake.schemas import CitizenContact
from routing import forwarding
from sla import actions as sla_actions

WATER_LEAK = "На улице Жандосова прорвало трубу водопровода, вода течёт по дороге уже сутки"


@pytest.mark.parametrize("current", list(Status))
@pytest.mark.parametrize("target", list(Status))
def test_transition_table_is_enforced(current: Status, target: Status) -> None:
    if target in TRANSITIONS[current]:
        check_transition(current, target)
    else:
        with pytest.raises(InvalidTransition) as refused:
            check_transition(current, target)
        assert refused.value.details["allowed"] == sorted(s.value for s in TRANSITIONS[current])


def test_every_status_can_be_left_or_reopened() -> None:
    for status, targets in TRANSITIONS.items():
        assert targets, f"{status} is a dead end"


def history(session: Session, appeal: Appeal) -> list[tuple[str | None, str, str]]:
    rows = session.scalars(
        select(AppealStatusChange)
        .where(AppealStatusChange.appeal_id == appeal.id)
        .order_by(AppealStatusChange.id)
    )
    return [
        (r.from_status.value if r.from_status else None, r.to_status.value, r.actor_kind)
        for r in rows
    ]


@pytest.fixture
def water_appeal(submit_appeal: Any) -> Appeal:
    appeal: Appeal = submit_appeal(WATER_LEAK)
    assert appeal.status is Status.ASSIGNED
    return appeal


@pytest.fixture
def executor(water_appeal: Appeal, make_user: Any, session: Session) -> Any:
    from routing.models import Organization

    # An executor of the organization the rules chose.
    organization = session.get(Organization, water_appeal.organization_id)
    assert organization is not None
    user, _ = make_user("executor", organization.code)
    return user


def test_happy_path_writes_one_history_row_per_change(
    session: Session, water_appeal: Appeal, executor: Any, make_user: Any
) -> None:
    inspector, _ = make_user("inspector")
    actions.accept(session, water_appeal, user=executor)
    actions.answer(
        session, water_appeal, user=executor, text="Бригада заменила участок трубы 12 ноября."
    )
    sla_actions.close(session, water_appeal, user=inspector)
    assert water_appeal.status is Status.CLOSED
    assert water_appeal.closed_at is not None
    assert [row[:2] for row in history(session, water_appeal)] == [
        (None, "received"),
        ("received", "registered"),
        ("registered", "assigned"),
        ("assigned", "in_progress"),
        ("in_progress", "answered"),
        ("answered", "closed"),
    ]
    closed = session.scalars(
        select(AppealStatusChange).where(AppealStatusChange.appeal_id == water_appeal.id)
    ).all()[-1]
    assert closed.actor_id == inspector.id


def test_return_for_rework_and_reanswer(
    session: Session, water_appeal: Appeal, executor: Any, make_user: Any
) -> None:
    inspector, _ = make_user("inspector")
    actions.accept(session, water_appeal, user=executor)
    actions.answer(session, water_appeal, user=executor, text="Заявка принята в работу, ждите.")
    with pytest.raises(ValidationFailed, match="reason"):
        sla_actions.return_for_rework(session, water_appeal, user=inspector, reason="  ")
    sla_actions.return_for_rework(
        session, water_appeal, user=inspector, reason="formal reply, no substance"
    )
    assert water_appeal.status is Status.RETURNED
    actions.answer(
        session, water_appeal, user=executor, text="Участок трубы заменён, вода подана 14 ноября."
    )
    assert water_appeal.status is Status.ANSWERED
    last = history(session, water_appeal)[-2:]
    assert last == [("answered", "returned", "staff"), ("returned", "answered", "staff")]


def test_executor_cannot_answer_before_accepting(
    session: Session, water_appeal: Appeal, executor: Any
) -> None:
    with pytest.raises(InvalidTransition):
        actions.answer(session, water_appeal, user=executor, text="Трубу заменили, всё в порядке.")
    assert water_appeal.status is Status.ASSIGNED


def test_executor_of_another_org_is_refused(
    session: Session, water_appeal: Appeal, make_user: Any
) -> None:
    other, _ = make_user("executor", "akimat-turksib")
    assert other.organization_id != water_appeal.organization_id
    with pytest.raises(PermissionDenied):
        actions.accept(session, water_appeal, user=other)


@pytest.mark.parametrize(
    ("role", "action"),
    [
        ("operator", "close"),
        ("executor", "close"),
        ("analyst", "accept"),
        ("executor", "reopen"),
        ("executor", "extend"),
        ("inspector", "answer"),
    ],
)
def test_roles_that_may_not_act_are_refused(
    session: Session, water_appeal: Appeal, make_user: Any, role: str, action: str
) -> None:
    user, _ = make_user(role, "almaty-su" if role == "executor" else None)
    with pytest.raises(PermissionDenied):
        appeal_actions.perform(
            session, water_appeal, user=user, action=action, reason="x", text="x" * 20
        )


def test_send_back_puts_the_appeal_in_triage_and_operator_reroutes(
    session: Session, water_appeal: Appeal, executor: Any, make_user: Any
) -> None:
    with pytest.raises(ValidationFailed):
        forwarding.send_back(session, water_appeal, user=executor, reason="")
    forwarding.send_back(session, water_appeal, user=executor, reason="это не наш участок")
    assert (water_appeal.status, water_appeal.organization_id) == (Status.REGISTERED, None)
    assert water_appeal.triage_reason == "sent_back"
    operator, _ = make_user("operator")
    appeal_actions.perform(
        session,
        water_appeal,
        user=operator,
        action="route",
        organization_code="akimat-almaly",
        reason="двор, не магистраль",
    )
    assert water_appeal.status is Status.ASSIGNED
    assert "operator" in (water_appeal.routing_reason or "")


def test_forwarding_to_another_org_needs_a_reason(
    session: Session, water_appeal: Appeal, make_user: Any
) -> None:
    inspector, _ = make_user("inspector")
    with pytest.raises(ValidationFailed):
        appeal_actions.perform(
            session,
            water_appeal,
            user=inspector,
            action="route",
            organization_code="akimat-medeu",
            reason="",
        )
    appeal_actions.perform(
        session,
        water_appeal,
        user=inspector,
        action="route",
        organization_code="akimat-medeu",
        reason="авария во дворе",
    )
    assert water_appeal.status is Status.FORWARDED
    with pytest.raises(ValidationFailed, match="already"):
        appeal_actions.perform(
            session,
            water_appeal,
            user=inspector,
            action="route",
            organization_code="akimat-medeu",
            reason="again",
        )


def test_extension_within_two_months_and_refused_past_them(
    session: Session, water_appeal: Appeal, executor: Any, make_user: Any
) -> None:
    inspector, _ = make_user("inspector")
    actions.accept(session, water_appeal, user=executor)
    assert water_appeal.due_at is not None
    with pytest.raises(ValidationFailed) as too_long:
        sla_actions.extend(
            session,
            water_appeal,
            user=inspector,
            new_due=water_appeal.received_at + timedelta(days=75),
            reason="экспертиза",
        )
    assert too_long.value.code == "extension_too_long"
    new_due = water_appeal.due_at + timedelta(days=10)
    sla_actions.extend(
        session, water_appeal, user=inspector, new_due=new_due, reason="нужна экспертиза"
    )
    assert (water_appeal.status, water_appeal.due_at) == (Status.EXTENDED, new_due)
    assert water_appeal.extension_notice_due_at is not None
    actions.answer(
        session, water_appeal, user=executor, text="Экспертиза проведена, трубу заменили."
    )
    assert water_appeal.status is Status.ANSWERED


def test_reject_quick_answer_and_reopen(
    session: Session, submit_appeal: Any, make_user: Any
) -> None:
    operator, _ = make_user("operator")
    inspector, _ = make_user("inspector")
    spam = submit_appeal("Купите лучшие кроссовки со скидкой по ссылке, только сегодня акция!")
    with pytest.raises(ValidationFailed):
        actions.reject(session, spam, user=operator, reason_code="because", note=None)
    actions.reject(session, spam, user=operator, reason_code="spam", note="реклама")
    assert (spam.status, spam.rejection_reason) == (Status.REJECTED, "spam")

    question = submit_appeal("Подскажите, пожалуйста, график работы ЦОНа в Медеуском районе?")
    assert question.status in (Status.ASSIGNED, Status.REGISTERED)
    actions.quick_answer(
        session, question, user=operator, text="ЦОН работает с 9:00 до 18:00, без обеда."
    )
    assert question.status is Status.QUICK_ANSWERED
    actions.reopen(session, question, user=inspector, reason="гражданин уточнил вопрос")
    assert question.status is Status.REOPENED
    assert question.closed_at is None


def test_answered_appeal_cannot_be_rejected_or_reanswered(
    session: Session, water_appeal: Appeal, executor: Any, make_user: Any
) -> None:
    operator, _ = make_user("operator")
    actions.accept(session, water_appeal, user=executor)
    actions.answer(session, water_appeal, user=executor, text="Трубу заменили, вода подана.")
    with pytest.raises(InvalidTransition):
        actions.reject(session, water_appeal, user=operator, reason_code="spam", note=None)
    with pytest.raises(InvalidTransition):
        actions.answer(
            session, water_appeal, user=executor, text="Ещё один ответ на то же обращение"
        )


# Files whose ``.status`` is another record's, never an appeal's.
OTHER_STATUSES = {
    "knowledge_base/proposals.py",  # a proposed article: open, accepted, dismissed
    "knowledge_base/service.py",  # an article: draft, published, archived
    "channels/social/graph.py",  # a Graph API error's HTTP status
    "analytics/open311.py",  # an Open311 error's HTTP status
}


def test_status_is_assigned_only_through_actions() -> None:
    """Nothing outside appeals/transitions.py assigns ``appeal.status`` (the do_* rule)."""
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parent.parent
    offenders = []
    for path in root.glob("*/**/*.py"):
        if (
            ".venv" in path.parts
            or path.parts[-2] == "tests"
            or path.relative_to(root).as_posix() == "appeals/transitions.py"
        ):
            continue
        if path.relative_to(root).as_posix() in OTHER_STATUSES:
            continue
        if re.search(r"\.status\s*=(?!=)", path.read_text(encoding="utf-8")):
            offenders.append(str(path.relative_to(root)))
    assert offenders == []


def test_citizen_contact_is_optional_but_anonymous_is_rejected(submit_appeal: Any) -> None:
    anonymous = submit_appeal(WATER_LEAK, citizen=CitizenContact())
    assert anonymous.status is Status.REJECTED
    assert anonymous.rejection_reason == "anonymous"
    threat = submit_appeal(
        "Во дворе дома на Самале подозрительный пакет, похоже угроза взрыва",
        citizen=CitizenContact(),
    )
    assert threat.status in (Status.ASSIGNED, Status.REGISTERED)

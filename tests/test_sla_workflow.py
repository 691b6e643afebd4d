"""SLA actions on real PostgreSQL: pause and resume, extension requests and their limits,
review accept and return (counted against the organization), and who may decide what."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals import actions
from appeals.lifecycle import Status
from appeals.models import Appeal
from civicdesk import appeal_actions
from core.clock import ALMATY, frozen
from core.errors import Conflict, InvalidTransition, PermissionDenied, ValidationFailed
from core.models import StaffUser
from routing import forwarding
from routing.models import Organization
from sla import actions as sla_actions
from sla import workflow
from sla.models import AnswerReview, AppealPause, ExtensionRequest, ExtensionState

WATER_LEAK = "На улице Жандосова прорвало трубу водопровода, вода течёт по дороге уже сутки"


def _sla_inbox(session: Session, user: StaffUser) -> list[Any]:
    """The inbox without the pipeline's immediate urgent notices (the flooding text is
    urgent; those notices are tested in test_nlp_urgent.py)."""
    return [n for n in workflow.inbox(session, user=user) if not n.kind.startswith("urgent_")]


def almaty(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ALMATY).astimezone(UTC)


def close_of(year: int, month: int, day: int) -> datetime:
    return almaty(year, month, day, 18)


@pytest.fixture
def received_monday() -> Iterator[None]:
    """Everything in these tests starts on Monday 16 March 2026, 11:00 in Almaty."""
    with frozen(almaty(2026, 3, 16, 11)):
        yield


@pytest.fixture
def appeal(received_monday: None, submit_appeal: Any) -> Appeal:
    submitted: Appeal = submit_appeal(WATER_LEAK)
    assert submitted.status is Status.ASSIGNED
    # Registered Mon 16 March 2026; 15 working days over Nauryz (21-25 March off): 9 April.
    assert submitted.due_at == close_of(2026, 4, 9)
    assert submitted.target_due_at is not None
    assert submitted.target_due_at <= submitted.due_at
    return submitted


@pytest.fixture
def org(appeal: Appeal, session: Session) -> Organization:
    organization = session.get(Organization, appeal.organization_id)
    assert organization is not None
    return organization


@pytest.fixture
def executor(org: Organization, make_user: Any) -> StaffUser:
    user: StaffUser = make_user("executor", org.code)[0]
    return user


@pytest.fixture
def inspector(make_user: Any) -> StaffUser:
    user: StaffUser = make_user("inspector")[0]
    return user


def other_org_code(session: Session, org: Organization) -> str:
    code = session.scalar(select(Organization.code).where(Organization.id != org.id).limit(1))
    assert code is not None
    return code


# --- pause and resume --------------------------------------------------------------------


def test_pause_and_resume_move_the_deadline_by_the_working_days_paused(
    session: Session, appeal: Appeal, executor: StaffUser
) -> None:
    target_before = appeal.target_due_at
    assert target_before is not None
    with frozen(almaty(2026, 3, 20, 10)):
        sla_actions.pause_clock(
            session,
            appeal,
            user=executor,
            reason_code="citizen_clarification",
            comment="asked for the house number",
        )
        session.commit()
    assert appeal.paused_at == almaty(2026, 3, 20, 10)
    with pytest.raises(Conflict) as twice:
        sla_actions.pause_clock(
            session, appeal, user=executor, reason_code="citizen_clarification", comment=""
        )
    assert twice.value.code == "already_paused"
    with frozen(almaty(2026, 3, 26, 11)):
        days = sla_actions.resume_clock(session, appeal, user=executor)
        session.commit()
    # Paused Friday 20 to Thursday 26 March: only the 26th was a working day (Nauryz between).
    assert days == 1
    assert appeal.due_at == close_of(2026, 4, 10)
    assert appeal.paused_at is None
    assert appeal.status is Status.ASSIGNED  # a pause is a clock state, not a status
    pauses = session.scalars(select(AppealPause).where(AppealPause.appeal_id == appeal.id)).all()
    assert [(p.reason_code.value, p.started_at, p.ended_at) for p in pauses] == [
        ("citizen_clarification", almaty(2026, 3, 20, 10), almaty(2026, 3, 26, 11))
    ]
    assert pauses[0].started_by_id == executor.id and pauses[0].ended_by_id == executor.id
    with pytest.raises(Conflict) as not_paused:
        sla_actions.resume_clock(session, appeal, user=executor)
    assert not_paused.value.code == "not_paused"


def test_pause_needs_a_known_reason_and_the_own_organization(
    session: Session, appeal: Appeal, org: Organization, make_user: Any
) -> None:
    stranger = make_user("executor", other_org_code(session, org))[0]
    with pytest.raises(PermissionDenied) as other:
        sla_actions.pause_clock(
            session, appeal, user=stranger, reason_code="citizen_clarification", comment=""
        )
    assert other.value.code == "other_organization"
    operator = make_user("operator")[0]
    with pytest.raises(PermissionDenied):
        sla_actions.pause_clock(
            session, appeal, user=operator, reason_code="citizen_clarification", comment=""
        )
    inspector = make_user("inspector")[0]
    with pytest.raises(ValidationFailed) as unknown:
        sla_actions.pause_clock(session, appeal, user=inspector, reason_code="lunch", comment="")
    assert unknown.value.code == "unknown_pause_reason"
    with pytest.raises(ValidationFailed) as bare:
        sla_actions.pause_clock(session, appeal, user=inspector, reason_code="other", comment=" ")
    assert bare.value.code == "reason_required"


# --- extensions --------------------------------------------------------------------------


def test_extension_request_limits(session: Session, appeal: Appeal, executor: StaffUser) -> None:
    actions.accept(session, appeal, user=executor)
    session.commit()
    # Two months from registration (16 March) is 16 May 2026 at closing; one minute more: no.
    with pytest.raises(ValidationFailed) as too_long:
        sla_actions.request_extension(
            session, appeal, user=executor, until=almaty(2026, 5, 16, 18, 1), reason="expertise"
        )
    assert too_long.value.code == "extension_too_long"
    with pytest.raises(ValidationFailed) as no_reason:
        sla_actions.request_extension(
            session, appeal, user=executor, until=close_of(2026, 4, 30), reason="  "
        )
    assert no_reason.value.code == "extension_reason_required"
    with pytest.raises(ValidationFailed) as earlier:
        sla_actions.request_extension(
            session, appeal, user=executor, until=close_of(2026, 4, 8), reason="expertise"
        )
    assert earlier.value.code == "extension_not_later"
    request = sla_actions.request_extension(
        session, appeal, user=executor, until=almaty(2026, 5, 16, 18), reason="expertise"
    )
    session.commit()
    assert request.state is ExtensionState.PENDING
    with pytest.raises(Conflict) as second:
        sla_actions.request_extension(
            session, appeal, user=executor, until=close_of(2026, 4, 30), reason="expertise"
        )
    assert second.value.code == "extension_already_requested"


def test_inspector_approves_extension_and_the_citizen_must_be_told_in_3_working_days(
    session: Session, appeal: Appeal, executor: StaffUser, inspector: StaffUser
) -> None:
    actions.accept(session, appeal, user=executor)
    request = sla_actions.request_extension(
        session,
        appeal,
        user=executor,
        until=close_of(2026, 4, 30),
        reason="the pipe is replaced after the heating season",
    )
    session.commit()
    # The inspectors hear of it in their inbox.
    assert [n.kind for n in _sla_inbox(session, inspector)] == ["extension_requested"]
    # Decided Friday 20 March 2026, before Nauryz: notice by 26, 27, 30 March.
    with frozen(almaty(2026, 3, 20, 16)):
        sla_actions.approve_extension(session, request.id, user=inspector, comment="agreed")
        session.commit()
    assert appeal.status is Status.EXTENDED
    assert appeal.due_at == close_of(2026, 4, 30)
    assert appeal.extension_notice_due_at == close_of(2026, 3, 30)
    assert appeal.extension_reason is not None and "heating season" in appeal.extension_reason
    decided = session.get(ExtensionRequest, request.id)
    assert decided is not None
    assert (decided.state, decided.decided_by_id) == (ExtensionState.APPROVED, inspector.id)
    assert [n.kind for n in _sla_inbox(session, executor)] == ["extension_approved"]
    with pytest.raises(Conflict) as again:
        sla_actions.approve_extension(session, request.id, user=inspector)
    assert again.value.code == "extension_already_decided"


def test_refusal_needs_a_reason_and_keeps_the_deadline(
    session: Session, appeal: Appeal, executor: StaffUser, inspector: StaffUser
) -> None:
    actions.accept(session, appeal, user=executor)
    request = sla_actions.request_extension(
        session, appeal, user=executor, until=close_of(2026, 4, 30), reason="expertise"
    )
    session.commit()
    with pytest.raises(ValidationFailed) as bare:
        sla_actions.refuse_extension(session, request.id, user=inspector, comment="")
    assert bare.value.code == "reason_required"
    sla_actions.refuse_extension(
        session, request.id, user=inspector, comment="a leak is repaired in days"
    )
    session.commit()
    assert appeal.status is Status.IN_PROGRESS
    assert appeal.due_at == close_of(2026, 4, 9)
    refused = session.get(ExtensionRequest, request.id)
    assert refused is not None and refused.state is ExtensionState.REFUSED
    assert refused.decision_comment == "a leak is repaired in days"


def test_an_executor_cannot_approve_their_own_extension(
    session: Session, appeal: Appeal, executor: StaffUser, make_user: Any, org: Organization
) -> None:
    actions.accept(session, appeal, user=executor)
    request = sla_actions.request_extension(
        session, appeal, user=executor, until=close_of(2026, 4, 30), reason="expertise"
    )
    session.commit()
    for who in (executor, make_user("executor", org.code)[0]):
        with pytest.raises(PermissionDenied) as refused:
            sla_actions.approve_extension(session, request.id, user=who)
        assert refused.value.code == "role_not_allowed"
    still = session.get(ExtensionRequest, request.id)
    assert still is not None and still.state is ExtensionState.PENDING
    assert appeal.status is Status.IN_PROGRESS and appeal.due_at == close_of(2026, 4, 9)


def test_an_admin_who_asked_cannot_approve_their_own_request(
    session: Session, appeal: Appeal, executor: StaffUser, make_user: Any
) -> None:
    admin = make_user("admin")[0]
    actions.accept(session, appeal, user=executor)
    request = sla_actions.request_extension(
        session, appeal, user=admin, until=close_of(2026, 4, 30), reason="expertise"
    )
    session.commit()
    with pytest.raises(PermissionDenied) as own:
        sla_actions.approve_extension(session, request.id, user=admin)
    assert own.value.code == "own_extension_request"
    sla_actions.approve_extension(session, request.id, user=make_user("inspector")[0])
    assert appeal.status is Status.EXTENDED


# --- review ------------------------------------------------------------------------------


def _answer(session: Session, appeal: Appeal, executor: StaffUser) -> None:
    if appeal.status is Status.ASSIGNED:
        actions.accept(session, appeal, user=executor)
    actions.answer(session, appeal, user=executor, text="Аварийная бригада устранила течь.")
    session.commit()


def test_review_return_counts_against_the_organization_then_accept_closes(
    session: Session, appeal: Appeal, executor: StaffUser, inspector: StaffUser
) -> None:
    _answer(session, appeal, executor)
    assert [a.id for a in sla_actions.review_queue(session, user=inspector)] == [appeal.id]
    with pytest.raises(ValidationFailed) as unknown:
        sla_actions.return_answer(session, appeal, user=inspector, reason_code="ugly")
    assert unknown.value.code == "unknown_return_reason"
    with pytest.raises(PermissionDenied):
        sla_actions.return_answer(session, appeal, user=executor, reason_code="formal_reply")
    sla_actions.return_answer(
        session, appeal, user=inspector, reason_code="formal_reply", comment="no date of works"
    )
    session.commit()
    assert appeal.status is Status.RETURNED
    assert appeal.returns_count == 1
    assert sla_actions.review_queue(session, user=inspector) == []
    assert [n.kind for n in _sla_inbox(session, executor)] == ["answer_returned"]
    _answer(session, appeal, executor)
    sla_actions.accept_answer(session, appeal, user=inspector)
    session.commit()
    assert appeal.status is Status.CLOSED
    reviews = session.scalars(
        select(AnswerReview).where(AnswerReview.appeal_id == appeal.id).order_by(AnswerReview.id)
    ).all()
    assert [(r.outcome.value, r.reason_code and r.reason_code.value) for r in reviews] == [
        ("returned", "formal_reply"),
        ("accepted", None),
    ]
    assert {r.organization_id for r in reviews} == {appeal.organization_id}
    counts = workflow.return_counts(session, organization_id=appeal.organization_id)
    assert [(c.reviewed, c.returned, c.by_reason) for c in counts] == [(2, 1, {"formal_reply": 1})]
    assert counts[0].return_rate == 0.5


def test_only_an_answered_appeal_is_reviewed(
    session: Session, appeal: Appeal, inspector: StaffUser
) -> None:
    with pytest.raises(InvalidTransition):
        sla_actions.accept_answer(session, appeal, user=inspector)
    with pytest.raises(InvalidTransition):
        sla_actions.return_answer(session, appeal, user=inspector, reason_code="no_substance")
    assert (
        session.scalars(select(AnswerReview).where(AnswerReview.appeal_id == appeal.id)).all() == []
    )


def test_an_inspector_who_asked_cannot_approve_their_own_request(
    session: Session, appeal: Appeal, executor: StaffUser, inspector: StaffUser, make_user: Any
) -> None:
    """The four-eyes rule past the role check: an inspector may decide requests, but not one
    they filed themselves."""
    actions.accept(session, appeal, user=executor)
    request = sla_actions.request_extension(
        session, appeal, user=inspector, until=close_of(2026, 4, 30), reason="expertise"
    )
    session.commit()
    for decide in (sla_actions.approve_extension, sla_actions.refuse_extension):
        with pytest.raises(PermissionDenied) as own:
            decide(session, request.id, user=inspector, comment="self")
        assert own.value.code == "own_extension_request"
    still = session.get(ExtensionRequest, request.id)
    assert still is not None and still.state is ExtensionState.PENDING
    assert appeal.due_at == close_of(2026, 4, 9)
    sla_actions.approve_extension(session, request.id, user=make_user("inspector")[0])
    assert (appeal.status, appeal.due_at) == (Status.EXTENDED, close_of(2026, 4, 30))


def test_the_approvers_comment_stays_internal(
    session: Session, appeal: Appeal, executor: StaffUser, inspector: StaffUser
) -> None:
    """What the citizen is told (``extension_reason``) is the request's reason; the
    inspector's remark is kept on the request only."""
    actions.accept(session, appeal, user=executor)
    request = sla_actions.request_extension(
        session, appeal, user=executor, until=close_of(2026, 4, 30), reason="нужна экспертиза"
    )
    sla_actions.approve_extension(
        session, request.id, user=inspector, comment="исполнитель затягивает, проверить"
    )
    session.commit()
    assert appeal.extension_reason == "нужна экспертиза"
    decided = session.get(ExtensionRequest, request.id)
    assert decided is not None
    assert decided.decision_comment == "исполнитель затягивает, проверить"


# --- one way for the review and the extension -----------------------------------------


def test_the_generic_actions_no_longer_review_or_extend(
    session: Session, appeal: Appeal, executor: StaffUser, inspector: StaffUser
) -> None:
    """close, return and extend through ``perform`` (the appeals API and the appeal page)
    are refused with the path to use: no status change without the review record, the
    checklist reason and the returns count, no extension without a request decided by
    another person."""
    from civicdesk.web.staff.presenters import available_actions, sla_steps

    actions.accept(session, appeal, user=executor)
    with pytest.raises(ValidationFailed) as extend:
        appeal_actions.perform(
            session,
            appeal,
            user=inspector,
            action="extend",
            reason="expertise",
            new_due=close_of(2026, 4, 30),
        )
    assert extend.value.code == "use_extension_request"
    assert (appeal.status, appeal.due_at) == (Status.IN_PROGRESS, close_of(2026, 4, 9))
    assert "extension" in sla_steps(executor, appeal)
    _answer(session, appeal, executor)
    for action in ("close", "return"):
        with pytest.raises(ValidationFailed) as refused:
            appeal_actions.perform(session, appeal, user=inspector, action=action, reason="formal")
        assert refused.value.code == "use_review"
    assert appeal.status is Status.ANSWERED and appeal.returns_count == 0
    assert (
        session.scalars(select(AnswerReview).where(AnswerReview.appeal_id == appeal.id)).all() == []
    )
    # The page offers the review instead of plain close / return buttons.
    assert {"close", "return", "extend"}.isdisjoint(available_actions(inspector, appeal))
    assert sla_steps(inspector, appeal) == ["review"]
    assert sla_steps(executor, appeal) == []


# --- a pause ends with a status change; its limits ----------------------------------------


def _history(session: Session, appeal: Appeal) -> list[tuple[str, str, str]]:
    from appeals.models import AppealStatusChange

    rows = session.scalars(
        select(AppealStatusChange)
        .where(AppealStatusChange.appeal_id == appeal.id)
        .order_by(AppealStatusChange.id)
    )
    return [
        (r.from_status.value if r.from_status else "", r.to_status.value, r.reason) for r in rows
    ]


def test_pause_and_resume_are_in_the_history(
    session: Session, appeal: Appeal, executor: StaffUser
) -> None:
    with frozen(almaty(2026, 3, 20, 10)):
        sla_actions.pause_clock(
            session, appeal, user=executor, reason_code="citizen_documents", comment="справка"
        )
    with frozen(almaty(2026, 3, 26, 11)):
        sla_actions.resume_clock(session, appeal, user=executor)
    session.commit()
    assert _history(session, appeal)[-2:] == [
        ("assigned", "assigned", "clock paused: citizen_documents: справка"),
        ("assigned", "assigned", "clock resumed (resumed): +1 working day(s)"),
    ]


def test_an_answer_ends_the_pause_and_the_paused_days_count(
    session: Session, appeal: Appeal, executor: StaffUser, inspector: StaffUser
) -> None:
    """Answered while paused: the pause ends with the status change (recorded), the
    deadline moves by the working days paused as on a resume, and the answer given after
    the old deadline is on time. A returned answer's clock runs again, so the sweep
    escalates it at breach; a closed appeal has no clock to resume."""
    from sla.jobs import run_sweep

    actions.accept(session, appeal, user=executor)
    with frozen(almaty(2026, 4, 6, 10)):  # Monday; due Thursday 9 April
        sla_actions.pause_clock(
            session, appeal, user=executor, reason_code="citizen_clarification", comment=""
        )
        session.commit()
    with frozen(almaty(2026, 4, 13, 12)):  # Monday after: 7-10 and 13 April paused
        actions.answer(session, appeal, user=executor, text="Течь устранена 13 апреля, вода есть.")
        session.commit()
    assert appeal.paused_at is None
    assert appeal.due_at == close_of(2026, 4, 16)  # five working days later
    pauses = session.scalars(select(AppealPause).where(AppealPause.appeal_id == appeal.id)).all()
    assert [(p.ended_at, p.ended_by_id) for p in pauses] == [(almaty(2026, 4, 13, 12), executor.id)]
    assert _history(session, appeal)[-2:] == [
        ("in_progress", "in_progress", "clock resumed (status answered): +5 working day(s)"),
        ("in_progress", "answered", "answer submitted for review"),
    ]
    assert appeal.answered_at is not None and appeal.answered_at < appeal.due_at
    with frozen(almaty(2026, 4, 14, 9)):
        sla_actions.return_answer(session, appeal, user=inspector, reason_code="formal_reply")
        session.commit()
    run_sweep(at=almaty(2026, 4, 16, 18))
    session.refresh(appeal)
    assert (appeal.escalated_at, appeal.escalation_reason) == (almaty(2026, 4, 16, 18), "overdue")
    actions.answer(session, appeal, user=executor, text="Работы завершены, акт приложен.")
    sla_actions.accept_answer(session, appeal, user=inspector)
    session.commit()
    with pytest.raises(Conflict) as closed:
        sla_actions.resume_clock(session, appeal, user=inspector)
    assert closed.value.code == "clock_not_running"
    assert appeal.due_at == close_of(2026, 4, 16)


def test_forwarding_ends_the_pause_before_the_term_restarts(
    session: Session, appeal: Appeal, executor: StaffUser, inspector: StaffUser, org: Organization
) -> None:
    with frozen(almaty(2026, 3, 27, 10)):
        sla_actions.pause_clock(
            session, appeal, user=executor, reason_code="expert_opinion", comment="лаборатория"
        )
        session.commit()
    target = other_org_code(session, org)
    with frozen(almaty(2026, 4, 2, 11)):  # Thursday
        forwarding.route(
            session,
            appeal,
            user=inspector,
            organization_id=session.scalar(
                select(Organization.id).where(Organization.code == target)
            ),
            reason="не их участок",
        )
        session.commit()
    assert appeal.status is Status.FORWARDED and appeal.paused_at is None
    assert workflow.open_pause(session, appeal_id=appeal.id) is None
    # The term restarts at the receiving organization from the forwarding day, not shifted:
    # registered Thursday 2 April, 15 working days (no holidays in April) → 23 April.
    assert appeal.due_at == close_of(2026, 4, 23)


def test_an_overdue_clock_is_not_paused(
    session: Session, appeal: Appeal, executor: StaffUser
) -> None:
    with frozen(almaty(2026, 4, 9, 18)), pytest.raises(Conflict) as late:
        sla_actions.pause_clock(
            session, appeal, user=executor, reason_code="citizen_clarification", comment=""
        )
    assert late.value.code == "clock_overdue"
    assert appeal.paused_at is None
    assert workflow.open_pause(session, appeal_id=appeal.id) is None
    with frozen(almaty(2026, 4, 9, 17, 59)):  # a minute before: still allowed
        sla_actions.pause_clock(
            session, appeal, user=executor, reason_code="citizen_clarification", comment=""
        )
    assert appeal.paused_at == almaty(2026, 4, 9, 17, 59)


def test_a_resume_never_moves_the_deadline_past_two_months_from_registration(
    session: Session, appeal: Appeal, executor: StaffUser
) -> None:
    """Registered 16 March 2026: the law's outer limit is 16 May 2026, 18:00. A pause from
    1 April to 15 May would give back some thirty working days; the deadline stops at the
    limit, and the history says so."""
    with frozen(almaty(2026, 4, 1, 10)):
        sla_actions.pause_clock(
            session, appeal, user=executor, reason_code="expert_opinion", comment=""
        )
    with frozen(almaty(2026, 5, 15, 10)):
        days = sla_actions.resume_clock(session, appeal, user=executor)
    session.commit()
    assert days > 25
    assert appeal.due_at == close_of(2026, 5, 16)
    assert appeal.target_due_at is not None and appeal.target_due_at <= appeal.due_at
    assert _history(session, appeal)[-1][2].endswith("capped at two months from registration")

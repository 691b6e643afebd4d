"""Citizens' ratings of answers: one per answer, the satisfaction index, low ratings reopen."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals import actions
from appeals.lifecycle import Status
from appeals.models import Appeal, AppealStatusChange
from core.clock import frozen, now
from core.errors import Conflict, NotFound, ValidationFailed
from core.models import Role
from core.settings import Settings, override_settings
from ratings import answers
from ratings.models import AnswerRating
from routing import forwarding
from sla import actions as sla_actions

WATER_LEAK = "На улице Жандосова прорвало трубу водопровода, вода течёт по дороге уже сутки"
ANSWER = "Бригада «Алматы Су» устранила утечку, покрытие восстановлено."


@pytest.fixture
def admin(make_user: Any) -> Any:
    user, _ = make_user(Role.ADMIN)
    return user


@pytest.fixture
def answered(session: Session, submit_appeal: Any, admin: Any) -> Appeal:
    appeal: Appeal = submit_appeal(WATER_LEAK)
    actions.quick_answer(session, appeal, user=admin, text=ANSWER)
    session.commit()
    return appeal


def fresh(session: Session, appeal: Appeal) -> Appeal:
    found = session.get(Appeal, appeal.id, populate_existing=True)
    assert found is not None
    return found


def test_a_rating_is_stored_against_the_answer_and_the_organization(
    session: Session, answered: Appeal
) -> None:
    rating = answers.rate_answer(
        session, appeal_id=answered.id, score=5, comment="  Спасибо!  ", channel="telegram"
    )
    session.commit()
    assert rating.score == 5
    assert rating.comment == "Спасибо!"
    assert rating.answered_at == answered.answered_at
    assert rating.organization_id == answered.organization_id
    assert rating.channel == "telegram"
    assert answers.rating_for(session, appeal_id=answered.id) == rating


def test_rating_again_replaces_the_first_rating(session: Session, answered: Appeal) -> None:
    answers.rate_answer(session, appeal_id=answered.id, score=3, comment=None, channel="whatsapp")
    again = answers.rate_answer(
        session, appeal_id=answered.id, score=4, comment="передумал", channel="whatsapp"
    )
    session.commit()
    stored = session.scalars(
        select(AnswerRating).where(AnswerRating.appeal_id == answered.id)
    ).all()
    assert len(stored) == 1
    assert stored[0].id == again.id
    assert (again.score, again.comment, again.changes) == (4, "передумал", 1)


def test_there_is_nothing_to_rate_before_the_answer(session: Session, submit_appeal: Any) -> None:
    appeal: Appeal = submit_appeal(WATER_LEAK)
    with pytest.raises(Conflict) as refused:
        answers.rate_answer(session, appeal_id=appeal.id, score=5, comment=None, channel="portal")
    assert refused.value.code == "not_answered"
    with pytest.raises(NotFound):
        answers.rate_answer(session, appeal_id=-1, score=5, comment=None, channel="portal")


@pytest.mark.parametrize("score", [0, 6, -1, True])
def test_scores_are_one_to_five(session: Session, answered: Appeal, score: Any) -> None:
    with pytest.raises(ValidationFailed) as refused:
        answers.rate_answer(
            session, appeal_id=answered.id, score=score, comment=None, channel="portal"
        )
    assert refused.value.code == "bad_score"


def test_a_long_comment_is_refused(session: Session, answered: Appeal, settings: Settings) -> None:
    with pytest.raises(ValidationFailed) as refused:
        answers.rate_answer(
            session,
            appeal_id=answered.id,
            score=4,
            comment="x" * (settings.rating_comment_max_chars + 1),
            channel="portal",
        )
    assert refused.value.code == "comment_too_long"


def test_a_low_rating_reopens_the_appeal_once(
    session: Session, answered: Appeal, admin: Any
) -> None:
    answers.rate_answer(
        session, appeal_id=answered.id, score=1, comment="Ничего не сделали", channel="telegram"
    )
    session.commit()
    appeal = fresh(session, answered)
    assert appeal.status is Status.REOPENED
    assert appeal.closed_at is None
    change = session.scalars(
        select(AppealStatusChange)
        .where(AppealStatusChange.appeal_id == appeal.id)
        .order_by(AppealStatusChange.id.desc())
    ).first()
    assert change is not None
    assert (change.to_status, change.actor_kind, change.actor_id) == (
        Status.REOPENED,
        "citizen",
        None,
    )
    assert "1 of 5" in change.reason
    rating = answers.rating_for(session, appeal_id=appeal.id)
    assert rating is not None and rating.reopened_at is not None
    # The event replayed (a relayed job): the rating already reopened it once.
    from channels.jobs import reopen_after_low_rating

    assert reopen_after_low_rating(session, rating_id=rating.id) is False
    # The answer is withdrawn while the appeal is reopened: nothing to rate until the next one.
    with pytest.raises(Conflict):
        answers.rate_answer(session, appeal_id=appeal.id, score=2, comment=None, channel="telegram")
    reopened = session.scalars(
        select(AppealStatusChange).where(
            AppealStatusChange.appeal_id == appeal.id,
            AppealStatusChange.to_status == Status.REOPENED,
        )
    ).all()
    assert len(reopened) == 1


def test_a_good_rating_or_a_late_low_one_does_not_reopen(
    session: Session, submit_appeal: Any, answered: Appeal, admin: Any, settings: Settings
) -> None:
    answers.rate_answer(session, appeal_id=answered.id, score=4, comment=None, channel="portal")
    session.commit()
    assert fresh(session, answered).status is Status.QUICK_ANSWERED

    late: Appeal = submit_appeal(WATER_LEAK)
    actions.quick_answer(session, late, user=admin, text=ANSWER)
    session.commit()
    with frozen(now() + timedelta(days=settings.rating_reopen_window_days + 1)):
        answers.rate_answer(session, appeal_id=late.id, score=1, comment=None, channel="portal")
        session.commit()
    assert fresh(session, late).status is Status.QUICK_ANSWERED


def test_reopening_can_be_switched_off(
    session: Session, answered: Appeal, settings: Settings
) -> None:
    with override_settings(settings.model_copy(update={"rating_reopen_max_score": 0})):
        answers.rate_answer(session, appeal_id=answered.id, score=1, comment=None, channel="portal")
        session.commit()
    assert fresh(session, answered).status is Status.QUICK_ANSWERED


def test_a_new_answer_after_reopening_gets_its_own_rating(
    session: Session, answered: Appeal, admin: Any
) -> None:
    answers.rate_answer(session, appeal_id=answered.id, score=1, comment=None, channel="portal")
    session.commit()
    appeal = fresh(session, answered)
    assert appeal.status is Status.REOPENED
    from routing.models import Organization

    organization = session.scalars(select(Organization).order_by(Organization.id)).first()
    assert organization is not None
    if appeal.organization_id is None or appeal.organization_id == organization.id:
        organization = session.scalars(
            select(Organization).where(Organization.id != appeal.organization_id)
        ).first()
        assert organization is not None
    forwarding.route(
        session, appeal, user=admin, organization_id=organization.id, reason="повторно"
    )
    actions.accept(session, appeal, user=admin)
    actions.answer(session, appeal, user=admin, text=ANSWER + " Повторно проверено.")
    sla_actions.close(session, appeal, user=admin)
    session.commit()
    answers.rate_answer(session, appeal_id=appeal.id, score=5, comment=None, channel="portal")
    session.commit()
    scores = session.scalars(
        select(AnswerRating.score)
        .where(AnswerRating.appeal_id == appeal.id)
        .order_by(AnswerRating.answered_at)
    ).all()
    assert list(scores) == [1, 5]


def test_the_satisfaction_index_counts_fours_and_fives(
    session: Session, submit_appeal: Any, admin: Any, settings: Settings
) -> None:
    start = now()
    with override_settings(settings.model_copy(update={"rating_reopen_max_score": 0})):
        for score in (5, 4, 4, 3, 1):
            appeal: Appeal = submit_appeal(WATER_LEAK)
            actions.quick_answer(session, appeal, user=admin, text=ANSWER)
            session.commit()
            answers.rate_answer(
                session, appeal_id=appeal.id, score=score, comment=None, channel="portal"
            )
            session.commit()
    index = answers.satisfaction_index(session, since=start)
    assert (index.ratings, index.satisfied, index.index) == (5, 3, 60.0)
    by_org = answers.satisfaction_index(
        session, since=start, organization_id=appeal.organization_id
    )
    assert by_org.ratings == 5
    assert answers.satisfaction_index(session, since=now() + timedelta(days=1)).index is None

"""The moderation queue, the operators' decisions as training data, the reply KPI and the
answer's summary at closing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from social_support import doubt_settings, make_client, social_model_dir  # noqa: F401
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from appeals.lifecycle import Status
from appeals.models import Appeal
from channels.social import classifier, moderation, monitoring
from channels.social.models import (
    CommentState,
    Platform,
    ReplyKind,
    ReplyState,
    SocialComment,
    SocialReply,
)
from channels.social.service import IncomingComment, ingest
from core.calendar import WorkingCalendar
from core.clock import now
from core.settings import Settings, override_settings
from tests.conftest import login

POST = "С 1 ноября меняется схема движения автобусного маршрута №92."
DOUBT = "А пенсионерам теперь как ездить, льготы на 92 остаются или нет?"


@pytest.fixture
def client(connection: Connection, doubt_settings: Settings) -> Iterator[Any]:  # noqa: F811
    yield from make_client(connection, doubt_settings)


def _incoming(external_id: str, text: str, **extra: Any) -> IncomingComment:
    fields: dict[str, Any] = {
        "platform": Platform.TELEGRAM,
        "account_id": "-100200",
        "external_id": f"-100200:{external_id}",
        "post_external_id": "-100200:1",
        "text": text,
        "created_at": now(),
        "author_id": "4242",
        "author_handle": "@dana",
        "post_text": POST,
    }
    fields.update(extra)
    return IncomingComment(**fields)


def _row(session: Session, comment_id: int) -> SocialComment:
    row = session.get(SocialComment, comment_id, populate_existing=True)
    assert row is not None
    return row


def test_a_doubtful_comment_waits_and_an_operator_makes_it_an_appeal_through_the_api(
    client: Any, session: Session, make_user: Any
) -> None:
    result = ingest(session, [_incoming("2", DOUBT)])[0]
    session.commit()
    assert result.state is CommentState.DOUBTFUL and result.appeal_id is None
    operator, password = make_user("operator")
    headers = login(client, operator.username, password)

    queue = client.get("/api/v1/social/comments", params={"state": "doubtful"}, headers=headers)
    assert queue.status_code == 200
    assert [c["id"] for c in queue.json()["comments"]] == [result.comment_id]
    shown = queue.json()["comments"][0]
    assert shown["author_handle"] == "@dana" and shown["post"]["text"] == POST
    assert 0.001 <= shown["probability"] < 0.999

    decided = client.post(
        f"/api/v1/social/comments/{result.comment_id}/decision",
        json={"decision": "appeal"},
        headers=headers,
    )
    assert decided.status_code == 200, decided.text
    row = _row(session, result.comment_id)
    assert row.state is CommentState.APPEAL and row.decided_by_id == operator.id
    appeal = session.get(Appeal, row.appeal_id)
    assert appeal is not None and appeal.external_id == "telegram:-100200:2"
    receipt = session.scalar(select(SocialReply).where(SocialReply.comment_id == row.id))
    assert receipt is not None and receipt.kind is ReplyKind.RECEIPT
    assert receipt.state is ReplyState.FAILED  # no bot configured here: recorded, not lost
    assert receipt.last_error == "the Telegram bot is not configured"

    again = client.post(
        f"/api/v1/social/comments/{result.comment_id}/decision",
        json={"decision": "not_appeal"},
        headers=headers,
    )
    assert again.status_code == 409


def test_the_three_decisions_and_the_roles_allowed(
    client: Any, session: Session, make_user: Any
) -> None:
    first, second = ingest(session, [_incoming("3", DOUBT), _incoming("4", DOUBT + " Где схема?")])
    session.commit()
    executor, password = make_user("executor", "akimat-almaly")
    refused = client.post(
        f"/api/v1/social/comments/{first.comment_id}/decision",
        json={"decision": "not_appeal"},
        headers=login(client, executor.username, password),
    )
    assert refused.status_code == 403
    operator, password = make_user("operator")
    headers = login(client, operator.username, password)
    client.post(
        f"/api/v1/social/comments/{first.comment_id}/decision",
        json={"decision": "not_appeal"},
        headers=headers,
    )
    assert _row(session, first.comment_id).state is CommentState.NOT_APPEAL
    decide_url = f"/api/v1/social/comments/{second.comment_id}/decision"
    empty = client.post(
        decide_url, json={"decision": "answer", "reply_text": "  "}, headers=headers
    )
    assert empty.status_code == 422
    answer = "Схема маршрута 92 — на сайте транспортного холдинга, до Алатау ходит маршрут 37."
    ok = client.post(decide_url, json={"decision": "answer", "reply_text": answer}, headers=headers)
    assert ok.status_code == 200
    row = _row(session, second.comment_id)
    assert row.state is CommentState.ANSWERED and row.appeal_id is None
    reply = session.scalar(select(SocialReply).where(SocialReply.comment_id == row.id))
    assert reply is not None and reply.kind is ReplyKind.OPERATOR and reply.text == answer
    assert reply.created_by_id == operator.id

    examples = moderation.decisions_as_examples(session)
    assert [(e.text, e.label) for e in examples] == [(DOUBT, 0), (DOUBT + " Где схема?", 0)]
    assert all(e.context == POST for e in examples)


def test_the_train_command_learns_from_the_operators_decisions(
    client: Any,
    session: Session,
    make_user: Any,
    doubt_settings: Settings,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from civicdesk.cli import main

    first = ingest(session, [_incoming("5", DOUBT)])[0]
    session.commit()
    operator, _ = make_user("operator")
    moderation.decide(session, comment_id=first.comment_id, decision="appeal", by=operator)
    session.commit()
    out = tmp_path / "retrained"
    assert main(["social", "train", "--engine", "social-tfidf", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    written = classifier.builtin_examples(doubt_settings.data_dir)
    base = sum(1 for example in written if classifier.has_words(example.text))
    assert printed["decisions"] == 1 and printed["examples"] == base + 3  # weighed 3 times
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["trained_on"]["decisions"] == 1


def test_working_hours_count_only_the_working_window_of_working_days() -> None:
    calendar = WorkingCalendar()
    almaty = timedelta(hours=5)
    friday_evening = datetime(2026, 11, 27, 17, 30, tzinfo=UTC) - almaty
    monday_morning = datetime(2026, 11, 30, 9, 30, tzinfo=UTC) - almaty
    hours = monitoring.working_hours_between(
        friday_evening, monday_morning, calendar=calendar, window="09:00-18:00"
    )
    assert hours == pytest.approx(1.0)  # 30 minutes on Friday, 30 on Monday
    night = monitoring.working_hours_between(
        datetime(2026, 11, 24, 20, 0, tzinfo=UTC) - almaty,
        datetime(2026, 11, 24, 23, 0, tzinfo=UTC) - almaty,
        calendar=calendar,
        window="09:00-18:00",
    )
    assert night == 0.0


def test_the_reply_kpi_is_the_median_of_working_hours_to_the_first_public_reply(
    client: Any,
    session: Session,
    doubt_settings: Settings,  # noqa: F811
    make_user: Any,
) -> None:
    base = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)  # Tuesday 09:00 in Almaty
    made = ingest(session, [_incoming(str(10 + i), DOUBT, created_at=base) for i in range(3)])
    for result, minutes in zip(made, (20, 40, 300), strict=True):
        row = _row(session, result.comment_id)
        row.state = CommentState.APPEAL
        row.first_public_reply_at = base + timedelta(minutes=minutes)
    waiting = ingest(session, [_incoming("20", DOUBT, created_at=base)])[0]
    _row(session, waiting.comment_id).state = CommentState.APPEAL
    session.commit()
    kpi = monitoring.reply_kpi(session, since=None, settings=doubt_settings)
    assert kpi["replied"] == 3 and kpi["waiting"] == 1
    assert kpi["median_working_hours"] == pytest.approx(40 / 60, abs=1e-3)
    assert kpi["met"] is True
    operator, password = make_user("operator")
    shown = client.get("/api/v1/social/kpi", headers=login(client, operator.username, password))
    assert shown.json()["median_working_hours"] == pytest.approx(0.667, abs=1e-3)


def test_the_answers_summary_goes_under_the_comment_when_the_city_chose_so(
    session: Session,
    doubt_settings: Settings,  # noqa: F811
    make_user: Any,
) -> None:
    from channels.jobs import handle_events
    from core import events

    current = doubt_settings.model_copy(update={"social_reply_on_close": True})
    with override_settings(current):
        result = ingest(session, [_incoming("30", DOUBT)])[0]
        operator, _ = make_user("operator")
        moderation.decide(session, comment_id=result.comment_id, decision="appeal", by=operator)
        session.commit()
        appeal = session.get(Appeal, _row(session, result.comment_id).appeal_id)
        assert appeal is not None
        appeal.answer_text = (
            "Маршрут 92 продлён до микрорайона Алатау. Вопросы — по телефону 8 701 555 12 34."
        )
        session.commit()
        event = events.status_changed(appeal.id, Status.ANSWERED.value, Status.CLOSED.value)
        handle_events([event])
    replies = {
        r.kind: r
        for r in session.scalars(
            select(SocialReply).where(SocialReply.comment_id == result.comment_id)
        )
    }
    answer = replies[ReplyKind.ANSWER]
    assert appeal.tracking_number in answer.text
    assert "продлён до микрорайона Алатау" in answer.text
    assert "555" not in answer.text  # a phone in the answer is masked in public
    with override_settings(doubt_settings):  # the default: nothing is posted at closing
        other = ingest(session, [_incoming("31", DOUBT)])[0]
        moderation.decide(session, comment_id=other.comment_id, decision="appeal", by=operator)
        session.commit()
        second = session.get(Appeal, _row(session, other.comment_id).appeal_id)
        assert second is not None
        handle_events([events.status_changed(second.id, "answered", "closed")])
    kinds = set(
        session.scalars(select(SocialReply.kind).where(SocialReply.comment_id == other.comment_id))
    )
    assert kinds == {ReplyKind.RECEIPT}

"""The operators' monitoring page (/staff/social): the stream per post, the filters, the
moderation buttons and the reply-time KPI, in Russian and Kazakh (issue 18)."""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from social_support import doubt_settings, make_client, social_model_dir  # noqa: F401
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from appeals.models import Appeal
from channels.social.models import (
    CommentState,
    Platform,
    ReplyKind,
    SocialComment,
    SocialReply,
)
from channels.social.service import IncomingComment, ingest
from core.clock import frozen, now
from core.settings import Settings, override_settings
from tests.conftest import hidden_field, staff_sign_in

POST = "С 1 ноября меняется схема движения автобусного маршрута №92."
OTHER_POST = "В парке Горького открылся каток."
DOUBT = "А пенсионерам теперь как ездить, льготы на 92 остаются или нет?"


@pytest.fixture
def client(connection: Connection, doubt_settings: Settings) -> Iterator[Any]:  # noqa: F811
    yield from make_client(connection, doubt_settings)


def _comment(external_id: str, text: str, *, post: str = "1", **extra: Any) -> IncomingComment:
    fields: dict[str, Any] = {
        "platform": Platform.TELEGRAM,
        "account_id": "-100200",
        "external_id": f"-100200:{external_id}",
        "post_external_id": f"-100200:{post}",
        "text": text,
        "created_at": now(),
        "author_id": f"42{external_id}",
        "author_handle": f"@reader{external_id}",
        "post_text": POST if post == "1" else OTHER_POST,
    }
    fields.update(extra)
    return IncomingComment(**fields)


def _operator(client: Any, make_user: Any) -> Any:
    operator, password = make_user("operator")
    staff_sign_in(client, operator, password, next_path="/staff/social")
    return operator


def _state(session: Session, comment_id: int) -> CommentState:
    row = session.get(SocialComment, comment_id, populate_existing=True)
    assert row is not None
    return row.state


def test_the_stream_in_russian_and_kazakh_with_its_filters(
    client: Any, session: Session, make_user: Any
) -> None:
    _doubtful, skating = ingest(
        session,
        [_comment("1", DOUBT), _comment("2", "Каток когда заливать будут на Жандосова?", post="2")],
    )
    row = session.get(SocialComment, skating.comment_id)
    assert row is not None
    row.state = CommentState.NOT_APPEAL
    session.commit()
    _operator(client, make_user)

    page = client.get("/staff/social", params={"lang": "ru"})
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "Мониторинг соцсетей" in text and 'href="/staff/social" aria-current="page"' in text
    assert DOUBT in text and "@reader1" in text and "Каток когда заливать" in text
    assert "Это обращение" in text and "Не обращение" in text and "Ответить без обращения" in text
    assert "Сомнительные (1)" in text and "Не обращения (1)" in text and "Все (2)" in text
    assert "Время до первого ответа под комментарием" in text

    only_doubtful = html.unescape(client.get("/staff/social", params={"state": "doubtful"}).text)
    assert DOUBT in only_doubtful and "Каток когда заливать" not in only_doubtful
    post_id = session.scalar(select(SocialComment.post_id).where(SocialComment.id == row.id))
    by_post = html.unescape(client.get("/staff/social", params={"post": post_id}).text)
    assert "Каток когда заливать" in by_post and DOUBT not in by_post

    kazakh = html.unescape(client.get("/staff/social", params={"lang": "kk"}).text)
    assert "Әлеуметтік желілер мониторингі" in kazakh and "Бұл — өтініш" in kazakh
    assert "Күмәнді (1)" in kazakh and "Өтінішсіз жауап беру" in kazakh
    assert "Это обращение" not in kazakh


def test_an_operator_decides_from_the_page(client: Any, session: Session, make_user: Any) -> None:
    first, second, third = ingest(
        session,
        [
            _comment("1", DOUBT),
            _comment("2", DOUBT + " Где схема?"),
            _comment("3", "А до Алатау 92-й дальше ходит?"),
        ],
    )
    session.commit()
    operator = _operator(client, make_user)
    csrf = hidden_field(client.get("/staff/social").text, "csrf")

    made = client.post(
        f"/staff/social/{first.comment_id}/decision",
        data={"csrf": csrf, "decision": "appeal", "back_state": "doubtful"},
        follow_redirects=False,
    )
    assert made.status_code == 303
    assert made.headers["location"] == "/staff/social?state=doubtful&done=appeal"
    assert _state(session, first.comment_id) is CommentState.APPEAL
    tracking = session.scalar(
        select(Appeal.tracking_number)
        .join(SocialComment, SocialComment.appeal_id == Appeal.id)
        .where(SocialComment.id == first.comment_id)
    )
    shown = html.unescape(client.get(made.headers["location"]).text)
    assert "Комментарий зарегистрирован как обращение" in shown

    everything = client.get("/staff/social").text
    assert tracking is not None and tracking in everything

    empty = client.post(
        f"/staff/social/{second.comment_id}/decision",
        data={"csrf": csrf, "decision": "answer", "reply_text": "  "},
        follow_redirects=False,
    )
    assert empty.headers["location"].endswith("error=invalid_reply")
    said = html.unescape(client.get(empty.headers["location"] + "&lang=kk").text)
    assert "Жауап 1 мен 1000 таңба аралығында болуы керек." in said
    assert _state(session, second.comment_id) is CommentState.DOUBTFUL

    answer = "Льготы сохраняются, схема — на сайте акимата."
    client.post(
        f"/staff/social/{second.comment_id}/decision",
        data={"csrf": csrf, "decision": "answer", "reply_text": answer},
        follow_redirects=False,
    )
    assert _state(session, second.comment_id) is CommentState.ANSWERED
    reply = session.scalar(select(SocialReply).where(SocialReply.comment_id == second.comment_id))
    assert reply is not None and reply.kind is ReplyKind.OPERATOR and reply.text == answer
    assert reply.created_by_id == operator.id

    client.post(
        f"/staff/social/{third.comment_id}/decision",
        data={"csrf": csrf, "decision": "not_appeal"},
        follow_redirects=False,
    )
    assert _state(session, third.comment_id) is CommentState.NOT_APPEAL

    again = client.post(
        f"/staff/social/{first.comment_id}/decision",
        data={"csrf": csrf, "decision": "not_appeal"},
        follow_redirects=False,
    )
    assert again.headers["location"].endswith("error=already_an_appeal")


def test_forms_without_the_token_and_other_roles_are_refused(
    client: Any, session: Session, make_user: Any
) -> None:
    (only,) = ingest(session, [_comment("1", DOUBT)])
    session.commit()
    _operator(client, make_user)
    forged = client.post(
        f"/staff/social/{only.comment_id}/decision",
        data={"csrf": "forged", "decision": "appeal"},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert _state(session, only.comment_id) is CommentState.DOUBTFUL

    executor, password = make_user("executor", "almaty-su")
    staff_sign_in(client, executor, password, next_path="/staff/appeals")
    refused = client.get("/staff/social")
    assert refused.status_code == 403 and DOUBT not in refused.text
    assert "Мониторинг соцсетей доступен операторам" in html.unescape(refused.text)
    assert 'href="/staff/social"' not in client.get("/staff/appeals").text


def test_the_kpi_shows_the_median_of_working_hours_to_the_first_reply(
    client: Any, session: Session, make_user: Any
) -> None:
    (only,) = ingest(session, [_comment("1", DOUBT)])
    row = session.get(SocialComment, only.comment_id)
    assert row is not None
    # Wednesday 2 December 2026, 10:00 in Almaty, answered 30 minutes later.
    row.created_at = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)
    row.first_public_reply_at = row.created_at + timedelta(minutes=30)
    row.state = CommentState.ANSWERED
    session.commit()
    _operator(client, make_user)
    with frozen(datetime(2026, 12, 4, 6, 0, tzinfo=UTC)):
        russian = html.unescape(client.get("/staff/social", params={"lang": "ru"}).text)
        kazakh = html.unescape(client.get("/staff/social", params={"lang": "kk"}).text)
    assert "Медиана за 30 дней: 0,50 ч рабочего времени" in russian
    assert "цель достигнута" in russian and "Отвечено: 1; ждут ответа: 0" in russian
    assert "Соңғы 30 күндегі медиана: 0,50 жұмыс сағаты" in kazakh
    assert "мақсат орындалды" in kazakh


def test_a_bad_account_entry_stops_the_start_and_names_it(settings: Settings) -> None:
    from channels.social.config import ConfigError
    from civicdesk.app import create_app

    bad = settings.model_copy(
        update={"social_accounts": [{"platform": "instagram", "id": "1"}, {"platform": "x"}]}
    )
    with override_settings(bad), pytest.raises(ConfigError, match="account 1"):
        create_app(bad)

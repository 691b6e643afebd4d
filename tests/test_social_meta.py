"""Instagram and Facebook Pages end to end: signed webhooks, the Graph poller, our replies.

A local Graph API (tests/fakes/meta_graph_api.py) plays Meta: it signs webhook deliveries
with the app secret and POSTs them to our app, serves posts and comment pages with Graph's
cursors, and receives our public and private replies with Graph's error codes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes import meta_graph_api as fb
from social_support import make_client, social_model_dir, social_settings  # noqa: F401
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from appeals.models import Appeal, Channel, CitizenMerge
from channels.social import jobs as social_jobs
from channels.social import poller
from channels.social.models import (
    CommentState,
    ReplyKind,
    ReplyState,
    SocialComment,
    SocialHandle,
    SocialPost,
    SocialReply,
)
from core.clock import now
from core.settings import Settings, override_settings

MEDIA = "17895695668004550"
FB_POST = f"{fb.PAGE_ID}_1172638473512"
POST_TEXT = "Завершён ремонт дороги по улице Абая на участке от Байзакова до Радостовца."
SARCASM = "спасибо акимат за очередную яму на Жандосова 👏"
PRAISE = "Молодцы! Наконец-то нормальная дорога 👍"


@pytest.fixture
def graph() -> Iterator[fb.FakeMetaGraphAPI]:
    with fb.FakeMetaGraphAPI() as server:
        server.add_post(MEDIA, "instagram", POST_TEXT)
        server.add_post(FB_POST, "facebook", POST_TEXT)
        yield server


@pytest.fixture
def meta_settings(
    settings: Settings,
    graph: fb.FakeMetaGraphAPI,
    social_model_dir: Path,  # noqa: F811
) -> Iterator[Settings]:
    current = social_settings(
        settings,
        social_model_dir,
        social_meta_app_secret=fb.APP_SECRET,
        social_meta_verify_token=fb.VERIFY_TOKEN,
        social_graph_base=graph.graph_base,
        social_accounts=[
            {
                "platform": "instagram",
                "id": fb.IG_USER_ID,
                "token": fb.ACCESS_TOKEN,
                "name": "almaty_akimdik",
                "page_id": fb.PAGE_ID,
            },
            {
                "platform": "facebook",
                "id": fb.PAGE_ID,
                "token": fb.ACCESS_TOKEN,
                "name": "Акимат Алматы",
            },
        ],
        social_poll_recent_posts=5,
    )
    with override_settings(current):
        yield current


@pytest.fixture
def client(connection: Connection, meta_settings: Settings) -> Iterator[Any]:
    yield from make_client(connection, meta_settings)


def _comment(session: Session, external_id: str) -> SocialComment:
    row = session.scalar(
        select(SocialComment)
        .where(SocialComment.external_id == external_id)
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


def _replies(session: Session, comment: SocialComment) -> dict[ReplyKind, SocialReply]:
    rows = session.scalars(
        select(SocialReply)
        .where(SocialReply.comment_id == comment.id)
        .execution_options(populate_existing=True)
    )
    return {row.kind: row for row in rows}


def test_the_handshake_answers_the_challenge_only_with_our_verify_token(client: Any) -> None:
    params = {"hub.mode": "subscribe", "hub.challenge": "1158201444"}
    good = client.get("/webhooks/meta", params={**params, "hub.verify_token": fb.VERIFY_TOKEN})
    assert good.status_code == 200
    assert good.text == "1158201444"
    bad = client.get("/webhooks/meta", params={**params, "hub.verify_token": "guess"})
    assert bad.status_code == 403


@pytest.mark.parametrize("signature", ["", "sha256=00ff", "sha1=abc"])
def test_an_unsigned_or_wrongly_signed_delivery_is_refused_and_logged_without_content(
    client: Any,
    graph: fb.FakeMetaGraphAPI,
    session: Session,
    signature: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    graph.add_comment(MEDIA, "17900000000000001", SARCASM)
    payload = fb.instagram_comment(media_id=MEDIA, comment_id="17900000000000001", text=SARCASM)
    with caplog.at_level(logging.DEBUG):
        response = graph.deliver(client, payload, signature=signature)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_signature"
    assert session.scalar(select(func.count()).select_from(SocialComment)) == 0
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "refused" in logged
    assert "Жандосова" not in logged and "aigerim" not in logged


def test_a_delivery_signed_with_another_secret_is_refused(
    client: Any, graph: fb.FakeMetaGraphAPI
) -> None:
    payload = fb.instagram_comment(media_id=MEDIA, comment_id="179001", text=SARCASM)
    import json

    raw = json.dumps(payload, ensure_ascii=False).encode()
    response = graph.deliver(client, payload, signature=graph.sign(raw, "another-app-secret"))
    assert response.status_code == 401


def test_an_instagram_comment_that_is_an_appeal_gets_a_public_receipt_and_a_private_reply(
    client: Any, graph: fb.FakeMetaGraphAPI, session: Session
) -> None:
    graph.add_comment(
        MEDIA, "17900000000000002", SARCASM, user_id="1784140001", username="erlan.kz"
    )
    payload = fb.instagram_comment(
        media_id=MEDIA,
        comment_id="17900000000000002",
        text=SARCASM,
        user_id="1784140001",
        username="erlan.kz",
    )
    response = graph.deliver(client, payload)
    assert response.status_code == 200, response.text

    comment = _comment(session, "17900000000000002")
    assert comment.state is CommentState.APPEAL
    assert comment.author_handle == "@erlan.kz"
    assert comment.via_webhook and not comment.via_poll
    appeal = session.get(Appeal, comment.appeal_id)
    assert appeal is not None
    assert appeal.channel is Channel.SOCIAL
    assert appeal.external_id == "instagram:17900000000000002"
    assert SARCASM in appeal.text
    assert POST_TEXT[:40] in appeal.text  # the post, read once through Graph, is the context

    public = [r for r in graph.replies if r["target"] == "17900000000000002"]
    assert len(public) == 1
    assert appeal.tracking_number in public[0]["message"]
    assert "15 рабочих дней" in public[0]["message"]
    assert "erlan" not in public[0]["message"]  # no personal data in public
    assert graph.private_replies[0]["comment_id"] == "17900000000000002"
    assert graph.private_replies[0]["page"] == fb.PAGE_ID
    replies = _replies(session, comment)
    assert replies[ReplyKind.RECEIPT].state is ReplyState.SENT
    assert replies[ReplyKind.RECEIPT].provider_id == public[0]["id"]
    assert replies[ReplyKind.PHONE_REQUEST].state is ReplyState.SENT
    assert comment.first_public_reply_at is not None


def test_a_kazakh_comment_is_answered_in_kazakh(
    client: Any, graph: fb.FakeMetaGraphAPI, session: Session
) -> None:
    text = "Шаңырақ-2 де жол жоқ, жаңбыр жауса балшық, балалар мектепке бара алмайды"
    graph.add_comment(MEDIA, "17900000000000003", text)
    graph.deliver(
        client, fb.instagram_comment(media_id=MEDIA, comment_id="17900000000000003", text=text)
    )
    comment = _comment(session, "17900000000000003")
    assert comment.language == "kk"
    assert comment.state is CommentState.APPEAL
    message = next(r for r in graph.replies if r["target"] == "17900000000000003")["message"]
    assert "Өтінішіңіз тіркелді" in message


def test_praise_is_stored_and_shown_but_is_no_appeal_and_gets_no_reply(
    client: Any, graph: fb.FakeMetaGraphAPI, session: Session
) -> None:
    graph.deliver(client, fb.instagram_comment(media_id=MEDIA, comment_id="179004", text=PRAISE))
    comment = _comment(session, "179004")
    assert comment.state is CommentState.NOT_APPEAL
    assert comment.appeal_id is None
    assert graph.replies == [] and graph.private_replies == []


def test_the_accounts_own_comment_is_left_out(
    client: Any, graph: fb.FakeMetaGraphAPI, session: Session
) -> None:
    payload = fb.instagram_comment(
        media_id=MEDIA, comment_id="179005", text=SARCASM, user_id=fb.IG_USER_ID
    )
    assert graph.deliver(client, payload).status_code == 200
    assert session.scalar(select(func.count()).select_from(SocialComment)) == 0


def test_a_redelivered_comment_is_one_contact_and_one_reply(
    client: Any, graph: fb.FakeMetaGraphAPI, session: Session
) -> None:
    graph.add_comment(MEDIA, "179006", SARCASM)
    payload = fb.instagram_comment(media_id=MEDIA, comment_id="179006", text=SARCASM)
    graph.deliver(client, payload)
    graph.deliver(client, payload)
    assert session.scalar(select(func.count()).select_from(SocialComment)) == 1
    assert (
        session.scalar(
            select(func.count()).select_from(Appeal).where(Appeal.external_id == "instagram:179006")
        )
        == 1
    )
    assert len([r for r in graph.replies if r["target"] == "179006"]) == 1


def test_the_same_comment_by_webhook_and_poller_is_one_appeal(
    client: Any, graph: fb.FakeMetaGraphAPI, session: Session, meta_settings: Settings
) -> None:
    graph.add_comment(MEDIA, "179007", SARCASM)
    graph.deliver(client, fb.instagram_comment(media_id=MEDIA, comment_id="179007", text=SARCASM))
    report = poller.poll(meta_settings)
    assert report.comments_read >= 1
    comment = _comment(session, "179007")
    assert comment.via_webhook and comment.via_poll
    assert (
        session.scalar(
            select(func.count()).select_from(Appeal).where(Appeal.channel == Channel.SOCIAL)
        )
        == 1
    )
    assert len([r for r in graph.replies if r["target"] == "179007"]) == 1


def test_the_poller_finds_what_webhooks_missed_page_by_page_and_keeps_its_cursor(
    client: Any, graph: fb.FakeMetaGraphAPI, session: Session, meta_settings: Settings
) -> None:
    start = time.time() - 3000
    for i in range(250):  # three pages of 100 on the Instagram post
        graph.add_comment(MEDIA, f"1790{i:06d}", f"Молодцы! {i}", at=start + i)
    settings = meta_settings.model_copy(update={"social_poll_max_pages": 2})
    with override_settings(settings):
        first = poller.poll(settings)
    stored = session.scalar(select(func.count()).select_from(SocialComment))
    assert stored == 200  # the pass stopped after two pages...
    post = session.scalar(
        select(SocialPost)
        .where(SocialPost.external_id == MEDIA)
        .execution_options(populate_existing=True)
    )
    assert post is not None and post.poll_after is not None  # ...and kept Graph's cursor
    assert post.text == POST_TEXT
    with override_settings(settings):
        second = poller.poll(settings)
    assert session.scalar(select(func.count()).select_from(SocialComment)) == 250
    assert first.comments_new == 200 and second.comments_new == 50
    post = session.scalar(
        select(SocialPost)
        .where(SocialPost.external_id == MEDIA)
        .execution_options(populate_existing=True)
    )
    assert post is not None and post.poll_after is None and post.poll_seen_until is not None

    graph.add_comment(MEDIA, "1799999999", SARCASM, at=time.time())
    before = len(graph.reads)
    with override_settings(settings):
        third = poller.poll(settings)
    assert third.comments_new == 1
    media_reads = [r for r in graph.reads[before:] if f"/{MEDIA}/comments" in r]
    assert len(media_reads) == 1  # the cursor: one page, stopped at what it had seen
    assert _comment(session, "1799999999").state is CommentState.APPEAL


def test_a_facebook_page_comment_and_a_visitor_post_become_contacts(
    client: Any, graph: fb.FakeMetaGraphAPI, session: Session
) -> None:
    comment_id = f"{FB_POST.split('_')[1]}_5551"
    graph.add_comment(FB_POST, comment_id, SARCASM, user_id="68123", username="Ерлан Сапаров")
    payload = fb.page_feed(
        item="comment",
        verb="add",
        post_id=FB_POST,
        comment_id=comment_id,
        message=SARCASM,
        user_id="68123",
    )
    assert graph.deliver(client, payload).status_code == 200
    comment = _comment(session, comment_id)
    assert comment.state is CommentState.APPEAL
    assert comment.author_handle == "Ерлан Сапаров"
    reply = next(r for r in graph.replies if r["target"] == comment_id)
    assert reply["kind"] == "facebook_comment"
    assert graph.private_replies == []  # the private reply is Instagram's

    visitor_post = f"{fb.PAGE_ID}_99001"
    graph.add_post(visitor_post, "facebook", "")
    text = "Во дворе дома 17 по Жубанова третий день не вывозят мусор, контейнеры переполнены"
    graph.deliver(
        client, fb.page_feed(item="status", verb="add", post_id=visitor_post, message=text)
    )
    post_comment = _comment(session, visitor_post)
    assert post_comment.is_post and post_comment.state is CommentState.APPEAL
    assert any(r["target"] == visitor_post for r in graph.replies)


def test_edits_update_and_deletions_mark_the_comment(
    client: Any, graph: fb.FakeMetaGraphAPI, session: Session
) -> None:
    comment_id = f"{FB_POST.split('_')[1]}_5552"
    graph.add_comment(FB_POST, comment_id, PRAISE)
    graph.deliver(
        client,
        fb.page_feed(
            item="comment", verb="add", post_id=FB_POST, comment_id=comment_id, message=PRAISE
        ),
    )
    assert _comment(session, comment_id).state is CommentState.NOT_APPEAL
    edited = "Молодцы, только на Момышулы возле рынка яма огромная третий год, сделайте"
    graph.deliver(
        client,
        fb.page_feed(
            item="comment", verb="edited", post_id=FB_POST, comment_id=comment_id, message=edited
        ),
    )
    comment = _comment(session, comment_id)
    assert comment.text == edited and comment.edited_at is not None
    assert comment.state is CommentState.APPEAL  # edited into a complaint: now an appeal
    graph.deliver(
        client, fb.page_feed(item="comment", verb="remove", post_id=FB_POST, comment_id=comment_id)
    )
    comment = _comment(session, comment_id)
    assert comment.deleted_at is not None
    assert session.get(Appeal, comment.appeal_id) is not None  # an accepted appeal stays


def test_a_mention_on_someone_elses_media_is_read_by_its_id_and_answered_there(
    client: Any, graph: fb.FakeMetaGraphAPI, session: Session
) -> None:
    graph.add_post("18011112222", "instagram", "Вид из окна")
    graph.add_comment(
        "18011112222",
        "17955550001",
        "@almaty_akimdik на Саина 30 кран гремит всю ночь, стройка метро, спать невозможно",
    )
    graph.deliver(client, fb.instagram_mention(comment_id="17955550001", media_id="18011112222"))
    comment = _comment(session, "17955550001")
    assert comment.state is CommentState.APPEAL
    reply = next(r for r in graph.replies if r["target"] == "17955550001")
    assert reply["kind"] == "instagram_mention_reply"
    assert reply["media_id"] == "18011112222"


def test_throttling_is_retried_later_and_a_gone_comment_fails_with_its_code(
    client: Any, graph: fb.FakeMetaGraphAPI, session: Session, meta_settings: Settings
) -> None:
    graph.add_comment(MEDIA, "179010", SARCASM)
    graph.fail(
        "/179010/replies", code=4, message="(#4) Application request limit reached", transient=True
    )
    graph.deliver(client, fb.instagram_comment(media_id=MEDIA, comment_id="179010", text=SARCASM))
    comment = _comment(session, "179010")
    receipt = _replies(session, comment)[ReplyKind.RECEIPT]
    assert receipt.state is ReplyState.PENDING
    assert receipt.attempts == 1 and receipt.last_error and "code 4" in receipt.last_error
    assert receipt.next_attempt_at is not None and receipt.next_attempt_at > now()
    session.execute(
        SocialReply.__table__.update()
        .where(SocialReply.id == receipt.id)
        .values(next_attempt_at=now())
    )
    session.commit()
    social_jobs.sweep(meta_settings, with_poll=False)
    receipt = _replies(session, comment)[ReplyKind.RECEIPT]
    assert receipt.state is ReplyState.SENT and receipt.attempts == 2
    assert len([r for r in graph.replies if r["target"] == "179010"]) == 1

    graph.add_comment(MEDIA, "179011", SARCASM)
    graph.fail(
        "/179011/replies",
        code=100,
        subcode=33,
        message="Unsupported post request. Object with ID '179011' does not exist",
    )
    graph.deliver(client, fb.instagram_comment(media_id=MEDIA, comment_id="179011", text=SARCASM))
    failed = _replies(session, _comment(session, "179011"))[ReplyKind.RECEIPT]
    assert failed.state is ReplyState.FAILED
    assert failed.last_error == "graph 400 code 100/33"


def test_the_workers_relay_pass_sends_due_retries_and_polls(
    client: Any,
    graph: fb.FakeMetaGraphAPI,
    session: Session,
    meta_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from civicdesk.worker import relay_pass

    graph.add_comment(MEDIA, "179030", SARCASM)
    graph.fail("/179030/replies", code=4, message="(#4) Application request limit reached")
    graph.deliver(client, fb.instagram_comment(media_id=MEDIA, comment_id="179030", text=SARCASM))
    receipt = _replies(session, _comment(session, "179030"))[ReplyKind.RECEIPT]
    assert receipt.state is ReplyState.PENDING
    session.execute(
        SocialReply.__table__.update()
        .where(SocialReply.id == receipt.id)
        .values(next_attempt_at=now())
    )
    session.commit()
    graph.add_comment(MEDIA, "179031", "Когда уберут мусор во дворе на Жандосова 12?")
    monkeypatch.setattr(social_jobs, "_last_poll", 0.0)  # the poll interval has passed

    relay_pass(meta_settings)  # one round of `civicdesk worker`'s relay loop

    receipt = _replies(session, _comment(session, "179030"))[ReplyKind.RECEIPT]
    assert receipt.state is ReplyState.SENT and receipt.attempts == 2
    polled = _comment(session, "179031")
    assert polled.via_poll and not polled.via_webhook


def test_a_private_reply_outside_instagrams_window_is_recorded_as_failed(
    client: Any, graph: fb.FakeMetaGraphAPI, session: Session
) -> None:
    old = time.time() - 8 * 24 * 3600
    graph.add_comment(MEDIA, "179012", SARCASM, at=old)
    graph.deliver(
        client, fb.instagram_comment(media_id=MEDIA, comment_id="179012", text=SARCASM, at=old)
    )
    replies = _replies(session, _comment(session, "179012"))
    assert replies[ReplyKind.RECEIPT].state is ReplyState.SENT
    assert replies[ReplyKind.PHONE_REQUEST].state is ReplyState.FAILED
    assert replies[ReplyKind.PHONE_REQUEST].last_error == "graph 400 code 10/2534022"


def test_a_phone_sent_in_a_direct_message_links_the_handle_to_the_phones_citizen(
    client: Any, graph: fb.FakeMetaGraphAPI, session: Session, submit_appeal: Any
) -> None:
    earlier = submit_appeal(channel=Channel.PORTAL)  # the phone's citizen (+77011234567)
    for comment_id in ("179013", "179014"):
        graph.add_comment(MEDIA, comment_id, SARCASM, user_id="1784149999", username="sanzhar")
        graph.deliver(
            client,
            fb.instagram_comment(
                media_id=MEDIA,
                comment_id=comment_id,
                text=SARCASM,
                user_id="1784149999",
                username="sanzhar",
            ),
        )
    first, second = _comment(session, "179013"), _comment(session, "179014")
    merges = session.scalars(select(CitizenMerge).where(CitizenMerge.reason == "social_handle"))
    assert len(list(merges)) == 1  # the second appeal's record joined the handle's citizen
    assert len(graph.private_replies) == 1  # the author is asked for a phone once
    assert graph.private_replies[0]["comment_id"] == "179013"

    graph.deliver(
        client, fb.instagram_message(sender_id="1784149999", text="мой номер 8 701 123 45 67")
    )
    handle = session.scalar(
        select(SocialHandle)
        .where(SocialHandle.author_id == "1784149999")
        .execution_options(populate_existing=True)
    )
    assert handle is not None and handle.phone_linked_at is not None
    assert handle.citizen_id == earlier.citizen_id
    from intake.repeats.identity import group_ids

    group = set(group_ids(session, earlier.citizen_id))
    for comment in (first, second):
        appeal = session.get(Appeal, comment.appeal_id)
        assert appeal is not None and appeal.citizen_id in group

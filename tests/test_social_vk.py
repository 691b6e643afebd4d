"""VK's Callback API end to end: confirmation, the secret, comments and posts, our replies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes import vk_api as vk
from social_support import make_client, social_model_dir, social_settings  # noqa: F401
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from appeals.models import Appeal
from channels.social.models import (
    CommentState,
    ReplyKind,
    ReplyState,
    SocialComment,
    SocialPost,
    SocialReply,
)
from core.settings import Settings, override_settings

POST = 4471
POST_TEXT = "Коммунальные службы всю ночь убирали снег: на улицы вышли 800 единиц техники."
COMPLAINT = "800 единиц техники, ага. У нас на Калкамане ни одной не видели 😂 Дорога как каток"


@pytest.fixture
def api() -> Iterator[vk.FakeVkAPI]:
    with vk.FakeVkAPI() as server:
        yield server


@pytest.fixture
def vk_settings(
    settings: Settings,
    api: vk.FakeVkAPI,
    social_model_dir: Path,  # noqa: F811
) -> Iterator[Settings]:
    current = social_settings(
        settings,
        social_model_dir,
        social_vk_group_id=vk.GROUP_ID,
        social_vk_confirmation=vk.CONFIRMATION,
        social_vk_secret=vk.SECRET,
        social_vk_access_token=vk.ACCESS_TOKEN,
        social_vk_api_base=api.api_base,
        social_vk_api_version=vk.API_VERSION,
    )
    with override_settings(current):
        yield current


@pytest.fixture
def client(connection: Connection, vk_settings: Settings) -> Iterator[Any]:
    yield from make_client(connection, vk_settings)


def _comment(session: Session, key: str) -> SocialComment:
    row = session.scalar(
        select(SocialComment)
        .where(SocialComment.external_id == key)
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


def test_the_confirmation_event_is_answered_with_the_configured_string(client: Any) -> None:
    response = vk.deliver(client, vk.event("confirmation", None, secret=None))
    assert response.status_code == 200
    assert response.text == vk.CONFIRMATION
    other = vk.deliver(client, vk.event("confirmation", None, secret=None, group_id=1))
    assert other.status_code == 403


def test_an_event_without_the_secret_or_with_a_wrong_one_is_refused(
    client: Any, session: Session
) -> None:
    obj = vk.wall_reply(comment_id=11, post_id=POST, text=COMPLAINT)
    for secret in (None, "guess"):
        response = vk.deliver(client, vk.event("wall_reply_new", obj, secret=secret))
        assert response.status_code == 401
    assert session.scalar(select(func.count()).select_from(SocialComment)) == 0
    assert vk.deliver(client, {"type": "wall_reply_new"}).status_code == 400  # no group_id


def test_a_comment_under_the_communitys_post_becomes_an_appeal_answered_on_the_wall(
    client: Any, api: vk.FakeVkAPI, session: Session
) -> None:
    assert (
        vk.deliver(
            client, vk.event("wall_post_new", vk.wall_post(post_id=POST, text=POST_TEXT))
        ).text
        == "ok"
    )
    response = vk.deliver(
        client,
        vk.event("wall_reply_new", vk.wall_reply(comment_id=12, post_id=POST, text=COMPLAINT)),
    )
    assert response.status_code == 200 and response.text == "ok"
    comment = _comment(session, f"-{vk.GROUP_ID}_12")
    assert comment.state is CommentState.APPEAL
    assert comment.author_handle == "vk.com/id712345678"
    appeal = session.get(Appeal, comment.appeal_id)
    assert appeal is not None and appeal.external_id == f"vk:-{vk.GROUP_ID}_12"
    assert POST_TEXT[:30] in appeal.text  # the community's post is the comment's context
    assert len(api.comments) == 1
    sent = api.comments[0]
    assert sent["owner_id"] == f"-{vk.GROUP_ID}" and sent["post_id"] == str(POST)
    assert sent["reply_to_comment"] == "12" and sent["from_group"] == str(vk.GROUP_ID)
    assert appeal.tracking_number in sent["message"]
    reply = session.scalar(select(SocialReply).where(SocialReply.comment_id == comment.id))
    assert reply is not None and reply.state is ReplyState.SENT
    assert reply.provider_id == f"-{vk.GROUP_ID}_{sent['comment_id']}"
    assert (
        session.scalar(
            select(func.count())
            .select_from(SocialReply)
            .where(SocialReply.kind == ReplyKind.PHONE_REQUEST)
        )
        == 0
    )  # no private reply on VK


def test_the_communitys_own_replies_and_repeated_events_are_not_counted_twice(
    client: Any, api: vk.FakeVkAPI, session: Session
) -> None:
    own = vk.wall_reply(comment_id=13, post_id=POST, text="Спасибо, передали", from_id=-vk.GROUP_ID)
    vk.deliver(client, vk.event("wall_reply_new", own))
    assert session.scalar(select(func.count()).select_from(SocialComment)) == 0
    obj = vk.wall_reply(comment_id=14, post_id=POST, text=COMPLAINT)
    vk.deliver(client, vk.event("wall_reply_new", obj))
    vk.deliver(client, vk.event("wall_reply_new", obj))  # VK retries with the same object
    assert session.scalar(select(func.count()).select_from(SocialComment)) == 1
    assert len(api.comments) == 1


def test_edits_deletions_and_a_visitors_post_on_the_wall(
    client: Any, api: vk.FakeVkAPI, session: Session
) -> None:
    vk.deliver(
        client, vk.event("wall_reply_new", vk.wall_reply(comment_id=15, post_id=POST, text="👍👍"))
    )
    assert _comment(session, f"-{vk.GROUP_ID}_15").state is CommentState.NOT_APPEAL
    edited = vk.wall_reply(
        comment_id=15,
        post_id=POST,
        text="Во дворе на Утепова 34 прорвало трубу, вода хлещет с утра",
    )
    vk.deliver(client, vk.event("wall_reply_edit", edited))
    comment = _comment(session, f"-{vk.GROUP_ID}_15")
    assert comment.edited_at is not None and comment.state is CommentState.APPEAL
    delete = {"owner_id": -vk.GROUP_ID, "id": 15, "deleter_id": 712345678, "post_id": POST}
    vk.deliver(client, vk.event("wall_reply_delete", delete))
    assert _comment(session, f"-{vk.GROUP_ID}_15").deleted_at is not None

    text = "В Алгабасе до сих пор нет газа, на приёме обещали к осени, уже зима"
    vk.deliver(
        client, vk.event("wall_post_new", vk.wall_post(post_id=4480, text=text, from_id=7001))
    )
    post_comment = _comment(session, f"-{vk.GROUP_ID}_4480")
    assert post_comment.is_post and post_comment.state is CommentState.APPEAL
    post = session.scalar(select(SocialPost).where(SocialPost.id == post_comment.post_id))
    assert post is not None and post.by_visitor
    assert any("reply_to_comment" not in c and c["post_id"] == "4480" for c in api.comments)


def test_vk_throttling_is_retried_and_an_access_error_fails(
    client: Any, api: vk.FakeVkAPI, session: Session, vk_settings: Settings
) -> None:
    api.fail(6, "Too many requests per second")
    vk.deliver(
        client,
        vk.event("wall_reply_new", vk.wall_reply(comment_id=16, post_id=POST, text=COMPLAINT)),
    )
    reply = session.scalar(select(SocialReply).execution_options(populate_existing=True))
    assert reply is not None and reply.state is ReplyState.PENDING
    assert reply.last_error == "vk 6: Too many requests per second"

    api.fail(213, "Access to status replies denied")
    vk.deliver(
        client,
        vk.event("wall_reply_new", vk.wall_reply(comment_id=17, post_id=POST, text=COMPLAINT)),
    )
    comment = _comment(session, f"-{vk.GROUP_ID}_17")
    failed = session.scalar(select(SocialReply).where(SocialReply.comment_id == comment.id))
    assert failed is not None and failed.state is ReplyState.FAILED

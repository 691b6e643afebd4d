"""The WhatsApp bot end to end against a local Graph API that sends signed webhooks.

The fake plays Meta: it signs each webhook with the app secret, POSTs it to our
app, receives our replies on ``/<version>/<phone-number-id>/messages`` and, like
the real service, refuses free-form messages outside the 24-hour window (131047).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fakes import whatsapp_graph_api as wa
from fastapi.testclient import TestClient
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session, sessionmaker

from appeals import actions
from appeals.models import Appeal, Channel, Citizen
from channels.models import BotContact, BotMedia
from channels.senders import Button, OutboundMessage
from channels.whatsapp import webhook as wa_webhook
from channels.whatsapp.sender import WhatsAppSender
from core import db
from core.clock import now
from core.settings import Settings, override_settings
from sla import actions as sla_actions

APPEAL_TEXT = "На остановке у ТРЦ Мега сломан навес, люди стоят под дождём"


@pytest.fixture
def graph() -> Iterator[wa.FakeWhatsAppGraphAPI]:
    with wa.FakeWhatsAppGraphAPI() as server:
        yield server


@pytest.fixture
def wa_settings(settings: Settings, graph: wa.FakeWhatsAppGraphAPI) -> Iterator[Settings]:
    current = settings.model_copy(
        update={
            "whatsapp_verify_token": wa.VERIFY_TOKEN,
            "whatsapp_app_secret": wa.APP_SECRET,
            "whatsapp_access_token": wa.ACCESS_TOKEN,
            "whatsapp_phone_number_id": wa.PHONE_NUMBER_ID,
            "whatsapp_graph_base": graph.graph_base,
            "bot_state_backend": "memory",
        }
    )
    with override_settings(current):
        yield current


@pytest.fixture
def client(connection: Connection, wa_settings: Settings) -> Iterator[TestClient]:
    from channels import bot_state
    from civicdesk.app import create_app

    bot_state._stores.clear()  # each test starts with no unfinished drafts

    app = create_app(wa_settings)
    db._session_factory = sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )
    with TestClient(app) as test_client:
        yield test_client


def _deliver(graph: wa.FakeWhatsAppGraphAPI, client: TestClient, *messages: Any) -> Any:
    response = graph.deliver(client, wa.webhook(messages=list(messages)))
    assert response.status_code == 200, response.text
    return response


def _last_text(graph: wa.FakeWhatsAppGraphAPI) -> str:
    last = graph.sent()[-1]
    if last["type"] == "text":
        return str(last["text"]["body"])
    return str(last["interactive"]["body"]["text"])


def _choices(request: dict[str, Any]) -> list[str]:
    interactive = request["interactive"]
    if interactive["type"] == "button":
        return [b["reply"]["id"] for b in interactive["action"]["buttons"]]
    return [r["id"] for s in interactive["action"]["sections"] for r in s["rows"]]


def test_verification_handshake(client: TestClient) -> None:
    ok = client.get(
        "/webhooks/whatsapp",
        params={
            "hub.mode": "subscribe",
            "hub.verify_token": wa.VERIFY_TOKEN,
            "hub.challenge": "1158201444",
        },
    )
    assert (ok.status_code, ok.text) == (200, "1158201444")
    wrong = client.get(
        "/webhooks/whatsapp",
        params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"},
    )
    assert wrong.status_code == 403


def test_filing_text_image_location(
    client: TestClient, graph: wa.FakeWhatsAppGraphAPI, session: Session
) -> None:
    _deliver(graph, client, wa.text(APPEAL_TEXT))
    assert _choices(graph.sent("interactive")[-1]) == ["lang:ru", "lang:kk"]
    _deliver(graph, client, wa.button_reply("lang:ru", "Русский"))
    assert "draft:send" in _choices(graph.sent()[-1])  # the first text was kept as the draft
    _deliver(graph, client, wa.image(caption="Вот так выглядит навес"))
    _deliver(graph, client, wa.location(43.2020, 76.8925))
    confirm = wa.button_reply("draft:send", "Отправить")
    _deliver(graph, client, confirm)
    appeal = session.scalar(select(Appeal).where(Appeal.external_id == confirm["id"]))
    assert appeal is not None
    assert appeal.channel == Channel.WHATSAPP
    assert appeal.tracking_number in _last_text(graph)
    assert (appeal.latitude, appeal.longitude) == (pytest.approx(43.2020), pytest.approx(76.8925))
    assert "навес" in appeal.text
    citizen = session.get(Citizen, appeal.citizen_id)
    assert citizen is not None and citizen.phone_e164 == "+" + wa.WA_ID  # the wa_id is the phone
    media = session.scalars(select(BotMedia).where(BotMedia.appeal_id == appeal.id)).all()
    assert [(m.channel, m.reference) for m in media] == [("whatsapp", "1003383421387256")]
    # Every reply respected Graph's limits (the fake refuses anything else).
    assert all(r["to"] == wa.WA_ID for r in graph.sent())

    _deliver(graph, client, wa.button_reply("menu:mine", "Мои обращения"))
    assert appeal.tracking_number in _last_text(graph)


def test_bad_signatures_are_refused(client: TestClient, graph: wa.FakeWhatsAppGraphAPI) -> None:
    raw = json.dumps(wa.webhook(messages=[wa.text(APPEAL_TEXT)])).encode()
    forged = client.post(
        "/webhooks/whatsapp",
        content=raw,
        headers={"X-Hub-Signature-256": "sha256=" + "0" * 64},
    )
    unsigned = client.post("/webhooks/whatsapp", content=raw)
    other_secret = wa.FakeWhatsAppGraphAPI(app_secret="someone-elses-secret")
    tampered = client.post(
        "/webhooks/whatsapp", content=raw, headers={"X-Hub-Signature-256": other_secret.sign(raw)}
    )
    assert {forged.status_code, unsigned.status_code, tampered.status_code} == {401}
    assert graph.sent() == []


def test_malformed_payloads(client: TestClient, graph: wa.FakeWhatsAppGraphAPI) -> None:
    raw = b'{"object": "whatsapp_business_account", "entry": ['
    broken = client.post(
        "/webhooks/whatsapp", content=raw, headers={"X-Hub-Signature-256": graph.sign(raw)}
    )
    assert broken.status_code == 400
    shapeless = json.dumps({"object": "page"}).encode()
    wrong_shape = client.post(
        "/webhooks/whatsapp",
        content=shapeless,
        headers={"X-Hub-Signature-256": graph.sign(shapeless)},
    )
    assert wrong_shape.status_code == 400
    # Delivery statuses only: nothing to say back, 200.
    statuses = graph.deliver(client, wa.webhook(statuses=[wa.status("wamid.X", "read")]))
    assert statuses.status_code == 200
    assert graph.sent() == []


def test_redelivered_message_gives_one_appeal_and_one_reply(
    client: TestClient, graph: wa.FakeWhatsAppGraphAPI, session: Session
) -> None:
    _deliver(graph, client, wa.button_reply("lang:ru"))
    _deliver(graph, client, wa.text(APPEAL_TEXT))
    confirm = wa.button_reply("draft:send")
    _deliver(graph, client, confirm)
    after_first = graph.sent()
    _deliver(graph, client, confirm)  # Meta retries a webhook it thinks was lost
    assert graph.sent() == after_first
    count = session.scalar(
        select(func.count()).select_from(Appeal).where(Appeal.external_id == confirm["id"])
    )
    assert count == 1


def test_unsupported_message_gets_a_polite_reply(
    client: TestClient, graph: wa.FakeWhatsAppGraphAPI
) -> None:
    _deliver(graph, client, wa.button_reply("lang:kk"))
    _deliver(graph, client, wa.sticker())
    assert "қабылдай алмаймын" in _last_text(graph)


def test_rating_from_a_list_reply_is_stored(
    client: TestClient, graph: wa.FakeWhatsAppGraphAPI, session: Session, make_user: Any
) -> None:
    from ratings.answers import rating_for

    _deliver(graph, client, wa.button_reply("lang:ru"))
    _deliver(graph, client, wa.text(APPEAL_TEXT))
    confirm = wa.button_reply("draft:send")
    _deliver(graph, client, confirm)
    appeal = session.scalar(select(Appeal).where(Appeal.external_id == confirm["id"]))
    assert appeal is not None
    admin, _ = make_user("admin")
    actions.quick_answer(session, appeal, user=admin, text="Навес заменят до конца недели.")
    session.commit()
    _deliver(graph, client, wa.list_reply(f"rate:{appeal.tracking_number}:2", "2"))
    _deliver(graph, client, wa.text("Долго, но спасибо"))
    session.expire_all()
    rating = rating_for(session, appeal_id=appeal.id)
    assert rating is not None
    assert (rating.score, rating.comment, rating.channel) == (2, "Долго, но спасибо", "whatsapp")


def _sender(wa_settings: Settings) -> WhatsAppSender:
    return WhatsAppSender.from_settings(wa_settings)


def _rating_request(tracking: str) -> OutboundMessage:
    return OutboundMessage(
        channel="whatsapp",
        address=wa.WA_ID,
        text=f"Оцените ответ на обращение {tracking}",
        language="kk",
        buttons=tuple(Button(f"rate:{tracking}:{n}", str(n)) for n in range(1, 6)),
        template="civicdesk_rating_request",
        template_parameters=(tracking,),
    )


def test_inside_the_window_five_choices_go_as_a_list(
    client: TestClient, graph: wa.FakeWhatsAppGraphAPI, wa_settings: Settings
) -> None:
    _deliver(graph, client, wa.button_reply("lang:kk"))  # the citizen wrote: window open
    sender = _sender(wa_settings)
    assert sender.send(_rating_request("2611-ABCDEFGH")).startswith("wamid.")
    sent = graph.sent()[-1]
    assert sent["interactive"]["type"] == "list"
    assert _choices(sent) == [f"rate:2611-ABCDEFGH:{n}" for n in range(1, 6)]
    sender.close()


def test_outside_the_24_hour_window_the_template_is_sent(
    client: TestClient, graph: wa.FakeWhatsAppGraphAPI, wa_settings: Settings, session: Session
) -> None:
    _deliver(graph, client, wa.button_reply("lang:kk"))
    contact = session.scalar(select(BotContact).where(BotContact.address == wa.WA_ID))
    assert contact is not None
    contact.last_inbound_at = now() - timedelta(hours=25)
    session.commit()
    graph.last_user_message[wa.WA_ID] = time.time() - 25 * 3600
    sender = _sender(wa_settings)
    sender.send(_rating_request("2611-ABCDEFGH"))
    sent = graph.sent()[-1]
    assert sent["type"] == "template"
    template = sent["template"]
    assert (template["name"], template["language"]) == ("civicdesk_rating_request", {"code": "kk"})
    assert template["components"][0]["parameters"] == [{"type": "text", "text": "2611-ABCDEFGH"}]
    quick_replies = [c["parameters"][0]["payload"] for c in template["components"][1:]]
    assert quick_replies == [f"rate:2611-ABCDEFGH:{n}" for n in range(1, 6)]
    # Our record thinks the window is open but WhatsApp says it closed: template then.
    contact.last_inbound_at = now()
    session.commit()
    before = len(graph.sent())
    sender.send(_rating_request("2611-ABCDEFGH"))
    assert [r["type"] for r in graph.sent()[before:]] == ["template"]
    sender.close()


def test_template_quick_reply_press_comes_back_as_a_button(
    client: TestClient, graph: wa.FakeWhatsAppGraphAPI
) -> None:
    message = wa.text("x")
    message.pop("text")
    message.update(type="button", button={"payload": "menu:mine", "text": "Мои обращения"})
    inbound = wa_webhook.parse(wa.webhook(messages=[message]))[0][0]
    assert (inbound.kind, inbound.payload) == ("button", "menu:mine")


# --- template messages: Meta's parameter rules --------------------------------------------


def _file(client: TestClient, graph: wa.FakeWhatsAppGraphAPI, session: Session) -> Appeal:
    _deliver(graph, client, wa.button_reply("lang:ru"))
    _deliver(graph, client, wa.text(APPEAL_TEXT))
    confirm = wa.button_reply("draft:send")
    _deliver(graph, client, confirm)
    appeal = session.scalar(select(Appeal).where(Appeal.external_id == confirm["id"]))
    assert appeal is not None
    return appeal


def _close_window(graph: wa.FakeWhatsAppGraphAPI, session: Session) -> None:
    contact = session.scalar(select(BotContact).where(BotContact.address == wa.WA_ID))
    assert contact is not None
    contact.last_inbound_at = now() - timedelta(hours=25)
    session.commit()
    graph.last_user_message[wa.WA_ID] = time.time() - 25 * 3600


def _body_parameters(request: dict[str, Any]) -> list[str]:
    components = request["template"].get("components", [])
    return [p["text"] for c in components if c["type"] == "body" for p in c["parameters"]]


@pytest.mark.parametrize(
    ("parameters", "code"),
    [
        (["2611-ABCDEFGH", "Ответ:\nтруба заменена"], 132018),
        (["2611-ABCDEFGH", "табуляция\tвнутри"], 132018),
        (["2611-ABCDEFGH", "пять     пробелов"], 132018),
        (["2611-ABCDEFGH", ""], 131008),
        (["2611-ABCDEFGH"], 132000),
        (["2611-ABCDEFGH", "длинный ответ " * 80], 132005),
    ],
)
def test_the_fake_graph_refuses_templates_as_meta_does(
    graph: wa.FakeWhatsAppGraphAPI, parameters: list[str], code: int
) -> None:
    import httpx

    body = {
        "messaging_product": "whatsapp",
        "to": wa.WA_ID,
        "type": "template",
        "template": {
            "name": "civicdesk_answer",
            "language": {"code": "ru"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": p} for p in parameters]}
            ],
        },
    }
    response = httpx.post(
        f"{graph.graph_base}/{wa.PHONE_NUMBER_ID}/messages",
        json=body,
        headers={"Authorization": f"Bearer {wa.ACCESS_TOKEN}"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert graph.sent() == []


def test_an_answer_outside_the_window_goes_as_a_template_meta_accepts(
    client: TestClient,
    graph: wa.FakeWhatsAppGraphAPI,
    session: Session,
    make_user: Any,
) -> None:
    from channels.notification_models import DeliveryState, Notification, NotificationKind

    appeal = _file(client, graph, session)
    _close_window(graph, session)
    admin, _ = make_user("admin")
    answer = (
        "Уважаемая заявительница!\n\nНавес\tзаменят     до пятницы.\r\n"
        + "Подробности работ по графику подрядчика. " * 40
    )
    actions.quick_answer(session, appeal, user=admin, text=answer)
    session.commit()
    rows = session.scalars(
        select(Notification)
        .where(Notification.appeal_id == appeal.id)
        .execution_options(populate_existing=True)
    ).all()
    states = {row.kind: row.state for row in rows}
    assert states[NotificationKind.ANSWER] is DeliveryState.SENT
    assert states[NotificationKind.RATING_REQUEST] is DeliveryState.SENT
    answer_template, rating_template = graph.sent("template")
    tracking, text = _body_parameters(answer_template)
    assert tracking == appeal.tracking_number
    assert text.startswith("Уважаемая заявительница! Навес заменят до пятницы. Подробности")
    assert text.endswith("…")  # shortened to fit the 1024-character body
    assert _body_parameters(rating_template) == [appeal.tracking_number]


def test_an_extension_notice_template_names_the_new_due_date(
    client: TestClient,
    graph: wa.FakeWhatsAppGraphAPI,
    session: Session,
    make_user: Any,
) -> None:
    from core.clock import local

    appeal = _file(client, graph, session)
    _close_window(graph, session)
    admin, _ = make_user("admin")
    session.refresh(appeal)
    actions.accept(session, appeal, user=admin)
    assert appeal.due_at is not None
    new_due = appeal.due_at + timedelta(days=10)
    sla_actions.extend(session, appeal, user=admin, new_due=new_due, reason="нужна экспертиза")
    session.commit()
    session.refresh(appeal)
    assert appeal.due_at is not None
    notice = graph.sent("template")[-1]
    tracking, status = _body_parameters(notice)
    assert tracking == appeal.tracking_number
    assert status == f"срок продлён до {local(appeal.due_at):%d.%m.%Y}"


def test_a_long_message_resumes_at_the_part_that_failed(
    client: TestClient,
    graph: wa.FakeWhatsAppGraphAPI,
    session: Session,
    make_user: Any,
    wa_settings: Settings,
) -> None:
    from channels import jobs as channel_jobs
    from channels.notification_models import DeliveryState, Notification, NotificationKind
    from core.clock import frozen

    appeal = _file(client, graph, session)
    first = "Первая часть ответа о замене навеса. " * 90
    second = "Вторая часть ответа о сроках работ. " * 90
    admin, _ = make_user("admin")
    graph.fail(500, 131000, "Something went wrong", after=1)  # the second post, once
    moment = now()
    with frozen(moment):
        actions.quick_answer(session, appeal, user=admin, text=f"{first.strip()}\n{second.strip()}")
        session.commit()

    def answer_row() -> Notification:
        row = session.scalar(
            select(Notification)
            .where(
                Notification.appeal_id == appeal.id, Notification.kind == NotificationKind.ANSWER
            )
            .execution_options(populate_existing=True)
        )
        assert row is not None
        return row

    row = answer_row()
    assert (row.state, row.payload["parts_sent"]) == (DeliveryState.PENDING, 1)
    with frozen(moment + timedelta(seconds=wa_settings.notify_retry_delays_s[0] + 1)):
        channel_jobs.sweep_notifications()
    assert answer_row().state is DeliveryState.SENT
    bodies = [request["text"]["body"] for request in graph.sent("text")]
    assert sum(first.strip() in body for body in bodies) == 1
    assert sum(second.strip() in body for body in bodies) == 1


# --- contacts, doubtful texts, reply retries, long replies ----------------------------------


def test_a_shared_contact_card(
    client: TestClient, graph: wa.FakeWhatsAppGraphAPI, session: Session
) -> None:
    _deliver(graph, client, wa.button_reply("lang:ru"))
    _deliver(graph, client, wa.text(APPEAL_TEXT))
    _deliver(graph, client, wa.contacts("+7 701 123 45 67", card_wa_id=wa.WA_ID))
    assert "Номер телефона сохранён" in _last_text(graph)
    _deliver(graph, client, wa.contacts("+7 702 000 11 22", card_wa_id="77020001122"))
    other = _last_text(graph)
    assert "номер этого WhatsApp уже записан" in other
    assert "Поделиться номером" not in other  # a Telegram-only button
    contact = session.scalar(select(BotContact).where(BotContact.address == wa.WA_ID))
    assert contact is not None and contact.phone_e164 == "+" + wa.WA_ID


def test_a_text_taken_for_no_appeal_can_be_filed_anyway(
    client: TestClient, graph: wa.FakeWhatsAppGraphAPI, session: Session
) -> None:
    _deliver(graph, client, wa.button_reply("lang:kk"))
    spam_like = "Заработок от 500$ в день www.x.ru"
    _deliver(graph, client, wa.text(spam_like))
    offer = graph.sent("interactive")[-1]
    buttons = offer["interactive"]["action"]["buttons"]
    assert buttons[0]["reply"] == {"id": "draft:send", "title": "Бәрібір өтініш беру"}
    confirm = wa.button_reply("draft:send", "Бәрібір өтініш беру")
    _deliver(graph, client, confirm)
    appeal = session.scalar(select(Appeal).where(Appeal.external_id == confirm["id"]))
    assert appeal is not None and appeal.text == spam_like


def test_a_reply_refused_by_graph_is_sent_once_more(
    client: TestClient, graph: wa.FakeWhatsAppGraphAPI
) -> None:
    graph.fail(503, 131016, "Service unavailable")
    _deliver(graph, client, wa.text("меню"))
    assert len(graph.sent()) == 1
    assert _choices(graph.sent()[0]) == ["lang:ru", "lang:kk"]


def test_a_long_reply_goes_as_text_then_the_choice(
    client: TestClient, graph: wa.FakeWhatsAppGraphAPI
) -> None:
    from channels import conversation

    class LongAnswers:
        def answer(self, text: str, language: str) -> str | None:
            return "\n".join(f"{n}. Пункт инструкции о справке в ЦОН." for n in range(150))

    _deliver(graph, client, wa.button_reply("lang:ru"))
    before = len(graph.sent())
    conversation.set_quick_answerer(LongAnswers())
    try:
        _deliver(graph, client, wa.text("Как получить справку о составе семьи?"))
    finally:
        conversation.set_quick_answerer(conversation.NullQuickAnswerer())
    posts = graph.sent()[before:]
    assert [post["type"] for post in posts] == ["text", "text", "interactive"]
    assert "149. Пункт" in posts[1]["text"]["body"]
    assert "draft:send" in _choices(posts[2])

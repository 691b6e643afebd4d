"""Issue 7 part C: the seams between the bots, notifications, ratings and attachments.

The worker's relay loop (and the CLI) delivers notification retries, also without
Redis; refused ratings get a polite reply; bot photos become attachments through
the messengers' real download protocols (local fakes); WhatsApp delivery statuses
land on the notification they are about.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fakes import telegram_bot_api as tg
from fakes import whatsapp_graph_api as wa
from fastapi.testclient import TestClient
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session, sessionmaker

from appeals import actions
from appeals.models import Appeal, Channel
from channels import media as bot_media
from channels import senders
from channels.bot_state import MemoryStateStore
from channels.conversation import Inbound, Outcome, process
from channels.models import BotMedia
from channels.notification_models import DeliveryState, Notification, NotificationKind
from channels.portal_models import Attachment
from channels.senders import DeliveryError, OutboundMessage
from core import db
from core.clock import frozen, now
from core.models import OutboxMessage
from core.settings import Settings, override_settings
from intake.schemas import CitizenContact

APPEAL_TEXT = "Во дворе дома 12 на улице Жарокова прорвало трубу, вода течёт по тротуару"
# Real magic numbers, so the attachment service's type sniffing has something to check.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00" + bytes(range(256)) * 8 + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(200)) * 5
SECRET = "webhook-secret-0123456789abcdef"
TG_HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
TG_PHOTO_ID = "AgACAgIAAxkBAAIBQ2Vlarge"  # the largest size in tg.photo_update
WA_MEDIA_ID = "1003383421387256"  # wa.image()'s media id


# --- 1. the sweep runs in the worker's relay loop, also in embedded mode ------------------


class ScriptedSender:
    """A transport that fails as scripted, then accepts."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.sent: list[OutboundMessage] = []

    def send(self, message: OutboundMessage) -> str:
        if self.failures:
            self.failures -= 1
            raise DeliveryError("telegram sendMessage 502: Bad Gateway", retryable=True)
        self.sent.append(message)
        return f"tg-{len(self.sent)}"


@pytest.fixture
def flaky_telegram(monkeypatch: pytest.MonkeyPatch) -> ScriptedSender:
    fake = ScriptedSender(failures=1)
    monkeypatch.setattr(senders, "_factories", dict(senders._factories))
    senders.register_sender("telegram", lambda: fake)
    # The test's connection is already the database: the worker must not rebind it.
    monkeypatch.setattr(db, "configure", lambda *_args, **_kw: None)
    return fake


def _receipt(session: Session, appeal: Appeal) -> Notification:
    found = session.scalar(
        select(Notification)
        .where(Notification.appeal_id == appeal.id, Notification.kind == NotificationKind.RECEIPT)
        .execution_options(populate_existing=True)
    )
    assert found is not None
    return found


def _telegram_appeal(submit_appeal: Callable[..., Appeal]) -> Appeal:
    user_id = str(uuid.uuid4().int % 10**9)
    return submit_appeal(
        APPEAL_TEXT,
        channel=Channel.TELEGRAM,
        external_id=f"update-{user_id}",
        citizen=CitizenContact(telegram_user_id=user_id),
    )


def test_embedded_worker_delivers_a_due_retry(
    session: Session,
    submit_appeal: Callable[..., Appeal],
    flaky_telegram: ScriptedSender,
    settings: Settings,
) -> None:
    from civicdesk.worker import run_worker

    assert settings.jobs_inline  # no Redis: the embedded default
    start = now()
    with frozen(start):
        appeal = _telegram_appeal(submit_appeal)
    assert _receipt(session, appeal).state is DeliveryState.PENDING
    # Not due yet: one pass of the loop sends nothing.
    with frozen(start + timedelta(seconds=1)):
        run_worker(settings, burst=True)
    assert flaky_telegram.sent == []
    with frozen(start + timedelta(seconds=settings.notify_retry_delays_s[0] + 1)):
        run_worker(settings, burst=True)
        run_worker(settings, burst=True)  # a second pass finds nothing more to send
    receipt = _receipt(session, appeal)
    assert receipt.state is DeliveryState.SENT
    assert receipt.provider_message_id == "tg-1"
    assert len(flaky_telegram.sent) == 1


def test_cli_notifications_sweep(
    session: Session,
    submit_appeal: Callable[..., Appeal],
    flaky_telegram: ScriptedSender,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from civicdesk.cli import main

    start = now()
    with frozen(start):
        appeal = _telegram_appeal(submit_appeal)
    with frozen(start + timedelta(seconds=settings.notify_retry_delays_s[0] + 1)):
        assert main(["notifications", "sweep"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == {"notifications_sent": 1}
    assert _receipt(session, appeal).state is DeliveryState.SENT


# --- 2. refused ratings get a polite answer ------------------------------------------------


class Chat:
    def __init__(self) -> None:
        self.store = MemoryStateStore()
        self.address = str(900000000 + uuid.uuid4().int % 1000000)

    def __call__(self, kind: str, **fields: Any) -> Outcome:
        inbound = Inbound(
            channel=Channel.TELEGRAM,
            external_id=f"7000000001:{uuid.uuid4().int % 10**9}",
            address=self.address,
            user_id=self.address,
            kind=kind,  # type: ignore[arg-type]  # the literal comes from the test's call
            **fields,
        )
        return process(inbound, store=self.store)


def _texts(outcome: Outcome) -> str:
    return "\n".join(reply.text for reply in outcome.replies)


@pytest.fixture
def chat(connection: Connection) -> Chat:
    return Chat()


@pytest.mark.parametrize(
    ("language", "expected"), [("ru", "ещё нет ответа"), ("kk", "әлі жауап жоқ")]
)
def test_rating_before_the_answer_is_refused_politely(
    chat: Chat, language: str, expected: str
) -> None:
    chat("button", payload=f"lang:{language}")
    chat("text", text=APPEAL_TEXT)
    filed = chat("button", payload="draft:send")
    assert filed.appeal is not None
    tracking = filed.appeal.tracking_number
    refused = chat("button", payload=f"rate:{tracking}:5")
    assert expected in _texts(refused)
    assert tracking in _texts(refused)


def test_too_long_a_rating_comment_is_refused_politely_then_accepted(
    chat: Chat, session: Session, make_user: Callable[..., Any], settings: Settings
) -> None:
    from ratings.answers import rating_for

    chat("button", payload="lang:kk")
    chat("text", text=APPEAL_TEXT)
    filed = chat("button", payload="draft:send")
    assert filed.appeal is not None
    admin, _ = make_user("admin")
    appeal = session.get(Appeal, filed.appeal.appeal_id, populate_existing=True)
    assert appeal is not None
    actions.quick_answer(session, appeal, user=admin, text="Трубу заменят до пятницы.")
    session.commit()
    chat("button", payload=f"rate:{filed.appeal.tracking_number}:4")
    too_long = chat("text", text="өте ұзын " * settings.rating_comment_max_chars)
    assert "Пікір тым ұзын" in _texts(too_long)
    # Still waiting for the comment: a shorter one is saved.
    saved = chat("text", text="Жылдам жауап берді")
    assert "пікіріңіз сақталды" in _texts(saved)
    session.expire_all()
    rating = rating_for(session, appeal_id=appeal.id)
    assert rating is not None and (rating.score, rating.comment) == (4, "Жылдам жауап берді")


# --- 3. bot photos become attachments; 4. WhatsApp statuses ---------------------------------


@pytest.fixture
def attachments_dir(settings: Settings, tmp_path: Path) -> Path:
    return tmp_path / "attachments"


@pytest.fixture
def tg_fake() -> Iterator[tg.FakeTelegramBotAPI]:
    with tg.FakeTelegramBotAPI() as server:
        yield server


@pytest.fixture
def graph() -> Iterator[wa.FakeWhatsAppGraphAPI]:
    with wa.FakeWhatsAppGraphAPI() as server:
        yield server


@pytest.fixture
def bots_settings(
    settings: Settings,
    tg_fake: tg.FakeTelegramBotAPI,
    graph: wa.FakeWhatsAppGraphAPI,
    attachments_dir: Path,
) -> Iterator[Settings]:
    current = settings.model_copy(
        update={
            "telegram_bot_token": tg_fake.token,
            "telegram_webhook_secret": SECRET,
            "telegram_api_base": tg_fake.base_url,
            "whatsapp_verify_token": wa.VERIFY_TOKEN,
            "whatsapp_app_secret": wa.APP_SECRET,
            "whatsapp_access_token": wa.ACCESS_TOKEN,
            "whatsapp_phone_number_id": wa.PHONE_NUMBER_ID,
            "whatsapp_graph_base": graph.graph_base,
            "bot_state_backend": "memory",
            "attachments_dir": attachments_dir,
        }
    )
    with override_settings(current):
        yield current


@pytest.fixture
def app_client(connection: Connection, bots_settings: Settings) -> Iterator[TestClient]:
    from civicdesk.app import create_app

    app = create_app(bots_settings)
    db._session_factory = sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )
    with TestClient(app) as client:
        yield client


def _telegram_photo_appeal(client: TestClient, fake: tg.FakeTelegramBotAPI) -> str:
    """Language, text, photo, send: the external id of the appeal."""

    def send(build: Any, *args: Any, **kw: Any) -> dict[str, Any]:
        update: dict[str, Any] = build(fake.next_update_id(), *args, user_id=tg.USER_ID, **kw)
        response = client.post("/webhooks/telegram", json=update, headers=TG_HEADERS)
        assert response.status_code == 200, response.text
        return update

    send(tg.callback_update, "lang:ru")
    send(tg.text_update, APPEAL_TEXT)
    send(tg.photo_update, caption="Фото с места")
    confirm = send(tg.callback_update, "draft:send")
    return f"{tg.BOT_ID}:{confirm['update_id']}"


def _attachments(session: Session, appeal_id: int) -> list[Attachment]:
    return list(
        session.scalars(
            select(Attachment)
            .where(Attachment.appeal_id == appeal_id)
            .execution_options(populate_existing=True)
        )
    )


def test_telegram_photo_becomes_an_attachment(
    app_client: TestClient,
    tg_fake: tg.FakeTelegramBotAPI,
    session: Session,
    attachments_dir: Path,
) -> None:
    tg_fake.add_file(TG_PHOTO_ID, JPEG)
    external_id = _telegram_photo_appeal(app_client, tg_fake)
    appeal = session.scalar(select(Appeal).where(Appeal.external_id == external_id))
    assert appeal is not None
    [attachment] = _attachments(session, appeal.id)
    digest = hashlib.sha256(JPEG).hexdigest()
    assert (attachment.sha256, attachment.content_type) == (digest, "image/jpeg")
    assert (attachment.size_bytes, attachment.channel) == (len(JPEG), "telegram")
    stored = attachments_dir / digest[:2] / digest[2:4] / digest
    assert stored.read_bytes() == JPEG
    assert [params["file_id"] for params in tg_fake.sent("getFile")] == [TG_PHOTO_ID]
    assert tg_fake.downloads == ["photos/file_0.jpg"]


def test_a_failed_download_is_retried_by_the_outbox(
    app_client: TestClient, tg_fake: tg.FakeTelegramBotAPI, session: Session
) -> None:
    tg_fake.add_file(TG_PHOTO_ID, JPEG)
    tg_fake.fail("getFile", 502, "Bad Gateway")
    external_id = _telegram_photo_appeal(app_client, tg_fake)
    appeal = session.scalar(select(Appeal).where(Appeal.external_id == external_id))
    assert appeal is not None
    assert _attachments(session, appeal.id) == []  # the receipt went out all the same
    outbox = session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.job == bot_media.FETCH_JOB)
        .execution_options(populate_existing=True)
    )
    assert outbox is not None and outbox.done_at is None  # left for the relay
    # What the relay does with it: the job again, which now succeeds, once.
    assert bot_media.fetch_bot_media(list(outbox.args[0]), outbox_id=outbox.id) == 1
    assert bot_media.fetch_bot_media(list(outbox.args[0]), outbox_id=outbox.id) == 0
    [attachment] = _attachments(session, appeal.id)
    assert attachment.sha256 == hashlib.sha256(JPEG).hexdigest()


def test_a_photo_over_the_limit_is_skipped_not_retried(
    app_client: TestClient,
    tg_fake: tg.FakeTelegramBotAPI,
    session: Session,
    bots_settings: Settings,
) -> None:
    tg_fake.add_file(TG_PHOTO_ID, JPEG)
    with override_settings(bots_settings.model_copy(update={"attachment_max_bytes": 1000})):
        external_id = _telegram_photo_appeal(app_client, tg_fake)
    appeal = session.scalar(select(Appeal).where(Appeal.external_id == external_id))
    assert appeal is not None
    assert _attachments(session, appeal.id) == []
    assert tg_fake.downloads == []  # getFile's file_size was enough to refuse it
    outbox = session.scalar(select(OutboxMessage).where(OutboxMessage.job == bot_media.FETCH_JOB))
    assert outbox is not None and outbox.done_at is not None  # done: nothing to retry


def _wa_deliver(graph: wa.FakeWhatsAppGraphAPI, client: TestClient, *messages: Any) -> None:
    response = graph.deliver(client, wa.webhook(messages=list(messages)))
    assert response.status_code == 200, response.text


# The language button's title and the "send" button's title, per language.
_WA_BUTTONS = {"ru": ("Русский", "Отправить"), "kk": ("Қазақша", "Жіберу")}


def _wa_file_appeal(
    graph: wa.FakeWhatsAppGraphAPI,
    client: TestClient,
    session: Session,
    *,
    language: str = "ru",
    before_sending: tuple[dict[str, Any], ...] = (),
) -> Appeal:
    """A citizen files APPEAL_TEXT over WhatsApp: the language, the text, then
    ``before_sending`` (a photo…), then "send"; the appeal it became."""
    language_title, send_title = _WA_BUTTONS[language]
    _wa_deliver(graph, client, wa.button_reply(f"lang:{language}", language_title))
    _wa_deliver(graph, client, wa.text(APPEAL_TEXT))
    for message in before_sending:
        _wa_deliver(graph, client, message)
    confirm = wa.button_reply("draft:send", send_title)
    _wa_deliver(graph, client, confirm)
    appeal = session.scalar(select(Appeal).where(Appeal.external_id == confirm["id"]))
    assert appeal is not None
    return appeal


def test_whatsapp_photo_becomes_an_attachment(
    app_client: TestClient, graph: wa.FakeWhatsAppGraphAPI, session: Session
) -> None:
    graph.add_media(WA_MEDIA_ID, PNG, "image/png")
    appeal = _wa_file_appeal(
        graph, app_client, session, before_sending=(wa.image(caption="Вот фото"),)
    )
    [attachment] = _attachments(session, appeal.id)
    assert (attachment.sha256, attachment.content_type) == (
        hashlib.sha256(PNG).hexdigest(),
        "image/png",  # what the bytes are
    )
    assert attachment.channel == "whatsapp"
    media = session.scalars(select(BotMedia).where(BotMedia.appeal_id == appeal.id)).all()
    assert [m.reference for m in media] == [WA_MEDIA_ID]


def test_whatsapp_rating_before_the_answer_gets_a_polite_reply(
    app_client: TestClient, graph: wa.FakeWhatsAppGraphAPI, session: Session
) -> None:
    appeal = _wa_file_appeal(graph, app_client, session, language="kk")
    _wa_deliver(graph, app_client, wa.button_reply(f"rate:{appeal.tracking_number}:5", "5"))
    last = graph.sent()[-1]
    text = (last.get("text") or {}).get("body") or last["interactive"]["body"]["text"]
    assert "әлі жауап жоқ" in text and appeal.tracking_number in text


def test_whatsapp_statuses_update_the_notification(
    app_client: TestClient, graph: wa.FakeWhatsAppGraphAPI, session: Session
) -> None:
    appeal = _wa_file_appeal(graph, app_client, session)
    receipt = _receipt(session, appeal)
    assert receipt.state is DeliveryState.SENT and receipt.provider_message_id
    wamid = receipt.provider_message_id

    def statuses(*items: dict[str, Any]) -> None:
        response = graph.deliver(app_client, wa.webhook(statuses=list(items)))
        assert response.status_code == 200

    statuses(wa.status(wamid, "delivered"), wa.status("wamid.unknown", "read"))
    assert _receipt(session, appeal).payload["delivery"]["status"] == "delivered"
    statuses(wa.status(wamid, "read"))
    statuses(wa.status(wamid, "delivered"))  # late and out of order: "read" stays
    delivery = _receipt(session, appeal).payload["delivery"]
    assert delivery["status"] == "read"
    assert {"delivered_at", "read_at"} <= set(delivery)
    assert _receipt(session, appeal).state is DeliveryState.SENT


def test_whatsapp_failed_status_fails_the_notification(
    app_client: TestClient, graph: wa.FakeWhatsAppGraphAPI, session: Session
) -> None:
    appeal = _wa_file_appeal(graph, app_client, session)
    wamid = _receipt(session, appeal).provider_message_id
    assert wamid
    failed = wa.status(wamid, "failed")
    failed["errors"] = [{"code": 131026, "title": "Message undeliverable"}]
    response = graph.deliver(app_client, wa.webhook(statuses=[failed]))
    assert response.status_code == 200
    receipt = _receipt(session, appeal)
    assert receipt.state is DeliveryState.FAILED
    assert receipt.last_error == "provider: 131026 Message undeliverable"
    assert receipt.payload["delivery"]["status"] == "failed"

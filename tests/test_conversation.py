"""The bot dialog as a service: language, filing, idempotency, my appeals, rating, hooks."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from appeals import actions
from appeals.models import Appeal, Channel, Citizen
from channels import conversation
from channels.bot_state import MemoryStateStore, RedisStateStore, StateStore
from channels.conversation import Inbound, Outcome, process, small_talk
from channels.conversation_texts import TEXTS
from channels.models import BotContact, BotMedia
from core import db
from core.settings import Settings

APPEAL_TEXT = "На улице Абая 52 третий день не горят фонари, во дворе очень темно"


@pytest.fixture
def store() -> MemoryStateStore:
    return MemoryStateStore()


class Chat:
    """One Telegram chat talking to the conversation service."""

    def __init__(self, store: StateStore) -> None:
        self.store = store
        self.address = str(900000000 + uuid.uuid4().int % 1000000)

    def __call__(self, kind: str, *, external_id: str | None = None, **fields: Any) -> Outcome:
        inbound = Inbound(
            channel=Channel.TELEGRAM,
            external_id=external_id or f"7000000001:{uuid.uuid4().int % 10**9}",
            address=self.address,
            user_id=self.address,
            kind=kind,  # type: ignore[arg-type]
            **fields,
        )
        return process(inbound, store=self.store)


@pytest.fixture
def say(store: MemoryStateStore, connection: Any) -> Chat:
    return Chat(store)


def _texts(outcome: Outcome) -> str:
    return "\n".join(reply.text for reply in outcome.replies)


def _payloads(outcome: Outcome) -> list[str]:
    return [button.payload for reply in outcome.replies for button in reply.buttons]


def test_every_text_has_russian_and_kazakh() -> None:
    for key, entry in TEXTS.items():
        assert set(entry) == {"ru", "kk"}, key
        assert entry["ru"].strip() and entry["kk"].strip(), key
    for key in [k for k in TEXTS if k.startswith("button.")]:
        assert all(len(title) <= 20 for title in TEXTS[key].values()), key


def test_language_is_asked_first_and_remembered(say: Chat, session: Session) -> None:
    first = say("text", text=APPEAL_TEXT)
    assert _payloads(first) == ["lang:ru", "lang:kk"]
    chosen = say("button", payload="lang:kk")
    assert "Тіл: қазақша" in _texts(chosen)
    # What they wrote before choosing is kept as the draft, in the chosen language.
    assert "draft:send" in _payloads(chosen)
    assert "Жазып алдым" in _texts(chosen)
    later = say("command", text="/start")
    assert "Мәселені бір хабарламамен" in _texts(later)
    contact = session.scalar(select(BotContact).where(BotContact.address == say.address))
    assert contact is not None and contact.language == "kk"


def test_filing_with_photo_location_and_phone(say: Chat, session: Session) -> None:
    say("button", payload="lang:ru")
    say("button", payload="menu:new")
    say("text", text=APPEAL_TEXT)
    photo = say("photo", media_ref="AgACAgIAAxkBAAIBQ2Vlarge", text="Вот фото")
    assert "Фото добавлено" in _texts(photo)
    say("location", latitude=43.2389, longitude=76.8897)
    phone = say("contact", phone="8 701 555 12 34")
    assert "Номер телефона сохранён" in _texts(phone)
    receipt = say("button", payload="draft:send", external_id="7000000001:424242")
    assert receipt.appeal is not None and receipt.appeal.created
    tracking = receipt.appeal.tracking_number
    assert tracking in _texts(receipt)
    appeal = session.get(Appeal, receipt.appeal.appeal_id, populate_existing=True)
    assert appeal is not None
    assert appeal.channel == Channel.TELEGRAM
    assert appeal.external_id == "7000000001:424242"
    assert appeal.latitude == pytest.approx(43.2389)
    assert appeal.longitude == pytest.approx(76.8897)
    assert "Вот фото" in appeal.text and "фонари" in appeal.text
    assert appeal.language == "ru"
    citizen = session.get(Citizen, appeal.citizen_id)
    assert citizen is not None and citizen.phone_e164 == "+77015551234"
    assert citizen.telegram_user_id == say.address
    media = session.scalars(select(BotMedia).where(BotMedia.appeal_id == appeal.id)).all()
    assert [m.reference for m in media] == ["AgACAgIAAxkBAAIBQ2Vlarge"]
    # The draft is gone: the next text starts a new one.
    assert "Записал" in _texts(say("text", text="Ещё одна проблема: яма на дороге у школы"))


def test_redelivered_update_makes_one_appeal_and_one_reply(say: Chat, session: Session) -> None:
    say("button", payload="lang:ru")
    say("text", text=APPEAL_TEXT)
    first = say("button", payload="draft:send", external_id="7000000001:777")
    again = say("button", payload="draft:send", external_id="7000000001:777")
    assert first.appeal is not None and first.replies
    assert again.duplicate and again.replies == []
    count = session.scalar(
        select(func.count()).select_from(Appeal).where(Appeal.external_id == "7000000001:777")
    )
    assert count == 1


def test_small_talk_files_nothing(say: Chat, session: Session) -> None:
    say("button", payload="lang:ru")
    before = session.scalar(select(func.count()).select_from(Appeal))
    thanks = say("text", text="Спасибо большое!")
    assert "Пожалуйста" in _texts(thanks)
    assert "draft:send" not in _payloads(thanks)
    assert session.scalar(select(func.count()).select_from(Appeal)) == before
    assert "Здравствуйте" in _texts(say("text", text="Добрый день!"))
    doubtful = say("text", text="Заработок от 500$ в день www.x.ru")
    assert "нет вопроса или жалобы" in _texts(doubtful)
    assert session.scalar(select(func.count()).select_from(Appeal)) == before
    assert small_talk("Сәлеметсіз бе!") == "greeting"
    assert small_talk("Спасибо, но фонарь так и не починили у дома 5") is None


def test_too_short_and_unsupported_get_polite_replies(say: Chat) -> None:
    say("button", payload="lang:kk")
    say("text", text="Яма")
    short = say("button", payload="draft:send")
    assert short.appeal is None
    assert "толығырақ" in _texts(short)
    assert "қабылдай алмаймын" in _texts(say("unsupported"))
    assert "тым үлкен" in _texts(say("too_big"))


class _KnowledgeBase:
    def answer(self, text: str, language: str) -> str | None:
        return "Справка о составе семьи выдаётся в ЦОН и на egov.kz." if "справк" in text else None


@pytest.fixture
def knowledge_base() -> Iterator[None]:
    conversation.set_quick_answerer(_KnowledgeBase())
    yield
    conversation.set_quick_answerer(conversation.NullQuickAnswerer())


@pytest.mark.usefixtures("knowledge_base")
def test_quick_answer_hook(say: Chat) -> None:
    say("button", payload="lang:ru")
    quick = say("text", text="Где получить справку о составе семьи?")
    assert "egov.kz" in _texts(quick)
    # The citizen may still file it as an appeal.
    assert "draft:send" in _payloads(quick)


def test_my_appeals_lists_statuses_in_the_citizens_language(
    say: Chat,
) -> None:
    say("button", payload="lang:kk")
    assert "өтініштеріңіз жоқ" in _texts(say("button", payload="menu:mine"))
    say("text", text=APPEAL_TEXT)
    filed = say("button", payload="draft:send")
    assert filed.appeal is not None
    mine = say("button", payload="menu:mine")
    assert filed.appeal.tracking_number in _texts(mine)
    assert filed.appeal.tracking_number in _texts(say("command", text="/my"))
    # Inline jobs ran the pipeline at commit: the status is shown with its Kazakh label.
    assert any(label in _texts(mine) for label in ("Тіркелді", "Орындаушыға жіберілді"))


def test_rating_button_stores_the_rating_and_comment(
    say: Chat, session: Session, make_user: Callable[..., Any]
) -> None:
    from ratings.answers import rating_for

    say("button", payload="lang:ru")
    say("text", text=APPEAL_TEXT)
    filed = say("button", payload="draft:send")
    assert filed.appeal is not None
    admin, _ = make_user("admin")
    appeal = session.get(Appeal, filed.appeal.appeal_id, populate_existing=True)
    assert appeal is not None
    actions.quick_answer(session, appeal, user=admin, text="Фонари включат сегодня вечером.")
    session.commit()
    tracking = filed.appeal.tracking_number
    rated = say("button", payload=f"rate:{tracking}:4")
    assert "Спасибо за оценку 4" in _texts(rated)
    commented = say("text", text="Быстро ответили")
    assert "комментарий сохранён" in _texts(commented)
    session.expire_all()
    rating = rating_for(session, appeal_id=appeal.id)
    assert rating is not None
    assert (rating.score, rating.comment, rating.channel) == (4, "Быстро ответили", "telegram")


def test_nobody_rates_someone_elses_appeal(say: Chat, submit_appeal: Callable[..., Appeal]) -> None:
    other = submit_appeal()
    say("button", payload="lang:ru")
    refused = say("button", payload=f"rate:{other.tracking_number}:1")
    assert "не найдено" in _texts(refused)


def test_state_lives_in_redis_with_a_ttl(connection: Any, redis_url: str) -> None:
    from channels.bot_state import RedisStateStore

    redis_store = RedisStateStore(redis_url, ttl_s=120, prefix=f"civicdesk-test-{uuid.uuid4().hex}")
    chat = Chat(redis_store)
    chat("button", payload="lang:ru")
    chat("text", text=APPEAL_TEXT)
    key = f"telegram:{chat.address}"
    draft = redis_store.get(key)
    assert draft is not None and draft["text"] == [APPEAL_TEXT]
    assert 0 < redis_store._redis.ttl(redis_store._name(key)) <= 120
    assert chat.address not in redis_store._name(key)  # the key does not carry the chat id
    filed = chat("button", payload="draft:send")
    assert filed.appeal is not None
    assert redis_store.get(key) is None  # the draft is gone once filed


SPAM_LIKE = "Заработок от 500$ в день www.x.ru"


@pytest.mark.parametrize(
    ("language", "button", "expected"),
    [("ru", "Всё равно подать обращение", "нет вопроса"), ("kk", "Бәрібір өтініш беру", "жоқ")],
)
def test_a_message_taken_for_no_appeal_is_kept_and_can_be_filed_anyway(
    say: Chat, session: Session, language: str, button: str, expected: str
) -> None:
    """The detector is sometimes wrong: the text is kept as the draft, with a button."""
    say("button", payload=f"lang:{language}")
    doubtful = say("text", text=SPAM_LIKE)
    assert expected in _texts(doubtful)
    [reply] = doubtful.replies
    assert reply.buttons[0].payload == "draft:send"
    assert reply.buttons[0].title == button
    filed = say("button", payload="draft:send")
    assert filed.appeal is not None and filed.appeal.created
    appeal = session.get(Appeal, filed.appeal.appeal_id, populate_existing=True)
    assert appeal is not None and appeal.text == SPAM_LIKE


def test_a_doubtful_first_message_is_kept_while_the_language_is_asked(say: Chat) -> None:
    say("text", text=SPAM_LIKE)
    chosen = say("button", payload="lang:ru")
    assert "draft:send" in _payloads(chosen)  # the text waits in the draft
    filed = say("button", payload="draft:send")
    assert filed.appeal is not None


def test_photos_beyond_what_an_appeal_stores_are_refused_with_a_word(
    say: Chat, session: Session, settings: Settings
) -> None:
    limit = settings.attachments_per_appeal
    say("button", payload="lang:kk")
    say("text", text=APPEAL_TEXT)
    for n in range(limit):
        assert "Фото өтінішке қосылды" in _texts(say("photo", media_ref=f"photo-{n}"))
    over = say("photo", media_ref="photo-extra", text="тағы бір фото")
    assert f"{limit} фотодан артық" in _texts(over)
    assert "draft:send" in _payloads(over)
    filed = say("button", payload="draft:send")
    assert filed.appeal is not None
    media = session.scalars(
        select(BotMedia.reference).where(BotMedia.appeal_id == filed.appeal.appeal_id)
    ).all()
    assert sorted(media) == sorted(f"photo-{n}" for n in range(limit))
    appeal = session.get(Appeal, filed.appeal.appeal_id, populate_existing=True)
    assert appeal is not None and "тағы бір фото" in appeal.text  # the caption is kept


class SlowStore(MemoryStateStore):
    """A store whose reads take a while, so two updates of one chat overlap."""

    def get(self, key: str) -> dict[str, Any] | None:
        found = super().get(key)
        time.sleep(0.3)
        return found


class SlowRedisStore(RedisStateStore):
    def get(self, key: str) -> dict[str, Any] | None:
        found = super().get(key)
        time.sleep(0.3)
        return found


@pytest.fixture
def committing(pg_engine: Engine, settings: Settings) -> Iterator[list[str]]:
    """Sessions on their own connections (two threads cannot share the test's one); the
    rows of the chats named in the yielded list are deleted afterwards."""
    previous = db._session_factory
    db._session_factory = sessionmaker(bind=pg_engine, expire_on_commit=False)
    addresses: list[str] = []
    try:
        yield addresses
    finally:
        db._session_factory = previous
        with pg_engine.begin() as connection:
            connection.execute(delete(BotContact).where(BotContact.address.in_(addresses)))


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_two_photos_arriving_together_both_land_in_the_draft(
    committing: list[str], backend: str, request: pytest.FixtureRequest
) -> None:
    if backend == "redis":
        redis_url = request.getfixturevalue("redis_url")
        store: StateStore = SlowRedisStore(
            redis_url, ttl_s=120, prefix=f"civicdesk-test-{uuid.uuid4().hex}"
        )
    else:
        store = SlowStore()
    chat = Chat(store)
    committing.append(chat.address)
    chat("button", payload="lang:ru")
    chat("text", text=APPEAL_TEXT)
    barrier = threading.Barrier(2)

    def photo(reference: str) -> None:
        barrier.wait()
        chat("photo", media_ref=reference)

    threads = [threading.Thread(target=photo, args=(f"album-{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    draft = store.get(f"telegram:{chat.address}")
    assert draft is not None
    assert sorted(draft["media"]) == ["album-0", "album-1"]
    assert draft["text"] == [APPEAL_TEXT]

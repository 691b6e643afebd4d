"""The bot dialog, the same on every messenger: one inbound message in, replies out.

Transports (``channels.telegram``, ``channels.whatsapp``) turn what arrived into an
``Inbound`` and send the ``Reply`` objects back; everything the citizen can do is
here: choose a language, file an appeal (text, photos, location, phone), see "my
appeals", rate an answer, get a quick answer from the knowledge base.

``handle()`` is a service (it flushes, never commits). ``process()`` is the entry
point: under the chat's lock it reads the state, owns the transaction, and only after
the commit saves the conversation state and returns the replies to send, so a
rolled-back update leaves no trace, a re-delivered one (its ``(channel, external id)``
already in ``bot_inbound``) gets neither a second appeal nor a second reply, and two
updates of one chat arriving together (photos of an album) both land in the draft.

Nothing the citizen wrote is dropped: a message the NLP takes for something other
than an appeal (beyond a plain greeting or thanks) is kept as the draft, with a button
to file it anyway, since real complaints are sometimes misread as spam or abuse.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from appeals.lifecycle import Status, status_label
from appeals.models import Appeal, Channel, Citizen
from channels import contacts
from channels.bot_state import State, StateStore
from channels.conversation_texts import t
from channels.kb_answers import KnowledgeBaseAnswerer, QuickAnswer, remember
from channels.media import defer_fetch
from channels.models import BotContact, BotMedia
from channels.senders import Button
from core import db
from core.clock import local, now
from core.errors import Conflict, DomainError, ValidationFailed
from core.phones import normalize_phone
from core.settings import get_settings
from intake.schemas import CitizenContact, IncomingContact
from intake.service import SubmitResult, submit
from nlp import not_appeal

log = logging.getLogger(__name__)

InboundKind = Literal[
    "text", "command", "photo", "location", "contact", "button", "unsupported", "too_big"
]
MAX_PHOTO_MB = 10
MY_APPEALS_SHOWN = 10


def max_draft_photos() -> int:
    """Photos one appeal takes: the attachments service stores no more than this."""
    return get_settings().attachments_per_appeal


@dataclass(frozen=True)
class Inbound:
    """One message or button press, already parsed by its transport."""

    channel: Channel
    external_id: str  # Telegram "<bot id>:<update_id>", WhatsApp message id
    address: str  # where replies go: Telegram chat id, WhatsApp wa_id
    kind: InboundKind
    user_id: str | None = None  # Telegram user id
    text: str = ""  # message text, photo caption, command
    payload: str = ""  # button payload
    media_ref: str | None = None  # Telegram file_id, WhatsApp media id
    latitude: float | None = None
    longitude: float | None = None
    phone: str | None = None  # a shared contact's number
    own_phone: bool = True  # the shared contact is the sender's own
    full_name: str | None = None  # the messenger profile's name
    received_at: datetime | None = None


@dataclass(frozen=True)
class Reply:
    """What to say back; ``keyboard`` asks Telegram for its share-phone/location keyboard."""

    text: str
    buttons: tuple[Button, ...] = ()
    keyboard: Literal["share", "remove"] | None = None


@dataclass
class Outcome:
    replies: list[Reply] = field(default_factory=list)
    state: State | None = None  # the new state; None clears it
    duplicate: bool = False  # a re-delivery: nothing was done, nothing to send
    language: str = "ru"
    appeal: SubmitResult | None = None


class QuickAnswerer(Protocol):
    """The knowledge base's hook: an answer it is sure of, or None."""

    def answer(self, text: str, language: str) -> str | None: ...


class NullQuickAnswerer:
    def answer(self, text: str, language: str) -> str | None:
        return None


# The knowledge base answers questions it is sure of (channels.kb_answers, issue 15).
_quick_answerer: QuickAnswerer = KnowledgeBaseAnswerer()


def set_quick_answerer(answerer: QuickAnswerer) -> None:
    """Replace the quick answerer (tests; NullQuickAnswerer answers nothing)."""
    global _quick_answerer
    _quick_answerer = answerer


# --- not appeals: greetings, thanks, spam, abuse ------------------------------------------


def small_talk(text: str) -> Literal["greeting", "thanks", "other"] | None:
    """What ``nlp.not_appeal`` says a message with no request is; None for a real one."""
    found = not_appeal.check(text)
    if found is None:
        return None
    if found.reason in ("greeting", "thanks"):
        return "greeting" if found.reason == "greeting" else "thanks"
    return "other"


# --- buttons ------------------------------------------------------------------------------


def _menu_buttons(language: str) -> tuple[Button, ...]:
    return (
        Button("menu:new", t("button.new", language)),
        Button("menu:mine", t("button.mine", language)),
        Button("menu:lang", t("button.language", language)),
    )


def _draft_buttons(language: str) -> tuple[Button, ...]:
    return (
        Button("draft:send", t("button.send", language)),
        Button("draft:cancel", t("button.cancel", language)),
    )


def _file_anyway_buttons(channel: Channel, language: str) -> tuple[Button, ...]:
    """Send the kept text although the NLP doubts it is an appeal (WhatsApp's button titles
    take 20 characters, so it gets the short wording)."""
    key = "button.file_anyway" if channel == Channel.WHATSAPP else "button_long.file_anyway"
    return (
        Button("draft:send", t(key, language)),
        Button("draft:cancel", t("button.cancel", language)),
    )


LANGUAGE_BUTTONS = (Button("lang:ru", "Русский"), Button("lang:kk", "Қазақша"))


def rating_buttons(tracking_number: str) -> tuple[Button, ...]:
    """Scores 1–5 for the notification service's rating request."""
    return tuple(Button(f"rate:{tracking_number}:{score}", str(score)) for score in range(1, 6))


# --- the dialog ---------------------------------------------------------------------------


def _empty_draft() -> State:
    return {"step": "draft", "text": [], "media": [], "lat": None, "lon": None}


def _draft(state: State) -> State:
    return state if state.get("step") == "draft" else _empty_draft()


def _absorb(inbound: Inbound, state: State, contact: BotContact) -> str | None:
    """Put the message's content into the draft; the key of the acknowledgement."""
    if inbound.kind == "text":
        state["text"].append(inbound.text.strip())
        return "draft.saved"
    if inbound.kind == "photo":
        if inbound.text.strip():
            state["text"].append(inbound.text.strip())
        if inbound.media_ref and inbound.media_ref not in state["media"]:
            if len(state["media"]) >= max_draft_photos():
                return "draft.photo_limit"
            state["media"].append(inbound.media_ref)
        return "draft.photo"
    if inbound.kind == "location":
        state["lat"], state["lon"] = inbound.latitude, inbound.longitude
        return "draft.location"
    if inbound.kind == "contact":
        if not inbound.own_phone or not inbound.phone:
            # On WhatsApp there is no share button: the sender's own number is the wa_id.
            if inbound.channel == Channel.WHATSAPP:
                return "draft.other_phone_whatsapp"
            return "draft.other_phone"
        try:
            contact.phone_e164 = normalize_phone(inbound.phone)
        except ValidationFailed:
            return "draft.bad_phone"
        return "draft.phone"
    return None


def handle(
    session: Session,
    *,
    inbound: Inbound,
    state: State | None,
    quick_answerer: QuickAnswerer | None = None,
) -> Outcome:
    """Decide what one inbound message does; flushes, the caller commits."""
    contact = contacts.contact_for(
        session, channel=inbound.channel.value, address=inbound.address, user_id=inbound.user_id
    )
    if not contacts.mark_processed(
        session,
        channel=inbound.channel.value,
        external_id=inbound.external_id,
        kind=inbound.kind,
        contact_id=contact.id,
    ):
        return Outcome(duplicate=True, state=state, language=contact.language or "ru")
    contact.last_inbound_at = inbound.received_at or now()
    if inbound.channel == Channel.WHATSAPP and contact.phone_e164 is None:
        # On WhatsApp the wa_id is the phone number.
        try:
            contact.phone_e164 = normalize_phone("+" + inbound.address)
        except ValidationFailed:
            log.info("whatsapp sender id is not a valid phone number")
    state = dict(state) if state else {"step": "idle"}
    outcome = _dispatch(session, inbound, state, contact, quick_answerer or _quick_answerer)
    outcome.language = contact.language or "ru"
    session.flush()
    return outcome


def _dispatch(
    session: Session,
    inbound: Inbound,
    state: State,
    contact: BotContact,
    quick: QuickAnswerer,
) -> Outcome:
    payload = inbound.payload if inbound.kind == "button" else ""
    if payload.startswith("lang:"):
        return _set_language(contact, payload.removeprefix("lang:"), state)
    language = contact.language
    if language is None:
        # First contact: keep what they wrote, ask the language, continue after.
        if inbound.kind in {"text", "photo", "location", "contact"} and not (
            inbound.kind == "text" and small_talk(inbound.text) in ("greeting", "thanks")
        ):
            state = _draft(state)
            _absorb(inbound, state, contact)
        return Outcome([Reply(t("choose_language", "ru"), LANGUAGE_BUTTONS)], state)
    if inbound.kind == "button":
        return _button(session, inbound, state, contact, language)
    if inbound.kind == "command":
        return _command(session, inbound.text, state, contact, language)
    if inbound.kind == "unsupported":
        return Outcome([Reply(t("unsupported", language))], state)
    if inbound.kind == "too_big":
        return Outcome([Reply(t("too_big", language, mb=MAX_PHOTO_MB))], state)
    if inbound.kind == "text" and state.get("step") == "comment":
        return _comment(session, inbound, state, language)
    if inbound.kind == "text" and state.get("step") != "draft":
        kind = small_talk(inbound.text)
        if kind in ("greeting", "thanks"):
            key = "greeting" if kind == "greeting" else "small_talk"
            return Outcome([Reply(t(key, language), _menu_buttons(language))], state)
        if kind == "other":
            # Perhaps spam, perhaps a complaint the detector misread: keep it, let them choose.
            state = _empty_draft()
            state["text"].append(inbound.text.strip())
            buttons = _file_anyway_buttons(inbound.channel, language)
            return Outcome([Reply(t("not_appeal", language), buttons)], state)
        found = _quick_answer(session, quick, inbound.text, language)
        if found:
            # The text is kept as a draft: "file an appeal" sends it as it is.
            state = _empty_draft()
            state["text"].append(inbound.text.strip())
            if found.article_id is None:
                buttons = _draft_buttons(language)
            else:
                state["kb_article"] = found.article_id
                buttons = _quick_buttons(language)
            reply = Reply(t("quick_answer", language, answer=found.text), buttons)
            return Outcome([reply], state)
    state = _draft(state)
    key = _absorb(inbound, state, contact) or "draft.saved"
    reply = Reply(t(key, language, max=max_draft_photos()), _draft_buttons(language))
    return Outcome([reply], state)


def _quick_answer(
    session: Session, quick: QuickAnswerer, text: str, language: str
) -> QuickAnswer | None:
    """The knowledge base's answer in this transaction; a plain hook's answer otherwise."""
    if isinstance(quick, KnowledgeBaseAnswerer):
        return quick.answer_in(session, text, language)
    answer = quick.answer(text, language)
    return QuickAnswer(answer) if answer else None


def _quick_buttons(language: str) -> tuple[Button, ...]:
    return (
        Button("kb:helped", t("button.helped", language)),
        Button("kb:file", t("button.new", language)),
    )


def _kb_verdict(
    session: Session, inbound: Inbound, state: State, contact: BotContact, language: str
) -> Outcome:
    """«Помогло»: remembered, the draft dropped. «Подать обращение»: remembered as not
    helping, and the kept question is filed as an appeal."""
    article_id = state.get("kb_article")
    question = "\n".join(part for part in state.get("text", []) if part).strip()
    helped = inbound.payload == "kb:helped"
    if isinstance(article_id, int) and question:
        remember(
            session,
            article_id=article_id,
            question=question,
            language=language,
            helped=helped,
            channel=inbound.channel.value,
        )
    if helped:
        return Outcome([Reply(t("kb.helped", language), _menu_buttons(language))], None)
    state = _draft(state)
    state.pop("kb_article", None)
    return _send(session, inbound, state, contact, language)


def _set_language(contact: BotContact, language: str, state: State) -> Outcome:
    if language not in {"ru", "kk"}:
        language = "ru"
    contact.language = language
    replies = [Reply(t("language_set", language))]
    if state.get("step") == "draft" and (state["text"] or state["media"]):
        replies.append(Reply(t("draft.saved", language), _draft_buttons(language)))
    else:
        replies.append(Reply(t("menu", language), _menu_buttons(language)))
    return Outcome(replies, state)


def _start_draft(language: str) -> Outcome:
    return Outcome([Reply(t("draft.start", language), keyboard="share")], _empty_draft())


def _command(
    session: Session, text: str, state: State, contact: BotContact, language: str
) -> Outcome:
    command = text.split()[0].split("@")[0].lower() if text.split() else ""
    if command == "/my":
        return Outcome([my_appeals(session, contact=contact, language=language)], state)
    if command == "/lang":
        return Outcome([Reply(t("choose_language", language), LANGUAGE_BUTTONS)], state)
    if command == "/new":
        return _start_draft(language)
    return Outcome([Reply(t("menu", language), _menu_buttons(language))], state)


def _button(
    session: Session, inbound: Inbound, state: State, contact: BotContact, language: str
) -> Outcome:
    payload = inbound.payload
    if payload == "menu:new":
        return _start_draft(language)
    if payload == "menu:mine":
        return Outcome([my_appeals(session, contact=contact, language=language)], state)
    if payload == "menu:lang":
        return Outcome([Reply(t("choose_language", language), LANGUAGE_BUTTONS)], state)
    if payload == "draft:send":
        return _send(session, inbound, _draft(state), contact, language)
    if payload in ("kb:helped", "kb:file"):
        return _kb_verdict(session, inbound, state, contact, language)
    if payload == "draft:cancel":
        replies = [
            Reply(t("draft.cancelled", language), keyboard="remove"),
            Reply(t("menu", language), _menu_buttons(language)),
        ]
        return Outcome(replies, None)
    if payload == "rate:skip":
        return Outcome([Reply(t("rate.done", language))], None)
    if payload.startswith("rate:"):
        return _rate(session, inbound, state, contact, language)
    return Outcome([Reply(t("menu", language), _menu_buttons(language))], state)


def _send(
    session: Session, inbound: Inbound, state: State, contact: BotContact, language: str
) -> Outcome:
    text = "\n".join(part for part in state["text"] if part).strip()
    if not text:
        return Outcome([Reply(t("draft.empty", language))], state)
    settings = get_settings()
    incoming = IncomingContact(
        channel=inbound.channel,
        external_id=inbound.external_id,
        text=text[: settings.max_appeal_chars + 1],
        language="kk" if language == "kk" else "ru",
        latitude=state.get("lat"),
        longitude=state.get("lon"),
        citizen=CitizenContact(
            phone=contact.phone_e164,
            telegram_user_id=contact.user_id if inbound.channel == Channel.TELEGRAM else None,
            full_name=(inbound.full_name or None) and inbound.full_name[:200],
        ),
    )
    try:
        result = submit(session, incoming)
    except ValidationFailed as error:
        key = {
            "text_too_short": "draft.too_short",
            "text_too_long": "draft.too_long",
            "invalid_phone": "draft.bad_phone",
        }.get(error.code, "draft.too_short")
        if key == "draft.bad_phone":
            contact.phone_e164 = None
        values = {"min": settings.min_appeal_chars, "max": settings.max_appeal_chars}
        return Outcome([Reply(t(key, language, **values), _draft_buttons(language))], state)
    if result.created:
        contact.citizen_id = session.scalar(
            select(Appeal.citizen_id).where(Appeal.id == result.appeal_id)
        )
        media = [
            BotMedia(
                appeal_id=result.appeal_id,
                channel=inbound.channel.value,
                kind="photo",
                reference=reference,
            )
            for reference in state["media"]
        ]
        session.add_all(media)
        # The files are fetched by a job after commit, never during the webhook.
        defer_fetch(session, media=media)
    log.info("bot appeal %s filed via %s", result.appeal_id, inbound.channel.value)
    receipt = Reply(t("receipt", language, tracking=result.tracking_number), keyboard="remove")
    return Outcome([receipt], None, appeal=result)


def citizen_ids(session: Session, contact: BotContact) -> list[int]:
    """The citizen records this chat speaks for: its own, its phone's, its Telegram id's,
    and those merged with them."""
    conditions: list[Any] = []
    if contact.citizen_id is not None:
        conditions.append(Citizen.id == contact.citizen_id)
    if contact.phone_e164:
        conditions.append(Citizen.phone_e164 == contact.phone_e164)
    if contact.channel == Channel.TELEGRAM.value and contact.user_id:
        conditions.append(Citizen.telegram_user_id == contact.user_id)
    if not conditions:
        return []
    rows = session.execute(select(Citizen.id, Citizen.merged_into_id).where(or_(*conditions)))
    ids: set[int] = set()
    for citizen_id, merged_into in rows:
        ids.add(citizen_id)
        if merged_into is not None:
            ids.add(merged_into)
    if ids:
        ids.update(session.scalars(select(Citizen.id).where(Citizen.merged_into_id.in_(ids))))
    return sorted(ids)


def my_appeals(session: Session, *, contact: BotContact, language: str) -> Reply:
    """The latest appeals of this chat's citizen, with their status in the citizen's words."""
    ids = citizen_ids(session, contact)
    rows = (
        session.execute(
            select(Appeal.tracking_number, Appeal.status, Appeal.received_at)
            .where(Appeal.citizen_id.in_(ids))
            .order_by(Appeal.received_at.desc(), Appeal.id.desc())
            .limit(MY_APPEALS_SHOWN)
        ).all()
        if ids
        else []
    )
    if not rows:
        return Reply(t("mine.none", language), _menu_buttons(language))
    lines = [t("mine.heading", language)]
    for tracking, status, received_at in rows:
        lines.append(
            t(
                "mine.line",
                language,
                tracking=tracking,
                date=f"{local(received_at):%d.%m.%Y}",
                status=status_label(Status(status), language),
            )
        )
    return Reply("\n".join(lines), _menu_buttons(language))


def _rate_answer(
    session: Session, *, appeal_id: int, score: int, comment: str | None, channel: str
) -> None:
    from ratings.answers import rate_answer

    rate_answer(session, appeal_id=appeal_id, score=score, comment=comment, channel=channel)


def _rate(
    session: Session, inbound: Inbound, state: State, contact: BotContact, language: str
) -> Outcome:
    """``rate:<tracking>:<score>``: only the appeal's own citizen may rate it."""
    _, _, rest = inbound.payload.partition(":")
    tracking, _, raw_score = rest.rpartition(":")
    if not raw_score.isdigit() or not 1 <= int(raw_score) <= 5:
        return Outcome([Reply(t("rate.unknown", language))], state)
    score = int(raw_score)
    row = session.execute(
        select(Appeal.id, Appeal.citizen_id).where(Appeal.tracking_number == tracking)
    ).first()
    if row is None or row[1] not in citizen_ids(session, contact):
        return Outcome([Reply(t("rate.unknown", language))], state)
    try:
        _rate_answer(
            session, appeal_id=row[0], score=score, comment=None, channel=inbound.channel.value
        )
    except DomainError as error:
        log.info("rating refused: %s", error.code)
        return Outcome([Reply(_rating_refusal(error, language, tracking=tracking))], state)
    new_state: State = {"step": "comment", "appeal_id": row[0], "score": score}
    skip = (Button("rate:skip", t("button.skip", language)),)
    return Outcome([Reply(t("rate.thanks", language, score=score), skip)], new_state)


def _rating_refusal(error: DomainError, language: str, *, tracking: str) -> str:
    """A polite word for each way ``rate_answer`` refuses, instead of a failed update."""
    if isinstance(error, Conflict) and error.code == "not_answered":
        return t("rate.not_answered", language, tracking=tracking)
    if isinstance(error, ValidationFailed):
        if error.code == "comment_too_long":
            return t("rate.comment_too_long", language, max=get_settings().rating_comment_max_chars)
        return t("rate.invalid", language)
    return t("rate.unknown", language)


def _attach_comment(session: Session, *, appeal_id: int, score: int, comment: str) -> bool:
    """A low score may already have reopened the appeal, so ``rate_answer`` refuses a
    second call; the comment then joins the rating just given (the citizen's words are
    what inspectors need most after a poor answer)."""
    from ratings.answers import rating_for

    rating = rating_for(session, appeal_id=appeal_id)
    if rating is None or rating.score != score:
        return False
    rating.comment = comment.strip()[: get_settings().rating_comment_max_chars] or None
    session.flush()
    return True


def _comment(session: Session, inbound: Inbound, state: State, language: str) -> Outcome:
    appeal_id, score = int(state["appeal_id"]), int(state["score"])
    try:
        _rate_answer(
            session,
            appeal_id=appeal_id,
            score=score,
            comment=inbound.text,
            channel=inbound.channel.value,
        )
    except ValidationFailed as error:
        # Too long a comment: say so and keep waiting for a shorter one.
        log.info("rating comment refused: %s", error.code)
        tracking = session.scalar(select(Appeal.tracking_number).where(Appeal.id == appeal_id))
        return Outcome([Reply(_rating_refusal(error, language, tracking=tracking or ""))], state)
    except DomainError as error:
        if not _attach_comment(session, appeal_id=appeal_id, score=score, comment=inbound.text):
            log.info("rating comment refused: %s", error.code)
            return Outcome([Reply(t("rate.unavailable", language))], None)
    return Outcome([Reply(t("rate.comment_saved", language))], None)


# --- the entry point ----------------------------------------------------------------------


def state_key(inbound: Inbound) -> str:
    return f"{inbound.channel.value}:{inbound.address}"


def process(
    inbound: Inbound, *, store: StateStore, quick_answerer: QuickAnswerer | None = None
) -> Outcome:
    """Handle one inbound message in its own transaction; save the state after commit.

    Synchronous: the async transports call it in a worker thread.
    """
    key = state_key(inbound)
    with store.lock(key):
        with db.transaction() as session:
            outcome = handle(
                session, inbound=inbound, state=store.get(key), quick_answerer=quick_answerer
            )
        if not outcome.duplicate:
            if outcome.state is None:
                store.delete(key)
            else:
                store.put(key, outcome.state)
    return outcome

"""Outbound notifications: the one service every part of the product uses to tell a citizen.

How a notification comes about: a status change (``intake.actions``, the
pipeline) records an ``appeal.status_changed`` event (``core.events``); after
commit the event job calls ``create_for_events``, which writes one
``notifications`` row per (appeal, kind, key) — UNIQUE, so a re-run event
writes nothing — and defers one delivery job for the new pending rows.

Delivery (``channels.jobs.deliver``) claims a row with a conditional UPDATE
(pending → sending, only if due), commits, sends through the channel's
transport, then records the result in a second transaction: sent with the
provider's message id, back to pending with ``next_attempt_at`` after a
retryable error (exponential schedule from settings), or failed. The only window
for a double send is a crash between the provider accepting and that second
commit; the row then stays "sending" and the sweep marks it failed
("interrupted") instead of sending again: at most once, never twice.

Channels without a push transport (portal, phone, front office, social, an
anonymous appeal) get the row in state ``undeliverable`` with the reason: the
record shows the citizen was not told electronically (the portal status page
shows the status; an extension notice then goes by letter or phone).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session

from appeals.lifecycle import ANSWER_VISIBLE, Status, status_label
from appeals.models import Appeal, Citizen
from channels import notification_texts as texts
from channels.contacts import address_for_citizen
from channels.models import BotContact
from channels.notification_models import DeliveryState, Notification, NotificationKind
from channels.notification_order import answer_of_rating, release_rating_requests
from channels.senders import Button, ChannelSender, DeliveryError, OutboundMessage, sender_for
from core import events, jobs
from core.clock import local, now
from core.db import dialect_insert, table_of
from core.settings import Settings, get_settings

log = logging.getLogger(__name__)
DELIVER_JOB = "channels.jobs.deliver"
#: Status changes the citizen hears about (besides registration, extension and the answer).
STATUS_NOTIFIED = frozenset(
    {Status.ASSIGNED, Status.FORWARDED, Status.IN_PROGRESS, Status.REJECTED, Status.REOPENED}
)
PUSH_CHANNELS = ("telegram", "whatsapp")
RATING_PAYLOAD = "rate:{tracking}:{score}"


@dataclass(frozen=True)
class Planned:
    appeal_id: int
    kind: NotificationKind
    key: str
    payload: dict[str, Any]


def plan(event: dict[str, Any]) -> list[Planned]:
    """What one status change owes the citizen (pure: no database).

    Registration (the pipeline: received → registered or straight on to assigned)
    sends the receipt with the registration date and the due date: the tracking
    number alone was already shown at submission by the channel itself.
    """
    to_status = Status(event["to_status"])
    from_status = event.get("from_status")
    at = str(event["at"])
    appeal_id = int(event["appeal_id"])
    payload = {"status": to_status.value}
    if from_status == Status.RECEIVED.value and to_status in (Status.REGISTERED, Status.ASSIGNED):
        return [Planned(appeal_id, NotificationKind.RECEIPT, "receipt", payload)]
    if to_status is Status.EXTENDED:
        return [Planned(appeal_id, NotificationKind.EXTENSION_NOTICE, at, payload)]
    if to_status in ANSWER_VISIBLE:
        return [
            Planned(appeal_id, NotificationKind.ANSWER, at, payload),
            Planned(appeal_id, NotificationKind.RATING_REQUEST, at, payload),
        ]
    if to_status in STATUS_NOTIFIED:
        return [Planned(appeal_id, NotificationKind.STATUS_CHANGED, f"{to_status}@{at}", payload)]
    return []


def transport_available(channel: str, settings: Settings | None = None) -> bool:
    """Whether this deployment can push messages on ``channel``."""
    return _default_sender(channel, settings or get_settings(), probe=True) is not None


def _default_sender(channel: str, settings: Settings, *, probe: bool = False) -> Any:
    """The registered transport, else the one the settings configure (bot token, Graph ids)."""
    sender = sender_for(channel)
    if sender is not None:
        return sender
    if channel == "telegram" and settings.telegram_bot_token:
        if probe:
            return True
        from channels.telegram.sender import TelegramSender

        return TelegramSender.from_settings(settings)
    if channel == "whatsapp" and settings.whatsapp_access_token:
        if not settings.whatsapp_phone_number_id:
            return None
        if probe:
            return True
        from channels.whatsapp.sender import WhatsAppSender

        return WhatsAppSender.from_settings(settings)
    return None


def sender(channel: str) -> ChannelSender | None:
    """The transport that delivers on ``channel`` now, or None."""
    found: ChannelSender | None = _default_sender(channel, get_settings())
    return found


def _language(*candidates: str | None) -> str:
    for candidate in candidates:
        if candidate in texts.LANGUAGES:
            return str(candidate)
    return "ru"


def create_for_events(session: Session, event_list: list[dict[str, Any]]) -> list[int]:
    """Write the notifications these status changes owe; returns the new pending ids.

    The new pending rows get one delivery job, deferred to after this commit.
    """
    planned = [
        item
        for event in event_list
        if event.get("name") == events.STATUS_CHANGED
        for item in plan(event)
    ]
    if not planned:
        return []
    appeal_ids = sorted({item.appeal_id for item in planned})
    rows = session.execute(
        select(Appeal.id, Appeal.channel, Appeal.language, Appeal.citizen_id, Citizen)
        .outerjoin(Citizen, Citizen.id == Appeal.citizen_id)
        .where(Appeal.id.in_(appeal_ids))
    ).all()
    appeals = {row[0]: row for row in rows}
    settings = get_settings()
    available: dict[str, bool] = {}
    moment = now()
    values: list[dict[str, Any]] = []
    for item in planned:
        found = appeals.get(item.appeal_id)
        if found is None:
            continue
        _, channel_enum, appeal_language, citizen_id, citizen = found
        channel = str(channel_enum.value)
        if channel not in available:
            available[channel] = transport_available(channel, settings)
        state, reason = DeliveryState.PENDING, None
        if citizen_id is None:
            state, reason = DeliveryState.UNDELIVERABLE, "anonymous: no way to reach the citizen"
        elif not available[channel]:
            state = DeliveryState.UNDELIVERABLE
            reason = f"no push transport on channel {channel}; the status page shows it"
        values.append(
            {
                "appeal_id": item.appeal_id,
                "kind": item.kind,
                "key": item.key,
                "channel": channel,
                "language": _language(
                    citizen.preferred_language if citizen else None, appeal_language
                ),
                "payload": item.payload,
                "state": state,
                "attempts": 0,
                "next_attempt_at": moment if state is DeliveryState.PENDING else None,
                "created_at": moment,
                "last_error": reason,
            }
        )
    if not values:
        return []
    table = table_of(Notification)
    statement = (
        dialect_insert(session.get_bind().dialect.name, table)
        .values(values)
        .on_conflict_do_nothing(index_elements=["appeal_id", "kind", "key"])
        .returning(table.c.id, table.c.state)
    )
    created = session.execute(statement).all()
    pending = sorted(row[0] for row in created if row[1] == DeliveryState.PENDING)
    if pending:
        jobs.defer(session, DELIVER_JOB, pending)
    return pending


# --- delivery --------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """A notification this worker now owns, with the message to send."""

    notification_id: int
    attempt: int
    message: OutboundMessage
    kind: NotificationKind | None = None


def claim(session: Session, notification_id: int) -> Claimed | None:
    """Claim one notification (see ``claim_many``)."""
    claimed = claim_many(session, [notification_id])
    return claimed[0] if claimed else None


def claim_many(session: Session, notification_ids: list[int]) -> list[Claimed]:
    """pending → sending for those of ``notification_ids`` that are due, in one conditional
    UPDATE: two workers can never both win a row.

    Rows another worker has, rows not due yet and finished rows are left out, and so
    is a rating request whose answer is not sent yet (``release_rating_requests``); a
    row that turns out to have no address is made undeliverable.
    """
    if not notification_ids:
        return []
    moment = now()
    release_rating_requests(session, notification_ids)
    won = session.execute(
        update(Notification)
        .where(
            Notification.id.in_(notification_ids),
            Notification.state == DeliveryState.PENDING,
            or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= moment),
            or_(
                Notification.kind != NotificationKind.RATING_REQUEST,
                answer_of_rating(DeliveryState.SENT),
                ~answer_of_rating(),
            ),
        )
        .values(state=DeliveryState.SENDING, attempts=Notification.attempts + 1, claimed_at=moment)
        .returning(Notification.id, Notification.attempts)
        .execution_options(synchronize_session=False)
    ).all()
    claimed: list[Claimed] = []
    # Load the batch's rows, appeals and citizens in three queries; the loop below then
    # finds them in the session's identity map.
    rows = session.scalars(
        select(Notification)
        .where(Notification.id.in_([row[0] for row in won]))
        .execution_options(populate_existing=True)
    ).all()
    appeals = session.scalars(
        select(Appeal).where(Appeal.id.in_({row.appeal_id for row in rows}))
    ).all()
    session.scalars(
        select(Citizen).where(Citizen.id.in_({a.citizen_id for a in appeals if a.citizen_id}))
    ).all()
    owners = {appeal.id: appeal.citizen_id for appeal in appeals}
    contacts = _latest_contacts(
        session,
        {
            (row.channel, citizen_id)
            for row in rows
            if (citizen_id := owners.get(row.appeal_id)) is not None
        },
    )
    for notification_id, attempt in sorted(won):
        notification = session.get(Notification, notification_id)
        assert notification is not None
        message = build_message(session, notification, contacts)
        if message is None:
            notification.state = DeliveryState.UNDELIVERABLE
            notification.last_error = "no address for the citizen on this channel"
            continue
        claimed.append(Claimed(notification_id, int(attempt), message, notification.kind))
    session.flush()
    return claimed


Contacts = dict[tuple[str, int], BotContact]


def _latest_contacts(session: Session, pairs: set[tuple[str, int]]) -> Contacts:
    """The bots' most recent chat per (channel, citizen), for a whole batch in one query
    (the order of ``channels.contacts.address_for_citizen``)."""
    if not pairs:
        return {}
    rows = session.scalars(
        select(BotContact)
        .where(
            BotContact.channel.in_({channel for channel, _ in pairs}),
            BotContact.citizen_id.in_({citizen for _, citizen in pairs}),
        )
        .order_by(BotContact.last_inbound_at.desc().nulls_last(), BotContact.id.desc())
    ).all()
    found: Contacts = {}
    for row in rows:
        if row.citizen_id is not None:
            found.setdefault((row.channel, row.citizen_id), row)
    return found


def _contact(
    session: Session, citizen: Citizen, channel: str, contacts: Contacts | None = None
) -> tuple[str | None, str | None]:
    """(address, language) on ``channel``: the bots' latest chat with the citizen, else the
    citizen's own ids (a Telegram private chat's id is the user's id; a wa_id is the phone)."""
    if contacts is not None:
        contact = contacts.get((channel, citizen.id))
    else:
        contact = address_for_citizen(session, channel=channel, citizen_id=citizen.id)
    if contact is not None and contact.address:
        return contact.address, contact.language
    if channel == "telegram" and citizen.telegram_user_id:
        return citizen.telegram_user_id, None
    if channel == "whatsapp" and citizen.phone_e164:
        return citizen.phone_e164.lstrip("+"), None
    return None, None


def _date(moment: datetime | None, language: str) -> str:
    if moment is None:
        return texts.render("no_date", language)
    return f"{local(moment):%d.%m.%Y}"


def build_message(
    session: Session, notification: Notification, contacts: Contacts | None = None
) -> OutboundMessage | None:
    """The message in the citizen's language, rendered now (no text is stored)."""
    appeal = session.get(Appeal, notification.appeal_id)
    if appeal is None or appeal.citizen_id is None:
        return None
    citizen = session.get(Citizen, appeal.citizen_id)
    if citizen is None:
        return None
    address, contact_language = _contact(session, citizen, notification.channel, contacts)
    if not address:
        return None
    language = _language(contact_language, notification.language)
    tracking = appeal.tracking_number
    kind = notification.kind
    settings = get_settings()
    buttons: tuple[Button, ...] = ()
    template = settings.whatsapp_template_notification
    if kind is NotificationKind.RECEIPT:
        registered = (
            f"{appeal.registered_on:%d.%m.%Y}"
            if appeal.registered_on
            else texts.render("no_date", language)
        )
        text = texts.render(
            "receipt",
            language,
            tracking=tracking,
            registered_on=registered,
            due=(
                texts.render("due_by", language, date=_date(appeal.due_at, language))
                if appeal.due_at
                else texts.render("no_date", language)
            ),
        )
        parameters: tuple[str, ...] = (tracking, status_label(Status.REGISTERED, language))
    elif kind is NotificationKind.EXTENSION_NOTICE:
        due = _date(appeal.due_at, language)
        text = texts.render(
            "extension_notice",
            language,
            tracking=tracking,
            due=due,
            reason=appeal.extension_reason or "",
        )
        # The template names the new due date (the law's notice), never staff remarks.
        parameters = (tracking, texts.render("extension_status", language, due=due))
    elif kind is NotificationKind.ANSWER:
        text = texts.render("answer", language, tracking=tracking, answer=appeal.answer_text or "")
        template = settings.whatsapp_template_answer
        parameters = (tracking, (appeal.answer_text or "")[:900])
    elif kind is NotificationKind.RATING_REQUEST:
        text = texts.render("rating_request", language, tracking=tracking)
        buttons = tuple(
            Button(RATING_PAYLOAD.format(tracking=tracking, score=score), str(score))
            for score in range(1, 6)
        )
        template = settings.whatsapp_template_rating
        parameters = (tracking,)
    else:
        label = status_label(Status(notification.payload.get("status", appeal.status)), language)
        text = texts.render("status_changed", language, tracking=tracking, status=label)
        parameters = (tracking, label)
    return OutboundMessage(
        channel=notification.channel,
        address=address,
        text=text,
        language=language,
        buttons=buttons,
        template=template,
        template_parameters=parameters,
        skip_parts=int(notification.payload.get("parts_sent") or 0),
    )


def record_sent(session: Session, notification_id: int, provider_message_id: str) -> None:
    record_sent_many(session, [(notification_id, provider_message_id)])


def record_sent_many(session: Session, sent: list[tuple[int, str]]) -> None:
    """sending → sent with the provider's message ids, for a batch in one statement."""
    if not sent:
        return
    table = table_of(Notification)
    session.execute(
        update(table)
        .where(table.c.id == bindparam("b_id"), table.c.state == DeliveryState.SENDING.value)
        .values(
            state=DeliveryState.SENT.value,
            sent_at=bindparam("b_sent_at"),
            provider_message_id=bindparam("b_provider_id"),
            last_error=None,
            next_attempt_at=None,
        ),
        [
            {"b_id": notification_id, "b_sent_at": now(), "b_provider_id": provider[:128] or None}
            for notification_id, provider in sent
        ],
    )


#: WhatsApp's delivery statuses in the order they happen; a late "delivered" never
#: overwrites "read" (webhooks may arrive out of order).
PROVIDER_STATUS_ORDER = {"sent": 1, "delivered": 2, "read": 3}


def record_provider_status(
    session: Session,
    *,
    channel: str,
    provider_message_id: str,
    status: str,
    error: str | None = None,
) -> bool:
    """A delivery status the provider reported later (WhatsApp ``statuses``): kept in the
    notification's ``payload["delivery"]`` (status and when), and "failed" fails the row
    with the provider's reason. False when no notification has that provider id (a bot
    reply, which has no notification row) or the status adds nothing.
    """
    notification = session.scalar(
        select(Notification)
        .where(
            Notification.channel == channel,
            Notification.provider_message_id == provider_message_id[:128],
        )
        .limit(1)
    )
    if notification is None:
        return False
    delivery = dict(notification.payload.get("delivery") or {})
    moment = now().isoformat()
    if status == "failed":
        notification.state = DeliveryState.FAILED
        notification.last_error = f"provider: {error or 'failed after sending'}"[:300]
        delivery.update(status="failed", failed_at=moment)
    else:
        rank = PROVIDER_STATUS_ORDER.get(status)
        if rank is None or rank <= PROVIDER_STATUS_ORDER.get(str(delivery.get("status")), 0):
            return False
        if delivery.get("status") == "failed":
            return False
        delivery.update({"status": status, f"{status}_at": moment})
    notification.payload = {**notification.payload, "delivery": delivery}
    session.flush()
    return True


def retry_delay(attempt: int, settings: Settings | None = None) -> int | None:
    """Seconds before the next attempt after failed attempt number ``attempt``; None: give up."""
    delays = (settings or get_settings()).notify_retry_delays_s
    return delays[attempt - 1] if 1 <= attempt <= len(delays) else None


def record_failure(
    session: Session, notification_id: int, *, attempt: int, error: DeliveryError
) -> int | None:
    """A failed attempt: pending again after the next delay, or failed; returns the delay."""
    delay = retry_delay(attempt) if error.retryable else None
    # Provider error texts name the problem (chat not found, throttled), never the message.
    reason = f"{'retryable' if error.retryable else 'permanent'}: {error}"[:300]
    values: dict[str, Any] = {"last_error": reason}
    if delay is None:
        values.update(state=DeliveryState.FAILED, next_attempt_at=None)
    else:
        values.update(state=DeliveryState.PENDING, next_attempt_at=now() + timedelta(seconds=delay))
    if error.parts_sent:
        # Parts of a long message already reached the citizen: the retry resumes after them.
        row = session.get(Notification, notification_id)
        if row is not None:
            values["payload"] = {**row.payload, "parts_sent": error.parts_sent}
    session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.state == DeliveryState.SENDING)
        .values(values)
        .execution_options(synchronize_session=False)
    )
    return delay


def sweep(session: Session, *, limit: int = 500) -> list[int]:
    """Housekeeping for the worker: fail interrupted sends, return the ids due for delivery.

    A row left "sending" past the lease belongs to a worker that died around the
    provider call; whether the citizen got it is unknown, so it is failed rather
    than sent a second time.
    """
    settings = get_settings()
    moment = now()
    lease = moment - timedelta(seconds=settings.notify_sending_lease_s)
    session.execute(
        update(Notification)
        .where(Notification.state == DeliveryState.SENDING, Notification.claimed_at < lease)
        .values(
            state=DeliveryState.FAILED,
            last_error="interrupted: the worker stopped during the send; not resent",
        )
        .execution_options(synchronize_session=False)
    )
    due = session.scalars(
        select(Notification.id)
        .where(Notification.state == DeliveryState.PENDING, Notification.next_attempt_at <= moment)
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
    ).all()
    return list(due)


# --- look-ups --------------------------------------------------------------------------


def notifications_for(session: Session, *, appeal_id: int) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.appeal_id == appeal_id)
            .order_by(Notification.id)
        ).all()
    )


def extension_notice_sent_at(session: Session, *, appeal_id: int) -> datetime | None:
    """When the citizen was last told of an extension electronically (the law's notice);
    None when not (yet) — compare with ``appeals.extension_notice_due_at``."""
    return session.scalar(
        select(Notification.sent_at)
        .where(
            Notification.appeal_id == appeal_id,
            Notification.kind == NotificationKind.EXTENSION_NOTICE,
            Notification.state == DeliveryState.SENT,
        )
        .order_by(Notification.sent_at.desc())
        .limit(1)
    )

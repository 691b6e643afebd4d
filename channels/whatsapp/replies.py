"""WhatsApp messages through the conversation, and their replies and delivery statuses.

The webhook (``channels.bots_api``) checks the signature and parses; this runs what
arrived: each message through ``channels.conversation``, the replies through the
per-channel rate limiter (a retryable refusal is sent once more, from the first part
Graph did not accept, then dropped), and Graph's delivery statuses onto the
notifications they belong to.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from channels.bot_state import state_store
from channels.conversation import Inbound, process
from channels.notifications import record_provider_status
from channels.rate_limit import limiter
from channels.senders import DeliveryError, OutboundMessage
from channels.whatsapp import webhook
from channels.whatsapp.sender import WhatsAppSender
from core import db
from core.settings import Settings

log = logging.getLogger(__name__)

REPLY_RETRY_PAUSE_S = 0.5

_senders: dict[tuple[str, str, str], WhatsAppSender] = {}


def _reply_sender(settings: Settings) -> WhatsAppSender:
    """Replies answer a message just received: always inside the service window."""
    key = (
        settings.whatsapp_access_token or "",
        settings.whatsapp_phone_number_id or "",
        settings.whatsapp_graph_base,
    )
    if key not in _senders:
        _senders[key] = WhatsAppSender.from_settings(settings, window_open=lambda _address: True)
    return _senders[key]


def handle_whatsapp(messages: list[Inbound], settings: Settings) -> int:
    """Run each message through the conversation and send its replies; how many were new."""
    store = state_store(settings)
    handled = 0
    for inbound in messages:
        outcome = process(inbound, store=store)
        if outcome.duplicate:
            continue
        handled += 1
        if not outcome.replies:
            continue
        sender = _reply_sender(settings)
        for reply in outcome.replies:
            message = OutboundMessage(
                channel="whatsapp",
                address=inbound.address,
                text=reply.text,
                language=outcome.language,
                buttons=reply.buttons,
            )
            if not _send_reply(sender, message):
                break
    return handled


def _send_reply(sender: WhatsAppSender, message: OutboundMessage) -> bool:
    """One reply through the rate limiter; a retryable refusal is tried once more, from
    the first part Graph did not accept."""
    for attempt in (1, 2):
        limiter().acquire("whatsapp")
        try:
            sender.send(message)
            return True
        except DeliveryError as error:
            if not error.retryable or attempt == 2:
                log.warning("whatsapp reply not delivered (retryable=%s)", error.retryable)
                return False
            message = replace(message, skip_parts=error.parts_sent)
        time.sleep(REPLY_RETRY_PAUSE_S)
    return False


def record_whatsapp_statuses(statuses: list[webhook.StatusUpdate]) -> int:
    """Delivery statuses onto their notifications, in one transaction; how many matched."""
    with db.transaction() as session:
        return sum(
            record_provider_status(
                session,
                channel="whatsapp",
                provider_message_id=status.message_id,
                status=status.status,
                error=status.error,
            )
            for status in statuses
        )

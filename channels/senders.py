"""The seam between the notification service and each messenger's transport.

The notification service decides *what* to tell a citizen and *when*; a
``ChannelSender`` only knows how to put one message on one channel. Each
transport (Telegram Bot API, WhatsApp Cloud API, …) implements the protocol and
is registered by channel name, so tests and deployments swap transports by
configuration, not code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Button:
    """A reply button: ``payload`` comes back to the bot when the citizen presses it."""

    payload: str
    title: str


@dataclass(frozen=True)
class OutboundMessage:
    """One message for one citizen on one channel, already in the citizen's language."""

    channel: str  # "telegram", "whatsapp", …
    address: str  # Telegram chat id, WhatsApp wa_id
    text: str
    language: str = "ru"
    buttons: tuple[Button, ...] = ()
    # WhatsApp only: the approved template to use outside the 24-hour service window,
    # with its body parameters in order.
    template: str | None = None
    template_parameters: tuple[str, ...] = field(default=())
    # Parts of a long message already delivered by an earlier attempt: a retry resumes
    # after them instead of sending them a second time.
    skip_parts: int = 0


class DeliveryError(Exception):
    """A send that did not go through; ``retryable`` says whether trying later may help.

    ``parts_sent``: how many parts of a multi-part message the provider had accepted
    before this failure (counting the parts skipped as already sent), so the retry can
    resume from the first undelivered part.
    """

    def __init__(self, message: str, *, retryable: bool, parts_sent: int = 0) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.parts_sent = parts_sent


def split_text(text: str, limit: int) -> list[str]:
    """Cut at line breaks where possible so each part fits one message (deterministic, so
    a retry cuts the same parts and can skip those already delivered)."""
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut <= 0:
            cut = limit
        parts.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    parts.append(rest)
    return parts


class ChannelSender(Protocol):
    def send(self, message: OutboundMessage) -> str:
        """Deliver the message and return the provider's message id; raise DeliveryError."""
        ...


SenderFactory = Callable[[], ChannelSender]
_factories: dict[str, SenderFactory] = {}


def register_sender(channel: str, factory: SenderFactory) -> None:
    """Make ``factory`` the transport for ``channel`` (the last registration wins)."""
    _factories[channel] = factory


def sender_for(channel: str) -> ChannelSender | None:
    """The transport for ``channel``, or None when this deployment has none."""
    factory = _factories.get(channel)
    return factory() if factory is not None else None

"""``WhatsAppSender``: the Graph API ``/{phone-number-id}/messages`` transport.

Inside the 24-hour customer service window (the citizen wrote to us in the last 24
hours) a message goes as text, as interactive reply buttons (at most 3, titles of at
most 20 characters) or as an interactive list (4 to 10 choices, e.g. scores 1–5).
Outside it WhatsApp accepts only approved templates, so the message's ``template``
(or the deployment's default notification template) is sent instead. If our idea of
the window is stale and Graph answers 131047 (re-engagement required), the template
is sent then.

Template body parameters are cleaned before sending, as Meta refuses the whole message
otherwise: no new lines, tabs or more than four spaces in a row (132018), none empty
(131008), and the filled-in body at most 1024 characters (132005). A long text goes as
several posts (text parts, or the text and then the choice); a failure says how many
were accepted (``parts_sent``) and a retry with ``skip_parts`` sends only the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx

from channels.senders import Button, DeliveryError, OutboundMessage, split_text
from core.settings import Settings

log = logging.getLogger(__name__)
MAX_TEXT = 4096
MAX_INTERACTIVE_BODY = 1024
MAX_REPLY_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_LIST_ROWS = 10
MAX_ROW_TITLE = 24
REENGAGEMENT_REQUIRED = 131047
# Graph error codes worth trying again: throttling, temporary unavailability, unknown.
RETRYABLE_CODES = {4, 80007, 130429, 131000, 131016, 131048, 131056, 133004}
_CHOOSE = {"ru": "Выбрать", "kk": "Таңдау"}
#: All body parameters together: a template body is at most 1024 characters once filled
#: in, and our templates' own words take well under 124 of them.
TEMPLATE_PARAMETERS_MAX = 900
#: What an empty parameter becomes: Meta refuses empty ones.
EMPTY_PARAMETER = "—"

WindowCheck = Callable[[str], bool]


class GraphError(DeliveryError):
    def __init__(self, message: str, *, retryable: bool, code: int) -> None:
        super().__init__(message, retryable=retryable)
        self.code = code


def _title(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def template_parameters(values: tuple[str, ...]) -> list[str]:
    """Body parameters Meta accepts: whitespace runs (new lines, tabs, spaces) become one
    space, an empty value a dash, and the longest is shortened (with "…") until all fit
    ``TEMPLATE_PARAMETERS_MAX``."""
    cleaned = [" ".join(str(value).split()) or EMPTY_PARAMETER for value in values]
    excess = sum(len(value) for value in cleaned) - TEMPLATE_PARAMETERS_MAX
    while excess > 0:
        longest = max(range(len(cleaned)), key=lambda index: len(cleaned[index]))
        value = cleaned[longest]
        keep = max(len(value) - excess - 1, 1)
        cleaned[longest] = value[:keep].rstrip() + "…"
        excess = sum(len(value) for value in cleaned) - TEMPLATE_PARAMETERS_MAX
        if len(cleaned[longest]) <= 2:
            break
    return cleaned


def interactive_payload(text: str, buttons: tuple[Button, ...], language: str) -> dict[str, Any]:
    """Reply buttons for up to three choices, a list message for up to ten."""
    body = {"text": _title(text, MAX_INTERACTIVE_BODY)}
    if len(buttons) <= MAX_REPLY_BUTTONS:
        return {
            "type": "button",
            "body": body,
            "action": {
                "buttons": [
                    {
                        "type": "reply",
                        "reply": {"id": b.payload, "title": _title(b.title, MAX_BUTTON_TITLE)},
                    }
                    for b in buttons
                ]
            },
        }
    if len(buttons) > MAX_LIST_ROWS:
        raise DeliveryError("at most 10 choices fit one WhatsApp message", retryable=False)
    return {
        "type": "list",
        "body": body,
        "action": {
            "button": _CHOOSE.get(language, _CHOOSE["ru"]),
            "sections": [
                {
                    "title": _title(_CHOOSE.get(language, _CHOOSE["ru"]), MAX_ROW_TITLE),
                    "rows": [
                        {"id": b.payload, "title": _title(b.title, MAX_ROW_TITLE)} for b in buttons
                    ],
                }
            ],
        },
    }


class WhatsAppSender:
    """Cloud API transport; ``address`` is the citizen's wa_id (digits of the phone)."""

    def __init__(
        self,
        *,
        access_token: str,
        phone_number_id: str,
        graph_base: str = "https://graph.facebook.com/v26.0",
        default_template: str | None = None,
        window_open: WindowCheck | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self._url = f"{graph_base.rstrip('/')}/{phone_number_id}/messages"
        self._client = httpx.Client(
            timeout=timeout_s, headers={"Authorization": f"Bearer {access_token}"}
        )
        self._default_template = default_template
        self._window_open = window_open

    @classmethod
    def from_settings(
        cls, settings: Settings, *, window_open: WindowCheck | None = None
    ) -> WhatsAppSender:
        if not (settings.whatsapp_access_token and settings.whatsapp_phone_number_id):
            raise DeliveryError("WhatsApp access token / phone number id missing", retryable=False)
        return cls(
            access_token=settings.whatsapp_access_token,
            phone_number_id=settings.whatsapp_phone_number_id,
            graph_base=settings.whatsapp_graph_base,
            default_template=settings.whatsapp_template_notification,
            window_open=window_open,
        )

    def close(self) -> None:
        self._client.close()

    def post(self, payload: dict[str, Any]) -> str:
        """POST one message object; the Graph message id (``wamid…``) back."""
        body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual"}
        body.update(payload)
        try:
            response = self._client.post(self._url, json=body)
        except httpx.HTTPError as error:
            raise GraphError(f"whatsapp: {type(error).__name__}", retryable=True, code=0) from error
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if response.status_code == 200 and isinstance(answer, dict) and answer.get("messages"):
            return str(answer["messages"][0].get("id", ""))
        problem = answer.get("error", {}) if isinstance(answer, dict) else {}
        code = int(problem.get("code", 0) or 0)
        retryable = response.status_code == 429 or response.status_code >= 500
        retryable = retryable or code in RETRYABLE_CODES
        raise GraphError(
            f"whatsapp {response.status_code} code {code}: {problem.get('message', '')}",
            retryable=retryable,
            code=code,
        )

    def _window(self, address: str) -> bool:
        if self._window_open is not None:
            return self._window_open(address)
        from channels.contacts import whatsapp_window_open

        return whatsapp_window_open(address)

    def send_template(self, message: OutboundMessage) -> str:
        name = message.template or self._default_template
        if not name:
            raise DeliveryError(
                "outside the 24-hour window and no template to send", retryable=False
            )
        template: dict[str, Any] = {"name": name, "language": {"code": message.language}}
        if message.template_parameters:
            template["components"] = [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": p}
                        for p in template_parameters(message.template_parameters)
                    ],
                }
            ]
        if message.buttons:
            # The template's quick-reply buttons, in order, carry our payloads back.
            template.setdefault("components", []).extend(
                {
                    "type": "button",
                    "sub_type": "quick_reply",
                    "index": str(index),
                    "parameters": [{"type": "payload", "payload": button.payload}],
                }
                for index, button in enumerate(message.buttons)
            )
        return self.post({"to": message.address, "type": "template", "template": template})

    @staticmethod
    def session_parts(message: OutboundMessage) -> list[dict[str, Any]]:
        """The posts a free-form message takes: text parts, then the choice (if any)."""
        text = message.text
        posts: list[dict[str, Any]] = []
        if message.buttons and len(text) <= MAX_INTERACTIVE_BODY:
            chunks: list[str] = []
        else:
            # Without buttons: the text in parts; with a long text: the whole text first,
            # then the choice with a short body.
            chunks = split_text(text, MAX_TEXT)
        posts.extend(
            {"to": message.address, "type": "text", "text": {"body": chunk, "preview_url": False}}
            for chunk in chunks
        )
        if message.buttons:
            body = text if not chunks else _CHOOSE.get(message.language, _CHOOSE["ru"]) + ":"
            posts.append(
                {
                    "to": message.address,
                    "type": "interactive",
                    "interactive": interactive_payload(body, message.buttons, message.language),
                }
            )
        return posts

    def send_session(self, message: OutboundMessage) -> str:
        """Free-form text / interactive: allowed only inside the service window. Sends the
        posts from ``message.skip_parts`` on; the last one's message id."""
        posts = self.session_parts(message)
        message_id = ""
        for index in range(min(message.skip_parts, len(posts) - 1), len(posts)):
            try:
                message_id = self.post(posts[index])
            except DeliveryError as error:
                error.parts_sent = index
                raise
        return message_id

    def send(self, message: OutboundMessage) -> str:
        if not self._window(message.address):
            return self.send_template(message)
        try:
            return self.send_session(message)
        except GraphError as error:
            if error.code != REENGAGEMENT_REQUIRED:
                raise
            log.info("whatsapp service window closed; sending the template instead")
            return self.send_template(message)

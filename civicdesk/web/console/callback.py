"""The callback's outcome in the console: what Asterisk made of it, not that it was asked.

After "call back" the console shows the callback's state and, with JavaScript, asks
``/staff/console/callbacks/{id}`` every second or two until it is final: the operator's
phone rings, the citizen is dialled, they talk ("дозвонились"), or it failed and why
("не удалось": the operator's phone or the citizen did not answer, Asterisk refused …).
The outcome itself is ``channels.telephony.originate.callback_outcome``; this module only
words it in the operator's language.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from channels.telephony.originate import callback_outcome, own_callback
from civicdesk.web.console.live import CONSOLE_PATH, allowed
from civicdesk.web.rendering import page_language, secure
from civicdesk.web.staff_auth import StaffUserDep
from civicdesk.web.texts import has, t
from core.api_deps import DbSession
from core.errors import NotFound
from core.models import StaffUser

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class CallbackStatus:
    id: int
    outcome: str  # pending, dialling, connected, done, failed
    final: bool
    text: str


def reason_text(reason: str | None, language: str) -> str:
    """A failure code in words; an unforeseen code is shown as it is (it holds no data)."""
    key = f"console.callback.reason.{reason}"
    if reason and has(key):
        return t(key, language)
    return t("console.callback.reason.other", language, code=reason or "—")


def callback_status(
    session: Session, user: StaffUser, call_id: int | None, language: str
) -> CallbackStatus | None:
    """The callback ``call_id`` as the console words it (None if not the user's)."""
    if call_id is None:
        return None
    try:
        call = own_callback(session, operator=user, call_id=call_id)
    except NotFound:
        return None
    found = callback_outcome(call)
    if found.outcome == "failed":
        text = t("console.callback.failed", language, reason=reason_text(found.reason, language))
    elif found.outcome == "done":
        text = t("console.callback.done", language, seconds=found.talk_s or 0)
    else:
        text = t(f"console.callback.{found.outcome}", language)
    return CallbackStatus(id=call.id, outcome=found.outcome, final=found.final, text=text)


@router.get(f"{CONSOLE_PATH}/callbacks/{{call_id}}", name="console_callback_status")
def console_callback_status(
    request: Request, session: DbSession, user: StaffUserDep, call_id: int
) -> Response:
    """The callback's outcome as JSON for ``console.js`` (asked until ``final``)."""
    if not allowed(user):
        return secure(JSONResponse({"error": "forbidden"}, status_code=403), private=True)
    status = callback_status(session, user, call_id, page_language(request))
    if status is None:
        return secure(JSONResponse({"error": "call_not_found"}, status_code=404), private=True)
    body = {"id": status.id, "outcome": status.outcome, "final": status.final, "text": status.text}
    return secure(JSONResponse(body), private=True)

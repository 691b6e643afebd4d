"""The call the console is on, and the form's state: what the panel and the form need.

A call's appeals carry the external id ``call-<Uniqueid>-<n>`` (n counts the appeals
filed in that call), so a double click files once and a second problem in the same call
gets its own appeal; without a call the form carries a UUID made when it was rendered.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals.models import Appeal
from channels.telephony import console as service
from channels.telephony.models import Call, CallAppeal

#: External ids of appeals filed from a call: ``call-<Uniqueid>-<n>``, n = 1, 2, …
CALL_PREFIX = "call-"
#: Appeals filed at the console without a call (AMI down, a walk-in): ``console-<uuid>``.
NO_CALL_PREFIX = "console-"


# --- the form and what the page shows ------------------------------------------------------


@dataclass
class ConsoleForm:
    """What the operator typed, kept as typed so a refused or suggested form comes back."""

    call: str = ""
    seq: str = "1"
    key: str = ""
    text: str = ""
    phone: str = ""
    full_name: str = ""
    language: str = ""
    category_code: str = ""
    district_code: str = ""
    address: str = ""
    organization_code: str = ""
    urgency: str = ""
    answer: str = ""


@dataclass(frozen=True)
class CallView:
    id: int
    uniqueid: str
    caller_e164: str | None
    queue: str | None
    operator_id: int | None
    state: str
    connected_at: datetime | None
    failure_reason: str | None = None


@dataclass
class Suggestion:
    confidence: int
    category: str | None
    hints: list[str] = field(default_factory=list)


def int_or_none(value: str | int | None) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) < 12 else None


def load_call(session: Session, call_id: str | int | None) -> CallView | None:
    number = int_or_none(call_id)
    row = session.get(Call, number) if number is not None else None
    return call_view(row) if row is not None else None


def call_view(row: Call) -> CallView:
    return CallView(
        id=row.id,
        uniqueid=row.uniqueid,
        caller_e164=row.caller_e164,
        queue=row.queue,
        operator_id=row.operator_id,
        state=row.state.value,
        connected_at=row.answered_at,
        failure_reason=row.failure_reason,
    )


def call_appeals(session: Session, call: CallView | None) -> list[Appeal]:
    """Appeals linked to this call (filed during it, or linked afterwards)."""
    if call is None:
        return []
    return list(
        session.scalars(
            select(Appeal)
            .join(CallAppeal, CallAppeal.appeal_id == Appeal.id)
            .where(CallAppeal.call_id == call.id)
            .order_by(Appeal.id)
        )
    )


def _next_seq(session: Session, call: CallView) -> int:
    return len(service.filed_for_call(session, external_prefix=_call_prefix(call))) + 1


def _call_prefix(call: CallView) -> str:
    return f"{CALL_PREFIX}{call.uniqueid}-"


def external_id(session: Session, form: ConsoleForm, call: CallView | None) -> str:
    """The idempotency key: the call's Uniqueid and the form's sequence number (so a double
    click files one appeal and a second appeal in the same call gets its own), or a UUID
    made when the form was rendered when there is no call."""
    if call is not None:
        seq = int_or_none(form.seq) or _next_seq(session, call)
        return f"{_call_prefix(call)}{seq}"
    try:
        key = uuid.UUID(form.key.strip())
    except ValueError:
        key = uuid.uuid4()
    return f"{NO_CALL_PREFIX}{key}"


def fresh_form(session: Session, call: CallView | None, card: service.CallerCard) -> ConsoleForm:
    return ConsoleForm(
        call=str(call.id) if call else "",
        seq=str(_next_seq(session, call)) if call else "1",
        key=str(uuid.uuid4()),
        phone=(call.caller_e164 if call and call.caller_e164 else "") or "",
        full_name=card.full_name or "",
        language=card.preferred_language or "",
    )

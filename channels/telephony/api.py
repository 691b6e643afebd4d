"""The call center over HTTP: calls, queue metrics, operator ratings, callbacks. Thin.

Who sees what: operators see their own calls, admins, inspectors and analysts see all;
executors see none. Full caller numbers only for operators and admins (analysts get them
masked: figures, not people).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from channels.telephony import metrics, originate, service
from channels.telephony.models import Call
from core.api_deps import CurrentUser, DbSession
from core.clock import now
from core.errors import NotFound, PermissionDenied
from core.models import Role, StaffUser
from core.phones import mask_phone
from core.settings import get_settings

router = APIRouter(prefix="/api/v1/callcenter", tags=["call center"])
ALL_CALLS = frozenset({Role.ADMIN, Role.INSPECTOR, Role.ANALYST})
FULL_NUMBERS = frozenset({Role.OPERATOR, Role.ADMIN})
CALL_CENTER = ALL_CALLS | {Role.OPERATOR}


class CallOut(BaseModel):
    id: int
    uniqueid: str
    direction: str
    state: str
    caller: str | None
    queue: str | None
    operator_id: int | None
    operator_interface: str | None
    citizen_id: int | None
    started_at: datetime
    queued_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    wait_s: int | None
    talk_s: int | None
    abandoned: bool
    hangup_cause: int | None
    hangup_cause_txt: str | None
    transferred_to: str | None
    failure_reason: str | None
    origin_call_id: int | None = None
    appeal_ids: list[int] = Field(default_factory=list)
    rating: int | None = None
    missed_rings: int = 0  # rings of operators who did not answer this call


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    appeal_id: int


class CallbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    phone: str = Field(min_length=5, max_length=32)
    appeal_id: int | None = None
    origin_call_id: int | None = None  # the call the operator is on (the callback follows it)


class CallbackOutcomeOut(BaseModel):
    call_id: int
    state: str
    outcome: originate.Outcome
    reason: str | None
    talk_s: int | None


def _guard(user: StaffUser) -> None:
    if user.role not in CALL_CENTER:
        raise PermissionDenied("the call center is not open to this role", code="role_not_allowed")


def _view(
    call: Call,
    user: StaffUser,
    *,
    appeal_ids: list[int],
    rating: int | None,
    missed_rings: int = 0,
) -> CallOut:
    caller = call.caller_e164
    if caller is not None and user.role not in FULL_NUMBERS:
        caller = mask_phone(caller)
    return CallOut(
        id=call.id,
        uniqueid=call.uniqueid,
        direction=call.direction.value,
        state=call.state.value,
        caller=caller,
        queue=call.queue,
        operator_id=call.operator_id,
        operator_interface=call.operator_interface,
        citizen_id=call.citizen_id,
        started_at=call.started_at,
        queued_at=call.queued_at,
        answered_at=call.answered_at,
        ended_at=call.ended_at,
        wait_s=call.wait_s,
        talk_s=call.talk_s,
        abandoned=call.abandoned,
        hangup_cause=call.hangup_cause,
        hangup_cause_txt=call.hangup_cause_txt,
        transferred_to=call.transferred_to,
        failure_reason=call.failure_reason,
        origin_call_id=call.origin_call_id,
        appeal_ids=appeal_ids,
        rating=rating,
        missed_rings=missed_rings,
    )


def _visible_call(session: DbSession, user: StaffUser, call_id: int) -> Call:
    _guard(user)
    call = session.get(Call, call_id)
    mine = call is not None and user.id in (call.operator_id, call.requested_by_id)
    if call is None or (user.role not in ALL_CALLS and not mine):
        raise NotFound("no such call", code="call_not_found")  # 404, not 403: no probing
    return call


@router.get("/calls", response_model=list[CallOut])
def list_calls(
    session: DbSession,
    user: CurrentUser,
    start: datetime | None = None,
    end: datetime | None = None,
    queue: str | None = None,
    operator_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before_id: int | None = None,
) -> list[CallOut]:
    _guard(user)
    if user.role not in ALL_CALLS:
        operator_id = user.id
    calls = service.list_calls(
        session,
        start=start,
        end=end,
        queue=queue,
        operator_id=operator_id,
        limit=limit,
        before_id=before_id,
    )
    return [_view(call, user, appeal_ids=[], rating=None) for call in calls]


@router.get("/calls/current", response_model=CallOut | None)
def current_call(session: DbSession, user: CurrentUser) -> CallOut | None:
    """The call the signed-in operator is on now (None between calls)."""
    _guard(user)
    max_age = timedelta(seconds=get_settings().callcenter_current_call_max_s)
    call = service.current_call_of(session, user.id, max_age=max_age)
    if call is None:
        return None
    return _view(call, user, appeal_ids=service.appeals_of_call(session, call.id), rating=None)


@router.get("/calls/{call_id}", response_model=CallOut)
def get_call(call_id: int, session: DbSession, user: CurrentUser) -> CallOut:
    call = _visible_call(session, user, call_id)
    rating, missed = service.rating_and_missed_rings(session, call.id)
    return _view(
        call,
        user,
        appeal_ids=service.appeals_of_call(session, call.id),
        rating=rating,
        missed_rings=missed,
    )


@router.post("/calls/{call_id}/appeals", response_model=CallOut)
def link_appeal(call_id: int, body: LinkIn, session: DbSession, user: CurrentUser) -> CallOut:
    """The operator filed ``appeal_id`` on this call (idempotent)."""
    call = _visible_call(session, user, call_id)
    if user.role not in FULL_NUMBERS:
        raise PermissionDenied("only operators link appeals to calls", code="role_not_allowed")
    service.link_call_to_appeal(session, call_id=call.id, appeal_id=body.appeal_id)
    return _view(call, user, appeal_ids=service.appeals_of_call(session, call.id), rating=None)


@router.post("/callbacks", response_model=CallOut, status_code=status.HTTP_202_ACCEPTED)
def request_callback(body: CallbackIn, session: DbSession, user: CurrentUser) -> CallOut:
    """Ring the operator's phone, then the citizen (the AMI listener places the call)."""
    call = originate.request_callback(
        session,
        operator=user,
        phone_e164=body.phone,
        appeal_id=body.appeal_id,
        origin_call_id=body.origin_call_id,
    )
    appeal_ids = [body.appeal_id] if body.appeal_id is not None else []
    return _view(call, user, appeal_ids=appeal_ids, rating=None)


@router.get("/callbacks/{call_id}", response_model=CallbackOutcomeOut)
def callback_outcome(call_id: int, session: DbSession, user: CurrentUser) -> CallbackOutcomeOut:
    """How a callback went: pending, dialling, connected, done, or failed with a reason
    (the operator's phone or the citizen did not answer, Asterisk refused …)."""
    _guard(user)
    call = originate.own_callback(session, operator=user, call_id=call_id)
    found = originate.callback_outcome(call)
    return CallbackOutcomeOut(
        call_id=found.call_id,
        state=found.state,
        outcome=found.outcome,
        reason=found.reason,
        talk_s=found.talk_s,
    )


@router.get("/metrics/live")
def live(session: DbSession, user: CurrentUser, queue: str | None = None) -> dict[str, Any]:
    _guard(user)
    return metrics.live_metrics(session, queue=queue)


@router.get("/metrics")
def periods(
    session: DbSession,
    user: CurrentUser,
    start: datetime | None = None,
    end: datetime | None = None,
    bucket: Literal["hour", "day"] = "hour",
    queue: str | None = None,
) -> list[dict[str, Any]]:
    """Per hour or Almaty day; defaults to the last 24 hours (hourly) or 7 days (daily)."""
    _guard(user)
    end = end or now()
    start = start or end - (timedelta(days=1) if bucket == "hour" else timedelta(days=7))
    return metrics.queue_metrics(session, start=start, end=end, bucket=bucket, queue=queue)


@router.get("/operator-stats")
def operator_stats(
    session: DbSession,
    user: CurrentUser,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[dict[str, Any]]:
    """Per operator: calls answered, missed rings (the queue rang them, they did not
    answer), IVR ratings, average and satisfaction index. Operators see their own line."""
    _guard(user)
    end = end or now()
    start = start or end - timedelta(days=30)
    mine = None if user.role in ALL_CALLS else user.id
    return metrics.operator_stats(session, start=start, end=end, operator_id=mine)


@router.get("/operator-ratings")
def operator_ratings(
    session: DbSession,
    user: CurrentUser,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[dict[str, Any]]:
    """Per operator: ratings given in the IVR, the average and the satisfaction index
    (ratings of 4 and 5 / all ratings × 100). Operators see only their own line."""
    _guard(user)
    end = end or now()
    start = start or end - timedelta(days=30)
    mine = None if user.role in ALL_CALLS else user.id
    return metrics.operator_ratings(session, start=start, end=end, operator_id=mine)

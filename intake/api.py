"""HTTP API of intake: public submit and tracking, staff lists and actions.

Thin: the services decide.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from core.api_deps import CurrentUser, DbSession
from core.models import Role
from intake import actions, service
from intake.lifecycle import Status
from intake.models import Channel
from intake.schemas import (
    ActionRequest,
    AppealSubmission,
    IncomingContact,
    PublicAppealView,
    StaffAppealView,
    SubmitReceipt,
)
from intake.views import public_view, staff_view
from routing.service import organization_by_code

router = APIRouter(prefix="/api/v1/appeals", tags=["appeals"])


@router.post("", response_model=SubmitReceipt, status_code=201)
def submit_appeal(
    body: AppealSubmission,
    session: DbSession,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> SubmitReceipt:
    """File an appeal (portal, mobile app). Send an ``Idempotency-Key`` so a retry is harmless."""
    contact = IncomingContact(
        channel=Channel(body.channel),
        external_id=idempotency_key or body.idempotency_key,
        **body.model_dump(exclude={"channel", "idempotency_key"}),
    )
    result = service.submit(session, contact)
    if not result.created:
        response.status_code = 200
    return SubmitReceipt(
        tracking_number=result.tracking_number,
        status=result.status,
        created=result.created,
        status_url=f"/api/v1/appeals/track/{result.tracking_number}",
    )


@router.get("/track/{tracking_number}", response_model=PublicAppealView)
def track(
    tracking_number: str,
    session: DbSession,
    lang: Annotated[str, Query(pattern="^(ru|kk)$")] = "ru",
) -> PublicAppealView:
    """The public view: status, dates, organization and the approved answer; no personal data."""
    return public_view(session, service.get_by_tracking_number(session, tracking_number), lang)


@router.get("", response_model=list[StaffAppealView])
def list_appeals(
    session: DbSession,
    user: CurrentUser,
    response: Response,
    status: Annotated[list[Status] | None, Query()] = None,
    organization: str | None = None,
    triage: bool = False,
    escalated: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[StaffAppealView]:
    """Appeals the caller may see; an executor gets only their organization's.

    ``triage=true``: the operators' queue of unroutable appeals; ``escalated=true``:
    the inspectors' queue of ping-pong and much-moved appeals.
    """
    organization_id = organization_by_code(session, organization).id if organization else None
    appeals, total = service.list_for_staff(
        session,
        user=user,
        statuses=status,
        organization_id=organization_id,
        triage=triage,
        escalated=escalated,
        limit=limit,
        offset=offset,
    )
    response.headers["X-Total-Count"] = str(total)
    full_phone = user.role is not Role.EXECUTOR
    return [staff_view(appeal, show_full_phone=full_phone) for appeal in appeals]


@router.get("/{appeal_id}", response_model=StaffAppealView)
def get_appeal(appeal_id: int, session: DbSession, user: CurrentUser) -> StaffAppealView:
    appeal = service.get_for_staff(session, user=user, appeal_id=appeal_id)
    return staff_view(appeal, show_full_phone=user.role is not Role.EXECUTOR)


@router.post("/{appeal_id}/actions/{action}", response_model=StaffAppealView)
def act(
    appeal_id: int, action: str, body: ActionRequest, session: DbSession, user: CurrentUser
) -> StaffAppealView:
    """accept, answer, send_back, route, reject, quick_answer, reopen. (close and return are
    the review, ``/api/v1/sla/appeals/{id}/review``; extend is an extension request.)"""
    appeal = service.get_for_staff(session, user=user, appeal_id=appeal_id)
    actions.perform(session, appeal, user=user, action=action, **body.model_dump())
    refreshed = service.get_for_staff(session, user=user, appeal_id=appeal_id)
    session.refresh(refreshed, attribute_names=["history"])
    return staff_view(refreshed, show_full_phone=user.role is not Role.EXECUTOR)

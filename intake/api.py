"""HTTP API of intake: public submit and tracking (the staff's list and actions on the same
paths are ``civicdesk.appeals_api``).

Thin: the services decide.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from appeals import access
from appeals.models import Channel
from appeals.schemas import PublicAppealView
from core.api_deps import DbSession
from intake import service
from intake.schemas import AppealSubmission, IncomingContact, SubmitReceipt
from intake.views import public_view

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
    return public_view(session, access.get_by_tracking_number(session, tracking_number), lang)

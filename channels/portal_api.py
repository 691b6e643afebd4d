"""The portal / mobile-app JSON API: thin handlers over ``channels.portal`` and friends.

Documented with example requests in docs/portal-api.md.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Header, Query, Response, UploadFile
from fastapi.responses import FileResponse

from channels import attachments, portal
from channels.portal import (
    AttachmentView,
    PortalAppealView,
    PortalReceipt,
    PortalSubmission,
    RatingRequest,
)
from core.api_deps import CurrentUser, DbSession
from core.settings import get_settings
from intake import service

router = APIRouter(prefix="/api/v1/portal", tags=["portal and mobile app"])
staff_router = APIRouter(prefix="/api/v1/appeals", tags=["appeals"])
Lang = Annotated[str, Query(pattern="^(ru|kk)$")]
CitizenToken = Annotated[str | None, Header(alias="X-Citizen-Token", max_length=200)]
_CHUNK = 64 * 1024


@router.post("/appeals", response_model=PortalReceipt, status_code=201)
def file_appeal(
    body: PortalSubmission,
    session: DbSession,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
    citizen_token: CitizenToken = None,
) -> PortalReceipt:
    """File an appeal; a retry with the same ``Idempotency-Key`` returns the same appeal (200)."""
    receipt = portal.file_appeal(
        session, submission=body, idempotency_key=idempotency_key, citizen_token=citizen_token
    )
    if not receipt.created:
        response.status_code = 200
    return receipt


@router.get("/appeals/{tracking_number}", response_model=PortalAppealView)
def track(tracking_number: str, session: DbSession, lang: Lang = "ru") -> PortalAppealView:
    """Status, due date, organization, the approved answer and its rating: no personal data."""
    return portal.track(session, tracking_number=tracking_number, language=lang)


@router.post("/appeals/{tracking_number}/rating", response_model=PortalAppealView)
def rate(
    tracking_number: str, body: RatingRequest, session: DbSession, lang: Lang = "ru"
) -> PortalAppealView:
    """Rate the answer 1–5 (again: replaces); 409 ``not_answered`` before the answer."""
    return portal.rate(session, tracking_number=tracking_number, request=body, language=lang)


@router.post(
    "/appeals/{tracking_number}/attachments", response_model=AttachmentView, status_code=201
)
def upload(
    tracking_number: str,
    session: DbSession,
    file: Annotated[UploadFile, File(description="JPEG, PNG, HEIC or PDF")],
) -> AttachmentView:
    """Attach a photo or document to an open appeal (type and size limits from settings)."""
    appeal = service.get_by_tracking_number(session, tracking_number)
    data = attachments.read_limited(
        iter(lambda: file.file.read(_CHUNK), b""), limit=get_settings().attachment_max_bytes
    )
    stored = attachments.store_attachment(
        session,
        appeal_id=appeal.id,
        data=data,
        original_name=file.filename,
        channel=appeal.channel.value,
    )
    return portal.attachment_view(stored)


@router.get("/appeals/{tracking_number}/attachments", response_model=list[AttachmentView])
def list_attachments(tracking_number: str, session: DbSession) -> list[AttachmentView]:
    """What was attached (type, size, checksum); the files themselves are for staff only."""
    appeal = service.get_by_tracking_number(session, tracking_number)
    return [
        portal.attachment_view(item)
        for item in attachments.attachments_of(session, appeal_id=appeal.id)
    ]


@router.get("/my/appeals", response_model=list[PortalAppealView])
def my_appeals(
    session: DbSession,
    citizen_token: CitizenToken = None,
    lang: Lang = "ru",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[PortalAppealView]:
    """The appeals filed with this citizen token (``X-Citizen-Token``), newest first."""
    return portal.my_appeals(session, citizen_token=citizen_token, language=lang, limit=limit)


@staff_router.get("/{appeal_id}/attachments/{attachment_id}/content")
def attachment_content(
    appeal_id: int, attachment_id: int, session: DbSession, user: CurrentUser
) -> FileResponse:
    """The file, for staff who may see the appeal (an executor: their organization's)."""
    service.get_for_staff(session, user=user, appeal_id=appeal_id)
    item = attachments.get_attachment(session, appeal_id=appeal_id, attachment_id=attachment_id)
    extension = attachments.EXTENSIONS.get(item.content_type, "bin")
    return FileResponse(
        attachments.path_for(item.sha256),
        media_type=item.content_type,
        filename=f"appeal-{appeal_id}-{item.id}.{extension}",
    )

"""The portal / mobile-app JSON API: thin handlers over ``channels.portal`` and friends.

Documented with example requests in docs/portal-api.md.

Uploads are refused by their declared size (``Content-Length``, 413) before the
multipart body is read or parsed, so an oversized request costs neither memory nor
disk; a request without a declared size is refused (411).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, File, Header, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse
from fastapi.routing import APIRoute

from appeals import access
from channels import attachments, portal
from channels.portal import (
    AttachmentView,
    PortalAppealView,
    PortalReceipt,
    PortalSubmission,
    RatingRequest,
)
from core.api_deps import CurrentUser, DbSession
from core.errors import DomainError
from core.settings import get_settings

router = APIRouter(prefix="/api/v1/portal", tags=["portal and mobile app"])
staff_router = APIRouter(prefix="/api/v1/appeals", tags=["appeals"])
Lang = Annotated[str, Query(pattern="^(ru|kk)$")]
CitizenToken = Annotated[str | None, Header(alias="X-Citizen-Token", max_length=200)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)]
_CHUNK = 64 * 1024
#: Room for the multipart framing (boundaries, part headers, the file name) around the file.
MULTIPART_OVERHEAD = 16 * 1024


class RequestTooLarge(DomainError):
    code = "request_too_large"
    http_status = 413


class LengthRequired(DomainError):
    code = "length_required"
    http_status = 411


def upload_limit() -> int:
    """The largest upload request accepted: the largest file plus its multipart framing."""
    return get_settings().attachment_max_bytes + MULTIPART_OVERHEAD


class BodyLimitRoute(APIRoute):
    """A route that checks ``Content-Length`` before FastAPI reads and parses the body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def limited(request: Request) -> Response:
            declared = request.headers.get("content-length")
            limit = upload_limit()
            if declared is None:
                raise LengthRequired("send the upload with a Content-Length header")
            if not declared.isdigit() or int(declared) > limit:
                raise RequestTooLarge(
                    f"the request is larger than {limit} bytes "
                    f"(files up to {get_settings().attachment_max_bytes} bytes)",
                    max_bytes=get_settings().attachment_max_bytes,
                )
            return await handler(request)

        return limited


# Joins ``router`` at the end of this module (include_router keeps the route class).
upload_router = APIRouter(route_class=BodyLimitRoute)


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
    tracking_number: str,
    body: RatingRequest,
    session: DbSession,
    citizen_token: CitizenToken = None,
    idempotency_key: IdempotencyKey = None,
    lang: Lang = "ru",
) -> PortalAppealView:
    """Rate the answer 1–5 (again: replaces); 409 ``not_answered`` before the answer.

    Only the citizen who filed it: ``X-Citizen-Token`` (or the filing's
    ``Idempotency-Key``); 401 ``citizen_proof_required``, 403 ``not_citizens_appeal``."""
    return portal.rate(
        session,
        tracking_number=tracking_number,
        request=body,
        language=lang,
        citizen_token=citizen_token,
        idempotency_key=idempotency_key,
    )


@upload_router.post(
    "/appeals/{tracking_number}/attachments", response_model=AttachmentView, status_code=201
)
def upload(
    tracking_number: str,
    session: DbSession,
    file: Annotated[UploadFile, File(description="JPEG, PNG, HEIC or PDF")],
    citizen_token: CitizenToken = None,
    idempotency_key: IdempotencyKey = None,
) -> AttachmentView:
    """Attach a photo or document to an open appeal (type and size limits from settings).

    Only the citizen who filed it, as for the rating; a request over the size limit is
    refused from its ``Content-Length`` (413 ``request_too_large``) before it is read."""
    appeal = access.get_by_tracking_number(session, tracking_number)
    portal.require_citizen(
        session, appeal, citizen_token=citizen_token, idempotency_key=idempotency_key
    )
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
    appeal = access.get_by_tracking_number(session, tracking_number)
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
) -> Response:
    """The file, for staff who may see the appeal (an executor: their organization's)."""
    access.get_for_staff(session, user=user, appeal_id=appeal_id)
    item = attachments.get_attachment(session, appeal_id=appeal_id, attachment_id=attachment_id)
    extension = attachments.EXTENSIONS.get(item.content_type, "bin")
    filename = f"appeal-{appeal_id}-{item.id}.{extension}"
    path = attachments.local_file(item.sha256)
    if path is not None and path.is_file():
        return FileResponse(path, media_type=item.content_type, filename=filename)
    # Object storage (several machines): the bytes, read through this server (issue 20).
    return Response(
        attachments.read_content(item.sha256),
        media_type=item.content_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


router.include_router(upload_router)

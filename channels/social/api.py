"""Webhooks of the social platforms and the staff API of monitoring (thin: check, parse, hand over).

- ``GET /webhooks/meta``: Meta's verification handshake (``hub.challenge``).
- ``POST /webhooks/meta``: Instagram and Page deliveries; ``X-Hub-Signature-256`` is checked
  on every one before anything is read (401 otherwise, logged without the body).
- ``POST /webhooks/vk``: VK's Callback API; ``confirmation`` answered with the configured
  string, every event's ``secret`` checked (401), ``ok`` once handled.
- ``/api/v1/social/...``: the comments with their verdicts, the moderation decisions, the
  reply-time figures, linking a phone to a handle (operators and admins).

Malformed JSON is a 400; what we do not handle is a 200, so the sender stops retrying.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from channels.social import identity, inbound, meta, moderation, monitoring, vk
from channels.social.models import CommentState, Platform
from channels.whatsapp.webhook import signature_valid, verify_handshake
from core.api_deps import DbSession, role_guard
from core.models import Role, StaffUser
from core.settings import get_settings

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Hub-Signature-256"

webhooks = APIRouter(prefix="/webhooks", tags=["social"])
router = APIRouter(prefix="/api/v1/social", tags=["social"])
Moderator = Annotated[StaffUser, Depends(role_guard(Role.OPERATOR, Role.ADMIN))]


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None


@webhooks.get("/meta", include_in_schema=False)
def meta_verify(request: Request) -> Response:
    challenge = verify_handshake(
        dict(request.query_params), get_settings().social_meta_verify_token
    )
    if challenge is None:
        return _error(403, "bad_verify_token", "the verify token does not match")
    return PlainTextResponse(challenge)


@webhooks.post("/meta", include_in_schema=False)
async def meta_webhook(request: Request) -> Response:
    settings = get_settings()
    if not settings.social_meta_app_secret:
        return _error(404, "social_not_configured", "social-media monitoring is not configured")
    raw = await request.body()
    if not signature_valid(
        raw, request.headers.get(SIGNATURE_HEADER), settings.social_meta_app_secret
    ):
        log.warning(
            "social webhook: delivery refused, bad or missing signature (%d bytes)", len(raw)
        )
        return _error(401, "bad_signature", "X-Hub-Signature-256 does not match")
    data = _json(raw)
    if data is None:
        return _error(400, "malformed_json", "the body is not valid JSON")
    try:
        delivery = meta.parse(data)
    except meta.MalformedPayload as error:
        log.warning("social webhook: malformed payload (%s)", error)
        return _error(400, "malformed_payload", "the body is not a Meta webhook")
    new = await asyncio.to_thread(inbound.handle_meta, delivery, settings)
    log.info(
        "social webhook: %d comments (%d new), %d edits, %d deletions, %d mentions, %d ignored",
        len(delivery.comments),
        new,
        len(delivery.edits),
        len(delivery.deletions),
        len(delivery.mentions),
        delivery.ignored,
    )
    return JSONResponse({"ok": True})


@webhooks.post("/vk", include_in_schema=False)
async def vk_callback(request: Request) -> Response:
    settings = get_settings()
    if settings.social_vk_group_id is None:
        return _error(404, "social_not_configured", "VK monitoring is not configured")
    data = _json(await request.body())
    if data is None:
        return _error(400, "malformed_json", "the body is not valid JSON")
    try:
        event = vk.parse(data)
    except vk.MalformedEvent as error:
        log.warning("vk callback: malformed event (%s)", error)
        return _error(400, "malformed_event", "the body is not a Callback API event")
    if event.group_id != settings.social_vk_group_id:
        log.warning("vk callback: an event of another community refused")
        return _error(403, "wrong_group", "this server serves another community")
    if event.type == "confirmation":
        return PlainTextResponse(settings.social_vk_confirmation or "")
    expected = settings.social_vk_secret
    if expected and not hmac.compare_digest((event.secret or "").encode(), expected.encode()):
        log.warning("vk callback: event refused, wrong or missing secret")
        return _error(401, "bad_secret", "the secret does not match")
    new = await asyncio.to_thread(inbound.handle_vk, event, settings)
    log.info("vk callback: %s (%d new comments)", event.type, new)
    return PlainTextResponse("ok")


# --- staff API --------------------------------------------------------------------------


class DecisionIn(BaseModel):
    decision: Literal["appeal", "not_appeal", "answer"]
    reply_text: str | None = Field(default=None, max_length=moderation.MAX_REPLY_CHARS)


class PhoneIn(BaseModel):
    platform: Platform
    author_id: str = Field(min_length=1, max_length=64)
    phone: str = Field(min_length=5, max_length=40)


@router.get("/comments")
def list_comments(
    session: DbSession,
    user: Moderator,
    state: Annotated[CommentState | None, Query()] = None,
    platform: Annotated[Platform | None, Query()] = None,
    account: Annotated[str | None, Query(max_length=64)] = None,
    post: Annotated[int | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    rows = monitoring.stream(
        session, state=state, platform=platform, account=account, post_id=post, limit=limit
    )
    return {"comments": [monitoring.comment_view(row) for row in rows]}


@router.post("/comments/{comment_id}/decision")
def decide(
    comment_id: int, body: DecisionIn, session: DbSession, user: Moderator
) -> dict[str, Any]:
    row = moderation.decide(
        session, comment_id=comment_id, decision=body.decision, by=user, reply_text=body.reply_text
    )
    return {"id": row.id, "state": row.state.value, "appeal_id": row.appeal_id}


@router.get("/kpi")
def kpi(
    session: DbSession,
    user: Moderator,
    since: Annotated[datetime | None, Query()] = None,
) -> dict[str, Any]:
    return monitoring.reply_kpi(session, since=since, settings=get_settings())


@router.post("/handles/phone")
def link_phone(body: PhoneIn, session: DbSession, user: Moderator) -> dict[str, Any]:
    citizen_id = identity.link_phone(session, body.platform, body.author_id, body.phone)
    return {"citizen_id": citizen_id}

"""The portal and mobile-app services: file, follow, rate and attach, by tracking number.

The JSON API (``channels.portal_api``) is a thin layer over these functions and
over ``intake.submit`` / ``ratings.answers``, the same ones the bots and the
staff pages use.

"My appeals" works with a *citizen token*: minted by us (HMAC-signed with the
deployment's secret), handed to the app with its first appeal, and sent back in
``X-Citizen-Token``. It lists the appeals filed with that token only. Listing by
phone would need a one-time code sent by SMS, which this deployment has no
transport for; without it, a phone number proves nothing.

Following an appeal needs only its tracking number; changing it (attaching a file,
rating the answer) needs proof that the caller is the citizen who filed it: the
citizen token the appeal was filed with (``X-Citizen-Token``), or the
``Idempotency-Key`` (a UUID) it was filed with when the app kept no token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals import access
from appeals.lifecycle import ANSWER_VISIBLE, Status
from appeals.models import Appeal, Channel
from appeals.schemas import Language
from channels.attachments import attachments_of
from channels.portal_models import Attachment, PortalTokenAppeal
from core.db import dialect_insert, table_of
from core.errors import NotAuthenticated, PermissionDenied, ValidationFailed
from core.settings import get_settings
from intake import service
from intake.schemas import CitizenContact, IncomingContact
from intake.views import public_view
from ratings import answers
from ratings.models import AnswerRating

TOKEN_VERSION = "ct1"  # noqa: S105 - a format tag, not a secret
MIN_IDEMPOTENCY_KEY = 16


class PortalSubmission(BaseModel):
    """An appeal from the mobile app or a third-party front end."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    channel: Literal["portal", "mobile"] = "mobile"
    text: str = Field(max_length=20000)
    language: Language | None = None
    appeal_type: str | None = Field(default=None, max_length=32)
    category_code: str | None = Field(default=None, max_length=96)
    district_code: str | None = Field(default=None, max_length=32)
    address: str | None = Field(default=None, max_length=300)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    citizen: CitizenContact = Field(default_factory=CitizenContact)


class PortalReceipt(BaseModel):
    tracking_number: str
    status: Status
    created: bool = Field(description="False when this idempotency key was already used")
    citizen_token: str = Field(description="Send it back as X-Citizen-Token for 'my appeals'")
    status_url: str


class AttachmentView(BaseModel):
    id: int
    content_type: str
    size_bytes: int
    sha256: str
    name: str | None
    created_at: datetime


class RatingView(BaseModel):
    score: int
    comment: str | None
    rated_at: datetime


class PortalAppealView(BaseModel):
    """The public view (no personal data) plus what the app needs to offer next."""

    tracking_number: str
    status: Status
    status_label: str
    received_at: datetime
    registered_on: date | None
    due_at: datetime | None
    category: str | None
    organization: str | None
    answer: str | None
    answered_at: datetime | None
    can_rate: bool
    rating: RatingView | None
    attachments: int


class RatingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    score: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=4000)
    channel: Literal["portal", "mobile"] = "mobile"


# --- citizen tokens ---------------------------------------------------------------------


def _signature(body: str) -> str:
    key = get_settings().secret_key.encode()
    digest = hmac.new(key, f"{TOKEN_VERSION}.{body}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode().rstrip("=")


def mint_token() -> str:
    body = secrets.token_urlsafe(24)
    return f"{TOKEN_VERSION}.{body}.{_signature(body)}"


def check_token(token: str) -> str:
    """The token's hash, if we minted it; otherwise 401 (a made-up token lists nothing)."""
    version, _, rest = token.strip().partition(".")
    body, _, signature = rest.partition(".")
    if version != TOKEN_VERSION or not body or not hmac.compare_digest(signature, _signature(body)):
        raise NotAuthenticated("the citizen token is not valid", code="bad_citizen_token")
    return hashlib.sha256(token.strip().encode()).hexdigest()


def _external_id(idempotency_key: str | None, token_hash: str | None) -> str | None:
    """The submit key: scoped to the token when there is one, so two apps choosing the same
    key never see each other's appeal; a key without a token must be long (a UUID)."""
    if not idempotency_key:
        return None
    key = idempotency_key.strip()
    if token_hash is not None:
        return "pt:" + hashlib.sha256(f"{token_hash}:{key}".encode()).hexdigest()[:48]
    if len(key) < MIN_IDEMPOTENCY_KEY:
        raise ValidationFailed(
            f"an Idempotency-Key needs at least {MIN_IDEMPOTENCY_KEY} characters (use a UUID)",
            code="weak_idempotency_key",
        )
    return "pk:" + key[:120]


# --- services ----------------------------------------------------------------------------


def file_appeal(
    session: Session,
    *,
    submission: PortalSubmission,
    idempotency_key: str | None,
    citizen_token: str | None,
) -> PortalReceipt:
    """Submit through ``intake.submit`` and link the appeal to the citizen token."""
    token_hash = check_token(citizen_token) if citizen_token else None
    external_id = _external_id(idempotency_key, token_hash)
    token = citizen_token.strip() if citizen_token else mint_token()
    token_hash = token_hash or hashlib.sha256(token.encode()).hexdigest()
    contact = IncomingContact(
        channel=Channel(submission.channel),
        external_id=external_id,
        **submission.model_dump(exclude={"channel"}),
    )
    result = service.submit(session, contact)
    session.execute(
        dialect_insert(session.get_bind().dialect.name, table_of(PortalTokenAppeal))
        .values(token_hash=token_hash, appeal_id=result.appeal_id)
        .on_conflict_do_nothing(index_elements=["token_hash", "appeal_id"])
    )
    return PortalReceipt(
        tracking_number=result.tracking_number,
        status=result.status,
        created=result.created,
        citizen_token=token,
        status_url=f"/api/v1/portal/appeals/{result.tracking_number}",
    )


def link_to_token(session: Session, *, citizen_token: str | None, appeal_id: int) -> str:
    """Link an appeal filed on the web portal to the browser's citizen token (a fresh one
    when it has none or a forged one) and return the token, to keep in a signed cookie:
    the proof ``require_citizen`` asks for when the citizen rates the answer."""
    token: str | None = citizen_token.strip() if citizen_token else None
    try:
        token_hash = check_token(token) if token else None
    except NotAuthenticated:
        token_hash = None
    if token is None or token_hash is None:
        token = mint_token()
        token_hash = hashlib.sha256(token.encode()).hexdigest()
    session.execute(
        dialect_insert(session.get_bind().dialect.name, table_of(PortalTokenAppeal))
        .values(token_hash=token_hash, appeal_id=appeal_id)
        .on_conflict_do_nothing(index_elements=["token_hash", "appeal_id"])
    )
    return token


def require_citizen(
    session: Session,
    appeal: Appeal,
    *,
    citizen_token: str | None,
    idempotency_key: str | None,
) -> None:
    """401 without any proof, 403 when the proof is not this appeal's (a token it was not
    filed with, another key); returns quietly for the citizen who filed it."""
    if not (citizen_token or idempotency_key):
        raise NotAuthenticated(
            "send the X-Citizen-Token (or the Idempotency-Key) the appeal was filed with",
            code="citizen_proof_required",
        )
    if citizen_token:
        token_hash = check_token(citizen_token)
        linked = session.scalar(
            select(PortalTokenAppeal.id).where(
                PortalTokenAppeal.token_hash == token_hash,
                PortalTokenAppeal.appeal_id == appeal.id,
            )
        )
        if linked is not None:
            return
    if idempotency_key and appeal.channel in (Channel.PORTAL, Channel.MOBILE):
        key = idempotency_key.strip()
        if len(key) >= MIN_IDEMPOTENCY_KEY and hmac.compare_digest(
            appeal.external_id.encode(), ("pk:" + key[:120]).encode()
        ):
            return
    raise PermissionDenied(
        "this appeal was not filed with this token or key", code="not_citizens_appeal"
    )


def _rating_of(session: Session, appeal: Appeal) -> AnswerRating | None:
    if appeal.answered_at is None:
        return None
    return session.scalar(
        select(AnswerRating).where(
            AnswerRating.appeal_id == appeal.id, AnswerRating.answered_at == appeal.answered_at
        )
    )


def appeal_view(session: Session, appeal: Appeal, language: str) -> PortalAppealView:
    public = public_view(session, appeal, language)
    rating = _rating_of(session, appeal) if appeal.status in ANSWER_VISIBLE else None
    return PortalAppealView(
        **public.model_dump(),
        can_rate=appeal.status in ANSWER_VISIBLE and appeal.answered_at is not None,
        rating=(
            RatingView(score=rating.score, comment=rating.comment, rated_at=rating.rated_at)
            if rating
            else None
        ),
        attachments=len(attachments_of(session, appeal_id=appeal.id)),
    )


def track(session: Session, *, tracking_number: str, language: str) -> PortalAppealView:
    return appeal_view(session, access.get_by_tracking_number(session, tracking_number), language)


def rate(
    session: Session,
    *,
    tracking_number: str,
    request: RatingRequest,
    language: str,
    citizen_token: str | None,
    idempotency_key: str | None,
) -> PortalAppealView:
    """The citizen who filed the appeal rates its answer (``require_citizen``): anyone with
    the tracking number may read the answer, but a rating speaks for the citizen."""
    appeal = access.get_by_tracking_number(session, tracking_number)
    require_citizen(session, appeal, citizen_token=citizen_token, idempotency_key=idempotency_key)
    rating = answers.rate_answer(
        session,
        appeal_id=appeal.id,
        score=request.score,
        comment=request.comment,
        channel=request.channel,
    )
    reopen_now(session, appeal, rating)
    return appeal_view(session, appeal, language)


def reopen_now(session: Session, appeal: Appeal, rating: AnswerRating) -> None:
    """A low rating reopens the appeal in the rating's own transaction, so the answer to
    the citizen says ``reopened`` and ``can_rate: false`` instead of the state before; the
    ``rating.low`` event handler after commit then finds it done (``reopened_at``)."""
    from channels.jobs import reopen_after_low_rating

    if answers.should_reopen(rating) and reopen_after_low_rating(session, rating_id=rating.id):
        session.refresh(appeal)


def my_appeals(
    session: Session, *, citizen_token: str | None, language: str, limit: int = 50
) -> list[PortalAppealView]:
    if not citizen_token:
        raise NotAuthenticated("send the X-Citizen-Token header", code="citizen_token_required")
    token_hash = check_token(citizen_token)
    appeals = session.scalars(
        select(Appeal)
        .join(PortalTokenAppeal, PortalTokenAppeal.appeal_id == Appeal.id)
        .where(PortalTokenAppeal.token_hash == token_hash)
        .order_by(Appeal.received_at.desc(), Appeal.id.desc())
        .limit(limit)
    ).all()
    return [appeal_view(session, appeal, language) for appeal in appeals]


def attachment_view(attachment: Attachment) -> AttachmentView:
    return AttachmentView(
        id=attachment.id,
        content_type=attachment.content_type,
        size_bytes=attachment.size_bytes,
        sha256=attachment.sha256,
        name=attachment.original_name,
        created_at=attachment.created_at,
    )

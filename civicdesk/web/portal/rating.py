"""Rating the answer on the portal's status page (issue 14, item 6).

Anyone with the tracking number may read the answer; only the citizen who filed the appeal
may rate it. The proof is the portal's citizen token (``channels.portal``: HMAC-signed with
the deployment's secret), which the web form keeps in an HttpOnly cookie when the appeal is
filed from this browser; the rating then goes through the same ``require_citizen`` as the
mobile app's. SameSite=Lax keeps another site's form from rating with it.

One rating per answer (``ratings.answers``); the citizen may change it for
``CHANGE_WINDOW`` after giving it, then it stands. A low rating reopens the appeal at once
(``channels.portal.reopen_now``), and the page says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from appeals.models import Appeal
from channels import portal
from core.clock import now
from core.errors import Conflict, DomainError, ValidationFailed
from core.settings import get_settings

#: The cookie that holds this browser's citizen token (set when an appeal is filed here).
CITIZEN_COOKIE: Final = "cd_citizen"
COOKIE_MAX_AGE_S: Final = 2 * 365 * 24 * 3600  # an appeal's life and its answer's rating
#: How long after rating the citizen may change their mind.
CHANGE_WINDOW: Final = timedelta(hours=24)
MAX_COMMENT_CHARS: Final = 4000  # channels.portal.RatingRequest's limit


def citizen_token(request: Request) -> str | None:
    token = request.cookies.get(CITIZEN_COOKIE, "").strip()
    return token[:200] or None


def remember_citizen(response: Response, token: str) -> None:
    response.set_cookie(
        CITIZEN_COOKIE,
        token,
        max_age=COOKIE_MAX_AGE_S,
        httponly=True,
        samesite="lax",
        secure=get_settings().environment == "production",
        path="/",
    )


def is_filer(session: Session, request: Request, appeal: Appeal) -> bool:
    """Did this browser file the appeal (its cookie's token is linked to it)?"""
    token = citizen_token(request)
    if token is None:
        return False
    try:
        portal.require_citizen(session, appeal, citizen_token=token, idempotency_key=None)
    except DomainError:
        return False
    return True


@dataclass(frozen=True)
class RatingBox:
    """What the status page shows about rating: nothing, a note, the rating, or the form."""

    visible: bool  # the answer is there to rate
    filer: bool
    score: int | None = None
    comment: str = ""
    changeable: bool = False

    @property
    def form(self) -> bool:
        return self.visible and self.filer and (self.score is None or self.changeable)


def rating_box(session: Session, request: Request, appeal: Appeal, language: str) -> RatingBox:
    view = portal.appeal_view(session, appeal, language)
    if not view.can_rate:
        return RatingBox(visible=False, filer=False)
    filer = is_filer(session, request, appeal)
    if not filer or view.rating is None:
        return RatingBox(visible=True, filer=filer)
    return RatingBox(
        visible=True,
        filer=True,
        score=view.rating.score,
        comment=view.rating.comment or "",
        changeable=now() - view.rating.rated_at <= CHANGE_WINDOW,
    )


def rate(session: Session, request: Request, appeal: Appeal, *, score: str, comment: str) -> None:
    """Rate as the filer; raises the services' errors (their codes name the page's message).

    A rating that may no longer change is refused with ``rating_final``."""
    box = rating_box(session, request, appeal, "ru")
    if box.visible and box.filer and box.score is not None and not box.changeable:
        raise Conflict("the rating can no longer be changed", code="rating_final")
    value = int(score) if score.strip().isdigit() and len(score.strip()) < 3 else 0
    if not 1 <= value <= 5:
        raise ValidationFailed("the rating must be a whole number from 1 to 5", code="bad_score")
    if len(comment) > MAX_COMMENT_CHARS:
        raise ValidationFailed("the comment is too long", code="comment_too_long")
    portal.rate(
        session,
        tracking_number=appeal.tracking_number,
        request=portal.RatingRequest(score=value, comment=comment or None, channel="portal"),
        language="ru",
        citizen_token=citizen_token(request),
        idempotency_key=None,
    )

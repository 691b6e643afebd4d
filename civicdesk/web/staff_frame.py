"""What every staff page's layout needs, and the staff error page, in one place.

The appeal pages, the SLA panel and board, the inbox and the operator console all
render inside ``staff/layout.html``; each used to build the same context itself.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from civicdesk.web.rendering import render
from civicdesk.web.staff_auth import form_csrf
from civicdesk.web.texts import t
from core.models import StaffUser
from routing.models import Organization


def staff_frame(
    request: Request, session: Session, user: StaffUser, language: str, **extra: Any
) -> dict[str, Any]:
    """The signed-in user, their role and organization, the form token; ``extra`` per page."""
    organization = None
    if user.organization_id is not None:
        found = session.get(Organization, user.organization_id)
        organization = found.name(language) if found is not None else None
    return {
        "user": user,
        "user_role": t(f"role.{user.role.value}", language),
        "user_organization": organization,
        "csrf": form_csrf(request),
        **extra,
    }


def staff_error_page(
    request: Request,
    session: Session,
    user: StaffUser,
    *,
    language: str,
    status_code: int,
    message_key: str,
    message: str | None = None,
    **extra: Any,
) -> Response:
    """``staff/error.html`` with the message of ``message_key`` (or a room's own ``message``,
    already in ``language``) inside the staff layout."""
    return render(
        request,
        "staff/error.html",
        language=language,
        status_code=status_code,
        private=True,
        message_key=message_key,
        message=message,
        **staff_frame(request, session, user, language, **extra),
    )

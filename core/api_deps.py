"""FastAPI dependencies shared by every router: the request's transaction and the staff user."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from core import db
from core.errors import NotAuthenticated, PermissionDenied
from core.models import Role, StaffUser
from core.security import user_for_token

SESSION_COOKIE = "civicdesk_session"
bearer_scheme = HTTPBearer(auto_error=False)


def get_session() -> Iterator[Session]:
    """The request owns the transaction: commit when the handler returns, roll back on error."""
    with db.transaction() as session:
        yield session


# scope="function": the commit runs before the response is sent, so a tracking number
# is never shown for an appeal that is not yet durable.
DbSession = Annotated[Session, Depends(get_session, scope="function")]


def request_token(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str | None:
    """The JSON API takes bearer tokens only; the session cookie is for the pages, whose
    forms carry a CSRF token (civicdesk.web.staff_auth)."""
    if credentials is not None and credentials.scheme.lower() == "bearer":
        return credentials.credentials
    return None


def current_user(
    request: Request,
    session: DbSession,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> StaffUser:
    token = request_token(request, credentials)
    if not token:
        raise NotAuthenticated("sign in first", code="not_authenticated")
    return user_for_token(session, token)


CurrentUser = Annotated[StaffUser, Depends(current_user)]


def role_guard(*roles: Role) -> Callable[[StaffUser], StaffUser]:
    """A dependency admitting only these roles (403 with the roles named otherwise)."""

    def check(user: CurrentUser) -> StaffUser:
        if user.role not in roles:
            raise PermissionDenied(
                f"this needs one of the roles: {', '.join(role.value for role in roles)}",
                code="role_not_allowed",
            )
        return user

    return check


def require_roles(*roles: Role) -> Any:
    """``user: StaffUser = require_roles(Role.ADMIN)`` — prefer the ``AdminUser`` alias."""
    return Depends(role_guard(*roles))


AdminUser = Annotated[StaffUser, Depends(role_guard(Role.ADMIN))]

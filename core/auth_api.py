"""Staff sign-in for API clients: exchange a username and password for a bearer token."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials

from core.api_deps import CurrentUser, DbSession, bearer_scheme, request_token
from core.schemas import Me, TokenRequest, TokenResponse
from core.security import issue_token, revoke_token, sign_in
from core.settings import get_settings

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post(
    "/token",
    response_model=TokenResponse,
    responses={429: {"description": "too many failed sign-ins: wait Retry-After seconds"}},
)
def create_token(body: TokenRequest, session: DbSession, request: Request) -> TokenResponse:
    """A bearer token for a username and password; wrong passwords are throttled per account
    and per client address (429 with ``Retry-After``)."""
    settings = get_settings()
    address = request.client.host if request.client else None
    user = sign_in(session, username=body.username, password=body.password, address=address)
    token = issue_token(session, user=user, ttl_hours=settings.token_ttl_hours)
    return TokenResponse(
        access_token=token,
        expires_in_s=settings.token_ttl_hours * 3600,
        role=user.role.value,
        organization_id=user.organization_id,
    )


@router.post("/logout", status_code=204)
def logout(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),  # noqa: B008
) -> None:
    token = request_token(request, credentials)
    if token:
        revoke_token(session, token)


@router.get("/me", response_model=Me)
def me(user: CurrentUser) -> Me:
    return Me(
        id=user.id,
        username=user.username,
        full_name=user.full_name,
        role=user.role.value,
        organization_id=user.organization_id,
    )

"""Password hashing (Argon2id) and opaque bearer tokens for staff."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import now
from core.errors import NotAuthenticated, TooManyAttempts, ValidationFailed
from core.models import ApiToken, Role, StaffUser
from core.throttle import login_throttle

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 200  # longer is refused before hashing: a megabyte must not cost Argon2
security_log = logging.getLogger("civicdesk.security")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_staff_user(
    session: Session,
    *,
    username: str,
    full_name: str,
    role: Role,
    password: str,
    organization_id: int | None = None,
) -> StaffUser:
    """Create a staff account; an executor must name their organization, others must not."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"password must have at least {MIN_PASSWORD_LENGTH} characters", code="weak_password"
        )
    if role is Role.EXECUTOR and organization_id is None:
        raise ValidationFailed(
            "an executor is bound to one organization", code="executor_needs_org"
        )
    if role is not Role.EXECUTOR and organization_id is not None:
        raise ValidationFailed("only executors belong to an organization", code="org_not_allowed")
    if session.scalar(select(StaffUser.id).where(StaffUser.username == username)) is not None:
        raise ValidationFailed(f"username {username!r} is taken", code="username_taken")
    user = StaffUser(
        username=username,
        full_name=full_name,
        role=role,
        organization_id=organization_id,
        password_hash=hash_password(password),
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, *, username: str, password: str) -> StaffUser:
    user = session.scalar(select(StaffUser).where(StaffUser.username == username))
    if user is None or not user.is_active or not verify_password(user.password_hash, password):
        # Same answer for unknown user and wrong password: no username probing.
        raise NotAuthenticated("wrong username or password", code="bad_credentials")
    return user


def sign_in(session: Session, *, username: str, password: str, address: str | None) -> StaffUser:
    """``authenticate`` behind the login throttle (core.throttle): the one way staff sign in.

    A closed account or address is refused before the password is checked (429 with the
    seconds to wait); each failure and each refusal is logged with the account and address,
    never the password — and the username only if such an account exists (a password typed
    into the username field must not reach the log).
    """
    throttle = login_throttle()
    wait = throttle.retry_after(username, address)
    if wait:
        security_log.warning(
            "login throttled: account=%s address=%s retry_after=%ds",
            _loggable_account(session, username),
            address,
            wait,
        )
        raise TooManyAttempts(
            f"too many failed sign-ins; try again in {wait} s", retry_after_s=wait
        )
    try:
        if len(password) > MAX_PASSWORD_LENGTH:
            raise NotAuthenticated("wrong username or password", code="bad_credentials")
        user = authenticate(session, username=username, password=password)
    except NotAuthenticated:
        closed_for = throttle.failed(username, address)
        security_log.warning(
            "login failed: account=%s address=%s%s",
            _loggable_account(session, username),
            address,
            f" closed_for={closed_for}s" if closed_for else "",
        )
        raise
    throttle.succeeded(username)
    security_log.info("login: account=%s address=%s", user.username, address)
    return user


def _loggable_account(session: Session, username: str) -> str:
    exists = session.scalar(select(StaffUser.id).where(StaffUser.username == username))
    if exists is not None:
        return username
    return f"<unknown {hashlib.sha256(username.encode()).hexdigest()[:8]}>"


def issue_token(session: Session, *, user: StaffUser, ttl_hours: int) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            token_hash=_digest(token),
            user_id=user.id,
            expires_at=now() + timedelta(hours=ttl_hours),
        )
    )
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> StaffUser:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= now():
        raise NotAuthenticated("the token is unknown, expired or revoked", code="bad_token")
    user = session.get(StaffUser, row.user_id)
    if user is None or not user.is_active:
        raise NotAuthenticated("the account is disabled", code="account_disabled")
    return user


def revoke_token(session: Session, token: str) -> None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = now()
        session.flush()


def csrf_token(secret_key: str, session_token: str) -> str:
    """A form token bound to the staff session, so another site cannot post our forms."""
    return hmac.new(secret_key.encode(), session_token.encode(), hashlib.sha256).hexdigest()


def check_csrf(secret_key: str, session_token: str, submitted: str) -> bool:
    return hmac.compare_digest(csrf_token(secret_key, session_token), submitted)


def update_staff_user(
    session: Session,
    user: StaffUser,
    *,
    role: Role | None = None,
    organization_id: int | None = None,
    is_active: bool | None = None,
) -> StaffUser:
    """Change an account's role, organization (after a reorganization) or access.

    The same rule as at creation: an executor belongs to exactly one organization,
    nobody else to any. Disabling an account revokes its tokens.
    """
    new_role = role or user.role
    # Leaving the executor role leaves the organization too.
    leaving = role is not None and role is not Role.EXECUTOR
    new_organization = None if leaving else (organization_id or user.organization_id)
    if new_role is Role.EXECUTOR and new_organization is None:
        raise ValidationFailed(
            "an executor is bound to one organization", code="executor_needs_org"
        )
    if new_role is not Role.EXECUTOR and new_organization is not None:
        raise ValidationFailed("only executors belong to an organization", code="org_not_allowed")
    user.role, user.organization_id = new_role, new_organization
    if is_active is not None:
        user.is_active = is_active
        if not is_active:
            for token in session.scalars(
                select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            ):
                token.revoked_at = now()
    session.flush()
    return user

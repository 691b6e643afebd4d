"""SLA records: clock pauses, extension requests, answer reviews and the staff inbox.

These services keep the sla tables; the appeal itself (its status, its deadlines) is changed
by the named actions in ``intake/sla_actions.py``, which call these. ``sla`` does not import
``intake``: appeals are passed in as their facts (id, organization, deadlines).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.orm import Session

from core.clock import now
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.models import Role, StaffUser
from routing.models import Category, Organization
from sla import texts
from sla.clocks import paused_working_days
from sla.models import (
    AnswerReview,
    AppealPause,
    ExtensionRequest,
    ExtensionState,
    PauseReason,
    ReturnReason,
    ReviewOutcome,
    StaffNotification,
)
from sla.service import deadline_policy

# --- pauses ------------------------------------------------------------------------------


def open_pause(session: Session, *, appeal_id: int) -> AppealPause | None:
    return session.scalar(
        select(AppealPause).where(
            AppealPause.appeal_id == appeal_id, AppealPause.ended_at.is_(None)
        )
    )


def start_pause(
    session: Session,
    *,
    appeal_id: int,
    reason_code: str,
    comment: str,
    by: StaffUser | None,
    at: datetime,
) -> AppealPause:
    """Record that the clock stopped, and why (a reason from the list; "other" needs words)."""
    try:
        reason = PauseReason(reason_code)
    except ValueError:
        raise ValidationFailed(
            f"pause reason must be one of {', '.join(r.value for r in PauseReason)}",
            code="unknown_pause_reason",
        ) from None
    comment = (comment or "").strip()
    if reason is PauseReason.OTHER and not comment:
        raise ValidationFailed("say why the clock stops", code="reason_required")
    if open_pause(session, appeal_id=appeal_id) is not None:
        raise Conflict("the clock is already paused", code="already_paused")
    pause = AppealPause(
        appeal_id=appeal_id,
        reason_code=reason,
        comment=comment,
        started_at=at,
        started_by_id=by.id if by else None,
    )
    session.add(pause)
    session.flush()
    return pause


def end_pause(
    session: Session, *, appeal_id: int, by: StaffUser | None, at: datetime
) -> tuple[AppealPause, int]:
    """Close the open pause; returns it and the working days the deadlines move by."""
    pause = open_pause(session, appeal_id=appeal_id)
    if pause is None:
        raise Conflict("the clock is not paused", code="not_paused")
    pause.ended_at = at
    pause.ended_by_id = by.id if by else None
    session.flush()
    return pause, paused_working_days(deadline_policy(), pause.started_at, at)


def pauses_of(session: Session, *, appeal_id: int) -> list[AppealPause]:
    return list(
        session.scalars(
            select(AppealPause).where(AppealPause.appeal_id == appeal_id).order_by(AppealPause.id)
        )
    )


# --- extension requests ------------------------------------------------------------------


def request_extension(
    session: Session,
    *,
    appeal_id: int,
    organization_id: int | None,
    user: StaffUser,
    reason: str,
    requested_until: datetime,
    received_at: datetime,
    current_due: datetime,
) -> ExtensionRequest:
    """File an executor's request; the law's limits are checked now, not at approval only."""
    deadline_policy().validate_extension(
        received_at=received_at, current_due=current_due, new_due=requested_until, reason=reason
    )
    pending = session.scalar(
        select(ExtensionRequest.id).where(
            ExtensionRequest.appeal_id == appeal_id,
            ExtensionRequest.state == ExtensionState.PENDING,
        )
    )
    if pending is not None:
        raise Conflict(
            "an extension request for this appeal is already waiting for a decision",
            code="extension_already_requested",
            request_id=pending,
        )
    request = ExtensionRequest(
        appeal_id=appeal_id,
        requested_by_id=user.id,
        organization_id=organization_id,
        reason=reason.strip(),
        requested_until=requested_until,
        state=ExtensionState.PENDING,
        created_at=now(),
    )
    session.add(request)
    session.flush()
    return request


def get_extension_request(
    session: Session, request_id: int, *, lock: bool = False
) -> ExtensionRequest:
    query = select(ExtensionRequest).where(ExtensionRequest.id == request_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    request = session.scalar(query)
    if request is None:
        raise NotFound(f"extension request {request_id} not found", code="extension_not_found")
    return request


def check_can_decide(request: ExtensionRequest, user: StaffUser) -> None:
    """An executor never approves an extension, and nobody decides their own request."""
    if user.role not in (Role.INSPECTOR, Role.ADMIN):
        raise PermissionDenied(
            "only an inspector decides extension requests", code="role_not_allowed"
        )
    if request.requested_by_id == user.id:
        raise PermissionDenied(
            "an extension is decided by someone other than who asked for it",
            code="own_extension_request",
        )
    if request.state is not ExtensionState.PENDING:
        raise Conflict(
            f"this request was already {request.state.value}",
            code="extension_already_decided",
            state=request.state.value,
        )


def mark_decided(
    session: Session,
    request: ExtensionRequest,
    *,
    user: StaffUser,
    approved: bool,
    comment: str | None,
) -> None:
    comment = (comment or "").strip()
    if not approved and not comment:
        raise ValidationFailed("a refusal needs a reason", code="reason_required")
    request.state = ExtensionState.APPROVED if approved else ExtensionState.REFUSED
    request.decided_by_id = user.id
    request.decided_at = now()
    request.decision_comment = comment or None
    session.flush()


def extension_requests(
    session: Session,
    *,
    user: StaffUser,
    state: ExtensionState | None = None,
    appeal_id: int | None = None,
    limit: int = 200,
) -> list[ExtensionRequest]:
    """Requests the user may see: an executor their organization's, other staff all."""
    query = select(ExtensionRequest).order_by(ExtensionRequest.created_at).limit(limit)
    if state is not None:
        query = query.where(ExtensionRequest.state == state)
    if appeal_id is not None:
        query = query.where(ExtensionRequest.appeal_id == appeal_id)
    if user.role is Role.EXECUTOR:
        query = query.where(ExtensionRequest.organization_id == user.organization_id)
    return list(session.scalars(query))


# --- reviews -----------------------------------------------------------------------------


def parse_return_reason(reason_code: str, comment: str | None) -> ReturnReason:
    try:
        reason = ReturnReason(reason_code)
    except ValueError:
        raise ValidationFailed(
            f"return reason must be one of {', '.join(r.value for r in ReturnReason)}",
            code="unknown_return_reason",
        ) from None
    if reason is ReturnReason.OTHER and not (comment or "").strip():
        raise ValidationFailed("say what is wrong with the answer", code="reason_required")
    return reason


def record_review(
    session: Session,
    *,
    appeal_id: int,
    organization_id: int | None,
    reviewer: StaffUser,
    outcome: ReviewOutcome,
    reason: ReturnReason | None,
    comment: str | None,
) -> AnswerReview:
    review = AnswerReview(
        appeal_id=appeal_id,
        organization_id=organization_id,
        reviewer_id=reviewer.id,
        outcome=outcome,
        reason_code=reason,
        comment=(comment or "").strip(),
        created_at=now(),
    )
    session.add(review)
    session.flush()
    return review


@dataclass
class OrganizationReturns:
    """How an organization's answers fared at review over a period."""

    organization_id: int
    organization_code: str
    reviewed: int
    returned: int
    by_reason: dict[str, int]

    @property
    def return_rate(self) -> float:
        return self.returned / self.reviewed if self.reviewed else 0.0


def return_counts(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    organization_id: int | None = None,
) -> list[OrganizationReturns]:
    """Answers reviewed and returned per organization (the board and the ranking read it)."""
    conditions: list[ColumnElement[bool]] = [AnswerReview.organization_id.is_not(None)]
    if since is not None:
        conditions.append(AnswerReview.created_at >= since)
    if until is not None:
        conditions.append(AnswerReview.created_at < until)
    if organization_id is not None:
        conditions.append(AnswerReview.organization_id == organization_id)
    rows = session.execute(
        select(
            AnswerReview.organization_id,
            Organization.code,
            AnswerReview.outcome,
            AnswerReview.reason_code,
            func.count(),
        )
        .join(Organization, Organization.id == AnswerReview.organization_id)
        .where(*conditions)
        .group_by(
            AnswerReview.organization_id,
            Organization.code,
            AnswerReview.outcome,
            AnswerReview.reason_code,
        )
    ).all()
    totals: dict[int, OrganizationReturns] = {}
    for org_id, code, outcome, reason, count in rows:
        if org_id is None:  # filtered out above; keeps the type checker honest
            continue
        entry = totals.setdefault(
            org_id,
            OrganizationReturns(
                organization_id=org_id, organization_code=code, reviewed=0, returned=0, by_reason={}
            ),
        )
        entry.reviewed += count
        if outcome == ReviewOutcome.RETURNED:
            entry.returned += count
            key = reason.value if reason is not None else "other"
            entry.by_reason[key] = entry.by_reason.get(key, 0) + count
    result = list(totals.values())
    return sorted(result, key=lambda r: (-r.returned, r.organization_code))


# --- the staff inbox ---------------------------------------------------------------------


def category_names(session: Session, code: str | None) -> tuple[str, str] | None:
    if not code:
        return None
    row = session.execute(
        select(Category.name_ru, Category.name_kk).where(Category.code == code)
    ).first()
    return (row[0], row[1]) if row else (code, code)


def notify(
    session: Session,
    *,
    kind: str,
    appeal_id: int | None,
    text: tuple[str, str],
    staff_user_id: int | None = None,
    organization_id: int | None = None,
    role: str | None = None,
) -> StaffNotification:
    """One inbox entry: to a person, or to a team (an organization's executors or head,
    or the inspectors); a team entry is read once for the team (a shared mailbox)."""
    notification = StaffNotification(
        staff_user_id=staff_user_id,
        organization_id=organization_id,
        role=role,
        appeal_id=appeal_id,
        kind=kind,
        text_ru=text[0],
        text_kk=text[1],
        created_at=now(),
    )
    session.add(notification)
    session.flush()
    return notification


def inbox_condition(user: StaffUser) -> ColumnElement[bool]:
    """What lands in a user's inbox: addressed to them, or to a team they belong to."""
    mine: list[ColumnElement[bool]] = [StaffNotification.staff_user_id == user.id]
    if user.organization_id is not None:
        if user.role is Role.EXECUTOR:
            mine.append(
                and_(
                    StaffNotification.role == "executor",
                    StaffNotification.organization_id == user.organization_id,
                )
            )
        if user.is_head:
            mine.append(
                and_(
                    StaffNotification.role == "head",
                    StaffNotification.organization_id == user.organization_id,
                )
            )
    if user.role in (Role.INSPECTOR, Role.ADMIN):
        mine.append(StaffNotification.role == "inspector")
    return or_(*mine) if mine else false()


def inbox(
    session: Session, *, user: StaffUser, unread_only: bool = False, limit: int = 100
) -> list[StaffNotification]:
    query = (
        select(StaffNotification)
        .where(inbox_condition(user))
        .order_by(StaffNotification.created_at.desc(), StaffNotification.id.desc())
        .limit(limit)
    )
    if unread_only:
        query = query.where(StaffNotification.read_at.is_(None))
    return list(session.scalars(query))


def unread_count(session: Session, *, user: StaffUser) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(StaffNotification)
            .where(inbox_condition(user), StaffNotification.read_at.is_(None))
        )
        or 0
    )


def mark_read(session: Session, *, user: StaffUser, notification_id: int) -> StaffNotification:
    notification = session.scalar(
        select(StaffNotification).where(
            StaffNotification.id == notification_id, inbox_condition(user)
        )
    )
    if notification is None:
        raise NotFound("no such notification in your inbox", code="notification_not_found")
    if notification.read_at is None:
        notification.read_at = now()
        session.flush()
    return notification


__all__ = [
    "OrganizationReturns",
    "check_can_decide",
    "end_pause",
    "extension_requests",
    "get_extension_request",
    "inbox",
    "mark_decided",
    "mark_read",
    "notify",
    "open_pause",
    "parse_return_reason",
    "record_review",
    "request_extension",
    "return_counts",
    "start_pause",
    "texts",
    "unread_count",
]

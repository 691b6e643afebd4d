"""HTTP API of the SLA clocks: pause/resume, extension requests and decisions, the review
queue and verdicts, the staff inbox and per-organization return counts.

For the Situation Center and organizations' own systems; bearer tokens with roles. Thin:
``sla.actions`` and ``sla.workflow`` decide. Executors see only their organization's
appeals (the same 404 as intake's API for others).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from appeals import access
from appeals.lifecycle import OPEN_STATUSES
from appeals.models import Appeal
from core.api_deps import CurrentUser, DbSession
from core.clock import now
from core.errors import PermissionDenied
from core.models import Role
from routing.service import organization_by_code
from sla import actions as sla_actions
from sla import workflow
from sla.models import ExtensionState
from sla.schemas import (
    ClockView,
    DecisionBody,
    ExtensionBody,
    ExtensionRequestView,
    NotificationView,
    PauseBody,
    PauseView,
    ReturnCountView,
    ReviewBody,
    ReviewItem,
    SweepView,
)

router = APIRouter(prefix="/api/v1/sla", tags=["sla"])


def _clock(session: DbSession, appeal: Appeal, user: CurrentUser) -> ClockView:
    overdue = (
        appeal.status in OPEN_STATUSES
        and appeal.paused_at is None
        and appeal.due_at is not None
        and appeal.due_at < now()
    )
    return ClockView(
        appeal_id=appeal.id,
        tracking_number=appeal.tracking_number,
        status=appeal.status.value,
        due_at=appeal.due_at,
        target_due_at=appeal.target_due_at,
        extension_notice_due_at=appeal.extension_notice_due_at,
        paused_at=appeal.paused_at,
        overdue=overdue,
        returns_count=appeal.returns_count or 0,
        pauses=[
            PauseView.model_validate(p) for p in workflow.pauses_of(session, appeal_id=appeal.id)
        ],
        extension_requests=[
            ExtensionRequestView.model_validate(r)
            for r in workflow.extension_requests(session, user=user, appeal_id=appeal.id)
        ],
    )


@router.get("/appeals/{appeal_id}/clock", response_model=ClockView)
def get_clock(appeal_id: int, session: DbSession, user: CurrentUser) -> ClockView:
    """Deadline, internal target, pauses and extension requests of one appeal."""
    appeal = access.get_for_staff(session, user=user, appeal_id=appeal_id)
    return _clock(session, appeal, user)


@router.post("/appeals/{appeal_id}/pause", response_model=ClockView)
def pause(appeal_id: int, body: PauseBody, session: DbSession, user: CurrentUser) -> ClockView:
    appeal = access.get_for_staff(session, user=user, appeal_id=appeal_id)
    sla_actions.pause_clock(
        session, appeal, user=user, reason_code=body.reason_code, comment=body.comment
    )
    return _clock(session, appeal, user)


@router.post("/appeals/{appeal_id}/resume", response_model=ClockView)
def resume(appeal_id: int, session: DbSession, user: CurrentUser) -> ClockView:
    appeal = access.get_for_staff(session, user=user, appeal_id=appeal_id)
    sla_actions.resume_clock(session, appeal, user=user)
    return _clock(session, appeal, user)


@router.post(
    "/appeals/{appeal_id}/extension-requests",
    response_model=ExtensionRequestView,
    status_code=201,
)
def request_extension(
    appeal_id: int, body: ExtensionBody, session: DbSession, user: CurrentUser
) -> ExtensionRequestView:
    appeal = access.get_for_staff(session, user=user, appeal_id=appeal_id)
    request = sla_actions.request_extension(
        session, appeal, user=user, until=body.until, reason=body.reason
    )
    return ExtensionRequestView.model_validate(request)


@router.get("/extension-requests", response_model=list[ExtensionRequestView])
def list_extension_requests(
    session: DbSession,
    user: CurrentUser,
    state: ExtensionState | None = ExtensionState.PENDING,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> list[ExtensionRequestView]:
    """Inspectors: the requests waiting for a decision; executors: their organization's."""
    return [
        ExtensionRequestView.model_validate(r)
        for r in workflow.extension_requests(session, user=user, state=state, limit=limit)
    ]


@router.post("/extension-requests/{request_id}/approve", response_model=ClockView)
def approve_extension(
    request_id: int, body: DecisionBody, session: DbSession, user: CurrentUser
) -> ClockView:
    appeal = sla_actions.approve_extension(session, request_id, user=user, comment=body.comment)
    return _clock(session, appeal, user)


@router.post("/extension-requests/{request_id}/refuse", response_model=ClockView)
def refuse_extension(
    request_id: int, body: DecisionBody, session: DbSession, user: CurrentUser
) -> ClockView:
    appeal = sla_actions.refuse_extension(
        session, request_id, user=user, comment=body.comment or ""
    )
    return _clock(session, appeal, user)


@router.get("/review-queue", response_model=list[ReviewItem])
def review_queue(
    session: DbSession,
    user: CurrentUser,
    organization: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[ReviewItem]:
    """Answers waiting for an inspector's verdict, oldest first. The answer's text is for
    the reviewers (inspectors, admins): analysts get the queue without it, since an answer
    may quote the citizen (a name, an address)."""
    organization_id = organization_by_code(session, organization).id if organization else None
    appeals = sla_actions.review_queue(
        session, user=user, organization_id=organization_id, limit=limit, offset=offset
    )
    reviewer = user.role in (Role.INSPECTOR, Role.ADMIN)
    return [
        ReviewItem(
            appeal_id=a.id,
            tracking_number=a.tracking_number,
            organization_id=a.organization_id,
            category_code=a.category_code,
            answered_at=a.answered_at,
            due_at=a.due_at,
            returns_count=a.returns_count or 0,
            answer_text=a.answer_text if reviewer else None,
        )
        for a in appeals
    ]


@router.post("/appeals/{appeal_id}/review", response_model=ClockView)
def review(appeal_id: int, body: ReviewBody, session: DbSession, user: CurrentUser) -> ClockView:
    """Accept the answer (→ closed) or return it for rework with a checklist reason."""
    appeal = access.get_for_staff(session, user=user, appeal_id=appeal_id)
    if body.outcome == "accepted":
        sla_actions.accept_answer(session, appeal, user=user, comment=body.comment)
    else:
        sla_actions.return_answer(
            session, appeal, user=user, reason_code=body.reason_code or "", comment=body.comment
        )
    return _clock(session, appeal, user)


@router.get("/notifications", response_model=list[NotificationView])
def notifications(
    session: DbSession,
    user: CurrentUser,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[NotificationView]:
    """The caller's inbox: reminders, escalations, extension decisions, returned answers."""
    return [
        NotificationView.model_validate(n)
        for n in workflow.inbox(session, user=user, unread_only=unread, limit=limit)
    ]


@router.post("/notifications/{notification_id}/read", response_model=NotificationView)
def read_notification(
    notification_id: int, session: DbSession, user: CurrentUser
) -> NotificationView:
    return NotificationView.model_validate(
        workflow.mark_read(session, user=user, notification_id=notification_id)
    )


@router.get("/returns", response_model=list[ReturnCountView])
def returns(
    session: DbSession,
    user: CurrentUser,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
) -> list[ReturnCountView]:
    """Answers reviewed and returned for rework, per organization (executors: their own)."""
    organization_id = None
    if user.role is Role.EXECUTOR:
        if user.organization_id is None:
            raise PermissionDenied("no organization", code="other_organization")
        organization_id = user.organization_id
    elif user.role is Role.OPERATOR:
        raise PermissionDenied("return counts are for inspectors", code="role_not_allowed")
    rows = workflow.return_counts(
        session, since=since, until=until, organization_id=organization_id
    )
    return [
        ReturnCountView(
            organization_id=r.organization_id,
            organization_code=r.organization_code,
            reviewed=r.reviewed,
            returned=r.returned,
            return_rate=round(r.return_rate, 4),
            by_reason=r.by_reason,
        )
        for r in rows
    ]


@router.post("/sweep", response_model=SweepView)
def sweep_now(user: CurrentUser) -> SweepView:
    """Run the deadline sweep once now (admin; the worker runs it every minute anyway)."""
    if user.role is not Role.ADMIN:
        raise PermissionDenied("only an admin runs the sweep by hand", code="role_not_allowed")
    from sla.jobs import run_sweep

    return SweepView.model_validate(run_sweep())

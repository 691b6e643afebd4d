"""Staff pages of the SLA clocks: one appeal's clock with its forms (pause and resume,
extension request and decision, review), and the staff inbox of reminders and escalations.

Thin: ``sla.actions`` and ``sla.workflow`` decide; this module reads forms and renders.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import partial
from typing import Annotated, Any, Final

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from appeals import access
from appeals.lifecycle import OPEN_STATUSES, TRANSITIONS, Status, status_label
from appeals.models import Appeal
from civicdesk.web.lookups import category_names, organization_names, staff_names
from civicdesk.web.rendering import page_language, redirect, render, templates
from civicdesk.web.staff.presenters import sla_steps
from civicdesk.web.staff.sla_texts import SLA_TEXTS, st
from civicdesk.web.staff_auth import StaffUserDep, csrf_ok
from civicdesk.web.staff_frame import staff_error_page, staff_frame
from core.api_deps import DbSession
from core.clock import ALMATY, now
from core.errors import DomainError, NotFound, ValidationFailed
from core.models import Role, StaffUser
from sla import actions as sla_actions
from sla import texts as sla_texts
from sla import workflow
from sla.models import ExtensionState, PauseReason, ReturnReason
from sla.service import deadline_policy

router = APIRouter(include_in_schema=False)

ACTIONS: Final = ("pause", "resume", "request_extension", "approve", "refuse", "accept", "return")
INBOX_PATH: Final = "/staff/inbox"


def return_reasons(language: str) -> list[tuple[str, str]]:
    """The review checklist as (code, label) in ``language``."""
    return [(r.value, sla_texts.RETURN_REASON_LABELS[r.value][language]) for r in ReturnReason]


# The appeal page shows the review forms (they post here) and a link to the extension form.
templates.env.globals.update(sla_steps=sla_steps, sla_text=st, sla_return_reasons=return_reasons)


def _frame(request: Request, session: Session, user: StaffUser, language: str) -> dict[str, Any]:
    return staff_frame(request, session, user, language, sla_t=partial(st, language))


def _appeal(session: Session, user: StaffUser, appeal_id: str) -> Appeal | None:
    if not appeal_id.isdigit() or len(appeal_id) > 11:
        return None
    try:
        return access.get_for_staff(session, user=user, appeal_id=int(appeal_id))
    except NotFound:
        return None


def _forms(user: StaffUser, appeal: Appeal) -> set[str]:
    """Which forms to show; the services check again (this only hides what would fail)."""
    shown: set[str] = set()
    own = user.role is not Role.EXECUTOR or appeal.organization_id == user.organization_id
    # The clock and the extension request are the executor's (an inspector decides on an
    # extension, and never on their own request): an inspector is not offered them.
    clock_role = user.role in (Role.EXECUTOR, Role.ADMIN) and own
    if clock_role and appeal.status in OPEN_STATUSES and appeal.due_at is not None:
        if appeal.paused_at is not None:
            shown.add("resume")
        else:
            # An overdue clock is not paused (``sla_actions.pause_clock``): say why instead.
            shown.add("pause" if appeal.due_at > now() else "pause_refused")
    if clock_role and Status.EXTENDED in TRANSITIONS[appeal.status] and appeal.due_at:
        shown.add("request_extension")
    if user.role in (Role.INSPECTOR, Role.ADMIN):
        shown.add("decide")
        if appeal.status is Status.ANSWERED:
            shown.add("review")
    return shown


def _page(
    request: Request,
    session: Session,
    user: StaffUser,
    appeal: Appeal,
    *,
    language: str,
    done: str | None = None,
    error: DomainError | None = None,
    failed: str | None = None,
    status_code: int = 200,
) -> Response:
    moment = now()
    requests = workflow.extension_requests(session, user=user, appeal_id=appeal.id)
    pauses = workflow.pauses_of(session, appeal_id=appeal.id)
    people = staff_names(
        session, {r.requested_by_id for r in requests} | {p.started_by_id or 0 for p in pauses}
    )
    max_due = deadline_policy().max_extended_due(appeal.received_at).astimezone(ALMATY).date()
    return render(
        request,
        "staff/sla_panel.html",
        language=language,
        status_code=status_code,
        private=True,
        appeal=appeal,
        status_text=status_label(appeal.status, language),
        category=category_names(session, language).get(appeal.category_code or ""),
        organization=organization_names(session, language).get(appeal.organization_id or 0),
        overdue=(
            appeal.status in OPEN_STATUSES
            and appeal.paused_at is None
            and appeal.due_at is not None
            and appeal.due_at < moment
        ),
        forms=_forms(user, appeal),
        pauses=pauses,
        requests=requests,
        people=people,
        pause_reasons=[
            (r.value, sla_texts.PAUSE_REASON_LABELS[r.value][language]) for r in PauseReason
        ],
        return_reasons=return_reasons(language),
        pause_label=lambda code: sla_texts.PAUSE_REASON_LABELS.get(code, {}).get(language, code),
        min_due=(appeal.due_at or moment).astimezone(ALMATY).date().isoformat(),
        max_due=max_due.isoformat(),
        pending=ExtensionState.PENDING,
        done=done if done in ACTIONS else None,
        error=error,
        failed=failed,
        **_frame(request, session, user, language),
    )


def _until(value: str) -> datetime:
    """'2026-04-30' → the close of that day in Almaty, like the extend form of the appeal page."""
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationFailed("the new due date must be YYYY-MM-DD", code="bad_date") from None
    return deadline_policy().close_of(day)


def _not_found(request: Request, session: Session, user: StaffUser, language: str) -> Response:
    return staff_error_page(
        request, session, user, language=language, status_code=404,
        message_key="staff_error.not_found",
    )  # fmt: skip


def _bad_form_token(request: Request, session: Session, user: StaffUser, language: str) -> Response:
    return staff_error_page(
        request, session, user, language=language, status_code=403,
        message_key="staff_error.csrf",
    )  # fmt: skip


@router.get("/staff/appeals/{appeal_id}/sla", name="staff_sla_panel")
def sla_panel(
    request: Request, session: DbSession, user: StaffUserDep, appeal_id: str, done: str = ""
) -> Response:
    language = page_language(request)
    appeal = _appeal(session, user, appeal_id)
    if appeal is None:
        return _not_found(request, session, user, language)
    return _page(request, session, user, appeal, language=language, done=done or None)


@router.post("/staff/appeals/{appeal_id}/sla/{action}", name="staff_sla_action")
def sla_action(
    request: Request,
    session: DbSession,
    user: StaffUserDep,
    appeal_id: str,
    action: str,
    csrf: Annotated[str, Form()] = "",
    reason_code: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
    until: Annotated[str, Form()] = "",
    request_id: Annotated[str, Form()] = "",
) -> Response:
    """Run one SLA form; a refused one re-renders the panel with the reason, nothing kept."""
    language = page_language(request)
    appeal = _appeal(session, user, appeal_id)
    if appeal is None or action not in ACTIONS:
        return _not_found(request, session, user, language)
    if not csrf_ok(request, csrf):
        return _bad_form_token(request, session, user, language)
    try:
        if action == "pause":
            sla_actions.pause_clock(
                session, appeal, user=user, reason_code=reason_code, comment=comment
            )
        elif action == "resume":
            sla_actions.resume_clock(session, appeal, user=user)
        elif action == "request_extension":
            sla_actions.request_extension(
                session, appeal, user=user, until=_until(until), reason=comment
            )
        elif action in ("approve", "refuse"):
            if not request_id.isdigit():
                raise ValidationFailed("which request?", code="extension_not_found")
            owned = {
                r.id for r in workflow.extension_requests(session, user=user, appeal_id=appeal.id)
            }
            if int(request_id) not in owned:
                raise NotFound("no such request on this appeal", code="extension_not_found")
            if action == "approve":
                sla_actions.approve_extension(session, int(request_id), user=user, comment=comment)
            else:
                sla_actions.refuse_extension(session, int(request_id), user=user, comment=comment)
        elif action == "accept":
            sla_actions.accept_answer(session, appeal, user=user, comment=comment)
        else:
            sla_actions.return_answer(
                session, appeal, user=user, reason_code=reason_code, comment=comment
            )
    except DomainError as error:
        session.rollback()  # nothing of a refused action is kept
        reloaded = _appeal(session, user, appeal_id)
        if reloaded is None:
            return _not_found(request, session, user, language)
        return _page(
            request,
            session,
            user,
            reloaded,
            language=language,
            error=error,
            failed=action,
            status_code=error.http_status,
        )
    return redirect(f"/staff/appeals/{appeal.id}/sla?done={action}", private=True)


@router.get(INBOX_PATH, name="staff_inbox")
def inbox_page(request: Request, session: DbSession, user: StaffUserDep) -> Response:
    """Reminders, escalations, extension decisions and returned answers for this user."""
    language = page_language(request)
    notes = workflow.inbox(session, user=user, limit=200)
    return render(
        request,
        "staff/inbox.html",
        language=language,
        private=True,
        notes=notes,
        unread=workflow.unread_count(session, user=user),
        **_frame(request, session, user, language),
    )


@router.post(INBOX_PATH + "/{notification_id}/read", name="staff_inbox_read")
def inbox_read(
    request: Request,
    session: DbSession,
    user: StaffUserDep,
    notification_id: int,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    language = page_language(request)
    if not csrf_ok(request, csrf):
        return _bad_form_token(request, session, user, language)
    workflow.mark_read(session, user=user, notification_id=notification_id)
    return redirect(INBOX_PATH, private=True)


__all__ = ["SLA_TEXTS", "router"]

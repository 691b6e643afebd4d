"""One entry for the API and the staff pages: a named action with its inputs, handed to
the room that owns it.

The shell holds no rule here: who may act is checked by each action; the review (close,
return) and the extension have their own paths in ``sla`` (``Action.dedicated``) and are
refused with the path to use.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from appeals import actions
from appeals.lifecycle import ACTIONS
from appeals.models import Appeal
from appeals.transitions import check_role
from core.errors import ValidationFailed
from core.models import StaffUser
from routing import forwarding
from routing.service import organization_by_code


def perform(
    session: Session,
    appeal: Appeal,
    *,
    user: StaffUser,
    action: str,
    reason: str | None = None,
    text: str | None = None,
    organization_code: str | None = None,
    new_due: datetime | None = None,
    rejection_reason: str | None = None,
) -> None:
    """One entry for the API and the staff pages: the named action with its inputs.

    The review (close, return) and the extension have their own paths (``Action.dedicated``)
    and are refused here, so there is one way to take them; ``new_due`` is accepted for the
    callers' sake and ignored (no action left here takes a date).
    """
    if action not in ACTIONS:
        raise ValidationFailed(f"unknown action {action!r}", code="unknown_action")
    check_role(action, user, appeal)
    dedicated = ACTIONS[action].dedicated
    if dedicated == "review":
        raise ValidationFailed(
            "an answer is accepted or returned (with a checklist reason) at review: "
            f"POST /api/v1/sla/appeals/{appeal.id}/review, or the appeal's SLA page",
            code="use_review",
        )
    if dedicated is not None:
        raise ValidationFailed(
            "an extension is requested by the executor and approved by someone else: "
            f"POST /api/v1/sla/appeals/{appeal.id}/extension-requests, then "
            "POST /api/v1/sla/extension-requests/{id}/approve",
            code="use_extension_request",
        )
    if action == "accept":
        actions.accept(session, appeal, user=user)
    elif action == "answer":
        actions.answer(session, appeal, user=user, text=text or "")
    elif action == "send_back":
        forwarding.send_back(session, appeal, user=user, reason=reason or "")
    elif action == "route":
        if not organization_code:
            raise ValidationFailed(
                "name the organization to route to", code="organization_required"
            )
        target = organization_by_code(session, organization_code)
        forwarding.route(session, appeal, user=user, organization_id=target.id, reason=reason)
    elif action == "reject":
        actions.reject(session, appeal, user=user, reason_code=rejection_reason or "", note=reason)
    elif action == "quick_answer":
        actions.quick_answer(session, appeal, user=user, text=text or "")
    elif action == "reopen":
        actions.reopen(session, appeal, user=user, reason=reason or "")

"""The one write path of a status change: the lifecycle check, the history row, the event.

Every named action (``appeals.actions``, ``routing.forwarding``, ``sla.actions``) checks
who may act here, then goes through ``transition``, the only code that assigns
``appeal.status``. The pipeline's batch goes through ``apply_system_outcomes``: the same
lifecycle check and history rows, written in bulk. A status change ends an open clock
pause; the clocks belong to ``sla``, above this floor, so that step is a hook
(``core.hooks``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm import Session

from appeals.lifecycle import ACTIONS, Status, check_transition
from appeals.models import Appeal, AppealStatusChange, Assignment, AssignmentRole
from appeals.reasons import Reason
from core import events, hooks
from core.clock import now
from core.db import table_of
from core.errors import PermissionDenied, ValidationFailed
from core.models import Role, StaffUser


def transition(
    session: Session,
    appeal: Appeal,
    target: Status,
    *,
    actor: StaffUser | None,
    reason: Reason | str = "",
    actor_kind: str | None = None,
) -> None:
    """Move ``appeal`` to ``target`` with its history row. ``reason`` is a ``Reason`` (a code
    the staff pages render in their language); a plain string is kept as it is."""
    check_transition(appeal.status, target)
    if appeal.paused_at is not None:
        # A status change ends a pause: an answered, forwarded or closed appeal is no
        # longer waiting for the citizen, and a pause left open would hide it for good.
        end_pause(session, appeal, by=actor, why=f"status {target.value}")
    session.add(
        AppealStatusChange(
            appeal_id=appeal.id,
            from_status=appeal.status,
            to_status=target,
            actor_id=actor.id if actor else None,
            actor_kind=actor_kind or ("staff" if actor else "system"),
            **reason_columns(reason),
            organization_id=appeal.organization_id,
            at=now(),
        )
    )
    events.record_status_change(session, appeal.id, appeal.status.value, target.value)
    appeal.status = target
    appeal.updated_at = now()


def end_pause(session: Session, appeal: Appeal, *, by: StaffUser | None, why: str) -> int:
    """Close the appeal's open pause (``sla.actions.end_pause``, through the hook): the
    working days given back to its deadlines."""
    return int(hooks.call(hooks.END_PAUSE, session, appeal, by=by, why=why))


def reason_columns(reason: Reason | str) -> dict[str, Any]:
    """A history row's ``reason`` (English, for the API and logs), ``reason_code`` and
    ``reason_params``."""
    if isinstance(reason, Reason):
        return {
            "reason": reason.english(),
            "reason_code": reason.code,
            "reason_params": dict(reason.params),
        }
    return {"reason": reason, "reason_code": None, "reason_params": None}


def routing_reason_fields(why: Reason | None) -> dict[str, Any]:
    """The appeal's ``routing_reason`` (English) with its code and parameters."""
    if why is None:
        return {"routing_reason": None, "routing_reason_code": None, "routing_reason_params": None}
    return {
        "routing_reason": why.english(),
        "routing_reason_code": why.code,
        "routing_reason_params": dict(why.params),
    }


def set_routing_reason(appeal: Appeal, why: Reason | None) -> None:
    for name, value in routing_reason_fields(why).items():
        setattr(appeal, name, value)


def note_clock(
    session: Session, appeal: Appeal, *, actor: StaffUser | None, reason: Reason | str
) -> None:
    """A history row for a clock event (paused, resumed): the status stays, so ``from`` and
    ``to`` are the same, and no status-change event is emitted (the citizen hears nothing)."""
    session.add(
        AppealStatusChange(
            appeal_id=appeal.id,
            from_status=appeal.status,
            to_status=appeal.status,
            actor_id=actor.id if actor else None,
            actor_kind="staff" if actor else "system",
            **reason_columns(reason),
            organization_id=appeal.organization_id,
            at=now(),
        )
    )


def check_role(action_name: str, user: StaffUser, appeal: Appeal) -> None:
    """Who may act comes before what they sent: a refused role learns nothing about inputs."""
    action = ACTIONS[action_name]
    if user.role.value not in action.roles:
        raise PermissionDenied(
            f"a {user.role.value} may not {action_name} an appeal", code="role_not_allowed"
        )
    if (
        action.own_organization
        and user.role is Role.EXECUTOR
        and (appeal.organization_id is None or appeal.organization_id != user.organization_id)
    ):
        raise PermissionDenied(
            "this appeal belongs to another organization", code="other_organization"
        )


def authorize(action_name: str, user: StaffUser, appeal: Appeal, reason: str | None) -> str:
    check_role(action_name, user, appeal)
    if ACTIONS[action_name].needs_reason and not (reason or "").strip():
        raise ValidationFailed(f"{action_name} needs a reason", code="reason_required")
    return (reason or "").strip()


# --- system steps (the pipeline) ------------------------------------------------------


@dataclass
class SystemOutcome:
    """What the pipeline decided for one appeal: new field values and the status steps taken."""

    appeal_id: int
    current: Status
    fields: dict[str, Any]
    steps: list[tuple[Status, Reason, int | None]] = field(default_factory=list)  # to, why, org


#: Every column the pipeline writes; each row of a batch sets all of them, so one
#: executemany UPDATE serves the whole batch.
SYSTEM_FIELDS = (
    "language",
    "category_code",
    "category_confidence",
    "district_code",
    "urgency",
    "urgency_triggers",
    "appeal_type",
    "registered_on",
    "due_at",
    "target_due_at",
    "forward_due_at",
    "organization_id",
    "routing_rule_id",
    "routing_reason",
    "routing_reason_code",
    "routing_reason_params",
    "triage_reason",
    "rejection_reason",
    "match_text",
    "place_keys",
    "street_key",
)


def apply_system_outcomes(session: Session, outcomes: list[SystemOutcome]) -> None:
    """The pipeline's status changes for a whole batch: the same lifecycle checks and
    history rows as ``transition``, written with one UPDATE and one INSERT."""
    if not outcomes:
        return
    moment = now()
    updates: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    for outcome in outcomes:
        status = outcome.current
        for target, reason, organization_id in outcome.steps:
            check_transition(status, target)
            history.append(
                {
                    "appeal_id": outcome.appeal_id,
                    "from_status": status,
                    "to_status": target,
                    "actor_id": None,
                    "actor_kind": "system",
                    **reason_columns(reason),
                    "organization_id": organization_id,
                    "at": moment,
                }
            )
            status = target
        row = {name: outcome.fields.get(name) for name in SYSTEM_FIELDS}
        row.update(b_id=outcome.appeal_id, status=status, updated_at=moment)
        updates.append(row)
    appeals = table_of(Appeal)
    session.execute(
        update(appeals)
        .where(appeals.c.id == bindparam("b_id"))
        .values({name: bindparam(name) for name in (*SYSTEM_FIELDS, "status", "updated_at")}),
        updates,
    )
    if history:
        session.execute(insert(table_of(AppealStatusChange)), history)
    leads = [
        {
            "appeal_id": outcome.appeal_id,
            "organization_id": outcome.fields["organization_id"],
            "role": AssignmentRole.LEAD,
            "kind": "rule",
            "rule_id": outcome.fields.get("routing_rule_id"),
            "reason": outcome.fields.get("routing_reason") or "",
            "started_at": moment,
            "late": False,
        }
        for outcome in outcomes
        if outcome.fields.get("organization_id")
    ]
    if leads:
        session.execute(insert(table_of(Assignment)), leads)
    events.record_many(
        session,
        [
            events.status_changed(outcome.appeal_id, outcome.current.value, row["status"].value)
            for outcome, row in zip(outcomes, updates, strict=True)
            if outcome.steps
        ],
    )

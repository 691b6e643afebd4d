"""Co-executors: organizations that answer a part of an appeal beside its lead.

An appeal has one lead organization (``appeal.organization_id``), which
answers the citizen, and any number of co-executors, each with its own part of
the task (``Assignment.part``) and its own answer to that part. The lead's
final answer waits for every open part (``appeals.assignments.pending_parts``); ``combined_answer``
gives the lead a draft built from the parts.

Rows are never deleted: a removed co-executor's assignment is ended with
``end_reason="removed"`` and stays in the record. Services flush, never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals.lifecycle import OPEN_STATUSES
from appeals.models import Appeal, Assignment, AssignmentRole
from core.clock import local, now
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.models import Role, StaffUser
from routing.models import Organization
from routing.service import get_organization

#: Who may add or remove co-executors, besides the lead organization's own executors.
MANAGER_ROLES: Final = frozenset({Role.OPERATOR, Role.INSPECTOR, Role.ADMIN})
MIN_ANSWER_CHARS: Final = 10
MAX_ANSWER_CHARS: Final = 10_000
MAX_PART_CHARS: Final = 2_000
MAX_REASON_CHARS: Final = 2_000
END_REASON_REMOVED: Final = "removed"


# --- who may do what ---------------------------------------------------------------------


def may_manage(user: StaffUser, appeal: Appeal) -> bool:
    """Operators, inspectors, admins, and executors of the appeal's lead organization."""
    if user.role in MANAGER_ROLES:
        return True
    return (
        user.role is Role.EXECUTOR
        and appeal.organization_id is not None
        and appeal.organization_id == user.organization_id
    )


def is_open(appeal: Appeal) -> bool:
    """Parts can be added, removed and answered while the appeal waits for the lead's answer."""
    return appeal.status in OPEN_STATUSES


def _check_manager(user: StaffUser, appeal: Appeal, what: str) -> None:
    if may_manage(user, appeal):
        return
    if user.role is Role.EXECUTOR:
        raise PermissionDenied(
            f"only the lead organization may {what} co-executors", code="not_lead_organization"
        )
    raise PermissionDenied(
        f"a {user.role.value} may not {what} co-executors", code="role_not_allowed"
    )


def _check_open(appeal: Appeal) -> None:
    if not is_open(appeal):
        raise Conflict(
            f"the appeal is {appeal.status.value}: its co-executors can no longer change",
            code="appeal_not_open",
            status=appeal.status.value,
        )


def _lock(session: Session, appeal: Appeal) -> None:
    """Serialize changes to one appeal's parts (two adds of the same organization, an
    answer racing a removal); a no-op on SQLite."""
    session.execute(select(Appeal.id).where(Appeal.id == appeal.id).with_for_update())


def _open_assignment(session: Session, appeal_id: int, organization_id: int) -> Assignment | None:
    return session.scalar(
        select(Assignment)
        .where(
            Assignment.appeal_id == appeal_id,
            Assignment.organization_id == organization_id,
            Assignment.role == AssignmentRole.CO_EXECUTOR,
            Assignment.ended_at.is_(None),
        )
        .order_by(Assignment.id.desc())
        .limit(1)
    )


# --- changes -----------------------------------------------------------------------------


def add_co_executor(
    session: Session, appeal: Appeal, *, organization_id: int, part: str, by: StaffUser
) -> Assignment:
    """Give ``organization_id`` its own part of the appeal."""
    _check_manager(by, appeal, "add")
    part = (part or "").strip()
    if not part:
        raise ValidationFailed("say what the co-executor's part is", code="part_required")
    if len(part) > MAX_PART_CHARS:
        raise ValidationFailed(
            f"the part must have at most {MAX_PART_CHARS} characters", code="part_too_long"
        )
    _check_open(appeal)
    if appeal.organization_id is None:
        raise Conflict(
            "the appeal has no lead organization yet: route it first", code="no_lead_organization"
        )
    organization = get_organization(session, organization_id)
    if organization.id == appeal.organization_id:
        raise ValidationFailed(
            "the lead organization cannot also be a co-executor", code="lead_organization"
        )
    if not organization.is_active_on(local(now()).date()):
        raise ValidationFailed(f"{organization.code} is retired", code="organization_retired")
    _lock(session, appeal)
    if _open_assignment(session, appeal.id, organization.id) is not None:
        raise Conflict(
            f"{organization.code} is already a co-executor of this appeal",
            code="co_executor_exists",
        )
    assignment = Assignment(
        appeal_id=appeal.id,
        organization_id=organization.id,
        role=AssignmentRole.CO_EXECUTOR,
        kind="manual",
        reason=f"added by {by.role.value} {by.username}",
        assigned_by_id=by.id,
        started_at=now(),
        late=False,
        part=part,
    )
    session.add(assignment)
    session.flush()
    return assignment


def remove_co_executor(
    session: Session, appeal: Appeal, *, organization_id: int, by: StaffUser, reason: str
) -> Assignment:
    """End a co-executor's part; the row, and any answer it gave, stay in the record."""
    _check_manager(by, appeal, "remove")
    why = (reason or "").strip()
    if not why:
        raise ValidationFailed("removing a co-executor needs a reason", code="reason_required")
    if len(why) > MAX_REASON_CHARS:
        raise ValidationFailed(
            f"the reason must have at most {MAX_REASON_CHARS} characters", code="reason_too_long"
        )
    _check_open(appeal)
    _lock(session, appeal)
    assignment = _open_assignment(session, appeal.id, organization_id)
    if assignment is None:
        raise NotFound(
            "this organization is not a co-executor of the appeal", code="co_executor_not_found"
        )
    assignment.ended_at = now()
    assignment.end_reason = END_REASON_REMOVED
    # The row has no column of its own for why it ended; the reason text keeps it.
    note = f"removed by {by.role.value} {by.username}: {why}"
    assignment.reason = f"{assignment.reason}\n{note}" if assignment.reason else note
    session.flush()
    return assignment


def answer_part(
    session: Session,
    appeal: Appeal,
    *,
    user: StaffUser,
    text: str,
    organization_id: int | None = None,
) -> Assignment:
    """A co-executor's answer to its part; it may be revised until the lead answers.

    An executor answers for their own organization (``organization_id``, when
    given, must be theirs); an admin names the organization.
    """
    if user.role is Role.EXECUTOR:
        if user.organization_id is None or organization_id not in (None, user.organization_id):
            raise PermissionDenied(
                "an executor answers only their own organization's part", code="not_co_executor"
            )
        organization_id = user.organization_id
    elif user.role is Role.ADMIN:
        if organization_id is None:
            raise ValidationFailed(
                "name the organization whose part this answers", code="organization_required"
            )
    else:
        raise PermissionDenied(
            f"a {user.role.value} may not answer a co-executor's part", code="role_not_allowed"
        )
    _lock(session, appeal)
    assignment = _open_assignment(session, appeal.id, organization_id)
    if assignment is None:
        if user.role is Role.EXECUTOR:
            raise PermissionDenied(
                "your organization is not a co-executor of this appeal", code="not_co_executor"
            )
        raise NotFound(
            "this organization is not a co-executor of the appeal", code="co_executor_not_found"
        )
    text = (text or "").strip()
    if len(text) < MIN_ANSWER_CHARS:
        raise ValidationFailed(
            f"the answer must say something ({MIN_ANSWER_CHARS} characters at least)",
            code="answer_too_short",
        )
    if len(text) > MAX_ANSWER_CHARS:
        raise ValidationFailed(
            f"the answer must have at most {MAX_ANSWER_CHARS} characters", code="answer_too_long"
        )
    if not is_open(appeal):
        raise Conflict(
            f"the appeal is {appeal.status.value}: the lead has answered, parts are final",
            code="appeal_not_open",
            status=appeal.status.value,
        )
    assignment.answer_text = text
    assignment.answered_at = now()
    assignment.answered_by_id = user.id
    session.flush()
    return assignment


# --- reading -----------------------------------------------------------------------------


def parts(session: Session, appeal_id: int, *, include_removed: bool = True) -> list[Assignment]:
    """Every co-executor part of the appeal, in the order they were added."""
    query = select(Assignment).where(
        Assignment.appeal_id == appeal_id, Assignment.role == AssignmentRole.CO_EXECUTOR
    )
    if not include_removed:
        query = query.where(Assignment.ended_at.is_(None))
    return list(session.scalars(query.order_by(Assignment.id)))


def part_state(assignment: Assignment) -> str:
    """'removed', 'answered' or 'pending'."""
    if assignment.ended_at is not None:
        return "removed"
    return "answered" if assignment.answer_text is not None else "pending"


def is_open_co_executor(session: Session, appeal_id: int, organization_id: int | None) -> bool:
    if organization_id is None:
        return False
    return _open_assignment(session, appeal_id, organization_id) is not None


@dataclass(frozen=True)
class PartView:
    """One part as the views show it: with its organization."""

    assignment: Assignment
    organization: Organization

    @property
    def state(self) -> str:
        return part_state(self.assignment)


def part_views(session: Session, appeal_id: int, *, include_removed: bool = True) -> list[PartView]:
    rows = parts(session, appeal_id, include_removed=include_removed)
    ids = {row.organization_id for row in rows}
    organizations: dict[int, Organization] = {}
    if ids:
        found = session.scalars(select(Organization).where(Organization.id.in_(ids)))
        organizations = {organization.id: organization for organization in found}
    return [PartView(row, organizations[row.organization_id]) for row in rows]


def combined_answer(session: Session, appeal: Appeal, *, language: str = "ru") -> str:
    """A draft for the lead: each answered open part, headed by its organization's name."""
    sections = [
        f"{view.organization.name(language)}:\n{view.assignment.answer_text}"
        for view in part_views(session, appeal.id, include_removed=False)
        if view.assignment.answer_text
    ]
    return "\n\n".join(sections)

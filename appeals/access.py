"""Who may see which appeal: the look-ups every staff-facing room uses.

An executor sees the appeals their organization leads and those where it is an open
co-executor; everyone else on the staff sees all. Another organization's appeal is "not
found", never "forbidden", so ids cannot be probed.
"""

from __future__ import annotations

import re
from typing import Any, Final

from sqlalchemy import Boolean, Select, false, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, object_session, selectinload
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from appeals.lifecycle import OPEN_STATUSES, Status
from appeals.models import Appeal, Assignment, AssignmentRole
from core.errors import NotFound, PermissionDenied
from core.models import Role, StaffUser


class _InIds(FunctionElement[bool]):
    """``column IN (subquery)``; on PostgreSQL ``column = ANY(ARRAY(subquery))``.

    PostgreSQL cannot combine ``a = 1 OR id IN (subquery)`` from indexes and scans the
    whole table; the array form is computed once (an InitPlan), so the OR becomes a
    BitmapOr of two index scans: as fast as the organization filter alone.
    """

    type = Boolean()
    name = "in_ids"
    inherit_cache = True


@compiles(_InIds)
def _in_ids(element: _InIds, compiler: SQLCompiler, **kw: Any) -> str:
    column, ids = list(element.clauses)
    return f"({compiler.process(column, **kw)} IN {compiler.process(ids, **kw)})"


@compiles(_InIds, "postgresql")
def _in_ids_postgresql(element: _InIds, compiler: SQLCompiler, **kw: Any) -> str:
    column, ids = list(element.clauses)
    return f"{compiler.process(column, **kw)} = ANY(ARRAY{compiler.process(ids, **kw)})"


def in_ids(column: Any, ids: Any) -> _InIds:
    """``column IN (subquery)``, computed once on PostgreSQL (see ``_InIds``): OR-ed with
    other indexed conditions it stays an index scan."""
    return _InIds(column, ids)


def _open_co_executor_of(organization_id: int | None) -> Select[int]:
    """Ids of the appeals where ``organization_id`` is an open (not removed) co-executor."""
    return select(Assignment.appeal_id).where(
        Assignment.organization_id == organization_id,
        Assignment.role == AssignmentRole.CO_EXECUTOR,
        Assignment.ended_at.is_(None),
    )


def can_view(user: StaffUser, appeal: Appeal) -> bool:
    """Executors see their organization's appeals, as lead or as an open co-executor;
    other staff see all."""
    if user.role is not Role.EXECUTOR:
        return True
    if user.organization_id is None:
        return False
    if appeal.organization_id == user.organization_id:
        return True
    session = object_session(appeal)
    if session is None:
        return False
    co_executor = _open_co_executor_of(user.organization_id).where(
        Assignment.appeal_id == appeal.id
    )
    return bool(session.scalar(select(co_executor.exists())))


def get_for_staff(session: Session, *, user: StaffUser, appeal_id: int) -> Appeal:
    appeal = session.get(
        Appeal, appeal_id, options=[selectinload(Appeal.history), selectinload(Appeal.citizen)]
    )
    # An executor probing another organization's id learns nothing: the same 404.
    if appeal is None or not can_view(user, appeal):
        raise NotFound(f"appeal {appeal_id} not found", code="appeal_not_found")
    return appeal


#: Tracking numbers: the month of receipt, a dash, 8 characters (``intake.service``).
TRACKING: Final = re.compile(r"^(\d{4})-?([0-9A-Z]{8})$")


def canonical_tracking_number(raw: str) -> str | None:
    """'2611 7kq3m9xa', '26117KQ3M9XA', ' 2611-7KQ3M9XA ' → '2611-7KQ3M9XA'; None otherwise."""
    compact = re.sub(r"[\s\-–—_.]+", "", raw or "").upper()
    match = TRACKING.match(compact)
    return f"{match[1]}-{match[2]}" if match else None


def get_by_tracking_number(session: Session, tracking_number: str) -> Appeal:
    """The appeal with this number as people type it: with a space or without the dash,
    in any case ('2611 7kq3m9xa'); a number of another shape is looked up as written."""
    number = canonical_tracking_number(tracking_number) or tracking_number.strip().upper()
    appeal = session.scalar(select(Appeal).where(Appeal.tracking_number == number))
    if appeal is None:
        raise NotFound("no appeal with this tracking number", code="tracking_number_not_found")
    return appeal


def staff_query(
    user: StaffUser,
    *,
    statuses: list[Status] | None = None,
    organization_id: int | None = None,
    triage: bool = False,
    escalated: bool = False,
) -> Select[Appeal]:
    """Appeals the user may see, newest first; the executor filter is not optional.

    An executor sees the appeals their organization leads and those where it is an
    open co-executor; ``organization_id`` filters by the lead for everyone else.
    """
    query = select(Appeal).order_by(Appeal.received_at.desc(), Appeal.id.desc())
    if user.role is Role.EXECUTOR:
        if organization_id is not None and organization_id != user.organization_id:
            raise PermissionDenied(
                "an executor sees only their own organization's appeals", code="other_organization"
            )
        if user.organization_id is None:
            # Cannot happen (create_staff_user binds every executor), and ``== None`` would
            # read as ``IS NULL``: the unrouted appeals. Show nothing instead.
            return query.where(false())
        co_executor = _open_co_executor_of(user.organization_id).scalar_subquery()
        query = query.where(
            or_(Appeal.organization_id == user.organization_id, _InIds(Appeal.id, co_executor))
        )
    elif organization_id is not None:
        query = query.where(Appeal.organization_id == organization_id)
    if statuses:
        query = query.where(Appeal.status.in_(statuses))
    if triage:
        query = query.where(Appeal.status == Status.REGISTERED, Appeal.organization_id.is_(None))
    if escalated:
        # The inspectors' queue: ping-pong and much-moved appeals still waiting for an answer.
        query = query.where(Appeal.escalated_at.is_not(None), Appeal.status.in_(OPEN_STATUSES))
    return query


def list_for_staff(
    session: Session,
    *,
    user: StaffUser,
    statuses: list[Status] | None = None,
    organization_id: int | None = None,
    triage: bool = False,
    escalated: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Appeal], int]:
    query = staff_query(
        user, statuses=statuses, organization_id=organization_id, triage=triage, escalated=escalated
    )
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = session.scalars(
        query.options(selectinload(Appeal.history), selectinload(Appeal.citizen))
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), int(total)


def counts_by_status(session: Session) -> dict[str, int]:
    rows = session.execute(select(Appeal.status, func.count()).group_by(Appeal.status)).all()
    return {status.value: int(count) for status, count in rows}

"""Applying a recorded reorganization: retire, repoint rules, move open work, attribute.

Split from ``routing.reorganization`` (recording and checks). What moves and what
deliberately does not is described there and in docs/reorganizations.md.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, event, exists, func, or_, select
from sqlalchemy.orm import Session

from appeals.assignments import close_lead, open_lead
from appeals.models import Appeal, Assignment, AssignmentRole
from appeals.reasons import Reason
from appeals.transitions import set_routing_reason
from core.clock import now
from core.errors import Conflict, DomainError, NotFound, ValidationFailed
from core.models import Role, StaffUser
from routing.models import (
    Category,
    ChangeKind,
    District,
    Organization,
    OrganizationChange,
    RoutingRule,
)
from routing.reorganization import (
    ASSIGNMENT_KIND,
    END_REASON,
    FALLBACK,
    MOVED_STATUSES,
    _by_codes,
    _check_no_akimat,
    _check_no_rules,
    _district_of_akimat,
)
from routing.rules import RuleScope, put_rule
from routing.service import RoutingTable, reset_routing_table

log = logging.getLogger(__name__)


# --- applying -----------------------------------------------------------------------------


@dataclass
class _Plan:
    """Who takes what in one change, resolved from the change's organizations."""

    change: OrganizationChange
    predecessors: list[Organization]
    successors: list[Organization]
    by_code: dict[str, Organization]

    @property
    def predecessor_ids(self) -> set[int]:
        return {organization.id for organization in self.predecessors}

    @property
    def successor_ids(self) -> set[int]:
        return {organization.id for organization in self.successors}

    def fallback(self) -> Organization:
        code = self.change.category_map.get(FALLBACK)
        return self.by_code[code] if code else self.successors[0]

    def for_category(self, category_code: str | None) -> Organization | None:
        """The successor that takes a category (None: retired without successor)."""
        if not self.successors:
            return None
        if self.change.kind is not ChangeKind.SPLIT:
            return self.successors[0]
        code = self.change.category_map.get(category_code or "")
        return self.by_code[code] if code else self.fallback()

    def label(self, old_id: int, new_id: int | None) -> str:
        return self.why(old_id, new_id).english()

    def why(self, old_id: int, new_id: int | None) -> Reason:
        """The move as a reason code: the staff pages name both organizations."""
        codes = {o.id: o.code for o in self.predecessors + self.successors}
        new = codes.get(new_id, str(new_id)) if new_id is not None else "-"
        return Reason(
            "reorganized",
            {
                "change": self.change.id,
                "kind": self.change.kind.value,
                "from": codes.get(old_id, str(old_id)),
                "to": new,
            },
        )


def apply_change(
    session: Session, change: OrganizationChange, *, by: StaffUser | None, today: date
) -> OrganizationChange:
    """Carry out a recorded change once it is due; applying it again does nothing."""
    locked = session.scalars(
        select(OrganizationChange)
        .where(OrganizationChange.id == change.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if locked.applied_at is not None:
        return locked
    if locked.effective_on > today:
        raise Conflict(
            f"change #{locked.id} takes effect on {locked.effective_on}",
            code="change_not_due",
            effective_on=locked.effective_on.isoformat(),
        )
    codes = list(locked.predecessor_codes) + list(locked.successor_codes)
    try:
        by_code = _by_codes(session, codes)
    except ValidationFailed as error:
        raise Conflict(error.message, code="unknown_organization", **error.details) from None
    plan = _Plan(
        change=locked,
        predecessors=[by_code[code] for code in locked.predecessor_codes],
        successors=[by_code[code] for code in locked.successor_codes],
        by_code=by_code,
    )
    moment = now()
    appeals = _open_appeals(session, plan.predecessor_ids)
    # Everything that could refuse is checked before anything is written.
    preset: dict[int, tuple[int, int | None]] = {}
    if locked.kind is ChangeKind.RETIRE and not plan.successors:
        try:
            _check_no_akimat(session, plan.predecessors[0])
            _check_no_rules(session, plan.predecessors[0])
        except ValidationFailed as error:
            raise Conflict(error.message, code=error.code, **error.details) from None
        preset = _reroute_elsewhere(session, plan, appeals, today)
    elif locked.kind is ChangeKind.SPLIT:
        for predecessor in plan.predecessors:
            district = _district_of_akimat(session, predecessor.id)
            if district is not None:
                raise Conflict(
                    f"{predecessor.code} is the akimat of district {district}",
                    code="district_needs_akimat",
                )

    for predecessor in plan.predecessors:
        if predecessor.retired_on is None or predecessor.retired_on > locked.effective_on:
            predecessor.retired_on = locked.effective_on
    for successor in plan.successors:
        if successor.active_from is None and _is_new(session, successor):
            successor.active_from = locked.effective_on
    session.flush()
    new_rules = _repoint_rules(session, plan, by)
    _repoint_reference(session, plan)
    session.flush()

    table = RoutingTable.load(session)
    for appeal in appeals:
        target = preset.get(appeal.id) or _target_for_appeal(plan, appeal, table, today, new_rules)
        _move_lead(session, plan, appeal, target, by=by, at=moment)
    _move_co_executors(session, plan, table, today, by=by, at=moment)
    moved_staff = 0
    if locked.kind in (ChangeKind.RENAME, ChangeKind.MERGE):
        moved_staff = _move_staff(session, plan)

    locked.applied_at = moment
    locked.moved_appeals = len(appeals)
    session.flush()
    _reset_routing_now_and_after_commit(session)
    log.info(
        "reorganization #%s applied by %s: %d appeal(s), %d rule(s), %d account(s) moved",
        locked.id,
        by.username if by else "system",
        len(appeals),
        len(new_rules),
        moved_staff,
    )
    return locked


def apply_due_changes(
    session: Session, *, today: date, by: StaffUser | None = None
) -> list[OrganizationChange]:
    """The periodic sweep: apply every recorded change due by ``today``, oldest first.

    Each change runs in a savepoint: one that cannot be applied (say, a retirement
    whose open appeals no rule can take) is logged and left for the next sweep, and
    the others still go ahead.
    """
    due = session.scalars(
        select(OrganizationChange)
        .where(OrganizationChange.applied_at.is_(None), OrganizationChange.effective_on <= today)
        .order_by(OrganizationChange.effective_on, OrganizationChange.id)
    ).all()
    applied: list[OrganizationChange] = []
    for change in due:
        try:
            with session.begin_nested():
                applied.append(apply_change(session, change, by=by, today=today))
        except DomainError as error:
            log.warning("reorganization #%s not applied: %s (%s)", change.id, error, error.code)
    return applied


def get_change(session: Session, change_id: int) -> OrganizationChange:
    change = session.get(OrganizationChange, change_id)
    if change is None:
        raise NotFound(f"no reorganization #{change_id}", code="change_not_found")
    return change


def list_changes(session: Session, *, pending: bool | None = None) -> list[OrganizationChange]:
    query = select(OrganizationChange).order_by(
        OrganizationChange.effective_on.desc(), OrganizationChange.id.desc()
    )
    if pending is not None:
        applied = OrganizationChange.applied_at
        query = query.where(applied.is_(None) if pending else applied.is_not(None))
    return list(session.scalars(query))


# --- the steps of apply_change ------------------------------------------------------------


def _open_appeals(session: Session, organization_ids: set[int]) -> list[Appeal]:
    query = (
        select(Appeal)
        .where(Appeal.organization_id.in_(organization_ids), Appeal.status.in_(MOVED_STATUSES))
        .order_by(Appeal.id)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Appeal)
    return list(session.scalars(query))


def _is_new(session: Session, organization: Organization) -> bool:
    """No appeal, assignment or rule has named it yet (so its start may be set to the change)."""
    return not session.scalar(
        select(
            or_(
                exists().where(Appeal.organization_id == organization.id),
                exists().where(Assignment.organization_id == organization.id),
                exists().where(RoutingRule.organization_id == organization.id),
            )
        )
    )


def _repoint_rules(session: Session, plan: _Plan, by: StaffUser | None) -> dict[int, RoutingRule]:
    """A new version of every active rule naming a predecessor; the old version stays."""
    rules = session.scalars(
        select(RoutingRule)
        .where(
            RoutingRule.organization_id.in_(plan.predecessor_ids),
            RoutingRule.superseded_at.is_(None),
        )
        .order_by(RoutingRule.id)
    ).all()
    replaced: dict[int, RoutingRule] = {}
    for rule in rules:
        target = plan.for_category(rule.category_code)
        if target is None or rule.organization_id is None:
            continue
        replaced[rule.id] = put_rule(
            session,
            RuleScope(rule.category_code, rule.district_code, rule.service_area_code),
            organization_id=target.id,
            note=plan.label(rule.organization_id, target.id),
            by=by,
        )
    return replaced


def _repoint_reference(session: Session, plan: _Plan) -> None:
    """District akimats and the categories' default organization follow the change."""
    if not plan.successors:
        return
    if plan.change.kind is not ChangeKind.SPLIT:
        for district in session.scalars(
            select(District).where(District.akimat_id.in_(plan.predecessor_ids))
        ):
            district.akimat_id = plan.successors[0].id
    for category in session.scalars(
        select(Category).where(Category.organization_id.in_(plan.predecessor_ids))
    ):
        target = plan.for_category(category.code)
        if target is not None:
            category.organization_id = target.id


def _reroute_elsewhere(
    session: Session, plan: _Plan, appeals: list[Appeal], today: date
) -> dict[int, tuple[int, int | None]]:
    """A retirement without successor: each open appeal goes where the rules send it now."""
    table = RoutingTable.load(session)
    targets: dict[int, tuple[int, int | None]] = {}
    stuck: list[int] = []
    for appeal in appeals:
        decision = table.decide(
            category_code=appeal.category_code, district_code=appeal.district_code, on=today
        )
        if decision.organization_id is None or decision.organization_id in plan.predecessor_ids:
            stuck.append(appeal.id)
        else:
            targets[appeal.id] = (decision.organization_id, decision.rule_id)
    if stuck:
        raise Conflict(
            f"{len(stuck)} open appeal(s) of {plan.predecessors[0].code} have nowhere to go: "
            "forward them first, or retire it with a successor",
            code="retire_unroutable_appeals",
            appeal_ids=stuck[:50],
        )
    return targets


def _target_for_appeal(
    plan: _Plan,
    appeal: Appeal,
    table: RoutingTable,
    today: date,
    new_rules: dict[int, RoutingRule],
) -> tuple[int, int | None]:
    """The successor taking an open appeal, and the rule (if any) that now sends it there."""
    repointed = new_rules.get(appeal.routing_rule_id or 0)
    if plan.change.kind is not ChangeKind.SPLIT:
        target = plan.successors[0].id
    elif appeal.category_code in plan.change.category_map:
        target = plan.by_code[plan.change.category_map[appeal.category_code]].id
    else:
        decision = table.decide(
            category_code=appeal.category_code, district_code=appeal.district_code, on=today
        )
        if decision.organization_id is not None and decision.organization_id in plan.successor_ids:
            return decision.organization_id, decision.rule_id
        target = plan.fallback().id
    rule_id = (
        repointed.id if repointed is not None and repointed.organization_id == target else None
    )
    return target, rule_id


def _move_lead(
    session: Session,
    plan: _Plan,
    appeal: Appeal,
    target: tuple[int, int | None],
    *,
    by: StaffUser | None,
    at: datetime,
) -> None:
    old = appeal.organization_id
    assert old is not None  # selected by organization
    organization_id, rule_id = target
    reason = plan.label(old, organization_id)
    if close_lead(session, appeal, end_reason=END_REASON, late=False, at=at) is None:
        # An appeal assigned before assignment rows existed: write the stint it had.
        session.add(
            Assignment(
                appeal_id=appeal.id,
                organization_id=old,
                role=AssignmentRole.LEAD,
                kind="rule" if appeal.routing_rule_id else "manual",
                rule_id=appeal.routing_rule_id,
                reason=appeal.routing_reason or "",
                started_at=appeal.received_at,
                ended_at=at,
                end_reason=END_REASON,
                late=False,
            )
        )
    open_lead(
        session,
        appeal,
        organization_id,
        kind=ASSIGNMENT_KIND,
        reason=reason,
        rule_id=rule_id,
        by=by,
        at=at,
    )
    if rule_id is not None:
        appeal.routing_rule_id = rule_id
    set_routing_reason(appeal, plan.why(old, organization_id))
    appeal.updated_at = at


def _move_co_executors(
    session: Session,
    plan: _Plan,
    table: RoutingTable,
    today: date,
    *,
    by: StaffUser | None,
    at: datetime,
) -> None:
    """Open (unanswered) co-executor parts of predecessors pass to the successor.

    Parts landing on the same successor for one appeal become one row; a part landing
    on the appeal's own lead is closed (the lead answers it all); a retirement without
    successor closes the part.
    """
    rows = session.scalars(
        select(Assignment)
        .join(Appeal, Appeal.id == Assignment.appeal_id)
        .where(
            Assignment.role == AssignmentRole.CO_EXECUTOR,
            Assignment.ended_at.is_(None),
            Assignment.answered_at.is_(None),
            Assignment.organization_id.in_(plan.predecessor_ids),
            Appeal.status.in_(MOVED_STATUSES),
        )
        .order_by(Assignment.id)
    ).all()
    parts: dict[tuple[int, int], list[Assignment]] = {}
    for row in rows:
        row.ended_at = at
        row.end_reason = END_REASON
        appeal = session.get(Appeal, row.appeal_id)
        if appeal is None or not plan.successors:
            continue
        target, _rule = _target_for_appeal(plan, appeal, table, today, {})
        if target == appeal.organization_id:
            continue
        parts.setdefault((appeal.id, target), []).append(row)
    for (appeal_id, target), moved in parts.items():
        texts = [row.part for row in moved if row.part]
        session.add(
            Assignment(
                appeal_id=appeal_id,
                organization_id=target,
                role=AssignmentRole.CO_EXECUTOR,
                kind=ASSIGNMENT_KIND,
                reason=plan.label(moved[0].organization_id, target),
                assigned_by_id=by.id if by else None,
                started_at=at,
                late=False,
                part="\n\n".join(texts) if texts else None,
            )
        )


def _move_staff(session: Session, plan: _Plan) -> int:
    """Rename and merge: the same people carry on in the successor."""
    users = session.scalars(
        select(StaffUser).where(
            StaffUser.organization_id.in_(plan.predecessor_ids), StaffUser.role == Role.EXECUTOR
        )
    ).all()
    for user in users:
        user.organization_id = plan.successors[0].id
    return len(users)


def _reset_routing_now_and_after_commit(session: Session) -> None:
    """Forget the cached routing table now, and again once the change is committed (a
    request that reloaded it meanwhile saw the old rules)."""
    reset_routing_table()

    def reset(_session: Session) -> None:
        reset_routing_table()

    event.listen(session, "after_commit", reset, once=True)


# --- attribution --------------------------------------------------------------------------


def attributable_counts(session: Session, organization_id: int) -> dict[str, int]:
    """What an organization did, from the assignment rows, so it survives reorganizations.

    ``led``: appeals it ever led; ``answered``: answers given while it was the lead;
    ``closed``: those answers accepted by an inspector; ``open``: appeals it leads now
    awaiting an answer or its review; ``moved_away`` / ``moved_in``: appeals that left
    it / reached it through a reorganization.
    """
    lead = and_(
        Assignment.role == AssignmentRole.LEAD, Assignment.organization_id == organization_id
    )
    any_lead_row = exists().where(
        Assignment.appeal_id == Appeal.id, Assignment.role == AssignmentRole.LEAD
    )
    # Appeals from before assignment rows existed count for their current organization.
    legacy = and_(Appeal.organization_id == organization_id, ~any_lead_row)

    def stint_covers(moment: Any) -> Any:
        return exists().where(
            lead,
            Assignment.appeal_id == Appeal.id,
            Assignment.started_at <= moment,
            or_(Assignment.ended_at.is_(None), Assignment.ended_at > moment),
        )

    led_by_rows = exists().where(lead, Assignment.appeal_id == Appeal.id)
    answered = and_(Appeal.answered_at.is_not(None), or_(stint_covers(Appeal.answered_at), legacy))

    def count(*conditions: Any) -> int:
        return int(session.scalar(select(func.count(Appeal.id)).where(*conditions)) or 0)

    def count_rows(*conditions: Any) -> int:
        query = select(func.count(func.distinct(Assignment.appeal_id))).where(lead, *conditions)
        return int(session.scalar(query) or 0)

    return {
        "led": count(or_(led_by_rows, legacy)),
        "answered": count(answered),
        "closed": count(answered, Appeal.closed_at.is_not(None)),
        "open": count(Appeal.organization_id == organization_id, Appeal.status.in_(MOVED_STATUSES)),
        "moved_away": count_rows(Assignment.end_reason == END_REASON),
        "moved_in": count_rows(Assignment.kind == ASSIGNMENT_KIND),
    }

"""Reorganizations: an organization is renamed, merged, split or retired from a date.

An admin records the change (``record_change``); on its effective date it is applied
(``apply_change``, or the periodic ``apply_due_changes``): the predecessors are
retired, their routing rules get a new version naming the successor, their open
appeals and open co-executor parts move to the successor through new assignment
rows, and (rename, merge) their executors move with them.

What is *not* moved is as deliberate as what is: closed appeals, and every
assignment row already written, keep naming the old organization, so rankings of
the time before the change stay with the organization that did the work.
See docs/reorganizations.md.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, event, exists, func, or_, select
from sqlalchemy.orm import Session

from core.clock import now
from core.errors import Conflict, DomainError, NotFound, ValidationFailed
from core.models import Role, StaffUser
from intake.assignments import close_lead, open_lead
from intake.lifecycle import OPEN_STATUSES, Status
from intake.models import Appeal, Assignment, AssignmentRole
from routing.models import (
    Category,
    ChangeKind,
    District,
    Organization,
    OrganizationChange,
    OrganizationKind,
    RoutingRule,
)
from routing.rules import RuleScope, put_rule
from routing.service import RoutingTable, reset_routing_table

log = logging.getLogger(__name__)

END_REASON = "reorganized"
ASSIGNMENT_KIND = "reorganization"
#: The ``category_map`` key naming a split's fallback successor (for every other category).
FALLBACK = "*"
#: Appeals that move: those still waiting for an answer, and answers still under the
#: inspector's review (a return for rework must reach someone who still exists).
MOVED_STATUSES = OPEN_STATUSES | {Status.ANSWERED}
_CODE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


# --- organizations ------------------------------------------------------------------------


def create_organization(
    session: Session,
    *,
    code: str,
    name_ru: str,
    name_kk: str,
    kind: OrganizationKind | str,
    district_code: str | None = None,
    active_from: date,
) -> Organization:
    """A new organization, typically the successor of a change recorded next."""
    code = code.strip()
    if not _CODE.match(code) or len(code) > 64:
        raise ValidationFailed(
            "an organization code is lowercase latin letters, digits and hyphens (64 at most)",
            code="invalid_organization_code",
        )
    try:
        organization_kind = OrganizationKind(kind)
    except ValueError:
        raise ValidationFailed(
            f"unknown organization kind {kind!r}", code="unknown_organization_kind"
        ) from None
    names = {"name_ru": name_ru.strip(), "name_kk": name_kk.strip()}
    for field, value in names.items():
        if not value or len(value) > 300:
            raise ValidationFailed(
                f"{field} is required (300 characters at most)", code="organization_name_required"
            )
    if district_code is not None and session.get(District, district_code) is None:
        raise ValidationFailed(f"unknown district {district_code!r}", code="unknown_district")
    if organization_kind is OrganizationKind.DISTRICT_AKIMAT and district_code is None:
        raise ValidationFailed("a district akimat names its district", code="district_required")
    if session.scalar(select(Organization.id).where(Organization.code == code)) is not None:
        raise Conflict(f"organization {code!r} already exists", code="organization_exists")
    organization = Organization(
        code=code,
        kind=organization_kind,
        district_code=district_code,
        active_from=active_from,
        **names,
    )
    session.add(organization)
    session.flush()
    return organization


def _by_codes(session: Session, codes: list[str]) -> dict[str, Organization]:
    found = {
        organization.code: organization
        for organization in session.scalars(
            select(Organization).where(Organization.code.in_(codes))
        )
    }
    missing = [code for code in codes if code not in found]
    if missing:
        raise ValidationFailed(
            f"unknown organization {', '.join(missing)}", code="unknown_organization", codes=missing
        )
    return found


def _rule_categories(session: Session, organization_id: int) -> set[str]:
    """Categories of the active routing rules that name the organization."""
    return set(
        session.scalars(
            select(RoutingRule.category_code).where(
                RoutingRule.organization_id == organization_id, RoutingRule.superseded_at.is_(None)
            )
        )
    )


def _district_of_akimat(session: Session, organization_id: int) -> str | None:
    return session.scalar(select(District.code).where(District.akimat_id == organization_id))


# --- recording ----------------------------------------------------------------------------


def record_change(
    session: Session,
    *,
    kind: ChangeKind | str,
    effective_on: date,
    predecessor_codes: list[str],
    successor_codes: list[str],
    category_map: dict[str, str] | None = None,
    note: str = "",
    by: StaffUser | None,
) -> OrganizationChange:
    """Validate and store a reorganization; ``apply_change`` carries it out when due.

    rename 1→1, merge n≥2→1, split 1→n≥2 (``category_map`` {category: successor} covers
    the categories the predecessor's rules answer, or names a fallback under ``"*"``),
    retire 1→0 (the predecessor's rules must be repointed first) or 1→1.
    """
    try:
        change_kind = ChangeKind(kind)
    except ValueError:
        raise ValidationFailed(
            f"unknown change kind {kind!r}", code="unknown_change_kind"
        ) from None
    predecessors = [code.strip() for code in predecessor_codes]
    successors = [code.strip() for code in successor_codes]
    mapping = dict(category_map or {})
    _check_arity(change_kind, predecessors, successors)
    if len(set(predecessors)) != len(predecessors) or len(set(successors)) != len(successors):
        raise ValidationFailed("an organization is named twice", code="duplicate_organization")
    if set(predecessors) & set(successors):
        raise ValidationFailed(
            "an organization cannot be its own successor", code="successor_is_predecessor"
        )
    organizations = _by_codes(session, predecessors + successors)
    for code in predecessors:
        if not organizations[code].is_active_on(effective_on):
            raise ValidationFailed(
                f"{code} is not active on {effective_on}",
                code="predecessor_not_active",
                organization=code,
            )
    for code in successors:
        if not organizations[code].is_active_on(effective_on):
            raise ValidationFailed(
                f"{code} is not active on {effective_on}",
                code="successor_not_active",
                organization=code,
            )
    pending = session.scalars(
        select(OrganizationChange).where(OrganizationChange.applied_at.is_(None))
    ).all()
    for other in pending:
        overlap = set(other.predecessor_codes) & set(predecessors)
        if overlap:
            raise Conflict(
                f"change #{other.id} already reorganizes {', '.join(sorted(overlap))}",
                code="pending_change",
                change_id=other.id,
            )
    predecessor = organizations[predecessors[0]]
    if change_kind is ChangeKind.SPLIT:
        _check_category_map(session, predecessor, successors, mapping)
    elif mapping:
        raise ValidationFailed(
            "a category map belongs to a split only", code="category_map_not_allowed"
        )
    if change_kind is ChangeKind.SPLIT or (change_kind is ChangeKind.RETIRE and not successors):
        _check_no_akimat(session, predecessor)
    if change_kind is ChangeKind.RETIRE and not successors:
        _check_no_rules(session, predecessor)
    change = OrganizationChange(
        kind=change_kind,
        effective_on=effective_on,
        note=note.strip(),
        predecessor_codes=predecessors,
        successor_codes=successors,
        category_map=mapping,
        moved_appeals=0,
    )
    session.add(change)
    session.flush()
    log.info(
        "reorganization #%s recorded by %s: %s %s → %s from %s",
        change.id,
        by.username if by else "system",
        change_kind.value,
        predecessors,
        successors,
        effective_on,
    )
    return change


def _check_arity(kind: ChangeKind, predecessors: list[str], successors: list[str]) -> None:
    allowed = {
        ChangeKind.RENAME: (len(predecessors) == 1 and len(successors) == 1, "1 → 1"),
        ChangeKind.MERGE: (len(predecessors) >= 2 and len(successors) == 1, "2 or more → 1"),
        ChangeKind.SPLIT: (len(predecessors) == 1 and len(successors) >= 2, "1 → 2 or more"),
        ChangeKind.RETIRE: (len(predecessors) == 1 and len(successors) <= 1, "1 → 0 or 1"),
    }
    ok, shape = allowed[kind]
    if not ok:
        raise ValidationFailed(
            f"a {kind.value} takes {shape} organizations, "
            f"got {len(predecessors)} → {len(successors)}",
            code="change_arity",
            kind=kind.value,
        )


def _check_category_map(
    session: Session, predecessor: Organization, successors: list[str], mapping: dict[str, str]
) -> None:
    wrong_targets = sorted({target for target in mapping.values() if target not in successors})
    if wrong_targets:
        raise ValidationFailed(
            f"the category map names {', '.join(wrong_targets)}, not a successor",
            code="category_map_target",
            codes=wrong_targets,
        )
    categories = [code for code in mapping if code != FALLBACK]
    known = set(session.scalars(select(Category.code).where(Category.code.in_(categories))))
    unknown = sorted(set(categories) - known)
    if unknown:
        raise ValidationFailed(
            f"unknown category {', '.join(unknown)}", code="unknown_category", codes=unknown
        )
    if FALLBACK not in mapping:
        missing = sorted(_rule_categories(session, predecessor.id) - set(mapping))
        if missing:
            raise ValidationFailed(
                f"the category map does not say who takes {', '.join(missing)}; "
                f'map them or name a fallback successor under "{FALLBACK}"',
                code="category_map_incomplete",
                categories=missing,
            )


def _check_no_akimat(session: Session, predecessor: Organization) -> None:
    district = _district_of_akimat(session, predecessor.id)
    if district is not None:
        raise ValidationFailed(
            f"{predecessor.code} is the akimat of district {district}: "
            "a district needs exactly one successor akimat (rename, merge or retire 1 → 1)",
            code="district_needs_akimat",
            district=district,
        )


def _check_no_rules(session: Session, predecessor: Organization) -> None:
    categories = sorted(_rule_categories(session, predecessor.id))
    if categories:
        raise ValidationFailed(
            f"routing rules still name {predecessor.code} ({', '.join(categories)}): "
            "repoint them first, or retire it with a successor",
            code="retire_has_rules",
            categories=categories,
        )


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
        codes = {o.id: o.code for o in self.predecessors + self.successors}
        new = codes.get(new_id, str(new_id)) if new_id is not None else "-"
        return (
            f"reorganization #{self.change.id}: {self.change.kind.value} "
            f"{codes.get(old_id, str(old_id))}→{new}"
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
    appeal.routing_reason = reason
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

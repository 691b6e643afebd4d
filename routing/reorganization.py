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
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals.lifecycle import OPEN_STATUSES, Status
from core.errors import Conflict, ValidationFailed
from core.models import StaffUser
from routing.models import (
    Category,
    ChangeKind,
    District,
    Organization,
    OrganizationChange,
    OrganizationKind,
    RoutingRule,
)

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

"""Editing routing rules: versioned, never overwritten.

An edit supersedes the active rule for its scope and adds a new row with the
next version, so an assignment made last year still points at the rule (and
organization) that made it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from core.clock import local, now
from core.errors import NotFound, ValidationFailed
from core.models import StaffUser
from routing.models import Category, District, Organization, RoutingRule, ServiceArea


@dataclass(frozen=True)
class RuleScope:
    category_code: str
    district_code: str | None = None
    service_area_code: str | None = None


def _in_scope(scope: RuleScope) -> list[ColumnElement[bool]]:
    """Rules of exactly this scope (a missing district or area means "any", stored as NULL)."""
    return [
        RoutingRule.category_code == scope.category_code,
        RoutingRule.district_code.is_(None)
        if scope.district_code is None
        else RoutingRule.district_code == scope.district_code,
        RoutingRule.service_area_code.is_(None)
        if scope.service_area_code is None
        else RoutingRule.service_area_code == scope.service_area_code,
    ]


def active_rule(session: Session, scope: RuleScope) -> RoutingRule | None:
    return session.scalar(
        select(RoutingRule).where(*_in_scope(scope), RoutingRule.superseded_at.is_(None))
    )


def _check_scope(session: Session, scope: RuleScope) -> None:
    if session.get(Category, scope.category_code) is None:
        raise ValidationFailed(f"unknown category {scope.category_code!r}", code="unknown_category")
    if scope.district_code and session.get(District, scope.district_code) is None:
        raise ValidationFailed(f"unknown district {scope.district_code!r}", code="unknown_district")
    if scope.service_area_code and session.get(ServiceArea, scope.service_area_code) is None:
        raise ValidationFailed(
            f"unknown service area {scope.service_area_code!r}", code="unknown_service_area"
        )


def put_rule(
    session: Session,
    scope: RuleScope,
    *,
    organization_id: int | None,
    to_district_akimat: bool = False,
    note: str = "",
    by: StaffUser | None = None,
) -> RoutingRule:
    """Set who answers in this scope: a new version if a rule exists, else version 1."""
    _check_scope(session, scope)
    if to_district_akimat == (organization_id is not None):
        raise ValidationFailed(
            "name exactly one of: an organization, or the district akimat", code="rule_target"
        )
    if organization_id is not None:
        organization = session.get(Organization, organization_id)
        if organization is None:
            raise NotFound(
                f"organization {organization_id} not found", code="organization_not_found"
            )
        if not organization.is_active_on(local(now()).date()):
            raise ValidationFailed(f"{organization.code} is retired", code="organization_retired")
    previous = active_rule(session, scope)
    if (
        previous is not None
        and previous.organization_id == organization_id
        and previous.to_district_akimat == to_district_akimat
        and previous.note == note
    ):
        return previous
    rule = RoutingRule(
        category_code=scope.category_code,
        district_code=scope.district_code,
        service_area_code=scope.service_area_code,
        organization_id=organization_id,
        to_district_akimat=to_district_akimat,
        note=note,
        version=(previous.version + 1) if previous else 1,
        created_at=now(),
        created_by_id=by.id if by else None,
    )
    if previous is not None:
        previous.superseded_at = now()
        session.flush()  # the partial unique index admits one active rule per scope
    session.add(rule)
    session.flush()
    if previous is not None:
        previous.superseded_by_id = rule.id
    _changed()
    return rule


def retire_rule(session: Session, rule_id: int, *, by: StaffUser | None = None) -> RoutingRule:
    rule = session.get(RoutingRule, rule_id)
    if rule is None or rule.superseded_at is not None:
        raise NotFound(f"no active rule {rule_id}", code="rule_not_found")
    rule.superseded_at = now()
    session.flush()
    _changed()
    return rule


def rule_history(session: Session, scope: RuleScope) -> list[RoutingRule]:
    """Every version of the rule for one scope, oldest first."""
    query = select(RoutingRule).where(*_in_scope(scope)).order_by(RoutingRule.version)
    return list(session.scalars(query))


def _changed() -> None:
    from routing.service import reset_routing_table

    reset_routing_table()

"""Routing decisions and organization look-ups.

Every decision carries its reason (the rule that chose it, or why none could),
so it can be stored with the appeal and explained to an operator.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import NotFound
from routing.models import Category, District, Organization, RoutingRule


@dataclass(frozen=True)
class RoutingDecision:
    organization_id: int | None
    rule_id: int | None
    reason: str
    triage_reason: str | None = None

    @property
    def routed(self) -> bool:
        return self.organization_id is not None


def _triage(code: str, reason: str) -> RoutingDecision:
    return RoutingDecision(organization_id=None, rule_id=None, reason=reason, triage_reason=code)


@dataclass(frozen=True)
class _Rule:
    id: int
    district_code: str | None
    organization_id: int | None
    to_district_akimat: bool


@dataclass(frozen=True)
class _Org:
    id: int
    code: str
    active_from: date | None
    retired_on: date | None

    def active_on(self, day: date) -> bool:
        started = self.active_from is None or self.active_from <= day
        return started and not (self.retired_on is not None and self.retired_on <= day)


@dataclass(frozen=True)
class RoutingTable:
    """Every rule, akimat and organization in memory: a batch of appeals routes without queries."""

    rules: dict[str, list[_Rule]]
    akimats: dict[str, int]
    organizations: dict[int, _Org]

    @classmethod
    def load(cls, session: Session) -> RoutingTable:
        rules: dict[str, list[_Rule]] = {}
        for rule in session.scalars(select(RoutingRule)):
            rules.setdefault(rule.category_code, []).append(
                _Rule(rule.id, rule.district_code, rule.organization_id, rule.to_district_akimat)
            )
        for candidates in rules.values():
            # A rule for the appeal's own district beats the citywide one.
            candidates.sort(key=lambda rule: rule.district_code is None)
        districts = session.execute(select(District.code, District.akimat_id)).all()
        akimats = {row[0]: row[1] for row in districts}
        organizations = {
            org.id: _Org(org.id, org.code, org.active_from, org.retired_on)
            for org in session.scalars(select(Organization))
        }
        known = set(session.scalars(select(Category.code)))
        for code in known - rules.keys():
            rules[code] = []
        return cls(rules, akimats, organizations)

    def decide(
        self, *, category_code: str | None, district_code: str | None, on: date
    ) -> RoutingDecision:
        """Pick the organization for a category in a district; unroutable cases go to triage."""
        if category_code is None:
            return _triage("no_category", "the topic could not be determined")
        if category_code not in self.rules:
            return _triage("unknown_category", f"category {category_code!r} is not in the taxonomy")
        rule = next(
            (r for r in self.rules[category_code] if r.district_code in (None, district_code)), None
        )
        if rule is None:
            return _triage("no_rule", f"no routing rule for category {category_code}")
        if rule.to_district_akimat:
            if district_code is None:
                return _triage(
                    "no_district",
                    f"category {category_code} is answered by a district akimat; district unknown",
                )
            if district_code not in self.akimats:
                return _triage("unknown_district", f"district {district_code!r} is unknown")
            organization_id: int | None = self.akimats[district_code]
            target = f"akimat of district {district_code}"
        else:
            organization_id = rule.organization_id
            target = "citywide organization"
        organization = self.organizations.get(organization_id) if organization_id else None
        if organization is None:
            return _triage("no_rule", f"rule #{rule.id} names no organization")
        if not organization.active_on(on):
            return _triage(
                "organization_retired",
                f"rule #{rule.id} names {organization.code}, retired on {organization.retired_on}",
            )
        scope = f"district {rule.district_code}" if rule.district_code else "any district"
        return RoutingDecision(
            organization_id=organization.id,
            rule_id=rule.id,
            reason=f"rule #{rule.id}: {category_code} in {scope} → {target} {organization.code}",
        )


ROUTING_TABLE_TTL_S = 30.0
_table_lock = threading.Lock()
_table_cache: dict[str, tuple[float, RoutingTable]] = {}


def routing_table(session: Session) -> RoutingTable:
    """The routing table of this database, reloaded at most every 30 s per process.

    Loading it costs more than routing a hundred appeals; a rule an admin
    changes takes effect within the TTL (at once in this process, via
    ``reset_routing_table``).
    """
    bind = session.get_bind()
    key = str(bind.engine.url)
    with _table_lock:
        cached = _table_cache.get(key)
        if cached is not None and time.monotonic() - cached[0] < ROUTING_TABLE_TTL_S:
            return cached[1]
    table = RoutingTable.load(session)
    with _table_lock:
        _table_cache[key] = (time.monotonic(), table)
    return table


def reset_routing_table() -> None:
    with _table_lock:
        _table_cache.clear()


def decide(
    session: Session, *, category_code: str | None, district_code: str | None, on: date
) -> RoutingDecision:
    """One decision (the dry run, manual checks) with the current table."""
    return routing_table(session).decide(
        category_code=category_code, district_code=district_code, on=on
    )


def get_organization(session: Session, organization_id: int) -> Organization:
    organization = session.get(Organization, organization_id)
    if organization is None:
        raise NotFound(f"organization {organization_id} not found", code="organization_not_found")
    return organization


def organization_by_code(session: Session, code: str) -> Organization:
    organization = session.scalar(select(Organization).where(Organization.code == code))
    if organization is None:
        raise NotFound(f"organization {code!r} not found", code="organization_not_found")
    return organization


def active_organizations(session: Session, *, on: date) -> list[Organization]:
    organizations = session.scalars(select(Organization).order_by(Organization.name_ru)).all()
    return [organization for organization in organizations if organization.is_active_on(on)]


def list_categories(session: Session) -> list[Category]:
    return list(session.scalars(select(Category).where(Category.active).order_by(Category.code)))


def list_districts(session: Session) -> list[District]:
    return list(session.scalars(select(District).order_by(District.code)))

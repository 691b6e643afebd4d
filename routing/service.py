"""Routing decisions and organization look-ups.

Every decision carries its reason (the rule that chose it, or why none could),
so it can be stored with the appeal and explained to an operator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals.reasons import Reason
from core import stamps
from core.errors import NotFound
from routing.models import Category, District, Organization, RoutingRule, ServiceArea


@dataclass(frozen=True)
class RoutingDecision:
    organization_id: int | None
    rule_id: int | None
    why: Reason
    triage_reason: str | None = None

    @property
    def routed(self) -> bool:
        return self.organization_id is not None

    @property
    def reason(self) -> str:
        """The decision's reason in English (API, logs); ``why`` is its code."""
        return self.why.english()


def _triage(code: str, why: Reason) -> RoutingDecision:
    return RoutingDecision(organization_id=None, rule_id=None, why=why, triage_reason=code)


@dataclass(frozen=True)
class _Rule:
    id: int
    version: int
    district_code: str | None
    service_area_code: str | None
    organization_id: int | None
    to_district_akimat: bool

    def specificity(self) -> int:
        """Service area beats district beats the citywide rule."""
        return (2 if self.service_area_code else 0) + (1 if self.district_code else 0)


@dataclass(frozen=True)
class _Org:
    id: int
    code: str
    active_from: date | None
    retired_on: date | None

    def active_on(self, day: date) -> bool:
        started = self.active_from is None or self.active_from <= day
        return started and not (self.retired_on is not None and self.retired_on <= day)


_WORD = re.compile(r"[\w]+", re.UNICODE)


def normalize_place(text: str) -> str:
    """Lower case, ё → е, words separated by single spaces: what street stems are matched in."""
    return " ".join(_WORD.findall(text.lower().replace("ё", "е")))


@dataclass(frozen=True)
class RoutingTable:
    """Every active rule, akimat, service area and organization in memory.

    A batch of appeals routes without queries; ``bench/routing.py`` measures it.
    """

    rules: dict[str, list[_Rule]]
    akimats: dict[str, int]
    organizations: dict[int, _Org]
    service_areas: dict[str, tuple[str, ...]]

    @classmethod
    def load(cls, session: Session) -> RoutingTable:
        rules: dict[str, list[_Rule]] = {
            code: [] for code in session.scalars(select(Category.code))
        }
        for rule in session.scalars(select(RoutingRule).where(RoutingRule.superseded_at.is_(None))):
            rules.setdefault(rule.category_code, []).append(
                _Rule(
                    rule.id,
                    rule.version,
                    rule.district_code,
                    rule.service_area_code,
                    rule.organization_id,
                    rule.to_district_akimat,
                )
            )
        for candidates in rules.values():
            candidates.sort(key=lambda rule: -rule.specificity())
        districts = session.execute(select(District.code, District.akimat_id)).all()
        organizations = {
            org.id: _Org(org.id, org.code, org.active_from, org.retired_on)
            for org in session.scalars(select(Organization))
        }
        areas = {
            area.code: tuple(normalize_place(street) for street in area.streets)
            for area in session.scalars(select(ServiceArea))
        }
        return cls(rules, {row[0]: row[1] for row in districts}, organizations, areas)

    def areas_in(self, place_text: str | None) -> dict[str, str]:
        """The service areas a text or address names, with the street that placed it there."""
        if not place_text:
            return {}
        padded = f" {normalize_place(place_text)}"
        found: dict[str, str] = {}
        for code, streets in self.service_areas.items():
            for street in streets:
                if f" {street}" in padded:
                    found[code] = street
                    break
        return found

    def decide(
        self,
        *,
        category_code: str | None,
        district_code: str | None,
        on: date,
        place_text: str | None = None,
    ) -> RoutingDecision:
        """Pick the organization for a category in a district (and service area, if any)."""
        if category_code is None:
            return _triage("no_category", Reason("no_category"))
        if category_code not in self.rules:
            return _triage(
                "unknown_category", Reason("unknown_category", {"category": category_code})
            )
        areas = self.areas_in(place_text) if self.service_areas else {}
        rule = next(
            (
                candidate
                for candidate in self.rules[category_code]
                if candidate.district_code in (None, district_code)
                and (candidate.service_area_code is None or candidate.service_area_code in areas)
            ),
            None,
        )
        if rule is None:
            return _triage("no_rule", Reason("no_rule", {"category": category_code}))
        if rule.to_district_akimat:
            if district_code is None:
                return _triage("no_district", Reason("no_district", {"category": category_code}))
            if district_code not in self.akimats:
                return _triage(
                    "unknown_district", Reason("unknown_district", {"district": district_code})
                )
            organization_id: int | None = self.akimats[district_code]
        else:
            organization_id = rule.organization_id
        organization = self.organizations.get(organization_id) if organization_id else None
        if organization is None:
            return _triage("no_rule", Reason("rule_without_organization", {"rule_id": rule.id}))
        if not organization.active_on(on):
            return _triage(
                "organization_retired",
                Reason(
                    "organization_retired",
                    {
                        "rule_id": rule.id,
                        "organization": organization.code,
                        "retired_on": str(organization.retired_on),
                    },
                ),
            )
        return RoutingDecision(
            organization_id=organization.id,
            rule_id=rule.id,
            why=Reason(
                "rule",
                {
                    "rule_id": rule.id,
                    "version": rule.version,
                    "category": category_code,
                    "district": rule.district_code,
                    "area": rule.service_area_code,
                    "street": areas.get(rule.service_area_code or ""),
                    "akimat": rule.to_district_akimat,
                    "district_of": district_code if rule.to_district_akimat else None,
                    "organization": organization.code,
                },
            ),
        )


ROUTING_TABLE_TTL_S = 30.0  # where stamps are not kept (SQLite: one process)
_tables: stamps.Stamped[RoutingTable] = stamps.Stamped("routing", ROUTING_TABLE_TTL_S)


def routing_table(session: Session, *, hold: bool = False) -> RoutingTable:
    """The routing table of this database, reloaded when the ``routing`` stamp moved.

    Loading it costs more than routing a hundred appeals, so it is cached per process; a
    trigger moves the stamp with every change to rules, organizations, districts, categories
    or service areas (``core.stamps``), and each call reads it (one primary-key lookup), so
    a rule an admin changes is used by every process's next decision. ``hold`` (the
    pipeline) keeps the stamp share-locked until the caller's transaction ends: a rule change
    waits for the decisions being made, and no decision records a superseded rule. On SQLite
    (one process) the table is reloaded every 30 s and at once via ``reset_routing_table``.
    """
    key = str(session.get_bind().engine.url)
    return _tables.get(session, key, lambda: RoutingTable.load(session), hold=hold)


def reset_routing_table() -> None:
    _tables.clear()


def decide(
    session: Session,
    *,
    category_code: str | None,
    district_code: str | None,
    on: date,
    place_text: str | None = None,
) -> RoutingDecision:
    """One decision (the dry run, manual checks) with the current table."""
    return routing_table(session).decide(
        category_code=category_code, district_code=district_code, on=on, place_text=place_text
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

"""Load the reference data in ``data/`` (organizations, districts, taxonomy) into the database.

The files seed the database; afterwards the database owns what admins change
through the API — organizations' dates (reorganizations), districts' akimats,
categories' default organizations and routing rules — and running this again
only adds what is new and refreshes names and keywords. So a reorganization or
a rule edit made through the API is never undone by ``civicdesk init``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from routing.models import (
    Category,
    CategoryArea,
    ChangeKind,
    District,
    Organization,
    OrganizationChange,
    OrganizationKind,
    ServiceArea,
)
from routing.rules import RuleScope, active_rule, put_rule

DISTRICT_AKIMAT = "district_akimat"


def _read(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def load_reference(session: Session, data_dir: Path) -> dict[str, int]:
    """Upsert every reference file; returns counts per kind."""
    organizations = _load_organizations(session, _read(data_dir / "organizations.yaml"))
    districts = _load_districts(session, _read(data_dir / "districts.yaml"), organizations)
    categories = _load_taxonomy(session, _read(data_dir / "taxonomy.yaml"), organizations)
    areas = _load_service_areas(session, _read(data_dir / "service_areas.yaml"), organizations)
    changes = _load_changes(session, _read(data_dir / "organization_changes.yaml"))
    session.flush()
    from routing.service import reset_routing_table

    reset_routing_table()
    return {
        "organizations": len(organizations),
        "districts": districts,
        "categories": categories,
        "service_areas": areas,
        "organization_changes": changes,
    }


def _load_organizations(session: Session, rows: list[dict[str, Any]]) -> dict[str, Organization]:
    existing = {org.code: org for org in session.scalars(select(Organization))}
    for row in rows:
        organization = existing.get(row["code"])
        if organization is None:
            organization = Organization(code=row["code"])
            session.add(organization)
            existing[row["code"]] = organization
        organization.name_ru = row["name_ru"]
        organization.name_kk = row["name_kk"]
        organization.kind = OrganizationKind(row["kind"])
        organization.district_code = row.get("district")
        organization.phone = None if row.get("phone") is None else str(row["phone"])
        # Dates only fill gaps: a retirement recorded through the API is never undone.
        organization.active_from = organization.active_from or _as_date(row.get("active_from"))
        organization.retired_on = organization.retired_on or _as_date(row.get("retired_on"))
    session.flush()
    return existing


def _load_districts(
    session: Session, rows: list[dict[str, Any]], organizations: dict[str, Organization]
) -> int:
    for row in rows:
        district = session.get(District, row["code"])
        if district is None:
            district = District(code=row["code"], akimat_id=organizations[row["akimat"]].id)
        district.name_ru = row["name_ru"]
        district.name_kk = row["name_kk"]
        district.places = list(row.get("places") or [])
        session.add(district)
    session.flush()
    return len(rows)


def _load_taxonomy(
    session: Session, taxonomy: dict[str, Any], organizations: dict[str, Organization]
) -> int:
    count = 0
    for position, area_row in enumerate(taxonomy["areas"]):
        area = session.get(CategoryArea, area_row["code"]) or CategoryArea(code=area_row["code"])
        area.name_ru = area_row["name_ru"]
        area.name_kk = area_row["name_kk"]
        area.position = position
        session.add(area)
        for row in area_row["categories"]:
            to_akimat = row["organization"] == DISTRICT_AKIMAT
            organization_id = None if to_akimat else organizations[row["organization"]].id
            category = session.get(Category, row["code"])
            if category is None:
                category = Category(code=row["code"], organization_id=organization_id)
            category.area_code = area.code
            category.name_ru = row["name_ru"]
            category.name_kk = row["name_kk"]
            category.urgent = bool(row.get("urgent", False))
            category.keywords_ru = list(row.get("keywords_ru") or [])
            category.keywords_kk = list(row.get("keywords_kk") or [])
            session.add(category)
            session.flush()
            if active_rule(session, RuleScope(category.code)) is None:
                put_rule(
                    session,
                    RuleScope(category.code),
                    organization_id=organization_id,
                    to_district_akimat=to_akimat,
                    note="default rule from data/taxonomy.yaml",
                )
            count += 1
    session.flush()
    return count


def _load_service_areas(
    session: Session, rows: list[dict[str, Any]] | None, organizations: dict[str, Organization]
) -> int:
    for row in rows or []:
        area = session.get(ServiceArea, row["code"]) or ServiceArea(code=row["code"])
        area.name_ru = row["name_ru"]
        area.name_kk = row["name_kk"]
        area.streets = list(row.get("streets") or [])
        session.add(area)
        session.flush()
        for rule in row.get("rules") or []:
            scope = RuleScope(rule["category"], service_area_code=area.code)
            if active_rule(session, scope) is None:
                put_rule(
                    session,
                    scope,
                    organization_id=organizations[rule["organization"]].id,
                    note=rule.get("note", ""),
                )
    return len(rows or [])


def _load_changes(session: Session, rows: list[dict[str, Any]] | None) -> int:
    known = {
        (change.kind, change.effective_on, tuple(change.predecessor_codes))
        for change in session.scalars(select(OrganizationChange))
    }
    for row in rows or []:
        kind = ChangeKind(row["kind"])
        effective_on = _as_date(row["effective_on"])
        assert effective_on is not None
        predecessors = list(row["from"])
        if (kind, effective_on, tuple(predecessors)) in known:
            continue
        session.add(
            OrganizationChange(
                kind=kind,
                effective_on=effective_on,
                note=row.get("note_ru", ""),
                predecessor_codes=predecessors,
                successor_codes=list(row.get("to") or []),
            )
        )
    return len(rows or [])

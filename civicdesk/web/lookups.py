"""Read-only look-ups the pages need to label codes: categories, districts, organizations."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import local, now
from core.models import StaffUser
from routing.models import CategoryArea, Organization
from routing.service import active_organizations, list_categories, list_districts
from sla.service import deadline_policy


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class OptionGroup:
    label: str
    options: list[Option]


def category_groups(session: Session, language: str, *, other_label: str) -> list[OptionGroup]:
    """Active categories grouped by their area, areas in their configured order."""
    areas = list(
        session.scalars(select(CategoryArea).order_by(CategoryArea.position, CategoryArea.code))
    )
    by_area: dict[str, list[Option]] = {area.code: [] for area in areas}
    leftovers: list[Option] = []
    for category in list_categories(session):
        option = Option(category.code, category.name(language))
        by_area.get(category.area_code, leftovers).append(option)
    groups = [
        OptionGroup(
            _area_name(area, language), sorted(by_area[area.code], key=lambda option: option.label)
        )
        for area in areas
        if by_area[area.code]
    ]
    if leftovers:
        groups.append(OptionGroup(other_label, sorted(leftovers, key=lambda option: option.label)))
    return groups


def _area_name(area: CategoryArea, language: str) -> str:
    return area.name_kk if language == "kk" else area.name_ru


def district_options(session: Session, language: str) -> list[Option]:
    return sorted(
        (Option(district.code, district.name(language)) for district in list_districts(session)),
        key=lambda option: option.label,
    )


def category_names(session: Session, language: str) -> dict[str, str]:
    return {category.code: category.name(language) for category in list_categories(session)}


def district_names(session: Session, language: str) -> dict[str, str]:
    return {district.code: district.name(language) for district in list_districts(session)}


def organization_names(session: Session, language: str) -> dict[int, str]:
    """Every organization, retired ones too: history rows still name them."""
    return {
        organization.id: organization.name(language)
        for organization in session.scalars(select(Organization))
    }


def organization_codes(session: Session, language: str) -> dict[str, tuple[int, str]]:
    """code → (id, name) of every organization, for the list's organization filter."""
    return {
        organization.code: (organization.id, organization.name(language))
        for organization in session.scalars(select(Organization))
    }


def appeal_type_name(code: str, language: str) -> str:
    """'complaint' → 'Жалоба' / 'Шағым'; the code itself when the rules do not know it."""
    appeal_type = deadline_policy().rules.appeal_types.get(code)
    if appeal_type is None:
        return code
    return appeal_type.name_kk if language == "kk" else appeal_type.name_ru


def route_targets(session: Session, language: str, *, exclude_id: int | None) -> list[Option]:
    """Organizations an appeal can be routed to today, by name."""
    today = local(now()).date()
    return [
        Option(organization.code, organization.name(language))
        for organization in active_organizations(session, on=today)
        if organization.id != exclude_id
    ]


def staff_names(session: Session, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = session.execute(
        select(StaffUser.id, StaffUser.full_name, StaffUser.username).where(
            StaffUser.id.in_(user_ids)
        )
    ).all()
    return {user_id: f"{full_name} ({username})" for user_id, full_name, username in rows}

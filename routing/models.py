"""Organizations (with reorganization history), districts, taxonomy and routing rules."""

from __future__ import annotations

import enum
from datetime import date
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, str_enum


class OrganizationKind(enum.StrEnum):
    DISTRICT_AKIMAT = "district_akimat"
    CITY_DEPARTMENT = "city_department"
    UTILITY = "utility"
    CITY_COMPANY = "city_company"
    REPUBLICAN = "republican"
    OTHER = "other"


class Organization(Base):
    """An organization that answers appeals. Never deleted: retired with a date and successors."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_ru: Mapped[str] = mapped_column(String(300))
    name_kk: Mapped[str] = mapped_column(String(300))
    kind: Mapped[OrganizationKind] = mapped_column(str_enum(OrganizationKind, 32))
    district_code: Mapped[str | None] = mapped_column(String(32))
    phone: Mapped[str | None] = mapped_column(String(32))
    active_from: Mapped[date | None] = mapped_column(Date)
    retired_on: Mapped[date | None] = mapped_column(Date)

    def is_active_on(self, day: date) -> bool:
        started = self.active_from is None or self.active_from <= day
        ended = self.retired_on is not None and self.retired_on <= day
        return started and not ended

    def name(self, language: str) -> str:
        return self.name_kk if language == "kk" else self.name_ru


class ChangeKind(enum.StrEnum):
    RENAME = "rename"
    MERGE = "merge"
    SPLIT = "split"
    RETIRE = "retire"


class OrganizationChange(Base):
    """A reorganization: which organizations became which, from what date."""

    __tablename__ = "organization_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ChangeKind] = mapped_column(str_enum(ChangeKind, 16))
    effective_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    predecessor_codes: Mapped[list[str]] = mapped_column(JSON)
    successor_codes: Mapped[list[str]] = mapped_column(JSON)


class District(Base):
    __tablename__ = "districts"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_ru: Mapped[str] = mapped_column(String(100))
    name_kk: Mapped[str] = mapped_column(String(100))
    akimat_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    places: Mapped[list[str]] = mapped_column(JSON, default=list)

    def name(self, language: str) -> str:
        return self.name_kk if language == "kk" else self.name_ru


class CategoryArea(Base):
    __tablename__ = "category_areas"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_ru: Mapped[str] = mapped_column(String(200))
    name_kk: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)


class Category(Base):
    """A second-level topic; ``organization_id`` None means the district's akimat answers."""

    __tablename__ = "categories"

    code: Mapped[str] = mapped_column(String(96), primary_key=True)
    area_code: Mapped[str] = mapped_column(ForeignKey("category_areas.code"), index=True)
    name_ru: Mapped[str] = mapped_column(String(200))
    name_kk: Mapped[str] = mapped_column(String(200))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    keywords_ru: Mapped[list[str]] = mapped_column(JSON, default=list)
    keywords_kk: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def name(self, language: str) -> str:
        return self.name_kk if language == "kk" else self.name_ru


class RoutingRule(Base):
    """Category (× optional district) → organization; the more specific rule wins.

    ``to_district_akimat`` sends the appeal to the akimat of the appeal's district.
    """

    __tablename__ = "routing_rules"
    __table_args__ = (
        UniqueConstraint("category_code", "district_code", name="uq_routing_rule_scope"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category_code: Mapped[str] = mapped_column(ForeignKey("categories.code"), index=True)
    district_code: Mapped[str | None] = mapped_column(ForeignKey("districts.code"))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    to_district_akimat: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(Text, default="")

    def describe(self) -> dict[str, Any]:
        return {
            "rule_id": self.id,
            "category": self.category_code,
            "district": self.district_code,
        }

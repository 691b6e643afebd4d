"""Organizations (with reorganization history), districts, taxonomy and routing rules."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import now
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
    # For a split: which successor takes which categories ({category code: successor code}).
    category_map: Mapped[dict[str, str]] = mapped_column(
        JSON, default=dict, server_default=text("'{}'")
    )
    applied_at: Mapped[datetime | None]
    moved_appeals: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


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


class ServiceArea(Base):
    """A named part of the city that changes who answers, e.g. the city's arterial roads.

    ``streets`` are normalized street-name stems; an appeal whose address or text
    names one of them is in the area.
    """

    __tablename__ = "service_areas"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_ru: Mapped[str] = mapped_column(String(200))
    name_kk: Mapped[str] = mapped_column(String(200))
    streets: Mapped[list[str]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(Text, default="")


class RoutingRule(Base):
    """Category × optional district × optional service area → organization.

    The most specific active rule wins (service area beats district beats the
    citywide rule). ``to_district_akimat`` sends the appeal to the akimat of its
    district. Rules are versioned: an edit supersedes the row and adds a new one,
    so every stored decision still points at the exact rule that made it.
    """

    __tablename__ = "routing_rules"
    __table_args__ = (
        Index(
            "uq_routing_rules_active_scope",
            "category_code",
            func.coalesce(text("district_code"), ""),
            func.coalesce(text("service_area_code"), ""),
            unique=True,
            postgresql_where=text("superseded_at IS NULL"),
            sqlite_where=text("superseded_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category_code: Mapped[str] = mapped_column(ForeignKey("categories.code"), index=True)
    district_code: Mapped[str | None] = mapped_column(ForeignKey("districts.code"))
    service_area_code: Mapped[str | None] = mapped_column(ForeignKey("service_areas.code"))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    to_district_akimat: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(
        default=now, server_default=func.current_timestamp()
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    superseded_at: Mapped[datetime | None]
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("routing_rules.id"))

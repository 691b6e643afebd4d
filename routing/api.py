"""Reference data over HTTP: organizations, districts, categories (public: forms use them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from core.api_deps import DbSession
from core.clock import local, now
from routing import service

router = APIRouter(prefix="/api/v1/reference", tags=["reference"])


class OrganizationOut(BaseModel):
    code: str
    name: str
    kind: str
    district: str | None


class DistrictOut(BaseModel):
    code: str
    name: str


class CategoryOut(BaseModel):
    code: str
    area: str
    name: str


Lang = Annotated[str, Query(pattern="^(ru|kk)$")]


@router.get("/organizations", response_model=list[OrganizationOut])
def organizations(session: DbSession, lang: Lang = "ru") -> list[OrganizationOut]:
    return [
        OrganizationOut(
            code=org.code, name=org.name(lang), kind=org.kind.value, district=org.district_code
        )
        for org in service.active_organizations(session, on=local(now()).date())
    ]


@router.get("/districts", response_model=list[DistrictOut])
def districts(session: DbSession, lang: Lang = "ru") -> list[DistrictOut]:
    return [DistrictOut(code=d.code, name=d.name(lang)) for d in service.list_districts(session)]


@router.get("/categories", response_model=list[CategoryOut])
def categories(session: DbSession, lang: Lang = "ru") -> list[CategoryOut]:
    return [
        CategoryOut(code=c.code, area=c.area_code, name=c.name(lang))
        for c in service.list_categories(session)
    ]

"""Reference data over HTTP: organizations, districts, categories (public: forms use them)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from core.api_deps import AdminUser, CurrentUser, DbSession
from core.clock import local, now
from core.errors import NotFound
from routing import rules, service
from routing.models import Organization, RoutingRule

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


# --- rules (admins edit; every edit is a new version) --------------------------------

rules_router = APIRouter(prefix="/api/v1/routing/rules", tags=["routing rules"])


class RuleOut(BaseModel):
    id: int
    category: str
    district: str | None
    service_area: str | None
    organization: str | None
    to_district_akimat: bool
    version: int
    note: str
    created_at: datetime
    superseded_at: datetime | None


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str
    district: str | None = None
    service_area: str | None = None
    organization: str | None = Field(default=None, description="organization code")
    to_district_akimat: bool = False
    note: str = Field(default="", max_length=2000)


def _rule_out(session: DbSession, rule: RoutingRule) -> RuleOut:
    organization = session.get(Organization, rule.organization_id) if rule.organization_id else None
    return RuleOut(
        id=rule.id,
        category=rule.category_code,
        district=rule.district_code,
        service_area=rule.service_area_code,
        organization=organization.code if organization else None,
        to_district_akimat=rule.to_district_akimat,
        version=rule.version,
        note=rule.note,
        created_at=rule.created_at,
        superseded_at=rule.superseded_at,
    )


@rules_router.get("", response_model=list[RuleOut])
def list_rules(session: DbSession, user: CurrentUser, category: str | None = None) -> list[RuleOut]:
    """The active rules (any staff member may read them: they explain every assignment)."""
    query = select(RoutingRule).where(RoutingRule.superseded_at.is_(None))
    if category:
        query = query.where(RoutingRule.category_code == category)
    rows = session.scalars(query.order_by(RoutingRule.category_code, RoutingRule.id))
    return [_rule_out(session, rule) for rule in rows]


@rules_router.get("/history", response_model=list[RuleOut])
def history(
    session: DbSession,
    user: CurrentUser,
    category: str,
    district: str | None = None,
    service_area: str | None = None,
) -> list[RuleOut]:
    """Every version of the rule for one scope, oldest first."""
    scope = rules.RuleScope(category, district, service_area)
    return [_rule_out(session, rule) for rule in rules.rule_history(session, scope)]


@rules_router.get("/{rule_id}", response_model=RuleOut)
def get_rule(rule_id: int, session: DbSession, user: CurrentUser) -> RuleOut:
    rule = session.get(RoutingRule, rule_id)
    if rule is None:
        raise NotFound(f"no rule {rule_id}", code="rule_not_found")
    return _rule_out(session, rule)


@rules_router.post("", response_model=RuleOut, status_code=201)
def put_rule(body: RuleIn, session: DbSession, admin: AdminUser) -> RuleOut:
    """Set who answers a scope; the previous version is kept (superseded), not overwritten."""
    organization_id = (
        service.organization_by_code(session, body.organization).id if body.organization else None
    )
    rule = rules.put_rule(
        session,
        rules.RuleScope(body.category, body.district, body.service_area),
        organization_id=organization_id,
        to_district_akimat=body.to_district_akimat,
        note=body.note,
        by=admin,
    )
    return _rule_out(session, rule)


@rules_router.delete("/{rule_id}", response_model=RuleOut)
def retire_rule(rule_id: int, session: DbSession, admin: AdminUser) -> RuleOut:
    """Stop using a rule (a district or area exception); the broader rule applies again."""
    return _rule_out(session, rules.retire_rule(session, rule_id, by=admin))

"""Routing help for staff: the dry run, and the suggestion beside an appeal's routing form."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from appeals import access
from core.api_deps import CurrentUser, DbSession
from routing.advice import advise, advise_for_appeal

router = APIRouter(tags=["routing"])


class DryRun(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str = Field(min_length=1, max_length=5000)
    address: str | None = Field(default=None, max_length=300)
    district: str | None = None
    lang: Literal["ru", "kk"] | None = None


@router.post("/api/v1/routing/dry-run")
def dry_run(body: DryRun, session: DbSession, user: CurrentUser) -> dict[str, Any]:
    """How a text would be understood and routed, with the rule; nothing is stored."""
    return advise(
        session,
        text=body.text,
        address=body.address,
        district_code=body.district,
        language=body.lang,
    )


@router.get("/api/v1/appeals/{appeal_id}/routing")
def appeal_routing(
    appeal_id: int, session: DbSession, user: CurrentUser, lang: Literal["ru", "kk"] = "ru"
) -> dict[str, Any]:
    """The classifier's suggestion and the matching rules beside how the appeal was routed."""
    appeal = access.get_for_staff(session, user=user, appeal_id=appeal_id)
    return advise_for_appeal(session, appeal, language=lang)

"""HTTP API of co-executors: list an appeal's parts, add and remove co-executors, answer a part.

Thin: ``routing.coexecutors`` decides. Whoever cannot see the appeal gets 404
(``access.get_for_staff``), so ids cannot be probed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from appeals import access
from appeals.schemas import Language
from core.api_deps import CurrentUser, DbSession
from core.errors import NotFound, ValidationFailed
from routing import coexecutors
from routing.models import Organization
from routing.service import organization_by_code

router = APIRouter(prefix="/api/v1/appeals/{appeal_id}/co-executors", tags=["co-executors"])


class CoExecutorAdd(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    organization_code: str = Field(min_length=1, max_length=64)
    part: str = Field(
        min_length=1,
        max_length=coexecutors.MAX_PART_CHARS,
        description="What this organization must answer.",
    )


class PartAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str = Field(max_length=coexecutors.MAX_ANSWER_CHARS)


class CoExecutorView(BaseModel):
    organization_code: str
    organization_name: str
    part: str
    state: str = Field(description="pending, answered or removed")
    assigned_at: datetime
    answer_text: str | None
    answered_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None


def _view(part: coexecutors.PartView, language: str) -> CoExecutorView:
    assignment = part.assignment
    return CoExecutorView(
        organization_code=part.organization.code,
        organization_name=part.organization.name(language),
        part=assignment.part or "",
        state=part.state,
        assigned_at=assignment.started_at,
        answer_text=assignment.answer_text,
        answered_at=assignment.answered_at,
        ended_at=assignment.ended_at,
        end_reason=assignment.end_reason,
    )


LangQuery = Annotated[Language, Query()]


@router.get("", response_model=list[CoExecutorView])
def list_parts(
    appeal_id: int, session: DbSession, user: CurrentUser, lang: LangQuery = "ru"
) -> list[CoExecutorView]:
    """Every co-executor of the appeal with its part, state and answer (removed ones too)."""
    appeal = access.get_for_staff(session, user=user, appeal_id=appeal_id)
    return [_view(part, lang) for part in coexecutors.part_views(session, appeal.id)]


@router.post("", response_model=CoExecutorView, status_code=201)
def add(
    appeal_id: int,
    body: CoExecutorAdd,
    session: DbSession,
    user: CurrentUser,
    lang: LangQuery = "ru",
) -> CoExecutorView:
    """Operators, inspectors, admins and the lead organization's executors add co-executors."""
    appeal = access.get_for_staff(session, user=user, appeal_id=appeal_id)
    organization = _organization_in_body(session, body.organization_code)
    assignment = coexecutors.add_co_executor(
        session, appeal, organization_id=organization.id, part=body.part, by=user
    )
    return _view(coexecutors.PartView(assignment, organization), lang)


def _organization_in_body(session: Session, code: str) -> Organization:
    """An unknown code sent in a body is bad input (422), not a missing resource."""
    try:
        return organization_by_code(session, code)
    except NotFound:
        raise ValidationFailed(
            f"unknown organization {code!r}", code="unknown_organization"
        ) from None


@router.delete("/{organization_code}", response_model=CoExecutorView)
def remove(
    appeal_id: int,
    organization_code: str,
    session: DbSession,
    user: CurrentUser,
    reason: Annotated[str, Query(max_length=coexecutors.MAX_REASON_CHARS)] = "",
    lang: LangQuery = "ru",
) -> CoExecutorView:
    """End a co-executor's part (``?reason=`` is required); the row stays in the record."""
    appeal = access.get_for_staff(session, user=user, appeal_id=appeal_id)
    organization = organization_by_code(session, organization_code)
    assignment = coexecutors.remove_co_executor(
        session, appeal, organization_id=organization.id, by=user, reason=reason
    )
    return _view(coexecutors.PartView(assignment, organization), lang)


@router.post("/{organization_code}/answer", response_model=CoExecutorView)
def answer(
    appeal_id: int,
    organization_code: str,
    body: PartAnswer,
    session: DbSession,
    user: CurrentUser,
    lang: LangQuery = "ru",
) -> CoExecutorView:
    """The co-executor's executor answers (or revises) their part until the lead answers."""
    appeal = access.get_for_staff(session, user=user, appeal_id=appeal_id)
    organization = organization_by_code(session, organization_code)
    assignment = coexecutors.answer_part(
        session, appeal, user=user, text=body.text, organization_id=organization.id
    )
    return _view(coexecutors.PartView(assignment, organization), lang)

"""Pydantic shapes of the SLA API (pauses, extensions, reviews, inbox, return counts)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class PauseBody(BaseModel):
    reason_code: str = Field(description="citizen_clarification, citizen_documents, …")
    comment: str = Field(default="", max_length=2000)


class ExtensionBody(BaseModel):
    until: AwareDatetime = Field(description="the new deadline, with its timezone")
    reason: str = Field(min_length=1, max_length=4000)


class DecisionBody(BaseModel):
    comment: str | None = Field(default=None, max_length=4000)


class ReviewBody(BaseModel):
    outcome: Literal["accepted", "returned"]
    reason_code: str | None = Field(
        default=None,
        description="returned: no_substance, formal_reply, wrong_organization, "
        "missing_work_deadline, other",
    )
    comment: str | None = Field(default=None, max_length=4000)


class PauseView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    reason_code: str
    comment: str
    started_at: datetime
    ended_at: datetime | None


class ExtensionRequestView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    appeal_id: int
    organization_id: int | None
    requested_by_id: int
    reason: str
    requested_until: datetime
    state: str
    decided_by_id: int | None
    decided_at: datetime | None
    decision_comment: str | None
    created_at: datetime


class ClockView(BaseModel):
    appeal_id: int
    tracking_number: str
    status: str
    due_at: datetime | None
    target_due_at: datetime | None
    extension_notice_due_at: datetime | None
    paused_at: datetime | None
    overdue: bool
    returns_count: int
    pauses: list[PauseView]
    extension_requests: list[ExtensionRequestView]


class ReviewItem(BaseModel):
    appeal_id: int
    tracking_number: str
    organization_id: int | None
    category_code: str | None
    answered_at: datetime | None
    due_at: datetime | None
    returns_count: int
    answer_text: str | None


class NotificationView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    appeal_id: int | None
    kind: str
    text_ru: str
    text_kk: str
    created_at: datetime
    read_at: datetime | None


class ReturnCountView(BaseModel):
    organization_id: int
    organization_code: str
    reviewed: int
    returned: int
    return_rate: float
    by_reason: dict[str, int]


class SweepView(BaseModel):
    at: str
    claimed: dict[str, int]
    escalated: int
    ms: float

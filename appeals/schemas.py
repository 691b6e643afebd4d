"""What each audience may see of an appeal, and the body of a staff action on it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from appeals.lifecycle import Status
from appeals.models import Channel

Language = Literal["ru", "kk"]


class HistoryEntry(BaseModel):
    at: datetime
    from_status: Status | None
    to_status: Status
    actor_kind: str
    reason: str


class PublicAppealView(BaseModel):
    """What anyone with the tracking number may see: never the citizen's contact data."""

    tracking_number: str
    status: Status
    status_label: str
    received_at: datetime
    registered_on: date | None
    due_at: datetime | None
    category: str | None
    organization: str | None
    answer: str | None
    answered_at: datetime | None


class StaffAppealView(BaseModel):
    id: int
    tracking_number: str
    channel: Channel
    status: Status
    text: str
    language: str | None
    appeal_type: str
    category_code: str | None
    category_confidence: float | None
    district_code: str | None
    address: str | None
    urgency: str
    organization_id: int | None
    routing_reason: str | None
    triage_reason: str | None
    received_at: datetime
    registered_on: date | None
    due_at: datetime | None
    answer_text: str | None
    citizen_name: str | None
    citizen_phone: str | None
    is_repeat: bool = False
    earlier_appeal_id: int | None = None
    incident_id: int | None = None
    escalation_reason: str | None = None
    history: list[HistoryEntry]


class ActionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str | None = Field(default=None, max_length=2000)
    text: str | None = Field(default=None, max_length=10000)
    organization_code: str | None = None
    new_due: datetime | None = None
    rejection_reason: str | None = None

"""What channels hand to ``submit()`` and what the API shows back."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from appeals.lifecycle import Status
from appeals.models import Channel
from appeals.schemas import Language


class CitizenContact(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    full_name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=200, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    telegram_user_id: str | None = Field(default=None, max_length=32)

    def is_empty(self) -> bool:
        return not (self.full_name or self.phone or self.email or self.telegram_user_id)


class IncomingContact(BaseModel):
    """One contact from any channel, normalized by its adapter."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    channel: Channel
    external_id: str | None = Field(
        default=None,
        max_length=128,
        description="The channel's own id (Telegram update_id, WhatsApp message id, portal "
        "idempotency key); the same id twice gives the same appeal.",
    )
    text: str
    language: Language | None = None
    appeal_type: str | None = Field(default=None, max_length=32)
    category_code: str | None = Field(default=None, max_length=96)
    district_code: str | None = Field(default=None, max_length=32)
    address: str | None = Field(default=None, max_length=300)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    citizen: CitizenContact = Field(default_factory=CitizenContact)
    received_at: datetime | None = None

    @field_validator("received_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("received_at must carry a timezone")
        return value


class SubmitReceipt(BaseModel):
    tracking_number: str
    status: Status
    created: bool = Field(description="False when this external id was already submitted")
    status_url: str


class AppealSubmission(BaseModel):
    """The JSON body of ``POST /api/v1/appeals`` (portal and mobile app)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    channel: Literal["portal", "mobile"] = "portal"
    text: str
    language: Language | None = None
    appeal_type: str | None = None
    category_code: str | None = None
    district_code: str | None = None
    address: str | None = Field(default=None, max_length=300)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    citizen: CitizenContact = Field(default_factory=CitizenContact)
    idempotency_key: str | None = Field(default=None, max_length=128)

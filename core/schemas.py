"""Schemas of core's API (staff authentication)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class TokenRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 scheme name
    expires_in_s: int
    role: str
    organization_id: int | None


class Me(BaseModel):
    id: int
    username: str
    full_name: str
    role: str
    organization_id: int | None

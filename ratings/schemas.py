"""The ranking's JSON, as the API documents it (the CLI's ``--json`` prints the same keys)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class PeriodOut(BaseModel):
    kind: str
    label: str
    from_: str = Field(alias="from")
    to: str

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class ComponentOut(BaseModel):
    """One component of one organization, shares in percent."""

    good: int
    n: int
    rate: float | None  # observed share of good outcomes
    expected: float | None  # what the city's rates predict for this mix
    city: float | None  # the city's own share
    value: float | None  # what the score uses: adjusted for the mix, shrunk by the prior
    ci_low: float | None
    ci_high: float | None
    weight: float
    points_lost: float
    vs_city: float


class RowOut(BaseModel):
    organization_code: str
    name: str
    name_kk: str
    kind: str
    retired_on: str | None
    n: int
    score: float
    ci_low: float
    ci_high: float
    ranked: bool
    rank: int | None
    rank_in_kind: int | None
    previous_rank: int | None = None
    movement: int | None = None
    reasons: list[str]
    on_time: ComponentOut
    on_target: ComponentOut
    returns: ComponentOut
    reopened: ComponentOut
    satisfaction: ComponentOut
    repeats: ComponentOut
    ping_pong: ComponentOut


class CityOut(BaseModel):
    good: int
    n: int
    rate: float | None


class RankingOut(BaseModel):
    period: PeriodOut
    previous_period: PeriodOut | None = None
    computed_at: str
    final: bool  # the period had ended when the table was computed
    snapshot: bool  # read from the table stored when the period closed
    kind: str | None
    weights: dict[str, float]
    min_n: int
    methodology: dict[str, object]
    city: dict[str, CityOut]
    rows: list[RowOut]
    top: list[str]
    anti: list[str]


class BehindOut(BaseModel):
    id: int
    tracking_number: str
    status: str
    category_code: str | None
    district_code: str | None
    received_at: str
    due_at: str | None
    target_due_at: str | None
    answered_at: str | None
    good: bool


class DrilldownOut(BaseModel):
    organization_code: str
    component: str
    which: str
    period: PeriodOut
    total: int
    appeals: list[BehindOut]


class SnapshotOut(BaseModel):
    period_kind: str
    from_: str = Field(alias="from")
    to: str
    label: str
    methodology_version: str
    organizations: int
    computed_at: str

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

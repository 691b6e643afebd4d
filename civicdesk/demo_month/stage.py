"""What every step of the demo month shares: the plan, the staff, the clock, the agenda.

The agenda is a heap of (moment, step) in the past; ``civicdesk.demo_month.engine`` plays it
in order, each step with the clock frozen at its own moment (``core.clock.frozen``).
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals.models import Appeal
from civicdesk.demo_month.cast import Cast
from civicdesk.demo_month.plan import PROFILES, Arrival, DemoData, MonthPlan, Profile
from civicdesk.demo_month.worktime import WorkTime
from core.clock import local, now
from routing.models import Organization
from routing.service import routing_table
from sla.policy import DeadlinePolicy

_BEGINNING = datetime.min.replace(tzinfo=UTC)


@dataclass
class Life:
    """One appeal's story: what is planned for it and how far it got."""

    arrival: Arrival
    rng: random.Random
    appeal_id: int | None = None
    version: int = 0  # a step scheduled under an older version is void (a plan changed)
    true_organization_id: int | None = None
    forward_chain: list[int] = field(default_factory=list)  # organizations still to pass it on
    pause: bool = False
    paused: bool = False
    extension_decided: bool = False
    extension_request_id: int | None = None
    returns_left: int = 0
    return_reason: str = "formal_reply"
    answers: int = 0
    answer_at: datetime | None = None
    reopened: int = 0
    rates: bool = False


@dataclass(order=True)
class Step:
    at: datetime
    seq: int
    kind: str = field(compare=False)
    index: int = field(compare=False)  # the arrival's index; -1 for the month's own steps
    version: int = field(compare=False, default=0)


@dataclass
class Stage:
    """The month being played."""

    data: DemoData
    plan: MonthPlan
    cast: Cast
    worktime: WorkTime
    policy: DeadlinePolicy
    until: datetime
    prefix: str  # external ids of this month's appeals start with it
    seed: int
    lives: dict[int, Life] = field(default_factory=dict)
    received: list[Life] = field(default_factory=list)  # submitted, not yet through the pipeline
    agenda: list[Step] = field(default_factory=list)
    organization_ids: dict[str, int] = field(default_factory=dict)
    organization_codes: dict[int, str] = field(default_factory=dict)
    organization_names: dict[int, tuple[str, str]] = field(default_factory=dict)
    clock: datetime = _BEGINNING  # the moment of the step being played
    skipped: Counter[str] = field(default_factory=Counter)
    done: Counter[str] = field(default_factory=Counter)
    _seq: itertools.count[int] = field(default_factory=itertools.count)

    def load_organizations(self, session: Session) -> None:
        for organization in session.scalars(select(Organization)):
            self.organization_ids[organization.code] = organization.id
            self.organization_codes[organization.id] = organization.code
            self.organization_names[organization.id] = (organization.name_ru, organization.name_kk)

    def schedule(self, at: datetime, kind: str, life: Life | None = None) -> None:
        """Plan a step; one planned after ``until`` never happens (the month ends first)."""
        if at > self.until:
            return
        # Never before the step being played: the month's clock only moves forward.
        at = max(at, self.clock)
        index = life.arrival.index if life is not None else -1
        version = life.version if life is not None else 0
        heapq.heappush(self.agenda, Step(at, next(self._seq), kind, index, version))

    def profile_of(self, organization_id: int | None) -> Profile:
        code = self.organization_codes.get(organization_id) if organization_id else None
        return PROFILES[self.plan.profiles.get(code or "", "good")]

    def appeal(self, session: Session, life: Life) -> Appeal:
        assert life.appeal_id is not None
        appeal = session.get(Appeal, life.appeal_id)
        assert appeal is not None
        return appeal

    def organization_name(self, organization_id: int, language: str | None) -> str:
        names = self.organization_names.get(organization_id, ("", ""))
        return names[1] if language == "kk" else names[0]

    def decide_organization(
        self, session: Session, category: str, district: str | None
    ) -> int | None:
        """Where the routing rules send this topic in this district today."""
        decision = routing_table(session).decide(
            category_code=category, district_code=district, on=local(now()).date()
        )
        return decision.organization_id if decision.routed else None

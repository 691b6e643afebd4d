"""What people said about an appeal's district, and what the city learned from it (issue 19).

``district_corrections`` keeps each confirmation or correction of an appeal's district by an
operator, inspector or admin (the staff page, the API, the call-center form) or an executor
of a district akimat, with the address and pin as they were: evidence for the places the
appeal names. ``learned_places`` is what ``intake.place_learning.relearn`` made of all the
evidence (a street, a side and tens of houses, an unknown street's name, a map grid cell →
the district, with how many appeals said so), read by the pipeline; ``place_learning_runs``
says when it last ran and on how much.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import now
from core.db import Base


class DistrictCorrection(Base):
    """A person confirmed (from = to) or corrected an appeal's district."""

    __tablename__ = "district_corrections"
    __table_args__ = (Index("ix_district_corrections_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"), index=True)
    from_district: Mapped[str | None] = mapped_column(String(32))
    to_district: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    source: Mapped[str] = mapped_column(String(16))  # staff, console, executor
    reason: Mapped[str] = mapped_column(Text, default="")
    corrected_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    at: Mapped[datetime] = mapped_column(default=now)

    @property
    def confirms(self) -> bool:
        return self.from_district == self.to_district


class LearnedPlace(Base):
    """A place key → the district most appeals naming it were confirmed in."""

    __tablename__ = "learned_places"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    appeals: Mapped[int] = mapped_column(Integer)  # appeals confirmed in that district
    total: Mapped[int] = mapped_column(Integer)  # appeals naming the key, any district
    share: Mapped[float] = mapped_column(Float)
    label: Mapped[str] = mapped_column(String(200))  # the key as a person reads it
    learned_at: Mapped[datetime] = mapped_column(default=now)


class PlaceLearningRun(Base):
    """One relearning: when, from how many appeals, how many keys were learned."""

    __tablename__ = "place_learning_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=now, index=True)
    evidence_appeals: Mapped[int] = mapped_column(Integer)
    keys_seen: Mapped[int] = mapped_column(Integer)
    keys_learned: Mapped[int] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer)

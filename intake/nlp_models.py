"""What the classifier said about each appeal, and what operators corrected (issue 4).

``appeal_classifications`` keeps every prediction with the model version that
made it (the routing decision's evidence); ``category_corrections`` keeps each
operator's or inspector's change of category with a snapshot of the text,
because corrections are training data for the next model.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import now
from core.db import Base


class AppealClassification(Base):
    """One annotation of an appeal: topic with confidence and runners-up, language, urgency."""

    __tablename__ = "appeal_classifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(16))  # model, keywords, none
    model_version: Mapped[str | None] = mapped_column(String(64))
    # No foreign key: a model may know a category the taxonomy has since retired.
    category_code: Mapped[str | None] = mapped_column(String(96))
    confidence: Mapped[float] = mapped_column(Float)
    alternatives: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [[code, p], …]
    language: Mapped[str] = mapped_column(String(8))  # ru, kk, mixed
    district_code: Mapped[str | None] = mapped_column(String(32))
    district_evidence: Mapped[str | None] = mapped_column(String(200))
    # What named the district: address, street_house, place, pin, learned_street … (issue 19)
    district_source: Mapped[str | None] = mapped_column(String(32))
    urgency_triggers: Mapped[list[str]] = mapped_column(JSON, default=list)
    not_appeal: Mapped[str | None] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(default=now)


class CategoryCorrection(Base):
    """An operator's change of an appeal's category: training data for the next model."""

    __tablename__ = "category_corrections"
    __table_args__ = (Index("ix_category_corrections_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"), index=True)
    from_category: Mapped[str | None] = mapped_column(String(96))
    to_category: Mapped[str] = mapped_column(ForeignKey("categories.code"))
    text: Mapped[str] = mapped_column(Text)  # the appeal's text when corrected
    confidence: Mapped[float | None] = mapped_column(Float)  # what the classifier had said
    reason: Mapped[str] = mapped_column(Text, default="")
    corrected_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    at: Mapped[datetime] = mapped_column(default=now)

    @property
    def confirms(self) -> bool:
        """A person vouched for the guess (same category before and after)."""
        return self.from_category == self.to_category

"""Analytics tables: the scheduled runs' ledger, detected bursts, weekly reports, Open311 keys.

Nothing here copies an appeal's personal data: a burst keeps appeal and incident ids (staff
open them through the usual access rules), a report is the rendered document, an Open311
key is stored only as its SHA-256.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import now
from core.db import Base


class AnalyticsRun(Base):
    """One scheduled run per (kind, period): the nightly export of a day, the burst check of
    an hour, the report of a week. The row is claimed before the work is queued, so two
    workers never both run it; ``finished_at`` stays empty when it failed (visible, retried
    by hand with the CLI)."""

    __tablename__ = "analytics_runs"
    __table_args__ = (UniqueConstraint("kind", "period", name="uq_analytics_runs_kind_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # export, bursts, report
    period: Mapped[str] = mapped_column(String(32))  # 2026-12-07, 2026-12-07T14, 2026-W49
    started_at: Mapped[datetime] = mapped_column(default=now)
    finished_at: Mapped[datetime | None]
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Burst(Base):
    """A topic in a district far above its usual daily count, once per (day, district, topic).

    Later checks the same day update the count and the appeals; the inspectors' notice is
    written once, when the burst is first found.
    """

    __tablename__ = "analytics_bursts"
    __table_args__ = (
        UniqueConstraint(
            "day", "district_code", "category_code", name="uq_analytics_bursts_day_place_topic"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)  # Almaty calendar day
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    category_code: Mapped[str] = mapped_column(ForeignKey("categories.code"))
    count: Mapped[int] = mapped_column(Integer)
    expected: Mapped[float] = mapped_column(Float)  # the baseline's mean for that day
    spread: Mapped[float] = mapped_column(Float)  # its standard deviation
    p_value: Mapped[float] = mapped_column(Float)
    method: Mapped[str] = mapped_column(String(32))
    appeal_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    incident_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    notification_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_notifications.id", ondelete="SET NULL"), index=True
    )
    detected_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now)


class WeeklyReport(Base):
    """The leadership's weekly report of an ISO week, in one language and one format."""

    __tablename__ = "analytics_reports"
    __table_args__ = (
        UniqueConstraint("week", "language", "format", name="uq_analytics_reports_week"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    week: Mapped[str] = mapped_column(String(8))  # 2026-W49
    language: Mapped[str] = mapped_column(String(2))
    format: Mapped[str] = mapped_column(String(4))  # pdf, html
    content: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=now)
    generated_by: Mapped[str] = mapped_column(String(16))  # worker, cli, page


class Open311Key(Base):
    """An API key for Open311 ``POST requests`` (a partner's app); only its SHA-256 is kept."""

    __tablename__ = "open311_api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=now)
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

"""What the portal and mobile API keep: attachments and the citizen tokens of "my appeals"."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import now
from core.db import Base


class Attachment(Base):
    """One stored file: content-addressed on disk, so the citizen's file name is never a path.

    ``original_name`` is kept only to show it back; the same bytes attached twice to
    one appeal are one row (a retried upload is harmless).
    """

    __tablename__ = "attachments"
    __table_args__ = (UniqueConstraint("appeal_id", "sha256", name="uq_attachments_appeal_sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    original_name: Mapped[str | None] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=now)


class PortalTokenAppeal(Base):
    """An appeal filed with a citizen token (the mobile app's installation).

    "My appeals" lists what was filed with the token, never what a phone number
    is attached to: a token proves nothing about a phone, so listing by phone
    would show a stranger's appeals to anyone who typed their number. Only the
    token's SHA-256 is stored.
    """

    __tablename__ = "portal_token_appeals"
    __table_args__ = (
        UniqueConstraint("token_hash", "appeal_id", name="uq_portal_token_appeals_token_appeal"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), index=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=now)

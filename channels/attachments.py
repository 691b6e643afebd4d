"""Attachments: photos and documents citizens add to an appeal, with type and size limits.

The type is what the bytes are (their magic number), not what the client
claims; the file is stored (``core.objects``: S3-compatible storage when
``CIVICDESK_S3_BUCKET`` is set, else under ``settings.attachments_dir``) by its SHA-256
(``ab/cd/abcdef…``), so the citizen's file name is never part of a path and the
same file is stored once. The file is written (atomically: temp file, then
rename) before the row commits; a rolled-back upload leaves at most an
unreferenced file, never a row without its file.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from appeals.lifecycle import OPEN_STATUSES
from appeals.models import Appeal
from channels.portal_models import Attachment
from core.db import dialect_insert, table_of
from core.errors import Conflict, DomainError, NotFound, ValidationFailed
from core.objects import LocalStore, ObjectMissing, ObjectStore, object_store
from core.settings import Settings, get_settings

EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/heic": "heic",
    "application/pdf": "pdf",
}
_HEIC_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1")


class FileTooLarge(DomainError):
    code = "file_too_large"
    http_status = 413


class UnsupportedFileType(DomainError):
    code = "unsupported_file_type"
    http_status = 415


def sniff(head: bytes) -> str | None:
    """The content type the first bytes show, among those we know; None otherwise."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if len(head) >= 12 and head[4:8] == b"ftyp" and head[8:12] in _HEIC_BRANDS:
        return "image/heic"
    return None


def safe_name(name: str | None) -> str | None:
    """The file name to show back: no directories, no control characters, 200 chars at most."""
    if not name:
        return None
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    return cleaned[:200] or None


def path_for(sha256: str, settings: Settings | None = None) -> Path:
    directory = (settings or get_settings()).attachments_dir
    return Path(directory) / sha256[:2] / sha256[2:4] / sha256


def _store(settings: Settings | None = None) -> tuple[ObjectStore, str]:
    """Where files live (``core.objects``: S3 when configured, else ``attachments_dir``)
    and the prefix of their keys there."""
    settings = settings or get_settings()
    if settings.s3_bucket:
        return object_store(settings.attachments_dir, settings), "attachments/"
    return LocalStore(settings.attachments_dir), ""


def _key(sha256: str) -> str:
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


def local_file(sha256: str, settings: Settings | None = None) -> Path | None:
    """The file on this machine's disk, when attachments live in a local folder."""
    store, prefix = _store(settings)
    return store.local_path(prefix + _key(sha256))


def read_content(sha256: str, settings: Settings | None = None) -> bytes:
    """The stored bytes, from whichever store holds them; ``NotFound`` if none does."""
    store, prefix = _store(settings)
    try:
        return store.get(prefix + _key(sha256))
    except ObjectMissing:
        raise NotFound("the file is not in storage", code="attachment_missing") from None


def read_limited(chunks: Iterable[bytes], *, limit: int) -> bytes:
    """Collect an upload, refusing it as soon as it passes ``limit`` bytes."""
    data = bytearray()
    for chunk in chunks:
        data.extend(chunk)
        if len(data) > limit:
            raise FileTooLarge(
                f"the file is larger than {limit} bytes", code="file_too_large", max_bytes=limit
            )
    return bytes(data)


def store_attachment(
    session: Session,
    *,
    appeal_id: int,
    data: bytes,
    original_name: str | None,
    channel: str,
) -> Attachment:
    """Check and store one file for an open appeal; the same bytes twice give the same row."""
    settings = get_settings()
    if len(data) > settings.attachment_max_bytes:
        raise FileTooLarge(
            f"the file is larger than {settings.attachment_max_bytes} bytes",
            max_bytes=settings.attachment_max_bytes,
        )
    if not data:
        raise ValidationFailed("the file is empty", code="empty_file")
    content_type = sniff(data[:32])
    if content_type is None or content_type not in settings.attachment_types:
        raise UnsupportedFileType(
            "this kind of file is not accepted", allowed=sorted(settings.attachment_types)
        )
    appeal = session.get(Appeal, appeal_id)
    if appeal is None:
        raise NotFound(f"appeal {appeal_id} not found", code="appeal_not_found")
    if appeal.status not in OPEN_STATUSES:
        raise Conflict("the appeal is already answered or closed", code="appeal_not_open")
    digest = hashlib.sha256(data).hexdigest()
    existing = session.scalar(
        select(Attachment).where(Attachment.appeal_id == appeal_id, Attachment.sha256 == digest)
    )
    if existing is not None:
        return existing
    count = session.scalar(
        select(func.count()).select_from(Attachment).where(Attachment.appeal_id == appeal_id)
    )
    if int(count or 0) >= settings.attachments_per_appeal:
        raise Conflict(
            f"an appeal takes at most {settings.attachments_per_appeal} files",
            code="too_many_attachments",
        )
    store, prefix = _store(settings)
    store.put(prefix + _key(digest), data, content_type)
    table = table_of(Attachment)
    session.execute(
        dialect_insert(session.get_bind().dialect.name, table)
        .values(
            appeal_id=appeal_id,
            sha256=digest,
            content_type=content_type,
            size_bytes=len(data),
            original_name=safe_name(original_name),
            channel=channel[:16],
        )
        .on_conflict_do_nothing(index_elements=["appeal_id", "sha256"])
    )
    stored = session.scalar(
        select(Attachment).where(Attachment.appeal_id == appeal_id, Attachment.sha256 == digest)
    )
    assert stored is not None
    return stored


def attachments_of(session: Session, *, appeal_id: int) -> list[Attachment]:
    return list(
        session.scalars(
            select(Attachment).where(Attachment.appeal_id == appeal_id).order_by(Attachment.id)
        ).all()
    )


def get_attachment(session: Session, *, appeal_id: int, attachment_id: int) -> Attachment:
    attachment = session.get(Attachment, attachment_id)
    if attachment is None or attachment.appeal_id != appeal_id:
        raise NotFound("no such attachment", code="attachment_not_found")
    return attachment

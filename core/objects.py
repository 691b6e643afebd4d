"""Files every machine must see: attachments and trained models (issue 20, item 4).

One machine's disk is not enough once there are several API servers and workers: an
attachment uploaded through one server was listed by another and fetching it there was a
500, and each machine trained its own topic model. With ``CIVICDESK_S3_BUCKET`` set, files
go to S3-compatible object storage (MinIO, Ceph, any cloud's S3) through boto3; without it,
to a local folder, the embedded default. Credentials come the way boto3 reads them
(``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, a profile, an instance role): the
settings name only where the store is.

Keys are relative paths (``attachments/ab/cd/<sha256>``); in S3 they sit under
``CIVICDESK_S3_PREFIX`` (the deployment's name by default), so deployments may share a
bucket as they share a Redis.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from typing import Any, Protocol

from core.settings import Settings, get_settings


class ObjectMissing(KeyError):
    """No object under that key."""


class ObjectStore(Protocol):
    def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        """Store ``data`` under ``key`` (whole or not at all)."""
        ...

    def get(self, key: str) -> bytes:
        """The object's bytes; ``ObjectMissing`` if there is none."""
        ...

    def exists(self, key: str) -> bool: ...

    def local_path(self, key: str) -> Path | None:
        """A file on this machine holding the object, when the store is a folder."""
        ...


def _safe_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"not an object key: {key!r}")
    return key


class LocalStore:
    """A folder: written through a temporary file and a rename, so a reader sees whole
    files only (the embedded, one-machine setup)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / _safe_key(key)

    def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        path = self._path(key)
        if path.exists() and path.stat().st_size == len(data):
            return  # content-addressed keys: the same name is the same bytes
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as output:
                output.write(data)
                output.flush()
                os.fsync(output.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise ObjectMissing(key) from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def local_path(self, key: str) -> Path | None:
        return self._path(key)


class S3Store:
    """An S3-compatible bucket through boto3 (one client per process: it is thread-safe)."""

    def __init__(self, settings: Settings) -> None:
        import boto3
        from botocore.config import Config

        assert settings.s3_bucket is not None
        self.bucket = settings.s3_bucket
        self.prefix = (settings.s3_prefix or settings.queue_name).strip("/")
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            config=Config(
                connect_timeout=5,
                read_timeout=30,
                retries={"max_attempts": 3, "mode": "standard"},
                # MinIO and most self-hosted stores want path-style addressing.
                s3={"addressing_style": "path"},
            ),
        )

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{_safe_key(key)}" if self.prefix else _safe_key(key)

    def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        extra = {"ContentType": content_type} if content_type else {}
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, **extra)

    def get(self, key: str) -> bytes:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except self.client.exceptions.NoSuchKey:
            raise ObjectMissing(key) from None
        body: bytes = answer["Body"].read()
        return body

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def local_path(self, key: str) -> Path | None:
        return None


_stores: dict[tuple[str, ...], ObjectStore] = {}
_lock = threading.Lock()


def object_store(local_root: Path, settings: Settings | None = None) -> ObjectStore:
    """S3 when ``CIVICDESK_S3_BUCKET`` is set, else the folder ``local_root``."""
    settings = settings or get_settings()
    if not settings.s3_bucket:
        return LocalStore(local_root)
    key = (
        settings.s3_bucket,
        settings.s3_endpoint_url or "",
        settings.s3_prefix or settings.queue_name,
        settings.s3_region or "",
    )
    with _lock:
        store = _stores.get(key)
        if store is None:
            store = _stores[key] = S3Store(settings)
        return store

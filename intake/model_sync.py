"""One topic model for every machine: published to object storage, fetched by the others
(issue 20, item 4).

Trained models sat in each machine's local folder, so each machine trained its own and two
workers could classify the same text differently. With object storage configured
(``CIVICDESK_S3_BUCKET``), ``civicdesk nlp train`` publishes the model it saved:
its files under ``models/topic/<version>/``, then ``models/topic/CURRENT`` naming that
version, then the ``topic_model`` stamp (``core.stamps``) moves in the same transaction as
the publication is recorded. The pipeline calls :func:`ensure_current` once per batch: one
primary-key read while nothing changed; when the stamp moved it reads ``CURRENT`` and, if
its local model is another version, downloads that one beside the model directory and swaps
it in by rename (readers see the old model or the new, never half of one), and the model
cache reloads. Every process thus serves the version ``CURRENT`` names.

Without object storage nothing changes: one machine, one folder.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

from sqlalchemy.orm import Session

from core import stamps
from core.objects import ObjectMissing, ObjectStore, object_store
from core.settings import Settings
from nlp import topic
from nlp.engine import ModelError, read_metadata, replacing_directory

log = logging.getLogger(__name__)
PREFIX = "models/topic"
CURRENT = f"{PREFIX}/CURRENT"
MANIFEST = "MANIFEST.json"
_lock = threading.Lock()
# model directory -> (the stamp last acted on, the version current then)
_seen: dict[str, tuple[int | None, str | None]] = {}


def _store(settings: Settings) -> ObjectStore:
    return object_store(topic.model_directory(settings), settings)


def publish(session: Session, directory: Path, version: str, settings: Settings) -> bool:
    """Upload the model in ``directory`` as ``version`` and make it the current one (in the
    caller's transaction, the stamp). False when no object storage is configured."""
    if not settings.s3_bucket:
        return False
    store = _store(settings)
    files = sorted(
        path.relative_to(directory).as_posix() for path in directory.rglob("*") if path.is_file()
    )
    for name in files:
        store.put(f"{PREFIX}/{version}/{name}", (directory / name).read_bytes())
    manifest = json.dumps({"version": version, "files": files}).encode()
    store.put(f"{PREFIX}/{version}/{MANIFEST}", manifest, "application/json")
    store.put(CURRENT, version.encode(), "text/plain")
    stamps.bump(session, "topic_model")
    log.info("published topic model %s (%d files)", version, len(files))
    return True


def _local_version(directory: Path) -> str | None:
    try:
        return read_metadata(directory).version
    except ModelError:
        return None


def _download(store: ObjectStore, version: str, directory: Path) -> None:
    manifest = json.loads(store.get(f"{PREFIX}/{version}/{MANIFEST}"))
    with replacing_directory(directory) as staging:
        for name in manifest["files"]:
            target = staging / name
            if not target.resolve().is_relative_to(staging.resolve()):
                raise ValueError(f"model file outside its directory: {name!r}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(store.get(f"{PREFIX}/{version}/{name}"))


def ensure_current(session: Session, settings: Settings) -> str | None:
    """Serve the published model: fetch it if the stamp moved and this machine has another
    version. Returns the current version (None: no object storage, or nothing published)."""
    if not settings.s3_bucket:
        return None
    directory = topic.model_directory(settings)
    key = str(directory)
    version_stamp = stamps.read(session, "topic_model")
    seen = _seen.get(key)
    if seen is not None and seen[0] == version_stamp and version_stamp is not None:
        return seen[1]  # nothing moved: no object-store or disk read on this batch
    with _lock:
        store = _store(settings)
        try:
            current = store.get(CURRENT).decode().strip()
        except ObjectMissing:
            _seen[key] = (version_stamp, None)
            return None  # nothing published yet: the local model (or auto-training) serves
        if _local_version(directory) != current:
            log.info("fetching topic model %s from object storage", current)
            _download(store, current, directory)
            topic.reload(directory)
        _seen[key] = (version_stamp, current)
        return current

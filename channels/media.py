"""Photos sent to the bots become appeal attachments: fetched after commit, as a job.

The conversation stores only the messenger's reference (``bot_media``) and defers
``fetch_bot_media`` in the same transaction as the appeal, so the webhook never waits
for a download (with Redis; embedded mode runs every job inline). The job fetches each
file the way the messenger serves it and hands the bytes to
``channels.attachments.store_attachment`` (magic-number type check, size limit, one
row per sha256):

- Telegram: ``getFile?file_id=…`` gives ``file_path`` (and ``file_size``), the bytes are
  at ``<api base>/file/bot<token>/<file_path>`` (bots may download up to 20 MB).
- WhatsApp: ``GET <graph base>/<media id>`` with the bearer token gives a ``url`` valid
  for five minutes; ``GET url`` with the same bearer token gives the bytes.

A transient failure (network, 429, 5xx) raises, so the job is retried (RQ's retries,
then the outbox relay); a permanent one (unknown file, too big, a type we refuse, an
appeal already closed) is logged without personal data and skipped. Photos older than
``GIVE_UP_AFTER_S`` are skipped rather than retried for ever. URLs are never logged:
Telegram's carry the bot token.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.attachments import read_limited, store_attachment
from channels.models import BotMedia
from core import db, jobs
from core.clock import now
from core.errors import DomainError
from core.settings import Settings, get_settings

log = logging.getLogger(__name__)
FETCH_JOB = "channels.media.fetch_bot_media"
TIMEOUT_S = 10.0
#: One job's time budget for all its downloads: past it, the rest waits for the retry.
JOB_BUDGET_S = 30.0
GIVE_UP_AFTER_S = 24 * 3600


class MediaUnavailable(Exception):
    """The file cannot be had, now or later (no transport, unknown file, too big)."""


class MediaRetry(Exception):
    """A transient failure: the job is retried."""


_client_lock = threading.Lock()
_shared_client: httpx.Client | None = None


def http_client() -> httpx.Client:
    """One client per process: building one loads the CA bundle (~0.2 s, most of a job's
    time when made per job); httpx clients are safe to share between threads."""
    global _shared_client
    with _client_lock:
        if _shared_client is None:
            _shared_client = httpx.Client(timeout=TIMEOUT_S, follow_redirects=True)
        return _shared_client


def defer_fetch(session: Session, *, media: list[BotMedia]) -> None:
    """Queue the download of these photos for after the caller's commit."""
    if not media:
        return
    session.flush()
    jobs.defer(session, FETCH_JOB, [row.id for row in media])


def _check(response: httpx.Response, what: str) -> None:
    if response.status_code == 429 or response.status_code >= 500:
        raise MediaRetry(f"{what}: HTTP {response.status_code}")
    if response.status_code == 401:
        # A token being rotated: worth another try once the operator fixed it.
        raise MediaRetry(f"{what}: HTTP 401")
    if response.status_code >= 400:
        raise MediaUnavailable(f"{what}: HTTP {response.status_code}")


def _download(client: httpx.Client, url: str, *, limit: int, headers: dict[str, str]) -> bytes:
    with client.stream("GET", url, headers=headers) as response:
        _check(response, "download")
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise MediaUnavailable(f"download: {declared} bytes is over the limit")
        try:
            return read_limited(response.iter_bytes(), limit=limit)
        except DomainError as error:
            raise MediaUnavailable(f"download: {error.code}") from error


def _size(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def fetch_telegram(client: httpx.Client, settings: Settings, file_id: str, *, limit: int) -> bytes:
    """``getFile`` then ``/file/bot<token>/<file_path>``."""
    token = settings.telegram_bot_token
    if not token:
        raise MediaUnavailable("telegram: no bot token configured")
    base = settings.telegram_api_base.rstrip("/")
    response = client.get(f"{base}/bot{token}/getFile", params={"file_id": file_id})
    _check(response, "getFile")
    body = response.json()
    result = body.get("result") if isinstance(body, dict) and body.get("ok") else None
    if not isinstance(result, dict) or not result.get("file_path"):
        raise MediaUnavailable("getFile: no file_path in the answer")
    if _size(result.get("file_size")) > limit:
        raise MediaUnavailable("getFile: the file is over the limit")
    return _download(
        client, f"{base}/file/bot{token}/{result['file_path']}", limit=limit, headers={}
    )


def fetch_whatsapp(client: httpx.Client, settings: Settings, media_id: str, *, limit: int) -> bytes:
    """``GET /<media id>`` for a short-lived URL, then the URL, both with the bearer token."""
    token = settings.whatsapp_access_token
    if not token:
        raise MediaUnavailable("whatsapp: no access token configured")
    auth = {"Authorization": f"Bearer {token}"}
    base = settings.whatsapp_graph_base.rstrip("/")
    response = client.get(f"{base}/{media_id}", headers=auth)
    _check(response, "media")
    body = response.json()
    if not isinstance(body, dict) or not body.get("url"):
        raise MediaUnavailable("media: no url in the answer")
    if _size(body.get("file_size")) > limit:
        raise MediaUnavailable("media: the file is over the limit")
    return _download(client, str(body["url"]), limit=limit, headers=auth)


def fetch(client: httpx.Client, settings: Settings, media: BotMedia) -> bytes:
    """The bytes of one bot photo, through its messenger."""
    limit = settings.attachment_max_bytes
    try:
        if media.channel == "telegram":
            return fetch_telegram(client, settings, media.reference, limit=limit)
        if media.channel == "whatsapp":
            return fetch_whatsapp(client, settings, media.reference, limit=limit)
    except (httpx.TransportError, ValueError) as error:  # ValueError: a body that is not JSON
        raise MediaRetry(type(error).__name__) from error
    raise MediaUnavailable(f"no media download for channel {media.channel}")


def fetch_bot_media(media_ids: list[int], *, outbox_id: int | None = None) -> int:
    """The job: fetch and store these photos; returns how many were stored.

    One transaction with the outbox claim: a retryable failure rolls it all back (an
    already written file is content-addressed, so the retry reuses it).
    """
    settings = get_settings()
    started = time.monotonic()
    stored = 0
    with db.transaction() as session:
        if not jobs.claim(session, outbox_id):
            return 0
        rows = session.scalars(
            select(BotMedia).where(BotMedia.id.in_(media_ids)).order_by(BotMedia.id)
        ).all()
        too_old = now() - timedelta(seconds=GIVE_UP_AFTER_S)
        client = http_client()
        for media in rows:
            try:
                if time.monotonic() - started > JOB_BUDGET_S:
                    raise MediaRetry("the job's time budget is spent")
                data = fetch(client, settings, media)
                store_attachment(
                    session,
                    appeal_id=media.appeal_id,
                    data=data,
                    original_name=None,
                    channel=media.channel,
                )
                stored += 1
            except MediaRetry as error:
                if media.created_at < too_old:
                    log.warning("bot media %s: giving up after a day (%s)", media.id, error)
                    continue
                log.warning("bot media %s: will retry (%s)", media.id, error)
                raise
            except (MediaUnavailable, DomainError) as error:
                reason = error.code if isinstance(error, DomainError) else str(error)
                log.warning(
                    "bot media %s of appeal %s skipped: %s", media.id, media.appeal_id, reason
                )
    return stored

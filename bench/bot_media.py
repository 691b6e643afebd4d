"""Bot photos fetched into attachments per second (the job after an appeal commits).

    python bench/bot_media.py [--photos 40] [--kb 200] [--runs 3]

Each photo is a ``bot_media`` row of a stored Telegram appeal (PostgreSQL, its own
schema, dropped afterwards); the timed part is ``channels.media.fetch_bot_media`` per
appeal, as the worker runs it: ``getFile`` and the file download from a local fake
Bot API over HTTP, the type sniffing, SHA-256, the atomic file write (fsync) and the
``attachments`` row, one commit per job. Prints JSON with ``photos_per_s`` and
``mb_per_s`` (median of the runs).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the fake Bot API

from sqlalchemy import func, select

from bench import support
from core import db
from core.settings import Settings, override_settings

APPEAL = "Во дворе дома {n} на улице Абая не вывозят мусор третий день, фото прилагаю"


def jpeg(n: int, kb: int) -> bytes:
    """A distinct JPEG-looking file of about ``kb`` KiB (the magic number is what counts)."""
    body = (uuid.uuid4().bytes + n.to_bytes(4, "big")) * (kb * 1024 // 20)
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + body + b"\xff\xd9"


def seed(fake: Any, *, photos: int, kb: int, run: int) -> list[int]:
    """Appeals with one photo each; the fake serves the bytes. Returns bot_media ids."""
    from appeals.models import Channel
    from channels.models import BotMedia
    from intake.schemas import CitizenContact, IncomingContact
    from intake.service import submit

    ids: list[int] = []
    with db.transaction() as session:
        for n in range(photos):
            result = submit(
                session,
                IncomingContact(
                    channel=Channel.TELEGRAM,
                    external_id=f"bench-media-{run}-{n}-{uuid.uuid4().hex[:6]}",
                    text=APPEAL.format(n=n + 1),
                    language="ru",
                    citizen=CitizenContact(telegram_user_id=str(800_000_000 + n)),
                ),
            )
            file_id = f"AgACAgIAAxkBench{run}x{n}"
            fake.add_file(file_id, jpeg(n, kb))
            media = BotMedia(
                appeal_id=result.appeal_id, channel="telegram", kind="photo", reference=file_id
            )
            session.add(media)
            session.flush()
            ids.append(media.id)
    return ids


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=40, help="photos per run")
    parser.add_argument("--kb", type=int, default=200, help="size of each photo in KiB")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from fakes.telegram_bot_api import FakeTelegramBotAPI

    from channels.media import fetch_bot_media
    from channels.portal_models import Attachment

    schema = f"civicdesk_bench_media_{uuid.uuid4().hex[:8]}"
    admin, url = support.open_schema(schema)
    fake = FakeTelegramBotAPI().start()
    results: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="civicdesk-bench-media-") as directory:
        settings = Settings(
            environment="test",
            database_url=url,
            redis_url=None,
            telegram_bot_token=fake.token,
            telegram_api_base=fake.base_url,
            attachments_dir=Path(directory),
            log_level="WARNING",
        )
        try:
            with override_settings(settings):
                support.migrate_with_reference(settings)
                for run in range(args.runs):
                    ids = seed(fake, photos=args.photos, kb=args.kb, run=run)
                    started = time.perf_counter()
                    stored = sum(fetch_bot_media([media_id]) for media_id in ids)
                    elapsed = time.perf_counter() - started
                    results.append(
                        {
                            "photos_per_s": round(stored / elapsed, 1),
                            "mb_per_s": round(stored * args.kb / 1024 / elapsed, 1),
                            "stored": stored,
                            "seconds": round(elapsed, 2),
                        }
                    )
                with db.transaction() as session:
                    rows = session.scalar(select(func.count()).select_from(Attachment))
        finally:
            fake.stop()
            db.get_engine().dispose()
            support.drop_schema(admin, schema)
            admin.dispose()
    print(
        json.dumps(
            {
                "benchmark": "bot_media",
                "path": "bot_media row → getFile → download → sniff/sha256/fsync → attachments",
                "photos_per_run": args.photos,
                "photo_kb": args.kb,
                "photos_per_s": statistics.median(r["photos_per_s"] for r in results),
                "mb_per_s": statistics.median(r["mb_per_s"] for r in results),
                "attachments_stored": rows,
                "attachments_expected": args.photos * args.runs,
                "per_run": results,
            },
            ensure_ascii=False,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

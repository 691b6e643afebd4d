"""Telegram webhook updates handled per second, end to end.

    python bench/bots.py [--appeals 60] [--concurrency 4] [--runs 3] [--workers 1]
                         [--mode auto|redis|inline|both]

Each appeal is two real Bot API updates POSTed to the ASGI app's webhook (a text
message, then the "Send" button's callback query), with the secret-token header:
aiogram parses them, the conversation service stores the processed-update row and
the appeal in PostgreSQL (its own schema, dropped afterwards), and the reply with
the tracking number is sent to a local fake Bot API. ``concurrency`` chats write at
once.

The clock runs from the first update in until every appeal of the run is stored
*and* has its receipt notification queued (a ``receipt`` row in ``notifications``,
written when the pipeline registers the appeal): update in → appeal stored →
receipt queued. ``updates_per_s`` is both updates of every appeal over that time
(median of the runs). The run fails (exit 1) unless the appeals stored equal the
"Send" updates posted and every one of them has exactly one receipt row.

- ``redis``: conversation state and chat locks in Redis; the pipeline runs on
  ``--workers`` RQ worker processes (``civicdesk worker``), which also send the
  receipts to the fake Bot API.
- ``inline``: no Redis: state in memory and the pipeline (NLP, routing, the
  receipt notification) runs in the request's process after each commit.
- ``auto`` (default): ``redis`` when Redis answers, else ``inline``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the fake Bot API

import httpx
from sqlalchemy import func, select

from bench import support
from core import db
from core.settings import Settings, override_settings

SECRET = "bench-webhook-secret-0123456789"  # noqa: S105 - the bench's own fake bot
TEXTS = (
    "Во дворе дома {n} на улице Абая не вывозят мусор третий день",
    "На проспекте Достык у дома {n} не горят фонари, очень темно",
    "Возле школы номер {n} большая яма на дороге, машины объезжают по тротуару",
    "В подъезде дома {n} на Самале нет горячей воды с понедельника",
)


def counts() -> tuple[int, int]:
    """Telegram appeals stored, and receipt notifications queued for them (any state)."""
    from appeals.models import Appeal, Channel
    from channels.notification_models import Notification, NotificationKind

    with db.transaction() as session:
        stored = session.scalar(
            select(func.count()).select_from(Appeal).where(Appeal.channel == Channel.TELEGRAM)
        )
        receipts = session.scalar(
            select(func.count())
            .select_from(Notification)
            .join(Appeal, Appeal.id == Notification.appeal_id)
            .where(
                Appeal.channel == Channel.TELEGRAM,
                Notification.kind == NotificationKind.RECEIPT,
            )
        )
    return int(stored or 0), int(receipts or 0)


async def wait_for_receipts(expected: int, *, timeout_s: float = 120.0) -> tuple[int, int]:
    """Poll until ``expected`` receipts are queued (the workers may still be at it)."""
    deadline = time.monotonic() + timeout_s
    while True:
        stored, receipts = await asyncio.to_thread(counts)
        if receipts >= expected or time.monotonic() > deadline:
            return stored, receipts
        await asyncio.sleep(0.02)


async def one_run(
    app: Any,
    fake: Any,
    *,
    appeals: int,
    concurrency: int,
    base_chat: int,
    timeout_s: float = 120.0,
) -> dict[str, float]:
    from fakes import telegram_bot_api as tg

    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

        async def post(update: dict[str, Any]) -> None:
            response = await client.post("/webhooks/telegram", json=update, headers=headers)
            response.raise_for_status()

        chats = [base_chat + i for i in range(concurrency)]
        # Not timed: each chat picks its language once.
        await asyncio.gather(
            *(post(tg.callback_update(fake.next_update_id(), "lang:ru", user_id=c)) for c in chats)
        )
        per_chat = [appeals // concurrency + (i < appeals % concurrency) for i in range(len(chats))]

        async def chat(user_id: int, count: int) -> None:
            for n in range(count):
                body = TEXTS[n % len(TEXTS)].format(n=n + 1)
                await post(tg.text_update(fake.next_update_id(), body, user_id=user_id))
                await post(tg.callback_update(fake.next_update_id(), "draft:send", user_id=user_id))

        replies_before = sum("отслеживания" in m["text"] for m in fake.sent())
        stored_before, receipts_before = await asyncio.to_thread(counts)
        started = time.perf_counter()
        await asyncio.gather(*(chat(c, k) for c, k in zip(chats, per_chat, strict=True)))
        answered = time.perf_counter() - started
        stored, receipts = await wait_for_receipts(receipts_before + appeals, timeout_s=timeout_s)
        elapsed = time.perf_counter() - started
        replies = sum("отслеживания" in m["text"] for m in fake.sent()) - replies_before
    return {
        "updates_per_s": round(2 * appeals / elapsed, 1),
        "appeals_per_s": round(appeals / elapsed, 1),
        "webhook_updates_per_s": round(2 * appeals / answered, 1),
        "updates": 2 * appeals,
        "send_updates": appeals,
        "appeals_stored": stored - stored_before,
        "receipts_queued": receipts - receipts_before,
        "replies_with_tracking_number": replies,
        "seconds": round(elapsed, 2),
    }


def bench(mode: str, args: argparse.Namespace) -> dict[str, Any]:
    from fakes.telegram_bot_api import FakeTelegramBotAPI

    from channels.telegram.bot import close_runtimes
    from civicdesk.app import create_app

    schema = f"civicdesk_bench_bots_{uuid.uuid4().hex[:8]}"
    admin, url = support.open_schema(schema)
    results: list[dict[str, float]] = []
    fake = FakeTelegramBotAPI().start()
    settings = Settings(
        environment="test",
        database_url=url,
        redis_url=support.REDIS_URL if mode == "redis" else None,
        queue_name=f"civicdesk-bench-{schema}",
        telegram_bot_token=fake.token,
        telegram_webhook_secret=SECRET,
        telegram_api_base=fake.base_url,
        log_level="WARNING",
        notify_rate_telegram_per_s=args.telegram_rate,
    )
    workers: list[subprocess.Popen[bytes]] = []
    try:
        with override_settings(settings):
            support.migrate_with_reference(settings)
            app = create_app(settings)
            if mode == "redis":
                workers = start_workers(settings, args.workers)

            async def runs() -> None:
                warm = min(8, args.appeals)
                # Not counted: the first jobs load the NLP model in the workers.
                await one_run(
                    app, fake, appeals=warm, concurrency=1, base_chat=500_000_000, timeout_s=600
                )
                for run in range(args.runs):
                    results.append(
                        await one_run(
                            app,
                            fake,
                            appeals=args.appeals,
                            concurrency=args.concurrency,
                            base_chat=600_000_000 + run * 1000,
                        )
                    )
                await close_runtimes()

            asyncio.run(runs())
            stored, receipts = counts()
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
        fake.stop()
        db.get_engine().dispose()
        support.drop_schema(admin, schema)
        admin.dispose()
        if mode == "redis":
            support.clean_redis(settings.queue_name)
    expected = min(8, args.appeals) + args.appeals * args.runs
    return {
        "mode": mode,
        "state": "redis" if mode == "redis" else "memory",
        "jobs": f"rq ({args.workers} worker processes)" if mode == "redis" else "inline",
        "updates_per_s": statistics.median(r["updates_per_s"] for r in results),
        "appeals_per_s": statistics.median(r["appeals_per_s"] for r in results),
        "webhook_updates_per_s": statistics.median(r["webhook_updates_per_s"] for r in results),
        "send_updates": expected,
        "appeals_stored": stored,
        "receipts_queued": receipts,
        "consistent": stored == expected and receipts == expected,
        "per_run": results,
    }


def start_workers(settings: Settings, count: int) -> list[subprocess.Popen[bytes]]:
    """``civicdesk worker`` processes for this bench's database, queue and fake bot."""
    env = {
        **os.environ,
        "CIVICDESK_ENVIRONMENT": "test",
        "CIVICDESK_DATABASE_URL": settings.database_url,
        "CIVICDESK_REDIS_URL": settings.redis_url or "",
        "CIVICDESK_QUEUE_NAME": settings.queue_name,
        "CIVICDESK_TELEGRAM_BOT_TOKEN": settings.telegram_bot_token or "",
        "CIVICDESK_TELEGRAM_WEBHOOK_SECRET": settings.telegram_webhook_secret or "",
        "CIVICDESK_TELEGRAM_API_BASE": settings.telegram_api_base,
        "CIVICDESK_LOG_LEVEL": "WARNING",
        "CIVICDESK_NOTIFY_RATE_TELEGRAM_PER_S": str(settings.notify_rate_telegram_per_s),
    }
    command = [sys.executable, "-m", "civicdesk.cli", "worker"]
    root = Path(__file__).resolve().parent.parent
    return [
        # Our own interpreter and module, no user input in the command line.
        subprocess.Popen(command, env=env, cwd=root, stdout=subprocess.DEVNULL)  # noqa: S603
        for _ in range(count)
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appeals", type=int, default=60, help="appeals per run (2 updates each)")
    parser.add_argument("--concurrency", type=int, default=4, help="chats writing at once")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1, help="RQ workers (redis mode)")
    parser.add_argument("--mode", choices=["auto", "redis", "inline", "both"], default="auto")
    parser.add_argument(
        "--telegram-rate",
        type=int,
        default=Settings().notify_rate_telegram_per_s,
        help="sends per second the limiter allows the bot (default: the configured 25/s, "
        "Telegram's own limit; each appeal takes two replies, so it caps updates_per_s)",
    )
    args = parser.parse_args()
    if args.mode == "auto":
        modes = ["redis"] if support.redis_available() else ["inline"]
    elif args.mode == "both":
        modes = ["redis", "inline"] if support.redis_available() else ["inline"]
    else:
        modes = [args.mode]
    reports = [bench(mode, args) for mode in modes]
    summary: dict[str, Any] = {
        "benchmark": "bots",
        "path": "Telegram webhook → aiogram → conversation → PostgreSQL → reply; "
        "pipeline → receipt row in notifications",
        "appeals_per_run": args.appeals,
        "concurrency": args.concurrency,
        "runs": args.runs,
        "telegram_sends_per_s_allowed": args.telegram_rate,
        "updates_per_s": reports[0]["updates_per_s"],
        "modes": reports,
    }
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    return 0 if all(report["consistent"] for report in reports) else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""Social-media comments ingested per second: signed webhook deliveries, and a poll page.

    python bench/social.py [--deliveries 120] [--concurrency 4] [--runs 3]
                           [--engine social-e5|social-tfidf] [--json]

Two paths of issue 18, each against a local Graph API (tests/fakes/meta_graph_api.py) and
PostgreSQL (a schema of its own, dropped afterwards):

- ``webhook``: Instagram ``comments`` deliveries, one comment each, signed with the app
  secret (``X-Hub-Signature-256``) and POSTed to the ASGI app's ``/webhooks/meta`` by
  ``--concurrency`` senders at once. The clock runs from the first delivery until the last
  answer: each comment is then stored once and classified (the deployment's engine, the
  post's caption read once from the Graph API as context), and an appeal is submitted
  through ``intake.submit`` with its receipt (and Instagram's private reply) queued.
- ``poll``: one pass of the Graph poller over a new post with 100 comments (one page of
  Graph's 100): read, stored, classified, appeals submitted, the cursor kept.

The comments are the project's labelled ones (data/social/*.csv, about half appeals), each
with a fresh id. Replies are queued, not sent (the jobs wait in Redis for a worker that the
bench does not start; without Redis they run inline and the figure includes them: ``jobs``
says which). The model is trained before the clock starts. Prints JSON: ``per_s`` (webhook
comments per second, median of the runs), ``poll_page_per_s``, and per run figures.
The run fails (exit 1) unless every comment is stored once and classified.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import hashlib
import hmac
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the fake Graph API

import httpx
from sqlalchemy import func, select

from bench import support
from core import db
from core.settings import Settings, override_settings

ROOT = Path(__file__).resolve().parent.parent
POST_TEXT = "Завершён ремонт дороги по улице Абая на участке от Байзакова до Радостовца."


def comment_texts() -> list[str]:
    texts: list[str] = []
    for name in ("comments.csv", "comments_heldout.csv"):
        with (ROOT / "data" / "social" / name).open(encoding="utf-8") as handle:
            texts += [row["text"] for row in csv.DictReader(handle)]
    return texts


def stored_counts() -> dict[str, int]:
    from channels.social.models import SocialComment

    with db.transaction() as session:
        rows = session.execute(
            select(SocialComment.state, func.count()).group_by(SocialComment.state)
        ).all()
        appeals = session.scalar(
            select(func.count())
            .select_from(SocialComment)
            .where(SocialComment.appeal_id.is_not(None))
        )
    found = {state.value: int(n) for state, n in rows}
    return {"stored": sum(found.values()), "appeals": int(appeals or 0), **found}


def sign(raw: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


async def webhook_run(
    app: Any, texts: list[str], *, run: int, deliveries: int, concurrency: int, secret: str
) -> dict[str, Any]:
    from fakes import meta_graph_api as fb

    media = f"1789{run:04d}000000"
    payloads = [
        json.dumps(
            fb.instagram_comment(
                media_id=media,
                comment_id=f"1800{run:04d}{n:07d}",
                text=texts[(run * deliveries + n) % len(texts)],
                user_id=f"1784{run:04d}{n:07d}",
                username=f"reader_{run}_{n}",
            ),
            ensure_ascii=False,
        ).encode()
        for n in range(deliveries)
    ]
    before = await asyncio.to_thread(stored_counts)
    transport = httpx.ASGITransport(app=app)
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for raw in payloads:
        queue.put_nowait(raw)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

        async def sender() -> None:
            while not queue.empty():
                raw = queue.get_nowait()
                headers = {
                    "Content-Type": "application/json",
                    "X-Hub-Signature-256": sign(raw, secret),
                }
                response = await client.post("/webhooks/meta", content=raw, headers=headers)
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    after = await asyncio.to_thread(stored_counts)
    stored = after["stored"] - before["stored"]
    return {
        "per_s": round(deliveries / elapsed, 1),
        "deliveries": deliveries,
        "stored": stored,
        "appeals": after["appeals"] - before["appeals"],
        "seconds": round(elapsed, 2),
    }


def poll_run(fake: Any, settings: Settings, texts: list[str], *, run: int) -> dict[str, Any]:
    from channels.social.poller import poll

    post = f"1799{run:04d}000000"
    fake.add_post(post, "instagram", POST_TEXT, at=time.time() + run)  # the newest post
    base = time.time() - 600
    for n in range(100):
        fake.add_comment(
            post,
            f"1900{run:04d}{n:07d}",
            texts[(7 * run + n * 3) % len(texts)],
            at=base + n,
            user_id=f"1785{run:04d}{n:07d}",
            username=f"poll_{run}_{n}",
        )
    before = stored_counts()
    started = time.perf_counter()
    report = poll(settings)
    elapsed = time.perf_counter() - started
    after = stored_counts()
    return {
        "per_s": round(100 / elapsed, 1),
        "comments_read": report.comments_read,
        "pages": report.pages,
        "stored": after["stored"] - before["stored"],
        "appeals": after["appeals"] - before["appeals"],
        "seconds": round(elapsed, 3),
    }


def bench(args: argparse.Namespace) -> dict[str, Any]:
    from fakes import meta_graph_api as fb

    from channels.social import classifier
    from channels.social.service import model_dir
    from civicdesk.app import create_app

    use_redis = support.redis_available()
    schema = f"civicdesk_bench_social_{uuid.uuid4().hex[:8]}"
    admin, url = support.open_schema(schema)
    fake = fb.FakeMetaGraphAPI().start()
    models = tempfile.TemporaryDirectory(prefix="civicdesk-bench-social-")
    settings = Settings(
        environment="test",
        database_url=url,
        redis_url=support.REDIS_URL if use_redis else None,
        queue_name=f"civicdesk-bench-{schema}",
        log_level="WARNING",
        social_meta_app_secret=fb.APP_SECRET,
        social_graph_base=fake.graph_base,
        social_classifier=args.engine,
        social_model_dir=str(Path(models.name) / "social"),
        social_poll_recent_posts=1,
        social_accounts=[
            {
                "platform": "instagram",
                "id": fb.IG_USER_ID,
                "token": fb.ACCESS_TOKEN,
                "name": "almaty_akimdik",
                "page_id": fb.PAGE_ID,
            }
        ],
    )
    texts = comment_texts()
    webhook: list[dict[str, Any]] = []
    polls: list[dict[str, Any]] = []
    try:
        with override_settings(settings):
            support.migrate_with_reference(settings)
            trained = time.perf_counter()
            classifier.current(model_dir(settings), engine=args.engine, data_dir=settings.data_dir)
            train_s = time.perf_counter() - trained
            app = create_app(settings)
            for run in range(args.runs + 1):  # run 0 warms the app and the model: not counted
                fake.add_post(f"1789{run:04d}000000", "instagram", POST_TEXT)
                result = asyncio.run(
                    webhook_run(
                        app,
                        texts,
                        run=run,
                        deliveries=args.deliveries if run else 8,
                        concurrency=args.concurrency,
                        secret=fb.APP_SECRET,
                    )
                )
                if run:
                    webhook.append(result)
            for run in range(1, args.runs + 1):
                polls.append(poll_run(fake, settings, texts, run=run))
            totals = stored_counts()
    finally:
        fake.stop()
        db.get_engine().dispose()
        support.drop_schema(admin, schema)
        admin.dispose()
        models.cleanup()
        if use_redis:
            support.clean_redis(settings.queue_name)
    expected = 8 + args.deliveries * args.runs + 100 * args.runs
    return {
        "benchmark": "social",
        "path": "signed Meta webhook → comment stored once → classified with the post → "
        "intake.submit for an appeal → receipt (and private reply) queued; "
        "Graph poller: a page of 100 comments the same way",
        "engine": args.engine,
        "jobs": "queued in Redis (no worker)" if use_redis else "inline (replies and pipeline run)",
        "per_s": statistics.median(r["per_s"] for r in webhook),
        "poll_page_per_s": statistics.median(r["per_s"] for r in polls),
        "poll_page_seconds": statistics.median(r["seconds"] for r in polls),
        "deliveries_per_run": args.deliveries,
        "concurrency": args.concurrency,
        "runs": args.runs,
        "model_train_s": round(train_s, 1),
        "stored": totals["stored"],
        "appeals": totals["appeals"],
        "consistent": totals["stored"] == expected
        and all(r["stored"] == r["deliveries"] for r in webhook)
        and all(r["stored"] == 100 and r["pages"] == 1 for r in polls),
        "webhook_runs": webhook,
        "poll_runs": polls,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=120, help="webhook deliveries per run")
    parser.add_argument("--concurrency", type=int, default=4, help="deliveries in flight")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--engine", choices=["social-e5", "social-tfidf"], default="social-e5")
    parser.add_argument("--json", action="store_true", help="one line of JSON (default: indented)")
    args = parser.parse_args()
    summary = bench(args)
    print(json.dumps(summary, ensure_ascii=False, indent=None if args.json else 2))
    return 0 if summary["consistent"] else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""Notification throughput: status-change events in → rows written → claimed → sent → recorded.

    python bench/notifications.py [--appeals 500] [--runs 3] [--latency-ms 0] [--rate 100000]

Runs on PostgreSQL (CIVICDESK_BENCH_DATABASE_URL, default the machine's ``test``
database, in a schema of its own that is dropped afterwards), jobs inline. The
transport is an in-process fake that answers after ``--latency-ms``; the per-channel
rate limit is raised to ``--rate`` so the figure is our own overhead (in production
Telegram's ~25/s per bot is the bound). Prints JSON:

- ``notifications_per_s``: one ``appeal.status_changed`` event per appeal handled by
  ``channels.jobs.handle_events`` (plan, one INSERT … ON CONFLICT for the batch, the
  delivery job after commit), each notification then delivered exactly once (claim
  UPDATE + commit, render, send, result UPDATE + commit); median of ``--runs``;
- ``replay_per_s``: the same events handled again — the UNIQUE key turns them into
  no-ops (what a relayed or duplicated event costs).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import support
from core import db
from core.settings import Settings, override_settings

TEXT = "На улице Жандосова прорвало трубу водопровода, вода течёт по дороге уже сутки"


class FakeTransport:
    def __init__(self, latency_s: float) -> None:
        self.latency_s = latency_s
        self.sent = 0

    def send(self, message: Any) -> str:
        if self.latency_s:
            time.sleep(self.latency_s)
        self.sent += 1
        return f"bench-{self.sent}"


def make_appeals(count: int) -> list[int]:
    """Telegram appeals, registered by the pipeline (their receipts: no transport yet)."""
    from appeals.models import Channel
    from intake.schemas import CitizenContact, IncomingContact
    from intake.service import submit

    ids: list[int] = []
    with db.transaction() as session:
        for index in range(count):
            result = submit(
                session,
                IncomingContact(
                    channel=Channel.TELEGRAM,
                    external_id=f"bench-{uuid.uuid4().hex}",
                    text=TEXT,
                    citizen=CitizenContact(telegram_user_id=str(10**8 + index)),
                ),
            )
            ids.append(result.appeal_id)
    return ids


def run(appeal_ids: list[int], run_index: int) -> tuple[float, float]:
    from channels.jobs import handle_events
    from core import events
    from core.clock import now

    at = (now() + timedelta(microseconds=run_index)).isoformat()
    batch = [
        {
            "name": events.STATUS_CHANGED,
            "appeal_id": appeal_id,
            "from_status": "assigned",
            "to_status": "in_progress",
            "at": at,
        }
        for appeal_id in appeal_ids
    ]
    started = time.perf_counter()
    handle_events(batch)  # inline: the delivery job runs at its commit
    elapsed = time.perf_counter() - started
    started = time.perf_counter()
    handle_events(batch)
    replay = time.perf_counter() - started
    return len(batch) / elapsed, len(batch) / replay


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appeals", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--rate", type=int, default=100000)
    args = parser.parse_args()

    schema = f"civicdesk_bench_{uuid.uuid4().hex[:8]}"
    admin, url = support.open_schema(schema)
    settings = Settings(
        environment="test",
        database_url=url,
        redis_url=None,
        notify_rate_telegram_per_s=args.rate,
        log_level="ERROR",
    )
    rates: list[float] = []
    replays: list[float] = []
    transport = FakeTransport(args.latency_ms / 1000)
    try:
        with override_settings(settings):
            from channels import senders

            support.migrate_with_reference(settings)
            appeal_ids = make_appeals(args.appeals)
            senders.register_sender("telegram", lambda: transport)
            for index in range(args.runs):
                rate, replay = run(appeal_ids, index)
                rates.append(rate)
                replays.append(replay)
    finally:
        db.get_engine().dispose()
        support.drop_schema(admin, schema)
        admin.dispose()
    expected = args.appeals * args.runs
    print(
        json.dumps(
            {
                "benchmark": "notifications",
                "appeals": args.appeals,
                "runs": args.runs,
                "transport_latency_ms": args.latency_ms,
                "notifications_per_s": round(statistics.median(rates), 1),
                "replay_per_s": round(statistics.median(replays), 1),
                "per_run": [round(rate, 1) for rate in rates],
                "sent": transport.sent,
                "sent_exactly_once": transport.sent == expected,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

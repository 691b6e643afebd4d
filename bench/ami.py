"""AMI events through parse → call state → database, and AgentConnect → screen-pop delay.

    python bench/ami.py [--calls 300] [--runs 3] [--pops 50] [--sqlite] [--memory-bus]

Needs PostgreSQL (CIVICDESK_BENCH_DATABASE_URL, default the machine's ``test`` database,
in a schema of its own dropped afterwards; ``--sqlite`` uses a temporary embedded file)
and Redis for the screen-pop bus (CIVICDESK_BENCH_REDIS_URL; ``--memory-bus`` for the
in-process bus). Prints JSON:

- ``events_per_s``: AMI events (Asterisk 20's own streams for answered, abandoned,
  transferred and rated calls) read from text, interpreted and applied to the database
  by the listener's pipeline in batches of 200, one transaction per batch; median of the
  runs, each on new calls;
- ``screen_pop_p95_ms`` (and p50): from the fake Asterisk writing an AgentConnect on the
  TCP socket until a subscriber of the operator's screen-pop channel receives the pop
  (panoramisk → listener queue → pipeline in a thread → commit → bus → subscriber).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import support
from channels.telephony import scenarios
from channels.telephony.listener import AmiListener
from channels.telephony.pipeline import EventPipeline
from channels.telephony.screen_pop import channel_name, screen_pop_bus
from core import db
from core.clock import now
from core.migrate import upgrade
from core.models import Role, StaffUser
from core.settings import Settings, override_settings

OPERATORS = 10
SECRET = "bench-secret"  # noqa: S105 - the fake Asterisk's, not a real one


def add_operators() -> list[int]:
    with db.transaction() as session:
        users = [
            StaffUser(
                username=f"bench-operator-{index}-{uuid.uuid4().hex[:4]}",
                full_name="Bench Operator",
                role=Role.OPERATOR,
                password_hash="!",  # noqa: S106 - no password: cannot sign in
                is_active=True,
                sip_interface=f"PJSIP/{1001 + index}",
                created_at=now(),
            )
            for index in range(OPERATORS)
        ]
        session.add_all(users)
        session.flush()
        return [user.id for user in users]


def call_mix(calls: int, offset: int, t0: float) -> list[dict[str, str]]:
    """70 % answered (half of them rated), 20 % abandoned, 10 % transferred."""
    events: list[dict[str, str]] = []
    for index in range(calls):
        serial = (offset + index) * 10
        start = t0 + index * 7
        interface = f"PJSIP/{1001 + index % OPERATORS}"
        caller = f"8701{(offset + index) % 10_000_000:07d}"
        kind = index % 10
        if kind < 7:
            events += scenarios.answered_call(
                t0=start,
                serial=serial,
                caller=caller,
                interface=interface,
                rating=(index % 5) + 1 if index % 2 else None,
            )
        elif kind < 9:
            events += scenarios.abandoned_call(t0=start, serial=serial, caller=caller)
        else:
            events += scenarios.transferred_call(
                t0=start, serial=serial, caller=caller, interface=interface
            )
    return events


def events_per_s(calls: int, runs: int) -> dict[str, Any]:
    rates, counts = [], []
    for run in range(runs):
        stream = scenarios.render_all(call_mix(calls, offset=(run + 1) * 100_000, t0=1.79e9))
        pipeline = EventPipeline(bus=None)
        started = time.perf_counter()
        pipeline.process_text(stream)
        elapsed = time.perf_counter() - started
        rates.append(pipeline.stats.events / elapsed)
        counts.append(pipeline.stats.events)
    return {
        "events_per_s": round(statistics.median(rates), 1),
        "events_per_run": counts[0],
        "calls_per_run": calls,
        "runs": runs,
        "events_per_s_runs": [round(rate, 1) for rate in rates],
    }


async def screen_pops(settings: Settings, operator_ids: list[int], pops: int) -> dict[str, Any]:
    from tests.fakes.ami_server import FakeAmiServer

    server = await FakeAmiServer(secret=SECRET).start()
    listen = settings.model_copy(
        update={"ami_host": "127.0.0.1", "ami_port": server.port, "ami_secret": SECRET}
    )
    listener = AmiListener(listen)
    stop = asyncio.Event()
    task = asyncio.create_task(listener.run(stop))
    delays: list[float] = []
    try:
        while listener.client is None:
            await asyncio.sleep(0.01)
        await listener.client.wait_ready(10)
        bus = screen_pop_bus(listen)
        operator_id = operator_ids[0]
        subscription = bus.subscribe(operator_id).__aiter__()
        for index in range(pops):
            waiting = asyncio.ensure_future(subscription.__anext__())
            if index == 0 and listen.redis_url:
                from redis import Redis

                redis = Redis.from_url(listen.redis_url)
                while redis.pubsub_numsub(channel_name(operator_id))[0][1] < 1:
                    await asyncio.sleep(0.01)
            else:
                await asyncio.sleep(0.01)
            events = scenarios.answered_call(
                t0=1.8e9 + index * 300,
                serial=9_000_000 + index * 10,
                caller=f"8702{index:07d}",
                interface="PJSIP/1001",
            )
            connect = next(i for i, e in enumerate(events) if e["Event"] == "AgentConnect")
            await server.emit(scenarios.render_all(events[:connect]))
            sent = time.perf_counter()
            await server.emit(scenarios.render(events[connect]))
            await asyncio.wait_for(waiting, 10)
            delays.append((time.perf_counter() - sent) * 1000)
            await server.emit(scenarios.render_all(events[connect + 1 :]))
        await subscription.aclose()  # type: ignore[attr-defined]
    finally:
        stop.set()
        await task
        await server.stop()
    delays.sort()
    return {
        "screen_pop_p95_ms": round(delays[min(len(delays) - 1, int(0.95 * len(delays)))], 2),
        "screen_pop_p50_ms": round(statistics.median(delays), 2),
        "pops": len(delays),
        "bus": "redis" if listen.redis_url else "memory",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=300, help="calls per run (~10 events each)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pops", type=int, default=50, help="AgentConnects timed end to end")
    parser.add_argument("--sqlite", action="store_true", help="an embedded SQLite file")
    parser.add_argument("--memory-bus", action="store_true", help="no Redis for screen-pops")
    args = parser.parse_args(argv)

    schema = f"civicdesk_bench_ami_{os.getpid()}"
    admin = None
    if args.sqlite:
        folder = tempfile.mkdtemp(prefix="civicdesk-bench-ami-")
        url = f"sqlite:///{folder}/bench.sqlite3"
    else:
        admin, url = support.open_schema(schema)
    settings = Settings(
        environment="test",
        database_url=url,
        redis_url=None if args.memory_bus else support.REDIS_URL,
        log_level="WARNING",
    )
    try:
        with override_settings(settings):
            upgrade(url)
            db.configure(settings)
            operator_ids = add_operators()
            result: dict[str, Any] = {"database": "sqlite" if args.sqlite else "postgresql"}
            result |= events_per_s(args.calls, args.runs)
            result |= asyncio.run(screen_pops(settings, operator_ids, args.pops))
            db.get_engine().dispose()
    finally:
        if admin is not None:
            support.drop_schema(admin, schema)
            admin.dispose()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

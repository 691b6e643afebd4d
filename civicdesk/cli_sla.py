"""``civicdesk`` subcommands: sla sweep and reminders (issue 6)."""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime
from typing import Any

from core import db
from core.settings import get_settings


def _sweep(args: argparse.Namespace) -> int:
    """Run the deadline sweep once (or every N seconds without Redis: a cron of its own)."""
    from core.migrate import import_models
    from sla.jobs import run_sweep

    settings = get_settings()
    db.configure(settings)
    import_models()  # every mapped table: the inbox rows' foreign keys point at appeals
    at = datetime.fromisoformat(args.at) if args.at else None
    if at is not None and at.tzinfo is None:
        raise SystemExit("--at needs a timezone, e.g. 2026-03-20T18:00:00+05:00")
    while True:
        print(json.dumps(run_sweep(at=at, settings=settings), ensure_ascii=False), flush=True)
        if not args.every:
            return 0
        time.sleep(args.every)


def _schedule(args: argparse.Namespace) -> int:
    """Seed the periodic sweep on RQ (the worker does this itself on start)."""
    from sla.jobs import schedule_sweep

    scheduled = schedule_sweep(get_settings(), delay_s=0)
    print(json.dumps({"scheduled": scheduled}))
    return 0


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add this capability's subcommands to the civicdesk parser."""
    sla = commands.add_parser("sla", help="SLA clocks: deadline sweep, reminders, escalation")
    sub = sla.add_subparsers(dest="sla_command", required=True)
    sweep = sub.add_parser("sweep", help="send due reminders and escalate breaches, once")
    sweep.add_argument("--at", help="sweep as of this moment (ISO 8601 with zone; replays)")
    sweep.add_argument(
        "--every", type=int, default=0, help="repeat every N seconds (deployments without Redis)"
    )
    sweep.set_defaults(handler=_sweep)
    schedule = sub.add_parser("schedule", help="schedule the periodic sweep on RQ now")
    schedule.set_defaults(handler=_schedule)

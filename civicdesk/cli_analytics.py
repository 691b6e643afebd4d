"""The ``civicdesk`` commands of analytics and the weekly report (issue 17).

``civicdesk analytics export --out DIR [--since DATE]``, ``analytics bursts``, ``analytics
hotspots``, ``analytics open311-key``, ``analytics run-due``, and the top-level
``civicdesk report weekly --week 2026-W49 --lang ru --out report.pdf``.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from core import db
from core.settings import get_settings


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def _export(args: argparse.Namespace) -> int:
    from analytics.jobs import export_now

    settings = get_settings()
    db.configure(settings)
    result = export_now(Path(args.out), since=args.since, full=args.full, settings=settings)
    print(json.dumps(result, ensure_ascii=False))
    return 0


def _run_due(args: argparse.Namespace) -> int:
    from analytics.jobs import run_due
    from core.migrate import import_models

    settings = get_settings()
    db.configure(settings)
    import_models()
    print(json.dumps({"started": run_due(settings=settings)}))
    return 0


def _open311_key(args: argparse.Namespace) -> int:
    """Create a partner's key (shown once), revoke one, or list them (no keys, only names)."""
    from analytics import open311

    db.configure(get_settings())
    with db.transaction() as session:
        if args.revoke is not None:
            done = open311.revoke_key(session, args.revoke)
            print(json.dumps({"revoked": done, "id": args.revoke}))
            return 0 if done else 2
        if args.list:
            for record in open311.keys(session):
                state = "revoked" if record.revoked_at else "active"
                used = record.last_used_at.isoformat() if record.last_used_at else "never"
                print(f"{record.id}\t{state}\t{record.name}\tlast used {used}")
            return 0
        if not args.name:
            raise SystemExit("give the partner's name, or --list, or --revoke ID")
        created, key = open311.create_key(session, name=args.name, note=args.note or "")
        print(json.dumps({"id": created.id, "name": created.name, "api_key": key}))
        print("the key is shown only now: hand it to the partner", file=sys.stderr)
    return 0


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add this capability's commands to the parser."""
    analytics = commands.add_parser(
        "analytics", help="the Situation Center: open dataset, bursts, hot spots, Open311 keys"
    )
    sub = analytics.add_subparsers(dest="analytics_command", required=True)
    export = sub.add_parser(
        "export", help="write or update the PII-free dataset (Parquet by month, CSV, daily)"
    )
    export.add_argument("--out", required=True, help="output directory")
    export.add_argument(
        "--since",
        type=_date,
        help="rewrite every month from this date's month on (default: what changed)",
    )
    export.add_argument("--full", action="store_true", help="rewrite every month")
    export.set_defaults(handler=_export)
    key = sub.add_parser("open311-key", help="API keys for Open311 POST requests")
    key.add_argument("name", nargs="?", help="the partner (an app, a portal) the key is for")
    key.add_argument("--note")
    key.add_argument("--revoke", type=int, metavar="ID", help="revoke the key with this id")
    key.add_argument("--list", action="store_true", help="list keys (names and ids only)")
    key.set_defaults(handler=_open311_key)
    due = sub.add_parser("run-due", help="run the scheduled analytics now due (the worker does)")
    due.set_defaults(handler=_run_due)

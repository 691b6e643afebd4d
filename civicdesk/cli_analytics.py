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


def _bursts(args: argparse.Namespace) -> int:
    """Today's check as the worker runs it (--notify), or a look back over a range of days."""
    from analytics.bursts_service import check_day, scan
    from core.clock import local, now
    from core.migrate import import_models

    settings = get_settings()
    db.configure(settings)
    import_models()
    moment = now()
    if args.notify:
        with db.transaction() as session:
            result = check_day(session, day=args.day or local(moment).date(), moment=moment)
        print(json.dumps(result))
        return 0
    last = args.to or args.day or local(moment).date()
    first = getattr(args, "from") or args.day or last
    with db.session_factory()() as session:
        found = scan(session, first=first, last=last)
    for burst in found:
        print(
            json.dumps(
                {
                    "day": burst.day.isoformat(),
                    "district": burst.district_code,
                    "category": burst.category_code,
                    "count": burst.count,
                    "expected": burst.expected,
                    "spread": burst.spread,
                    "p_value": float(f"{burst.p_value:.3g}"),
                },
                ensure_ascii=False,
            )
        )
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


def _report_weekly(args: argparse.Namespace) -> int:
    """``civicdesk report weekly --week 2026-W49 --lang ru --out report.pdf`` (or .html)."""
    from analytics.metrics import iso_week
    from analytics.report_service import render_report, store_reports
    from core.migrate import import_models

    out = Path(args.out) if args.out else None
    fmt = (out.suffix.lstrip(".").lower() if out else "") or "pdf"
    if fmt not in ("pdf", "html"):
        raise SystemExit(f"--out must end in .pdf or .html, not {out}")
    try:
        iso_week(args.week)
    except ValueError as error:
        raise SystemExit(str(error)) from None
    settings = get_settings()
    db.configure(settings)
    import_models()
    if args.store:
        with db.transaction() as session:
            print(json.dumps(store_reports(session, week=args.week.upper(), generated_by="cli")))
        return 0
    if out is None:
        raise SystemExit("give --out report.pdf (or .html), or --store")
    with db.session_factory()() as session:
        content = render_report(session, week=args.week.upper(), language=args.lang, fmt=fmt)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(content)
    print(json.dumps({"week": args.week.upper(), "lang": args.lang, "out": str(out),
                      "bytes": len(content)}))
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
    bursts = sub.add_parser(
        "bursts", help="topics far above their usual count in a district (list, or --notify)"
    )
    bursts.add_argument("--day", type=_date, help="one day (default today, Almaty)")
    bursts.add_argument("--from", type=_date, help="first day of a look back")
    bursts.add_argument("--to", type=_date, help="last day of a look back")
    bursts.add_argument(
        "--notify", action="store_true", help="keep the day's bursts and notify the inspectors"
    )
    bursts.set_defaults(handler=_bursts)
    key = sub.add_parser("open311-key", help="API keys for Open311 POST requests")
    key.add_argument("name", nargs="?", help="the partner (an app, a portal) the key is for")
    key.add_argument("--note")
    key.add_argument("--revoke", type=int, metavar="ID", help="revoke the key with this id")
    key.add_argument("--list", action="store_true", help="list keys (names and ids only)")
    key.set_defaults(handler=_open311_key)
    report = commands.add_parser("report", help="reports for the city's leadership")
    report_sub = report.add_subparsers(dest="report_command", required=True)
    weekly = report_sub.add_parser("weekly", help="the weekly report of an ISO week, ru or kk")
    weekly.add_argument("--week", required=True, help="ISO week, e.g. 2026-W49")
    weekly.add_argument("--lang", choices=["ru", "kk"], default="ru")
    weekly.add_argument("--out", help="report.pdf or report.html")
    weekly.add_argument(
        "--store", action="store_true", help="keep both languages and formats for the page"
    )
    weekly.set_defaults(handler=_report_weekly)
    due = sub.add_parser("run-due", help="run the scheduled analytics now due (the worker does)")
    due.set_defaults(handler=_run_due)

"""``civicdesk demo --appeals N --days D``: the demo month (``civicdesk.demo_month``)."""

from __future__ import annotations

import argparse
import json
from datetime import datetime, time

from core.clock import ALMATY
from core.settings import get_settings


def _until(value: str | None) -> datetime | None:
    """``YYYY-MM-DD`` (the end of that day's office hours, Almaty) or an ISO moment."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise SystemExit(f"--until: not a date or an ISO moment: {value!r}") from error
    if len(value) == 10:
        moment = datetime.combine(moment.date(), time(18, 0))
    return moment if moment.tzinfo else moment.replace(tzinfo=ALMATY)


def month(args: argparse.Namespace) -> int:
    from civicdesk.demo_month import run_month

    settings = get_settings()
    if settings.environment == "production":
        # ``make run`` asks with --once: a production deployment simply gets no demo.
        print("the demo month is never loaded in production")
        return 0 if args.once else 2
    report = run_month(
        settings,
        appeals=args.appeals,
        days=args.days,
        seed=args.seed,
        until=_until(args.until),
        once=args.once,
    )
    if report is None:
        print("a demo month is already in this database (--once): nothing loaded")
        return 0
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    period = report["period"]
    print(
        f"{report['appeals']} appeals over {report['days']} working days "
        f"({period['first_day']} to {period['until'][:16]}) in {report['elapsed_s']} s"
    )
    for key in ("mix", "kpi", "calls", "appeals_by_profile"):
        print(f"\n{key}:")
        for name, value in report[key].items():
            print(f"  {name:32s} {value}")
    return 0

"""The ``civicdesk ratings`` commands: the ranking, the satisfaction index, snapshots, and the
ranking's week-to-week stability.

    civicdesk ratings ranking [--from DATE --to DATE | --period week|month|quarter|year
                              [--at DATE]] [--kind KIND] [--json]
    civicdesk ratings satisfaction [--by organization|operator|channel|district] [...] [--json]
    civicdesk ratings snapshot [--today DATE]
    civicdesk ratings stability [--from DATE --to DATE] [--min-appeals 100] [--json]

Dates are Almaty calendar days, ``--to`` included; with neither dates nor a period the
ranking covers the 30 days up to today.
"""

from __future__ import annotations

import argparse
import json
from datetime import date, timedelta
from typing import Any

from core import db
from core.settings import get_settings


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def _period(args: argparse.Namespace) -> Any:
    from core.clock import local, now
    from ratings.periods import PeriodError, resolve

    try:
        return resolve(
            kind=args.period,
            start=args.start,
            last_day=args.last_day,
            at=args.at,
            today=local(now()).date(),
        )
    except PeriodError as error:
        raise SystemExit(f"civicdesk ratings: {error}") from None


def _configure() -> None:
    from core.migrate import import_models

    db.configure(get_settings())
    import_models()


def _print(payload: dict[str, Any]) -> None:
    print(json.dumps(payload, ensure_ascii=False, indent=2))


def _movement(row: dict[str, Any]) -> str:
    movement = row.get("movement")
    if movement is None:
        return ""
    return f"↑{movement}" if movement > 0 else f"↓{-movement}" if movement < 0 else "="


def _ranking(args: argparse.Namespace) -> int:
    from ratings.snapshots import ranking_view

    _configure()
    period = _period(args)
    with db.session_factory()() as session:
        try:
            table = ranking_view(session, period, kind=args.kind)
        except ValueError as error:
            raise SystemExit(f"civicdesk ratings: {error}") from None
    if args.json:
        _print(table)
        return 0
    final = "" if table["final"] else " (the period is not over: figures so far)"
    print(f"Ranking {table['period']['label']}{final}; min_n {table['min_n']}")
    for row in table["rows"]:
        rank = row["rank"] if row["rank"] is not None else "—"
        reasons = ", ".join(row["reasons"]) if row["organization_code"] in table["anti"] else ""
        print(
            f"{rank!s:>3} {_movement(row):>3} {row['organization_code']:<32} n={row['n']:<6} "
            f"{row['score']:6.1f} [{row['ci_low']:.1f}–{row['ci_high']:.1f}] {reasons}"
        )
    return 0


def _satisfaction(args: argparse.Namespace) -> int:
    from civicdesk.ratings_api import satisfaction_report
    from ratings.satisfaction import SatisfactionBy

    _configure()
    period = _period(args)
    with db.session_factory()() as session:
        report = satisfaction_report(session, None, period, SatisfactionBy(args.by))
    if args.json:
        _print(report)
        return 0
    total = report["total"]
    print(
        f"Satisfaction {report['period']['label']} by {report['by']}: "
        f"{total['index']} % of {total['ratings']} ratings (target {report['target']})"
    )
    for row in report["rows"]:
        print(f"  {row['key']!s:<32} {row['index']!s:>6} % of {row['ratings']}")
    return 0


def _snapshot(args: argparse.Namespace) -> int:
    from ratings.jobs import snapshot_closed_periods

    _configure()
    stored = snapshot_closed_periods(args.today.isoformat() if args.today else None)
    print(json.dumps({"stored": stored}))
    return 0


def _stability(args: argparse.Namespace) -> int:
    from core.clock import local, now
    from ratings.stability import weekly_stability

    _configure()
    last = args.last_day or local(now()).date() - timedelta(days=1)
    start = args.start or last - timedelta(days=8 * 7)
    with db.session_factory()() as session:
        report = weekly_stability(session, start=start, last_day=last, min_appeals=args.min_appeals)
    if args.json:
        _print(report)
    else:
        for pair in report["pairs"]:
            print(f"{pair['week']} → {pair['next']}: ρ={pair['rho']} ({pair['organizations']})")
        print(f"median ρ {report['median_rho']}")
    return 0


def _period_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="start", type=_day, help="first day (YYYY-MM-DD)")
    parser.add_argument("--to", dest="last_day", type=_day, help="last day, included")
    parser.add_argument(
        "--period",
        choices=["week", "month", "quarter", "year", "custom"],
        help="the latest closed week/month/…, or the one containing --at or --from",
    )
    parser.add_argument("--at", type=_day, help="with --period: the period containing this day")
    parser.add_argument("--json", action="store_true", help="print JSON")


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add this capability's commands to the parser."""
    from ratings.satisfaction import SatisfactionBy
    from routing.models import OrganizationKind

    ratings = commands.add_parser(
        "ratings", help="the agency ranking and anti-ranking, the satisfaction index"
    )
    sub = ratings.add_subparsers(dest="ratings_command", required=True)
    ranking = sub.add_parser("ranking", help="the league table of a period")
    _period_arguments(ranking)
    ranking.add_argument(
        "--kind",
        choices=[kind.value for kind in OrganizationKind],
        help="rank one kind of organization among themselves",
    )
    ranking.set_defaults(handler=_ranking)
    satisfaction = sub.add_parser("satisfaction", help="the satisfaction index (4–5 ÷ all × 100)")
    _period_arguments(satisfaction)
    satisfaction.add_argument(
        "--by", choices=[by.value for by in SatisfactionBy], default="organization"
    )
    satisfaction.set_defaults(handler=_satisfaction)
    snapshot = sub.add_parser("snapshot", help="store the tables of the periods that closed")
    snapshot.add_argument("--today", type=_day, help="as if today were this day")
    snapshot.set_defaults(handler=_snapshot)
    stability = sub.add_parser("stability", help="rank correlation of consecutive weeks")
    stability.add_argument("--from", dest="start", type=_day)
    stability.add_argument("--to", dest="last_day", type=_day)
    stability.add_argument("--min-appeals", type=int, default=100)
    stability.add_argument("--json", action="store_true")
    stability.set_defaults(handler=_stability)

"""The ``civicdesk`` command: init, serve, worker, demo, users, relay."""

from __future__ import annotations

import argparse
import getpass
import json
import re
import sys

from core import db
from core.settings import get_settings


def _init(args: argparse.Namespace) -> int:
    from civicdesk.bootstrap import DEMO_PASSWORD, initialize

    settings = get_settings()
    demo = settings.environment == "development" and not args.no_demo_accounts
    counts = initialize(settings, demo_accounts=demo)
    print(json.dumps(counts, ensure_ascii=False))
    if settings.nlp_auto_train:
        # Train (or load) the topic model now rather than on the first appeal.
        from nlp import topic

        loaded = topic.get_model(settings)
        print(f"topic model {loaded.metadata.version} in {loaded.directory}")
    created = counts.get("demo_accounts")
    if demo and isinstance(created, list) and created:
        names = ", ".join(str(name) for name in created)
        print(f"development accounts created, password {DEMO_PASSWORD!r}: {names}")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from core.migrate import upgrade

    upgrade(get_settings().database_url, args.revision)
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from civicdesk.server import uvicorn_options

    uvicorn.run(
        "civicdesk.asgi:app",
        host=args.host,
        port=args.port,
        reload=args.reload,
        workers=args.workers,
        **uvicorn_options(),  # no server header, request-head and keep-alive deadlines
    )
    return 0


def _worker(args: argparse.Namespace) -> int:
    from civicdesk.worker import run_worker

    run_worker(get_settings(), burst=args.burst, name=args.name)
    return 0


def _relay(args: argparse.Namespace) -> int:
    from civicdesk.worker import relay_once

    settings = get_settings().model_copy(update={"outbox_relay_after_s": args.older_than})
    db.configure(settings)
    relayed, stale = relay_once(settings)
    print(json.dumps({"outbox_jobs_relayed": relayed, "stale_appeals": stale}))
    return 0


def _create_user(args: argparse.Namespace) -> int:
    from core.models import Role
    from core.security import create_staff_user
    from routing.service import organization_by_code

    db.configure(get_settings())
    password = args.password or getpass.getpass("password: ")
    with db.transaction() as session:
        organization_id = (
            organization_by_code(session, args.organization).id if args.organization else None
        )
        user = create_staff_user(
            session,
            username=args.username,
            full_name=args.full_name or args.username,
            role=Role(args.role),
            password=password,
            organization_id=organization_id,
        )
        print(f"created {user.role.value} {user.username}")
    return 0


def _reorganize(args: argparse.Namespace) -> int:
    from civicdesk.worker import apply_due_reorganizations

    db.configure(get_settings())
    print(json.dumps({"applied": apply_due_reorganizations()}))
    return 0


def _repeats_eval(args: argparse.Namespace) -> int:
    from intake.repeats.matching_eval import main as evaluate

    return evaluate(list(args.rest))


def _route(args: argparse.Namespace) -> int:
    from civicdesk.cli_route import route_batch, route_one
    from core.errors import DomainError

    try:
        if args.batch:
            if args.text:
                raise DomainError("give a text or --batch FILE, not both", code="validation_failed")
            return route_batch(args)
        if not args.text:
            raise DomainError("give a text, or --batch FILE", code="validation_failed")
        if args.text_col:
            raise DomainError("--text-col goes with --batch", code="validation_failed")
        return route_one(args)
    except DomainError as error:
        print(f"error [{error.code}]: {error.message}", file=sys.stderr)
        return 2


def _demo(args: argparse.Namespace) -> int:
    if args.days is not None:
        from civicdesk.cli_demo import month

        return month(args)
    from civicdesk.demo import run_demo

    report = run_demo(get_settings(), appeals=args.appeals, workers=args.workers, seed=args.seed)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(f"{args.appeals} appeals in {report['elapsed_s']} s")
        for key in ("by_status", "by_category", "by_organization", "by_district"):
            print(f"\n{key}:")
            for name, count in report[key].items():
                print(f"  {count:7d}  {name}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="civicdesk", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    init = commands.add_parser("init", help="migrate, load reference data, demo accounts (dev)")
    init.add_argument("--no-demo-accounts", action="store_true")
    init.set_defaults(handler=_init)

    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("revision", nargs="?", default="heads")
    migrate.set_defaults(handler=_migrate)

    serve = commands.add_parser("serve", help="serve the web app and API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--reload", action="store_true")
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(handler=_serve)

    worker = commands.add_parser("worker", help="process jobs from Redis (RQ)")
    worker.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    worker.add_argument("--name")
    worker.set_defaults(handler=_worker)

    relay = commands.add_parser("relay", help="re-enqueue jobs a crash left in the outbox")
    relay.add_argument("--older-than", type=int, default=60, help="seconds")
    relay.set_defaults(handler=_relay)

    user = commands.add_parser("create-user", help="create a staff account")
    user.add_argument("username")
    user.add_argument(
        "--role", required=True, choices=["operator", "executor", "inspector", "analyst", "admin"]
    )
    user.add_argument("--organization", help="organization code (executors)")
    user.add_argument("--full-name")
    user.add_argument("--password", help="prompted when omitted")
    user.set_defaults(handler=_create_user)

    reorganize = commands.add_parser(
        "apply-reorganizations", help="apply reorganizations whose effective date has come"
    )
    reorganize.set_defaults(handler=_reorganize)

    repeats = commands.add_parser("repeats", help="repeat and duplicate detection tools")
    repeats_commands = repeats.add_subparsers(dest="repeats_command", required=True)
    evaluate = repeats_commands.add_parser(
        "eval", help="precision and recall on data/eval/appeal_pairs.yaml", add_help=False
    )
    evaluate.add_argument("rest", nargs=argparse.REMAINDER)
    evaluate.set_defaults(handler=_repeats_eval)

    route = commands.add_parser("route", help="dry run: how a text would be understood and routed")
    route.add_argument("text", nargs="?")
    route.add_argument(
        "--batch", metavar="FILE", help="one text per line (or a CSV with --text-col): one JSON "
        "object per text, the model loaded once"
    )  # fmt: skip
    route.add_argument("--text-col", help="with --batch: the CSV's text column(s), comma-separated")
    route.add_argument("--address")
    route.add_argument("--district", help="district code, when known")
    route.add_argument("--lang", choices=["ru", "kk"], help="language of the names shown")
    route.add_argument("--json", action="store_true")
    route.set_defaults(handler=_route)

    demo = commands.add_parser("demo", help="push N sample appeals through the whole pipeline")
    demo.add_argument("--appeals", type=int, default=100)
    demo.add_argument("--json", action="store_true")
    demo.add_argument("--workers", type=int, default=2, help="RQ worker processes (with Redis)")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument(
        "--days",
        type=int,
        help="play a month: spread the appeals over the past D working days and live their "
        "lives (answers, reviews, ratings, calls); jobs run inline, --workers is not used",
    )
    demo.add_argument("--until", help="with --days: the month's last moment (default: now)")
    demo.add_argument(
        "--once", action="store_true", help="with --days: skip if a demo month is already loaded"
    )
    demo.set_defaults(handler=_demo)

    # Each capability registers its own commands (nlp, sla, bots, ami) in its own module.
    from civicdesk import (
        cli_ami,
        cli_analytics,
        cli_channels,
        cli_kb,
        cli_nlp,
        cli_ratings,
        cli_sla,
        cli_social,
    )

    extensions = (cli_nlp, cli_sla, cli_channels, cli_ami, cli_kb, cli_ratings, cli_analytics)
    for extension in (*extensions, cli_social):
        extension.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except Exception as error:  # the CLI prints domain errors plainly
        from core.errors import DomainError

        if isinstance(error, DomainError):
            print(f"error [{error.code}]: {error.message}", file=sys.stderr)
            return 2
        missing = _missing_table(error)
        if missing:
            print(
                f"error [database_not_migrated]: the database has no table {missing}; "
                "run `civicdesk migrate` (or `civicdesk init` for a new one) first",
                file=sys.stderr,
            )
            return 2
        raise


_MISSING_TABLE = re.compile(r'no such table: (\S+)|relation "([^"]+)" does not exist')


def _missing_table(error: Exception) -> str | None:
    """The table a command found missing (a database never migrated, or an older schema)."""
    from sqlalchemy.exc import DBAPIError

    if not isinstance(error, DBAPIError):
        return None
    found = _MISSING_TABLE.search(str(error.orig))
    return (found.group(1) or found.group(2)) if found else None


if __name__ == "__main__":
    raise SystemExit(main())

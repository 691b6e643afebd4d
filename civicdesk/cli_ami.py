"""``civicdesk`` subcommands: ami listen | replay | set-interface (issue 8)."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
from pathlib import Path
from typing import Any

from core import db
from core.settings import get_settings


def _listen(args: argparse.Namespace) -> int:
    from channels.telephony.listener import AmiListener

    settings = get_settings()
    if not settings.ami_host:
        print("CIVICDESK_AMI_HOST is not set: there is no Asterisk to listen to")
        return 2
    db.configure(settings)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await AmiListener(settings).run(stop)

    asyncio.run(main())
    return 0


def _replay(args: argparse.Namespace) -> int:
    """Feed a recorded AMI log through the listener's own pipeline (demos, incidents)."""
    from channels.telephony.events import is_banner_only, parse_block, split_blocks
    from channels.telephony.pipeline import EventPipeline
    from channels.telephony.screen_pop import screen_pop_bus

    settings = get_settings()
    db.configure(settings)
    text = Path(args.file).read_text(encoding="utf-8")
    pipeline = EventPipeline(bus=screen_pop_bus(settings))
    started = time.perf_counter()
    if not args.speed:
        pipeline.process_text(text)
    else:
        previous: float | None = None
        for block in split_blocks(text):
            event = parse_block(block)
            if event is None:
                if not is_banner_only(block) and not block.lstrip().startswith("#"):
                    pipeline.count_malformed()
                continue
            stamp = _stamp(event)
            if stamp is not None and previous is not None and stamp > previous:
                time.sleep(min((stamp - previous) / args.speed, 60.0))
            previous = stamp if stamp is not None else previous
            pipeline.process([event])
    summary: dict[str, Any] = pipeline.stats.as_dict()
    summary["seconds"] = round(time.perf_counter() - started, 3)
    print(json.dumps(summary))
    return 0


def _stamp(event: dict[str, str]) -> float | None:
    try:
        return float(event["timestamp"])
    except (KeyError, ValueError):
        return None


def _set_interface(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from core.migrate import import_models
    from core.models import StaffUser

    import_models()  # every mapped table, so staff_users' foreign keys resolve
    db.configure(get_settings())
    with db.transaction() as session:
        user = session.scalars(select(StaffUser).where(StaffUser.username == args.username)).first()
        if user is None:
            print(f"no staff user {args.username!r}")
            return 1
        user.sip_interface = args.interface or None
    print(json.dumps({"username": args.username, "sip_interface": args.interface or None}))
    return 0


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add this capability's subcommands to the civicdesk parser."""
    ami = commands.add_parser("ami", help="the 1308 call center: Asterisk AMI")
    sub = ami.add_subparsers(dest="ami_command", required=True)

    listen = sub.add_parser("listen", help="connect to Asterisk and record calls (runs forever)")
    listen.set_defaults(handler=_listen)

    replay = sub.add_parser("replay", help="feed a recorded AMI event log through the pipeline")
    replay.add_argument("file", help="AMI text: blocks of 'Key: Value' lines, blank-separated")
    replay.add_argument(
        "--speed",
        type=float,
        default=0.0,
        help="keep the recorded timing, this many times faster (default: no waiting)",
    )
    replay.set_defaults(handler=_replay)

    interface = sub.add_parser(
        "set-interface", help="tie a staff user to their queue member interface (PJSIP/1001)"
    )
    interface.add_argument("username")
    interface.add_argument("interface", nargs="?", default="", help="empty to clear")
    interface.set_defaults(handler=_set_interface)

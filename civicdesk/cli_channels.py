"""``civicdesk`` subcommands of the citizens' channels: bots, notifications (issue 7).

``civicdesk bots telegram-polling``            long polling for local runs (no public URL)
``civicdesk bots telegram-set-webhook URL``   point Telegram at ``URL`` (…/webhooks/telegram)
``civicdesk bots telegram-delete-webhook``    back to polling
``civicdesk notifications sweep``              deliver due retries now (cron in embedded mode)
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from core import db
from core.settings import get_settings


def _require_token() -> bool:
    if not get_settings().telegram_bot_token:
        print("CIVICDESK_TELEGRAM_BOT_TOKEN is not set: there is no bot to run")
        return False
    return True


def _polling(args: argparse.Namespace) -> int:
    from channels.telegram.bot import run_polling

    if not _require_token():
        return 2
    settings = get_settings()
    db.configure(settings)
    asyncio.run(run_polling(settings))
    return 0


def _set_webhook(args: argparse.Namespace) -> int:
    from channels.telegram.bot import set_webhook

    if not _require_token():
        return 2
    settings = get_settings()
    if not args.url.startswith("https://") and not args.allow_http:
        print("Telegram delivers webhooks only to https:// URLs (--allow-http for a local fake)")
        return 2
    if not settings.telegram_webhook_secret:
        print("set CIVICDESK_TELEGRAM_WEBHOOK_SECRET first: the webhook checks it on every update")
        return 2
    ok = asyncio.run(set_webhook(settings, args.url))
    print(json.dumps({"webhook": args.url, "ok": ok}))
    return 0 if ok else 1


def _delete_webhook(args: argparse.Namespace) -> int:
    from channels.telegram.bot import TelegramRuntime

    if not _require_token():
        return 2

    async def main() -> bool:
        runtime = TelegramRuntime(get_settings())
        try:
            return await runtime.bot.delete_webhook(drop_pending_updates=False)
        finally:
            await runtime.close()

    ok = asyncio.run(main())
    print(json.dumps({"webhook": None, "ok": ok}))
    return 0 if ok else 1


def _sweep(args: argparse.Namespace) -> int:
    from channels.jobs import sweep_notifications

    db.configure(get_settings())
    print(json.dumps({"notifications_sent": sweep_notifications(limit=args.limit)}))
    return 0


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add this capability's subcommands to the civicdesk parser."""
    bots = commands.add_parser("bots", help="the Telegram and WhatsApp bots")
    sub = bots.add_subparsers(dest="bots_command", required=True)

    polling = sub.add_parser("telegram-polling", help="run the Telegram bot by long polling")
    polling.set_defaults(handler=_polling)

    webhook = sub.add_parser(
        "telegram-set-webhook", help="register URL (…/webhooks/telegram) with Telegram"
    )
    webhook.add_argument("url")
    webhook.add_argument("--allow-http", action="store_true", help=argparse.SUPPRESS)
    webhook.set_defaults(handler=_set_webhook)

    delete = sub.add_parser("telegram-delete-webhook", help="remove the webhook (for polling)")
    delete.set_defaults(handler=_delete_webhook)

    notifications = commands.add_parser("notifications", help="outbound notifications")
    notes = notifications.add_subparsers(dest="notifications_command", required=True)
    sweep = notes.add_parser(
        "sweep", help="deliver retries that fell due and fail interrupted sends (one pass)"
    )
    sweep.add_argument("--limit", type=int, default=500, help="notifications per pass")
    sweep.set_defaults(handler=_sweep)

"""Migrations glue: the schema comes only from Alembic revisions in ``core/migrations/versions``."""

from __future__ import annotations

import importlib
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Every package that declares tables; imported by name so core does not depend on them.
MODEL_MODULES = (
    "core.models",
    "core.stamps",  # cache stamps that keep processes' caches in agreement (issue 20)
    "routing.models",
    "appeals.models",
    "intake.nlp_models",  # classifications and operators' category corrections (issue 4B)
    "intake.place_models",  # district corrections, learned places (issue 19)
    "channels.models",  # bot contacts, processed inbound, media refs (issue 7A)
    "channels.telephony.models",
    "ratings.models",  # answer ratings (issue 7B)
    "channels.notification_models",  # outbound notifications (issue 7B)
    "channels.portal_models",  # attachments, citizen tokens (issue 7B)
    "sla.models",
    "sla.board_models",  # the SLA board's partial indexes on appeals (issue 6)
    "appeals.search_models",  # the staff search's full-text and trigram indexes (issue 14)
    "analytics.models",  # runs, bursts, weekly reports, Open311 keys (issue 17)
    "knowledge_base.models",  # articles, versions, learned pairs, proposals (issue 15)
    "channels.social.models",  # social posts, comments, replies, handles (issue 18)
)


def import_models() -> None:
    for module in MODEL_MODULES:
        importlib.import_module(module)


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)

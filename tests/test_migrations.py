"""The schema comes only from migrations: they run on PostgreSQL and SQLite, matching the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from core import db
from core.migrate import downgrade, import_models, upgrade

EXPECTED_TABLES = {
    "cache_stamps",
    "appeals",
    "appeal_status_changes",
    "citizens",
    "organizations",
    "organization_changes",
    "districts",
    "category_areas",
    "categories",
    "routing_rules",
    "staff_users",
    "api_tokens",
    "calendar_overrides",
    "outbox",
    "service_areas",
    "appeal_assignments",
    "citizen_merges",
    "appeal_links",
    "incidents",
    # nlp (issue 4B)
    "appeal_classifications",
    "category_corrections",
    # nlp places (issue 19)
    "district_corrections",
    "learned_places",
    "place_learning_runs",
    # sla (issue 6)
    "appeal_pauses",
    "extension_requests",
    "answer_reviews",
    "sla_reminders",
    "staff_notifications",
    # bots (issue 7A)
    "bot_contacts",
    "bot_inbound",
    "bot_media",
    # notifications, ratings, attachments (issue 7B)
    "notifications",
    "answer_ratings",
    "attachments",
    "portal_token_appeals",
    "calls",
    "screen_pops",  # screen-pops through the database without Redis (issue 14, item 9)
    "call_appeals",
    "queue_members",
    "queue_snapshots",
    "operator_ratings",
    "missed_rings",
    # the ranking's stored tables (issue 16)
    "ranking_snapshots",
    # analytics (issue 17)
    "analytics_runs",
    "analytics_bursts",
    "analytics_reports",
    "open311_api_keys",
    # the knowledge base (issue 15)
    "kb_articles",
    "kb_article_versions",
    "kb_pairs",
    "kb_embeddings",
    "kb_proposals",
    # social media monitoring (issue 18)
    "social_posts",
    "social_comments",
    "social_replies",
    "social_handles",
    "alembic_version",
}


def test_migrations_build_the_schema_on_postgresql_and_roll_back(scratch_schema: str) -> None:
    upgrade(scratch_schema)
    engine = db.make_engine(scratch_schema)
    try:
        assert set(inspect(engine).get_table_names()) == EXPECTED_TABLES
        import_models()
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), db.Base.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
        downgrade(scratch_schema, "base")
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        upgrade(scratch_schema)
        assert set(inspect(engine).get_table_names()) == EXPECTED_TABLES
    finally:
        engine.dispose()


def test_migrations_run_on_the_embedded_sqlite(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/civicdesk.sqlite3"
    upgrade(url)
    engine = db.make_engine(url)
    try:
        assert set(inspect(engine).get_table_names()) == EXPECTED_TABLES
    finally:
        engine.dispose()

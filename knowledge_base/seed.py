"""The example articles (data/kb/articles.yaml) for a first run in development.

Only missing slugs are added, so a rerun of ``civicdesk init`` never overwrites what an
editor changed; production never loads them (a city imports its own articles).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from knowledge_base import exchange, service

EXAMPLES = Path("kb") / "articles.yaml"


def seed_examples(session: Session, data_dir: Path) -> int:
    """Add the example articles not yet present; how many were added."""
    path = data_dir / EXAMPLES
    if not path.is_file():
        return 0
    articles = exchange.validate(exchange.parse(path.read_text(encoding="utf-8"), "yaml"))
    added = 0
    for data in articles:
        if service.by_slug(session, data.slug) is None:
            service.create_article(
                session, data=data, user=None, by="seed", reason="example content (data/kb)"
            )
            added += 1
    return added

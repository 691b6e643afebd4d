"""Shared fixtures of the social-media monitoring tests: a trained comment model, settings.

The model is the real ``social-tfidf`` classifier trained once per run on the project's
labelled comments (the ``social-e5`` default is measured in tests/test_social_classifier.py
and bench/social.py; the flows here need a model, and this one trains in seconds).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection
from sqlalchemy.orm import sessionmaker

from core import db
from core.settings import Settings, override_settings


@pytest.fixture(scope="session")
def social_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from channels.social import classifier
    from core.settings import REPO_ROOT
    from nlp.engine import save_model

    directory = tmp_path_factory.mktemp("social-model") / "model"
    model, metadata = classifier.train(
        classifier.builtin_examples(REPO_ROOT / "data"), engine="social-tfidf", source={}
    )
    save_model(model, directory, metadata)
    return directory


def social_settings(base: Settings, model_dir: Path, **extra: object) -> Settings:
    return base.model_copy(
        update={
            "social_classifier": "social-tfidf",
            "social_model_dir": str(model_dir),
            **extra,
        }
    )


@pytest.fixture
def doubt_settings(settings: Settings, social_model_dir: Path) -> Iterator[Settings]:
    """Telegram comments of one chat (-100200, no bot token: nothing is sent), with everything
    between 0.001 and 0.999 waiting for an operator: a doubtful comment on demand, for the
    moderation queue and the monitoring page."""
    current = social_settings(
        settings,
        social_model_dir,
        social_appeal_at=0.999,
        social_doubt_from=0.001,
        social_telegram_chat_id="-100200",
        telegram_bot_token=None,
    )
    with override_settings(current):
        yield current


def make_client(connection: Connection, settings: Settings) -> Iterator[object]:
    from fastapi.testclient import TestClient

    from civicdesk.app import create_app

    with override_settings(settings):
        app = create_app(settings)
        db._session_factory = sessionmaker(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        with TestClient(app) as client:
            yield client

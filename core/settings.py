"""One typed settings object, read from ``CIVICDESK_*`` environment variables.

With nothing set the application runs in development on an embedded SQLite file
with jobs run inline, so ``make run`` works on a bare machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "development-only-secret-change-me"  # noqa: S105 - refused outside development
REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Deployment configuration; see docs/configuration.md for every knob."""

    model_config = SettingsConfigDict(env_prefix="CIVICDESK_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = Field(default="sqlite:///var/civicdesk.sqlite3")
    redis_url: str | None = None
    queue_name: str = "civicdesk"
    secret_key: str = DEVELOPMENT_SECRET
    data_dir: Path = REPO_ROOT / "data"
    timezone: str = "Asia/Almaty"
    max_appeal_chars: int = 5000
    min_appeal_chars: int = 10
    token_ttl_hours: int = 12
    outbox_relay_after_s: int = 60
    # A topic the classifier is less sure of than this goes to an operator, not to an org.
    routing_min_confidence: float = Field(default=0.34, ge=0.0, le=1.0)
    # An appeal moved between organizations this many times is escalated to an inspector.
    escalate_after_moves: int = Field(default=3, ge=2)
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.environment == "production" and self.secret_key == DEVELOPMENT_SECRET:
            raise ValueError(
                "CIVICDESK_SECRET_KEY must be set to a private value outside development"
            )
        if self.environment == "production" and len(self.secret_key) < 32:
            raise ValueError("CIVICDESK_SECRET_KEY must be at least 32 characters in production")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def jobs_inline(self) -> bool:
        """Jobs run in the request's process when no Redis is configured."""
        return not self.redis_url


_override: Settings | None = None


@lru_cache(maxsize=1)
def _from_environment() -> Settings:
    return Settings()


def get_settings() -> Settings:
    return _override if _override is not None else _from_environment()


@contextmanager
def override_settings(settings: Settings) -> Iterator[Settings]:
    """Use ``settings`` process-wide for a while (tests, the demo against another database)."""
    global _override
    previous, _override = _override, settings
    try:
        yield settings
    finally:
        _override = previous

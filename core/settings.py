"""One typed settings object, read from ``CIVICDESK_*`` environment variables.

With nothing set the application runs in development on an embedded SQLite file
with jobs run inline, so ``make run`` works on a bare machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "development-only-secret-change-me"  # noqa: S105 - refused outside development
DEVELOPMENT_AMI_SECRET = "development-ami-secret"  # noqa: S105 - refused in production
REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Deployment configuration; see docs/configuration.md for every knob."""

    model_config = SettingsConfigDict(env_prefix="CIVICDESK_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = Field(default="sqlite:///var/civicdesk.sqlite3")
    redis_url: str | None = None
    # The deployment's name in Redis: the RQ queue, and the start of every key and pub/sub
    # channel of ours (two deployments sharing one Redis database never meet; issue 20).
    queue_name: str = Field(default="civicdesk", pattern=r"^[A-Za-z0-9_.-]{1,80}$")
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
    # --- sla (issue 6): reminders and escalation; see docs/sla.md -------------------------
    # Reminders to the executor before the legal deadline: "3wd" = at the opening of the day
    # when three working days are left, "1d" = 24 hours before, "4h" = four hours before.
    sla_reminder_offsets: str = "3wd,1d"
    # The deadline sweep runs this often (RQ scheduler, `civicdesk worker`).
    sla_sweep_interval_s: int = Field(default=60, ge=5)
    # Appeals claimed per sweep transaction (each batch commits on its own).
    sla_sweep_batch: int = Field(default=2000, ge=1)
    log_level: str = "INFO"
    # --- hardening (issue 13; docs/security.md, docs/configuration.md) -------------------
    # Request bodies past this are refused with 413 from Content-Length, before reading
    # (multipart uploads: the attachment limit instead).
    http_max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # A declared body that does not arrive within this (a stalled or trickling client): 408.
    http_body_timeout_s: float = Field(default=15.0, gt=0)
    # `civicdesk serve`: a connection that has not sent a whole request head within this is
    # closed (slowloris); an idle keep-alive connection after this many seconds.
    http_header_timeout_s: float = Field(default=10.0, gt=0)
    http_keepalive_timeout_s: int = Field(default=5, ge=1)
    # The database or Redis unreachable: 503 with this Retry-After.
    outage_retry_after_s: int = Field(default=5, ge=1)
    # Staff sign-in: free wrong passwords per account / per client address, then the wait
    # doubles from login_backoff_base_s up to login_backoff_max_s (never a permanent lock);
    # failures are forgotten login_failure_window_s after the last one.
    login_free_failures: int = Field(default=5, ge=1)
    login_address_free_failures: int = Field(default=20, ge=1)
    login_backoff_base_s: int = Field(default=1, ge=1)
    login_backoff_max_s: int = Field(default=900, ge=1)
    login_failure_window_s: int = Field(default=3600, ge=60)
    # A coalesced job's claim (core.jobs) lives this long unless its worker renews it: a
    # killed worker stops blocking new runs within these seconds.
    coalesce_claim_ttl_s: int = Field(default=5, ge=2)
    # Pipeline runs that may drain a backlog of new appeals together, one per worker (each
    # claims its own batch FOR UPDATE SKIP LOCKED; linking waits for earlier batches, issue 20).
    pipeline_workers: int = Field(default=8, ge=1, le=64)
    # nlp (issue 4): topic engine and where its model directory lives (docs/nlp-engines.md).
    # tfidf-linear: the most accurate engine within p95 ≤ 100 ms and ≥ 200 appeals/s on one
    # core (issue 19; tfidf-e5 is 4.5 points better but 43/s: bench/nlp_engines.py).
    nlp_engine: str = "tfidf-linear"
    nlp_model_dir: str = "var/models/topic"
    nlp_transformers_checkpoint: str | None = None
    # --- nlp pipeline (issue 4B): model use, places, corrections; see docs/nlp.md ------------
    # No model file in nlp_model_dir: train one from data/nlp/corpus.csv on first use.
    nlp_auto_train: bool = True
    # natasha NER/AddrExtractor (~250 MB, ~5 ms/text) for texts where the gazetteer found
    # no place; off by default (the gazetteer finds districts, natasha mostly streets).
    nlp_use_natasha: bool = False
    # Each operator's correction counts this many times in retraining (real beats synthetic).
    nlp_correction_weight: int = Field(default=5, ge=1, le=50)
    # A model of the city's history, text → executor (`civicdesk nlp train --csv … --label-col
    # executor --out var/models/executor`): where the rules route nothing, its guess is shown
    # to the operator as a suggestion, when at least this sure (issue 19; nlp-places.md).
    nlp_executor_model_dir: str = "var/models/executor"
    nlp_executor_min_confidence: float = Field(default=0.3, ge=0.0, le=1.0)
    # --- nlp places (issue 19): what the city learns from confirmed districts (nlp-places.md)
    nlp_places_min_appeals: int = Field(default=3, ge=1)  # appeals before a place is learned
    nlp_places_min_share: float = Field(default=0.8, gt=0.5, le=1.0)  # …that agree on it
    nlp_places_relearn_s: int = Field(default=3600, ge=60)  # the worker relearns this often
    nlp_places_window_days: int = Field(default=730, ge=30)  # evidence no older than this
    # --- call center (issue 8): Asterisk AMI, queue metrics; see docs/call-center.md -----
    ami_host: str | None = None  # unset: no AMI connection (`civicdesk ami listen` refuses)
    ami_port: int = Field(default=5038, ge=1, le=65535)
    ami_username: str = "civicdesk"
    ami_secret: str = DEVELOPMENT_AMI_SECRET  # refused in production when ami_host is set
    ami_reconnect_max_s: float = Field(default=30.0, ge=0.1)  # backoff cap between reconnects
    ami_queue_summary_interval_s: float = Field(default=5.0, ge=0.5)  # QueueSummary polling
    ami_ping_interval_s: float = Field(default=10.0, gt=0)  # keep-alive Ping this often
    # No reply to a Ping within this: the link is dead (half-open TCP), reconnect.
    ami_ping_timeout_s: float = Field(default=5.0, gt=0)
    # A "connected" call older than this is a lost Hangup, never the operator's current call.
    callcenter_current_call_max_s: int = Field(default=7200, ge=60)
    callcenter_service_level_s: int = Field(default=20, ge=1)  # "answered within N seconds"
    callcenter_callback_expire_s: int = Field(default=120, ge=10)  # unsent callbacks expire
    ami_callback_context: str = "civicdesk-callback"  # dialplan context that dials the citizen

    @model_validator(mode="after")
    def _refuse_default_ami_secret(self) -> Settings:
        if (
            self.environment == "production"
            and self.ami_host
            and self.ami_secret == DEVELOPMENT_AMI_SECRET
        ):
            raise ValueError("CIVICDESK_AMI_SECRET must be set when CIVICDESK_AMI_HOST is set")
        return self

    # --- operator console (issue 8, part B; docs/operator-console.md) ---------------------
    # A comment line on the screen-pop stream this often keeps proxies from closing it.
    console_heartbeat_s: float = Field(default=15.0, gt=0, le=300)
    # The console header asks for fresh queue metrics this often (seconds).
    console_metrics_refresh_s: int = Field(default=10, ge=2, le=3600)
    # --- SLA board (issue 6, part B; docs/sla-board.md) ----------------------------------
    # "At risk": due within this many working days after today (or past the internal target).
    sla_board_risk_working_days: int = Field(default=2, ge=1, le=15)
    # The board page reloads itself this often (seconds).
    sla_board_refresh_s: int = Field(default=60, ge=10, le=3600)
    # --- notifications, answer ratings, attachments (issue 7, part B; docs/notifications.md) ---
    # Sends per second per channel (Telegram allows ~30/s per bot, WhatsApp ~80/s per number).
    notify_rate_telegram_per_s: int = Field(default=25, ge=1)
    notify_rate_whatsapp_per_s: int = Field(default=50, ge=1)
    notify_rate_default_per_s: int = Field(default=20, ge=1)
    # Wait before retry n (after a retryable failure); attempts = len(delays) + 1.
    notify_retry_delays_s: list[int] = Field(default=[30, 120, 600, 1800, 7200])
    # A notification left "sending" longer than this (a crashed worker) is failed, not resent.
    notify_sending_lease_s: int = Field(default=300, ge=10)
    # Notifications claimed and recorded per transaction (about a second of sending).
    notify_batch_size: int = Field(default=25, ge=1)
    rating_reopen_max_score: int = Field(default=2, ge=0, le=5)  # 0 disables reopening
    rating_reopen_window_days: int = Field(default=30, ge=1)
    rating_comment_max_chars: int = Field(default=1000, ge=1)
    # --- the agency ranking (issue 16; docs/ranking.md): weights in data/ranking_weights.yaml
    # The public page (/ratings) and its JSON with the table and the methodology: off until
    # the city decides to publish.
    ratings_public: bool = False
    attachments_dir: Path = REPO_ROOT / "var" / "attachments"
    # Object storage for attachments and trained models (issue 20; docs/deployment.md): set
    # the bucket to use S3-compatible storage (MinIO, Ceph, a cloud's S3) instead of the local
    # folders above, which several machines cannot share. Credentials: boto3's own (AWS_*).
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None  # MinIO: http://minio:9000; unset: AWS
    s3_region: str | None = None
    s3_prefix: str | None = None  # unset: the deployment's name (CIVICDESK_QUEUE_NAME)
    attachment_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    attachment_types: list[str] = Field(
        default=["image/jpeg", "image/png", "image/heic", "application/pdf"]
    )
    attachments_per_appeal: int = Field(default=5, ge=1)
    # --- analytics (issue 17; docs/analytics.md) -----------------------------------------
    # Keys the public ids of the open dataset and Open311; unset: derived from secret_key.
    analytics_pseudonym_key: str | None = None
    analytics_export_dir: Path = REPO_ROOT / "var" / "analytics-export"
    # The worker runs the export, bursts and the report; unset: on, except environment=test.
    analytics_schedule: bool | None = None
    analytics_export_hour: int = Field(default=2, ge=0, le=23)  # nightly, Almaty time
    analytics_burst_hours: list[int] = Field(default=[10, 14, 18, 23])  # burst checks a day
    # A burst: tail probability under this (docs/analytics.md: 1e-4 keeps ordinary days quiet;
    # 0.05 meets the recall goal on the NYC series, at the price of more notices).
    analytics_burst_alpha: float = Field(default=1e-4, gt=0, lt=1)
    analytics_report_hour: int = Field(default=7, ge=0, le=23)  # Mondays, Almaty time
    analytics_h3_resolution: int = Field(default=8, ge=5, le=10)  # ≈0.7 km² cells

    # --- bots (issue 7): Telegram and WhatsApp Cloud API; see docs/bots.md ---------------
    telegram_bot_token: str | None = None
    telegram_webhook_secret: str | None = None  # X-Telegram-Bot-Api-Secret-Token
    telegram_api_base: str = "https://api.telegram.org"
    whatsapp_verify_token: str | None = None  # hub.verify_token of the GET handshake
    whatsapp_app_secret: str | None = None  # signs X-Hub-Signature-256
    whatsapp_access_token: str | None = None
    whatsapp_phone_number_id: str | None = None
    whatsapp_graph_base: str = "https://graph.facebook.com/v26.0"
    # Approved templates used outside the 24-hour customer service window.
    whatsapp_template_notification: str = "civicdesk_notification"
    whatsapp_template_answer: str = "civicdesk_answer"
    whatsapp_template_rating: str = "civicdesk_rating_request"
    bot_state_backend: Literal["auto", "redis", "memory"] = "auto"  # auto: redis if redis_url
    bot_state_ttl_s: int = Field(default=24 * 3600, ge=60)

    # --- social media monitoring (issue 18; docs/social.md) --------------------------------
    # The accounts watched, as JSON: [{"platform": "instagram" | "facebook", "id": "<IG user
    # id or Page id>", "token": "<Page access token>", "name": "...", "page_id": "<the
    # Page an Instagram account is linked to>", "posts": ["<post ids to watch>"]}].
    social_accounts: list[dict[str, Any]] = Field(default_factory=list)
    social_meta_app_secret: str | None = None  # signs X-Hub-Signature-256 of Meta's webhooks
    social_meta_verify_token: str | None = None  # hub.verify_token of the GET handshake
    social_graph_base: str = "https://graph.facebook.com/v26.0"
    social_vk_group_id: int | None = None
    social_vk_confirmation: str | None = None  # the string VK's confirmation event expects
    social_vk_secret: str | None = None  # the "secret" field of every Callback API event
    social_vk_access_token: str | None = None  # a community token with wall access
    social_vk_api_base: str = "https://api.vk.com/method"
    social_vk_api_version: str = "5.199"
    social_telegram_chat_id: str | None = None  # the discussion group of the city's channel
    social_classifier: Literal["social-e5", "social-tfidf"] = "social-e5"
    social_model_dir: str = "var/models/social"
    # P(appeal) from which a comment becomes an appeal by itself, and below which it is
    # "not an appeal" by itself; in between it waits for an operator (the moderation queue).
    social_appeal_at: float = Field(default=0.7, ge=0.0, le=1.0)
    social_doubt_from: float = Field(default=0.3, ge=0.0, le=1.0)
    social_private_reply: bool = True  # Instagram: ask for a phone in a private reply
    social_reply_on_close: bool = False  # the answer's summary under the comment at closing
    social_poll_interval_s: int = Field(default=300, ge=30)
    social_poll_recent_posts: int = Field(default=10, ge=1, le=100)
    social_poll_max_pages: int = Field(default=10, ge=1, le=1000)  # per post per pass
    social_rate_meta_per_s: int = Field(default=2, ge=1)
    social_rate_vk_per_s: int = Field(default=3, ge=1)
    social_rate_telegram_per_s: int = Field(default=1, ge=1)  # Telegram: ~20 a minute a group
    social_reply_retry_delays_s: list[int] = Field(default=[30, 120, 600, 1800, 7200])
    social_working_hours: str = "09:00-18:00"  # the reply KPI counts these hours of working days

    @model_validator(mode="after")
    def _refuse_bot_defaults(self) -> Settings:
        """A bot in production must check who is calling its webhook."""
        if self.environment != "production":
            return self
        if self.telegram_bot_token and len(self.telegram_webhook_secret or "") < 16:
            raise ValueError("CIVICDESK_TELEGRAM_WEBHOOK_SECRET (>= 16 chars) is required")
        if self.whatsapp_access_token and not (
            self.whatsapp_app_secret and self.whatsapp_verify_token
        ):
            raise ValueError(
                "CIVICDESK_WHATSAPP_APP_SECRET and CIVICDESK_WHATSAPP_VERIFY_TOKEN are required"
            )
        return self

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

"""The accounts a deployment watches, read from ``CIVICDESK_SOCIAL_ACCOUNTS`` (JSON).

Configuration only: an account is a platform, its id (the Instagram professional
account's id or the Facebook Page's id), the Page access token that reads its comments and
replies to them, a name for the operators, the Page an Instagram account is linked to
(private replies go through it) and, optionally, posts to watch besides the recent ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from channels.social.models import Platform
from core.settings import Settings

META_PLATFORMS = (Platform.INSTAGRAM, Platform.FACEBOOK)


class ConfigError(ValueError):
    """``CIVICDESK_SOCIAL_ACCOUNTS`` does not describe accounts (said at start, not at use)."""


@dataclass(frozen=True)
class Account:
    platform: Platform
    id: str
    token: str
    name: str
    page_id: str | None = None  # Instagram: the linked Facebook Page (private replies)
    posts: tuple[str, ...] = ()  # posts watched besides the recent ones

    @property
    def messaging_page(self) -> str:
        """The Page whose ``/messages`` edge sends private replies for this account."""
        return self.page_id or self.id


def accounts(settings: Settings) -> list[Account]:
    """The Meta accounts configured; ``ConfigError`` names the first bad entry."""
    found: list[Account] = []
    for index, raw in enumerate(settings.social_accounts):
        try:
            platform = Platform(str(raw["platform"]))
            if platform not in META_PLATFORMS:
                raise ConfigError(f"account {index}: {platform} is configured by its own settings")
            posts = raw.get("posts") or []
            if not isinstance(posts, list):
                raise ConfigError(f"account {index}: posts must be a list of ids")
            found.append(
                Account(
                    platform=platform,
                    id=str(raw["id"]),
                    token=str(raw.get("token") or ""),
                    name=str(raw.get("name") or raw["id"]),
                    page_id=str(raw["page_id"]) if raw.get("page_id") else None,
                    posts=tuple(str(post) for post in posts),
                )
            )
        except (KeyError, ValueError) as error:
            if isinstance(error, ConfigError):
                raise
            raise ConfigError(f"account {index} of CIVICDESK_SOCIAL_ACCOUNTS: {error}") from error
    return found


def account_for(settings: Settings, platform: Platform, account_id: str) -> Account | None:
    for account in accounts(settings):
        if account.platform == platform and account.id == account_id:
            return account
    return None

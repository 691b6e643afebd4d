"""Meta's Graph API for monitoring: recent posts, pages of comments, and our replies.

Instagram (API with Facebook Login) and Facebook Pages share graph.facebook.com and a Page
access token. What is called:

- recent posts: ``GET /{ig-user-id}/media`` (``caption``, ``timestamp``, ``permalink``) or
  ``GET /{page-id}/posts`` (``message``, ``created_time``, ``permalink_url``);
- comments, newest first, with Graph's cursors (``paging.cursors.after``):
  ``GET /{media-id}/comments`` (replies expanded) or
  ``GET /{post-id}/comments?filter=stream&order=reverse_chronological``;
- a comment the account was @mentioned in: ``GET /{ig-user-id}?fields=mentioned_comment
  .comment_id(...){...}``;
- public replies: ``POST /{ig-comment-id}/replies``, ``POST /{ig-user-id}/mentions`` (a
  mention on someone else's media), ``POST /{object-id}/comments`` (Pages); the private reply:
  ``POST /{page-id}/messages`` with ``recipient: {comment_id}`` (once per comment, within 7
  days).

Errors are Graph's error objects; ``GraphError.retryable`` is true for throttling (codes 4,
17, 32, 613), transient ones (1, 2, ``is_transient``) and 5xx, false otherwise (100: the
object is gone; 190: the token; 10/2534022: the private reply's window has passed; 10900:
already replied).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from channels.social.config import Account
from channels.social.meta import graph_time
from channels.social.models import Platform

RETRYABLE_CODES = frozenset({1, 2, 4, 17, 32, 341, 613})
IG_COMMENT_FIELDS = "id,text,timestamp,username,from,parent_id"
FB_COMMENT_FIELDS = "id,message,created_time,from,parent{id}"
PAGE_SIZE = 100


class GraphError(Exception):
    def __init__(
        self, status: int, code: int | None, subcode: int | None, message: str, transient: bool
    ) -> None:
        super().__init__(f"{code} {message}"[:300])
        self.status = status
        self.code = code
        self.subcode = subcode
        self.retryable = status >= 500 or transient or (code in RETRYABLE_CODES)

    @property
    def summary(self) -> str:
        subcode = f"/{self.subcode}" if self.subcode else ""
        return f"graph {self.status} code {self.code}{subcode}"


@dataclass(frozen=True)
class Post:
    external_id: str
    text: str
    permalink: str | None
    posted_at: datetime | None


@dataclass(frozen=True)
class GraphComment:
    external_id: str
    text: str
    created_at: datetime
    author_id: str | None
    author_handle: str | None
    parent_external_id: str | None


class GraphClient:
    """One HTTP connection pool; every call carries the account's token."""

    def __init__(self, base: str, *, timeout: float = 10.0) -> None:
        self.base = base.rstrip("/")
        self._timeout = timeout
        self._client: httpx.Client | None = None

    @property
    def _http(self) -> httpx.Client:
        """Made on the first call: a client loads the CA bundle (~50 ms), and most webhook
        deliveries (a comment under a post we know) never call the Graph API at all."""
        if self._client is None:
            self._client = httpx.Client(timeout=self._timeout)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def _call(
        self,
        method: str,
        path: str,
        account: Account,
        *,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        try:
            response = self._http.request(
                method,
                f"{self.base}/{path.lstrip('/')}",
                params={**(params or {}), "access_token": account.token},
                json=json,
            )
        except httpx.HTTPError as error:
            raise GraphError(0, None, None, type(error).__name__, True) from error
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 400 or (isinstance(body, dict) and "error" in body):
            found = body.get("error") if isinstance(body, dict) else None
            problem: dict[str, Any] = found if isinstance(found, dict) else {}
            raise GraphError(
                response.status_code,
                _int(problem.get("code")),
                _int(problem.get("error_subcode")),
                str(problem.get("message", "")),
                bool(problem.get("is_transient")),
            )
        return body if isinstance(body, dict) else {}

    # --- reading -------------------------------------------------------------------------

    def recent_posts(self, account: Account, limit: int) -> list[Post]:
        if account.platform is Platform.INSTAGRAM:
            body = self._call(
                "GET",
                f"{account.id}/media",
                account,
                params={"fields": "id,caption,timestamp,permalink", "limit": limit},
            )
            return [
                Post(
                    str(item["id"]),
                    str(item.get("caption") or ""),
                    item.get("permalink"),
                    graph_time(item.get("timestamp")) if item.get("timestamp") else None,
                )
                for item in body.get("data") or []
            ]
        body = self._call(
            "GET",
            f"{account.id}/posts",
            account,
            params={"fields": "id,message,created_time,permalink_url", "limit": limit},
        )
        return [
            Post(
                str(item["id"]),
                str(item.get("message") or ""),
                item.get("permalink_url"),
                graph_time(item.get("created_time")) if item.get("created_time") else None,
            )
            for item in body.get("data") or []
        ]

    def post(self, account: Account, external_id: str) -> Post:
        fields = (
            "id,caption,timestamp,permalink"
            if account.platform is Platform.INSTAGRAM
            else "id,message,created_time,permalink_url"
        )
        item = self._call("GET", external_id, account, params={"fields": fields})
        return Post(
            str(item.get("id", external_id)),
            str(item.get("caption") or item.get("message") or ""),
            item.get("permalink") or item.get("permalink_url"),
            graph_time(item.get("timestamp") or item.get("created_time")),
        )

    def comments_page(
        self, account: Account, post_id: str, *, after: str | None
    ) -> tuple[list[GraphComment], str | None]:
        """One page, newest first, and the cursor of the next (older) page or None."""
        params: dict[str, Any] = {"limit": PAGE_SIZE}
        if account.platform is Platform.INSTAGRAM:
            params["fields"] = f"{IG_COMMENT_FIELDS},replies{{{IG_COMMENT_FIELDS}}}"
        else:
            params.update(
                {"fields": FB_COMMENT_FIELDS, "filter": "stream", "order": "reverse_chronological"}
            )
        if after:
            params["after"] = after
        body = self._call("GET", f"{post_id}/comments", account, params=params)
        comments: list[GraphComment] = []
        for item in body.get("data") or []:
            comments.append(_comment(item, account.platform))
            for reply in (item.get("replies") or {}).get("data") or []:
                comments.append(_comment(reply, account.platform, parent=str(item["id"])))
        paging = body.get("paging") or {}
        has_next = bool(paging.get("next"))
        cursor = (paging.get("cursors") or {}).get("after") if has_next else None
        return comments, (str(cursor) if cursor else None)

    def mentioned_comment(self, account: Account, comment_id: str) -> GraphComment:
        fields = "id,text,timestamp,username,media{id,caption,permalink}"
        body = self._call(
            "GET",
            account.id,
            account,
            params={"fields": f"mentioned_comment.comment_id({comment_id}){{{fields}}}"},
        )
        item = body.get("mentioned_comment") or {}
        if not item.get("id"):
            raise GraphError(404, 100, None, "mentioned comment not returned", False)
        return _comment(item, Platform.INSTAGRAM)

    # --- replying ------------------------------------------------------------------------

    def reply_public(
        self,
        account: Account,
        *,
        comment_id: str,
        text: str,
        on_own_media: bool = True,
        media_id: str | None = None,
    ) -> str:
        if account.platform is Platform.INSTAGRAM and on_own_media:
            body = self._call("POST", f"{comment_id}/replies", account, params={"message": text})
        elif account.platform is Platform.INSTAGRAM:
            body = self._call(
                "POST",
                f"{account.id}/mentions",
                account,
                params={"comment_id": comment_id, "media_id": media_id or "", "message": text},
            )
        else:
            body = self._call("POST", f"{comment_id}/comments", account, params={"message": text})
        return str(body.get("id", ""))

    def reply_private(self, account: Account, *, comment_id: str, text: str) -> str:
        body = self._call(
            "POST",
            f"{account.messaging_page}/messages",
            account,
            json={"recipient": {"comment_id": comment_id}, "message": {"text": text}},
        )
        return str(body.get("message_id", ""))


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _comment(item: dict[str, Any], platform: Platform, parent: str | None = None) -> GraphComment:
    author = item.get("from") or {}
    if platform is Platform.INSTAGRAM:
        username = item.get("username") or author.get("username")
        return GraphComment(
            external_id=str(item["id"]),
            text=str(item.get("text") or ""),
            created_at=graph_time(item.get("timestamp")),
            author_id=str(author["id"]) if author.get("id") else None,
            author_handle=f"@{username}" if username else None,
            parent_external_id=parent
            or (str(item["parent_id"]) if item.get("parent_id") else None),
        )
    parent_item = item.get("parent") or {}
    return GraphComment(
        external_id=str(item["id"]),
        text=str(item.get("message") or ""),
        created_at=graph_time(item.get("created_time")),
        author_id=str(author["id"]) if author.get("id") else None,
        author_handle=str(author["name"]) if author.get("name") else None,
        parent_external_id=str(parent_item["id"]) if parent_item.get("id") else None,
    )

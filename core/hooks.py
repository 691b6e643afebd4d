"""Hooks: a step a lower room must take that a higher room knows how to do.

The appeal (``appeals``) and forwarding (``routing``) sit below ``sla``, which owns the
clocks, yet a status change must end an open clock pause, a forwarding restarts the
receiving body's term, and a stint that ends is judged late against the forwarding term.
The deadline sweep (``sla``) must also know whether the citizen was told of an extension,
which only the notifications (``channels``, above it) know. The lower room calls the hook
by name; ``sla.hooks`` and ``channels.notification_hooks`` provide them. The providers are
imported by name on first use, as ``core.events`` runs its job by name, so the layers stay
one-way; a hook with no provider fails loudly rather than skipping a clock.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

#: Modules whose import provides the hooks (each ``@provide``s what it implements).
PROVIDERS = ("sla.hooks", "channels.notification_hooks")

#: ``(session, appeal, *, by, why) -> int``: close the appeal's open pause, give its
#: working days back to the deadlines; the days given back.
END_PAUSE = "appeal.end_pause"
#: ``(started_at) -> bool``: whether a stint that began then and ends now was late.
STINT_LATE = "appeal.stint_late"
#: ``(appeal) -> None``: a forwarding restarts the term at the receiving organization.
RESTART_TERM = "appeal.restart_term"
#: ``(appeal_id, kind, since, until) -> ColumnElement[bool]``, arguments SQL expressions:
#: a citizen notification of ``kind`` about the appeal was sent between ``since`` and
#: ``until`` (a condition for the sweep's and the board's set-based queries).
CITIZEN_NOTICE_SENT = "appeal.citizen_notice_sent"

F = TypeVar("F", bound=Callable[..., Any])
_provided: dict[str, Callable[..., Any]] = {}
_loaded = False


def provide(name: str) -> Callable[[F], F]:
    """Register the one implementation of hook ``name``."""

    def register(function: F) -> F:
        existing = _provided.get(name)
        if existing is not None and existing is not function:
            raise RuntimeError(f"hook {name} is provided twice")
        _provided[name] = function
        return function

    return register


def call(name: str, *args: Any, **kwargs: Any) -> Any:
    """Run hook ``name``; its providers are imported the first time a hook is called."""
    global _loaded
    if not _loaded:
        for module in PROVIDERS:
            importlib.import_module(module)
        _loaded = True
    function = _provided.get(name)
    if function is None:
        raise RuntimeError(f"no provider for hook {name} (looked in {', '.join(PROVIDERS)})")
    return function(*args, **kwargs)

"""Every hook a lower floor calls has its provider among ``core.hooks.PROVIDERS``: a hook
without one raises at the first status change, forwarding or sweep, in production."""

from __future__ import annotations

import importlib

import pytest

from core import hooks

HOOK_NAMES = {
    value
    for name, value in vars(hooks).items()
    if name.isupper() and isinstance(value, str) and name != "PROVIDERS"
}


def _load_providers() -> None:
    for module in hooks.PROVIDERS:
        importlib.import_module(module)


def test_every_named_hook_is_provided_by_a_listed_module() -> None:
    """Listed, not merely imported by some other path: ``call`` loads only ``PROVIDERS``."""
    _load_providers()
    assert len(HOOK_NAMES) >= 4
    where = {name: getattr(hooks._provided.get(name), "__module__", None) for name in HOOK_NAMES}
    assert {name: module for name, module in where.items() if module not in hooks.PROVIDERS} == {}


def test_a_hook_with_no_provider_raises_rather_than_skipping() -> None:
    with pytest.raises(RuntimeError, match="no provider for hook"):
        hooks.call("appeal.nobody_provides_this")


def test_a_second_provider_for_one_hook_is_refused() -> None:
    _load_providers()

    def impostor() -> None:
        return None

    with pytest.raises(RuntimeError, match="provided twice"):
        hooks.provide(hooks.CITIZEN_NOTICE_SENT)(impostor)

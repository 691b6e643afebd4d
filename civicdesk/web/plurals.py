"""Plural agreement of a noun with a number, in Russian and Kazakh.

Russian has three forms (CLDR: one — 1, 21, 101; few — 2–4, 22–24; many — 0, 5–20, 11–14,
25…), Kazakh one: a noun after a numeral stays singular ("5 өтініш"). A text names the forms
as ``one|few|many`` (Kazakh: the one form), either through :func:`plural` or inside a
placeholder, ``{count} {count:обращение|обращения|обращений}``, which ``PluralFormatter``
fills.
"""

from __future__ import annotations

from string import Formatter
from typing import Any


def russian_form(number: int) -> int:
    """0 (one), 1 (few) or 2 (many): the CLDR rule for Russian integers."""
    n = abs(number)
    if n % 10 == 1 and n % 100 != 11:
        return 0
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return 1
    return 2


def plural(number: int, forms: str, language: str = "ru") -> str:
    """The form of ``forms`` ('one|few|many') that agrees with ``number``."""
    options = forms.split("|")
    if language == "kk" or len(options) == 1:
        return options[0]
    if len(options) != 3:
        raise ValueError(f"Russian needs three plural forms, got {forms!r}")
    return options[russian_form(number)]


class PluralFormatter(Formatter):
    """``str.format`` with ``{n:one|few|many}`` for the noun agreeing with ``n``."""

    def __init__(self, language: str) -> None:
        self.language = language

    def format_field(self, value: Any, format_spec: str) -> Any:
        if "|" in format_spec and isinstance(value, int | str):
            try:
                number = int(value)
            except ValueError:
                return format_spec.split("|")[-1]
            return plural(number, format_spec, self.language)
        return super().format_field(value, format_spec)

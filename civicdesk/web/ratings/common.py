"""What the ranking pages share: the period from the URL, links that keep it, and the words
for a row (its movement, the reasons it is low) in the page's language."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, Final
from urllib.parse import quote_plus

from civicdesk.web.texts import t
from core.clock import local, now
from core.errors import ValidationFailed
from ratings.methodology import COMPONENTS
from ratings.periods import Period, PeriodError, PeriodKind, resolve
from routing.models import OrganizationKind

PERIOD_KINDS: Final = tuple(kind.value for kind in PeriodKind)
KINDS: Final = tuple(kind.value for kind in OrganizationKind)
PARAMS: Final = ("period", "at", "from", "to", "kind")
_quote = lru_cache(maxsize=4096)(quote_plus)
_DOTTED: Final = re.compile(r"\d{2}\.\d{2}\.\d{4}")


def _day(value: str) -> date | None:
    """A day as the form types it (дд.мм.гггг: Chromium draws ``type=date`` in the browser's
    locale, not the page's, so the form is text) or as the links carry it (ISO)."""
    value = value.strip()
    if not value:
        return None
    try:
        if _DOTTED.fullmatch(value):
            day, month, year = value.split(".")
            return date(int(year), int(month), int(day))
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"not a date: {value!r}", code="bad_period") from None


def chosen_period(raw: Mapping[str, str]) -> Period:
    """The period in the URL (default: the last closed week), or ``bad_period``."""
    kind = raw.get("period", "").strip() or None
    if kind is not None and kind not in PERIOD_KINDS:
        raise ValidationFailed(f"unknown period {kind!r}", code="bad_period")
    start, last = _day(raw.get("from", "")), _day(raw.get("to", ""))
    if kind != PeriodKind.CUSTOM.value and kind is not None:
        start = last = None  # a week/month/…: chosen by ``at``, the dates are the custom form's
    try:
        return resolve(
            kind=kind,
            start=start,
            last_day=last,
            at=_day(raw.get("at", "")),
            today=local(now()).date(),
            default=PeriodKind.WEEK,
        )
    except PeriodError as error:
        raise ValidationFailed(str(error), code="bad_period") from None


def chosen_kind(raw: Mapping[str, str]) -> str | None:
    kind = raw.get("kind", "").strip() or None
    if kind is not None and kind not in KINDS:
        raise ValidationFailed(f"unknown kind {kind!r}", code="unknown_organization_kind")
    return kind


def period_params(period: Period) -> dict[str, str]:
    """URL parameters naming ``period`` exactly."""
    if period.kind is PeriodKind.CUSTOM:
        return {
            "period": "custom",
            "from": period.start.isoformat(),
            "to": period.last_day.isoformat(),
        }
    return {"period": period.kind.value, "at": period.start.isoformat()}


class Url:
    """Links that keep the page's period and kind, changing only what a link is about.

    A table has several hundred links: the kept values are encoded once, and the values a
    link changes (codes, components) through a cache.
    """

    def __init__(self, path: str, params: Mapping[str, str | None]) -> None:
        self.path = path
        self.params = {name: value for name, value in params.items() if value}
        self._encoded = {name: _quote(value) for name, value in self.params.items()}

    def __call__(self, path: str | None = None, /, **changes: str | int | None) -> str:
        encoded = dict(self._encoded)
        for name, value in changes.items():
            key = name.rstrip("_")  # from_ → from
            if value is None or value == "":
                encoded.pop(key, None)
            else:
                encoded[key] = _quote(str(value))
        query = "&".join(f"{name}={value}" for name, value in encoded.items())
        target = path or self.path
        return f"{target}?{query}" if query else target


@dataclass(frozen=True)
class Movement:
    symbol: str
    css: str
    words: str


def movement(row: Mapping[str, Any], language: str) -> Movement | None:
    """The arrow and its words; None when there is nothing to compare."""
    if row.get("rank") is None:
        return None
    moved = row.get("movement")
    if moved is None:
        return Movement("•", "new", t("rt.move.new", language))
    if moved > 0:
        return Movement(f"▲{moved}", "up", t("rt.move.up", language, n=moved))
    if moved < 0:
        return Movement(f"▼{-moved}", "down", t("rt.move.down", language, n=-moved))
    return Movement("=", "same", t("rt.move.same", language))


def _percent(value: float) -> str:
    return f"{value:.0f}"


def reason_words(row: Mapping[str, Any], language: str) -> str:
    """ "просрочено 23 %, возвращено на доработку 12 %, удовлетворённость 41 %"."""
    phrases = []
    for name in row["reasons"]:
        rate = row[name]["rate"]
        if rate is None:
            continue
        shown = rate if name == "satisfaction" else 100 - rate
        phrases.append(t(f"rt.r.{name}", language, p=_percent(shown)))
    return ", ".join(phrases)


def name_of(row: Mapping[str, Any], language: str) -> str:
    return str(row["name_kk"] if language == "kk" else row["name"])


def components() -> tuple[str, ...]:
    return COMPONENTS

"""Masking of personal data typed inside free text (appeal texts, answers) for the roles that
must not see it.

Detection is ``airlock-pii`` (rule-based Kazakhstan PII, pure Python, pinned): ИИН/БИН held to
their check digit (also a mistyped one right after the word «ИИН»), +7/8 phone numbers,
e-mails, payment cards, KZ IBANs, and people's names where a given name stands with a surname
or patronymic. Single names and surnames alone are left: in Almaty most streets carry a
person's name (Розыбакиева, Райымбека, Толе би), and analysts need the places. Measured in
``bench/pii.py`` (docs/security.md): what is masked on the corpus and on real appeals, and
how much of a planted set is found.

Each hit becomes a bracketed label that reads in both languages (``[телефон]``,
``[ИИН/ЖСН]``), so a masked text still reads naturally.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

# What is masked, and from what confidence (airlock-pii's scale, see its README table).
THRESHOLDS: Final[dict[str, float]] = {
    "IIN": 0.6,
    "BIN": 0.6,
    "PHONE": 0.75,
    "EMAIL": 0.9,
    "CARD": 0.9,
    "KZ_IBAN": 0.6,
    "PERSON": 0.9,
}
# Read alike by Russian- and Kazakh-speaking staff.
LABELS: Final[dict[str, str]] = {
    "IIN": "[ИИН/ЖСН]",
    "BIN": "[БИН/БСН]",
    "PHONE": "[телефон]",
    "EMAIL": "[e-mail]",
    "CARD": "[карта]",
    "KZ_IBAN": "[счёт/шот]",
    "PERSON": "[ФИО/аты-жөні]",
}
_LOWEST: Final = min(THRESHOLDS.values())
# A mobile or city number typed without +7 or 8 in front, grouped as people write it
# ("701 555 01 23", "(707) 555-12-34", "727 250 12 34"): airlock-pii wants the prefix. Only
# Kazakhstan's mobile and city codes and only grouped, so account, meter and cadastral
# numbers (one run of digits) are left alone.
_BARE_MOBILE: Final = re.compile(
    r"(?<![\d+])\(?7(?:0[0-8]|[12]\d|47|5[01]|6[0-4]|7[15-8])\)?[ -]\d{3}[ -]\d{2}[ -]\d{2}(?!\d)"
)


def find(text: str, kinds: Iterable[str] | None = None) -> list[tuple[int, int, str]]:
    """``(start, end, type)`` of each personal-data span to mask, in order (``kinds``: only
    those types, default all of ``THRESHOLDS``)."""
    wanted = THRESHOLDS.keys() if kinds is None else frozenset(kinds)
    if not text:
        return []
    from airlock_pii import detect  # compiles its patterns on first import (~0.1 s)

    entities = detect(text, min_confidence=_LOWEST)
    spans = []
    for entity in entities:
        kind = entity.type.value
        threshold = THRESHOLDS.get(kind)
        if threshold is not None and kind in wanted and entity.confidence >= threshold:
            spans.append((entity.start, entity.end, kind))
    if "PHONE" in wanted:
        for match in _BARE_MOBILE.finditer(text):
            if not any(start < match.end() and match.start() < end for start, end, _ in spans):
                spans.append((match.start(), match.end(), "PHONE"))
        spans.sort()
    return spans


def mask_text(text: str | None, kinds: Iterable[str] | None = None) -> str | None:
    """``text`` with every span of :func:`find` replaced by its label; None stays None."""
    if not text:
        return text
    spans = find(text, kinds)
    if not spans:
        return text
    parts, cursor = [], 0
    for start, end, kind in spans:
        parts.append(text[cursor:start])
        parts.append(LABELS[kind])
        cursor = end
    parts.append(text[cursor:])
    return "".join(parts)

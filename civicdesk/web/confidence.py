"""A classifier's confidence as words a person acts on: sure, check it, not sure.

A percentage invites false precision ("100 %" from a calibrated model is still a guess);
staff need to know whether to trust the topic, look at it, or decide themselves. Below
``routing_min_confidence`` the pipeline did not trust the guess either (the appeal waited
in triage); ``SURE_AT`` is where a calibrated guess is wrong about one time in four or less.
"""

from __future__ import annotations

from typing import Final, Literal

from core.settings import get_settings

#: From this probability a guess is shown as sure.
SURE_AT: Final = 0.75

Level = Literal["sure", "check", "unsure"]


def confidence_level(probability: float | None, *, min_confidence: float | None = None) -> Level:
    """'sure' (≥ ``SURE_AT``), 'check' (≥ the routing threshold) or 'unsure'."""
    if probability is None:
        return "unsure"
    threshold = get_settings().routing_min_confidence if min_confidence is None else min_confidence
    if probability >= max(SURE_AT, threshold):
        return "sure"
    if probability >= threshold:
        return "check"
    return "unsure"

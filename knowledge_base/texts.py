"""The knowledge base's words for people, in Russian and Kazakh."""

from __future__ import annotations

# How sure the suggestion is, in words (the console shows them beside each article).
_CONFIDENCE = {
    "high": {"ru": "точно подходит", "kk": "дәл сәйкес келеді"},
    "medium": {"ru": "вероятно подходит", "kk": "сәйкес келуі ықтимал"},
    "low": {"ru": "может подойти", "kk": "сәйкес келуі мүмкін"},
}


def confidence_level(confidence: float, threshold: float) -> str:
    """high: above the bots' threshold; medium: at least half of it; low: below."""
    if confidence >= threshold:
        return "high"
    if confidence >= threshold / 2:
        return "medium"
    return "low"


def confidence_words(confidence: float, threshold: float, language: str) -> str:
    words = _CONFIDENCE[confidence_level(confidence, threshold)]
    return words["kk" if language == "kk" else "ru"]

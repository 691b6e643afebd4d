"""The project's own labeled corpus (``data/nlp/corpus.csv``): what the default model learns.

Synthetic (see ``data/nlp/README.md`` and ``nlp/corpus_build.py``): accuracy on it
says the model learned the taxonomy's wordings, not how it does on real appeals.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

CORPUS_FILE = Path("nlp") / "corpus.csv"


@dataclass(frozen=True)
class CorpusRow:
    text: str
    category: str
    language: str  # ru, kk, mixed
    split: str  # train, test (built on held-out phrases)
    source: str  # template, sample
    variant: str  # plain, typos, latin, flat, caps, ru_keyboard (joined by +)


def corpus_path(data_dir: Path) -> Path:
    return data_dir / CORPUS_FILE


@lru_cache(maxsize=4)
def _load(path: Path) -> tuple[CorpusRow, ...]:
    with path.open(encoding="utf-8", newline="") as handle:
        return tuple(
            CorpusRow(
                text=row["text"],
                category=row["category"],
                language=row["language"],
                split=row["split"],
                source=row["source"],
                variant=row["variant"],
            )
            for row in csv.DictReader(handle)
        )


def load_corpus(data_dir: Path, *, split: str | None = None) -> list[CorpusRow]:
    """All rows, or one split (``train`` or ``test``)."""
    rows = _load(corpus_path(data_dir).resolve())
    return [row for row in rows if split is None or row.split == split]


def texts_and_labels(rows: Iterable[CorpusRow]) -> tuple[list[str], list[str]]:
    texts: list[str] = []
    labels: list[str] = []
    for row in rows:
        texts.append(row.text)
        labels.append(row.category)
    return texts, labels

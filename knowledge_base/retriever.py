"""Finding the article that answers a question: TF-IDF and e5 signals, fused, then re-ranked.

Why this shape (measured on RuTube's 801 real questions, docs/knowledge-base.md): words
alone miss paraphrases ("ролик удалили" for "что нельзя публиковать"), meaning alone
misses exact terms (a product's name, "ОСИ", "ИИН"); a weighted sum of both, each scaled
per query, beats either. Every article is a few *units*: its questions (the titles in
both languages and the questions people actually asked that it answered, learned from
operators' and citizens' choices) and its texts (title + body). An article's score on a
signal is its best unit's. Signals:

- ``e5_q``: e5 cosine of the question with the article's questions (query-to-query);
- ``e5_p``: e5 cosine of the question with the article's texts (query-to-passage);
- ``word``: TF-IDF over lemmas (Russian, pymorphy3) and stems (Kazakh), 1–2 grams;
- ``char``: TF-IDF over character 2–5 grams of the folded text (typos, Latin, keyboards);
- ``word_q`` / ``char_q``: the same two over the questions alone.

The fused score is a weighted sum of the signals after per-query min-max scaling; the
weights below were chosen on cross-validation folds and checked on sets not used to pick
them. When enough (question, article) pairs are logged, :mod:`knowledge_base.reranker`
learns a better combination from them. Pure: no database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from knowledge_base import text as kbtext
from knowledge_base.encoder import DIM, Encoder, VectorCache, encode_cached

SIGNALS = ("e5_q", "e5_p", "word", "char", "word_q", "char_q")
# Weights of the min-max scaled signals (sum 1). With no encoder the e5 weights go to the
# TF-IDF signals in proportion.
DEFAULT_WEIGHTS: Mapping[str, float] = {
    "e5_q": 0.35,
    "e5_p": 0.30,
    "word": 0.10,
    "char": 0.10,
    "word_q": 0.05,
    "char_q": 0.10,
}
QUESTION_CHARS = 300  # what the encoder reads of a question (a caller's long story: its head)
PASSAGE_CHARS = 600  # what it reads of an article's text: the title and the answer's start


@dataclass(frozen=True)
class Entry:
    """One article as the index sees it."""

    key: str
    questions: tuple[str, ...]  # titles (ru, kk) and learned paraphrases
    texts: tuple[str, ...]  # title + body, per language


@dataclass
class Scores:
    """Per-signal article scores of a batch of questions: name → (questions × articles)."""

    signals: dict[str, NDArray[np.float32]] = field(default_factory=dict)


def _max_by_owner(
    unit_scores: NDArray[np.float32], owners: NDArray[np.int64], n_articles: int
) -> NDArray[np.float32]:
    """(q × units) → (q × articles): each article's best unit (units sorted by owner)."""
    out = np.full((unit_scores.shape[0], n_articles), -1.0, dtype=np.float32)
    if unit_scores.shape[1] == 0:
        return np.zeros((unit_scores.shape[0], n_articles), dtype=np.float32)
    starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
    reduced = np.maximum.reduceat(unit_scores, starts, axis=1)
    out[:, owners[starts]] = reduced
    out[out < -0.5] = 0.0
    return out


def _minmax(matrix: NDArray[np.float32]) -> NDArray[np.float32]:
    low = matrix.min(axis=1, keepdims=True)
    high = matrix.max(axis=1, keepdims=True)
    span = np.where(high - low > 1e-9, high - low, 1.0)
    return np.asarray((matrix - low) / span, dtype=np.float32)


class Index:
    """The searchable form of a set of articles; build once, query many times."""

    def __init__(
        self,
        entries: Sequence[Entry],
        *,
        encoder: Encoder | None,
        cache: VectorCache | None = None,
        query_cache: VectorCache | None = None,
        weights: Mapping[str, float] | None = None,
    ) -> None:
        if not entries:
            raise ValueError("an index needs at least one article")
        self.entries = list(entries)
        self.keys = [entry.key for entry in self.entries]
        self.position = {key: row for row, key in enumerate(self.keys)}
        self.encoder = encoder
        self.cache = cache if cache is not None else VectorCache()
        # Questions asked are remembered apart from the articles' texts, and only so many.
        self.query_cache = query_cache if query_cache is not None else VectorCache(limit=5000)
        self.weights = dict(weights or DEFAULT_WEIGHTS)
        if encoder is None:
            self.weights = _without_e5(self.weights)
        q_units = [(row, q) for row, e in enumerate(self.entries) for q in e.questions if q]
        t_units = [(row, t) for row, e in enumerate(self.entries) for t in e.texts if t]
        self.q_owner = np.array([row for row, _ in q_units], dtype=np.int64)
        self.t_owner = np.array([row for row, _ in t_units], dtype=np.int64)
        q_texts = [q for _, q in q_units]
        t_texts = [t for _, t in t_units]
        whole = [" ".join((*e.texts, *e.questions)) for e in self.entries]
        self.word = TfidfVectorizer(
            analyzer=kbtext.terms, sublinear_tf=True, min_df=1, dtype=np.float32
        )
        self.char = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(2, 5),
            preprocessor=kbtext.folded,
            sublinear_tf=True,
            min_df=1,
            dtype=np.float32,
            max_features=400_000,
        )
        # Kept transposed (terms × units, CSR): ``question @ matrix`` is then a plain CSR
        # product. ``question @ docs.T`` made scipy convert the whole transposed matrix to CSR
        # on every search, which cost ~80 ms a question at 10,000 articles (bench/kb.py).
        self.word_doc = _by_term(self.word.fit_transform(whole))
        self.char_doc = _by_term(self.char.fit_transform(whole))
        self.word_q = _by_term(self.word.transform(q_texts)) if q_texts else None
        self.char_q = _by_term(self.char.transform(q_texts)) if q_texts else None
        self.e5_q: NDArray[np.float32] = np.zeros((0, DIM), dtype=np.float32)
        self.e5_p: NDArray[np.float32] = np.zeros((0, DIM), dtype=np.float32)
        if encoder is not None:
            self.e5_q = encode_cached(
                encoder, q_texts, "query", self.cache, max_chars=QUESTION_CHARS
            )
            self.e5_p = encode_cached(
                encoder, t_texts, "passage", self.cache, max_chars=PASSAGE_CHARS
            )

    @property
    def semantic(self) -> bool:
        """Whether the index has the e5 signals (False: TF-IDF only)."""
        return self.encoder is not None

    def signals(self, questions: Sequence[str]) -> Scores:
        """Every signal's article scores for a batch of questions."""
        n = len(self.entries)
        word = self.word.transform(questions)
        char = self.char.transform(questions)
        out = Scores()
        out.signals["word"] = _dense(word @ self.word_doc)
        out.signals["char"] = _dense(char @ self.char_doc)
        if self.word_q is not None and self.char_q is not None:
            out.signals["word_q"] = _max_by_owner(_dense(word @ self.word_q), self.q_owner, n)
            out.signals["char_q"] = _max_by_owner(_dense(char @ self.char_q), self.q_owner, n)
        else:
            zeros = np.zeros((len(questions), n), dtype=np.float32)
            out.signals["word_q"] = out.signals["char_q"] = zeros
        if self.encoder is not None:
            vectors = encode_cached(
                self.encoder, questions, "query", self.query_cache, max_chars=QUESTION_CHARS
            )
            out.signals["e5_q"] = _max_by_owner(vectors @ self.e5_q.T, self.q_owner, n)
            out.signals["e5_p"] = _max_by_owner(vectors @ self.e5_p.T, self.t_owner, n)
        return out

    def fuse(
        self, scores: Scores, weights: Mapping[str, float] | None = None
    ) -> NDArray[np.float32]:
        """The weighted sum of the per-query scaled signals: (questions × articles)."""
        weights = weights or self.weights
        fused: NDArray[np.float32] | None = None
        for name, weight in weights.items():
            if weight == 0 or name not in scores.signals:
                continue
            part = _minmax(scores.signals[name]) * np.float32(weight)
            fused = part if fused is None else fused + part
        if fused is None:
            raise ValueError("no signal to fuse")
        return fused


def _without_e5(weights: Mapping[str, float]) -> dict[str, float]:
    rest = {name: w for name, w in weights.items() if not name.startswith("e5")}
    total = sum(rest.values()) or 1.0
    return {name: w / total for name, w in rest.items()}


def _by_term(matrix: sparse.spmatrix) -> sparse.csr_matrix:
    """The transposed matrix, stored as CSR (see :class:`Index`)."""
    return sparse.csr_matrix(matrix.T)


def _dense(matrix: sparse.spmatrix | NDArray[np.float32]) -> NDArray[np.float32]:
    if sparse.issparse(matrix):
        return np.asarray(matrix.toarray(), dtype=np.float32)  # type: ignore[union-attr]
    return np.asarray(matrix, dtype=np.float32)


def ranking(fused: NDArray[np.float32], k: int) -> NDArray[np.int64]:
    """The top ``k`` article rows per question, best first."""
    k = min(k, fused.shape[1])
    part = np.argpartition(-fused, k - 1, axis=1)[:, :k]
    order = np.take_along_axis(fused, part, axis=1).argsort(axis=1)[:, ::-1]
    return np.take_along_axis(part, order, axis=1).astype(np.int64)

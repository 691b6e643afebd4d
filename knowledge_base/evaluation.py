"""``civicdesk kb eval``: how often the retriever finds the right article for real questions.

Without ``--folds`` the articles are indexed as they are and every question asked once
(zero-shot: nothing learned). With ``--folds K`` the questions are split in K folds and
each fold is asked of an index that learned the other folds' questions as (question,
article) pairs — what the knowledge base does with operators' and citizens' choices —
with the re-ranker and the calibrated confidence fitted on those pairs alone; the
confident answers' precision and coverage are then measured on the held-out fold. Both
runs are reported, so a figure is never read without knowing which it is. Pure: reads
files, no database.
"""

from __future__ import annotations

import csv
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from knowledge_base.encoder import Encoder, VectorCache
from knowledge_base.reranker import (
    Calibrator,
    evidence,
    features,
    learn,
    prior_of,
    rerank,
)
from knowledge_base.retriever import Entry, Index, ranking


@dataclass(frozen=True)
class Article:
    """An article read from a file: its id, title (first text column) and texts."""

    key: str
    title: str
    texts: tuple[str, ...]


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def articles_from_rows(
    rows: Sequence[dict[str, str]], *, id_col: str, text_cols: Sequence[str]
) -> list[Article]:
    """Rows sharing an id are one article; the first text column is its title."""
    missing = [col for col in (id_col, *text_cols) if rows and col not in rows[0]]
    if missing:
        raise ValueError(f"no such column(s) in the articles file: {', '.join(missing)}")
    titles: dict[str, str] = {}
    texts: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        key = (row.get(id_col) or "").strip()
        if not key:
            continue
        titles.setdefault(key, (row.get(text_cols[0]) or "").strip())
        joined = "\n".join((row.get(col) or "").strip() for col in text_cols).strip()
        if joined and joined not in texts[key]:
            texts[key].append(joined)
    return [Article(key, titles[key], tuple(texts[key])) for key in titles]


def entries(
    articles: Sequence[Article], paraphrases: dict[str, list[str]] | None = None
) -> list[Entry]:
    learned = paraphrases or {}
    return [
        Entry(a.key, tuple(q for q in (a.title, *learned.get(a.key, ())) if q), a.texts)
        for a in articles
    ]


def _ranks(rows: NDArray[np.int64], gold: NDArray[np.int64]) -> NDArray[np.int64]:
    hit = rows[:, :10] == gold[:, None]
    return np.where(hit.any(axis=1), hit.argmax(axis=1) + 1, 0).astype(np.int64)


def _summary(ranks: NDArray[np.int64]) -> dict[str, float]:
    n = max(len(ranks), 1)
    return {
        "top1": round(float((ranks == 1).sum() / n), 4),
        "top5": round(float(((ranks >= 1) & (ranks <= 5)).sum() / n), 4),
        "mrr10": round(float(np.where(ranks > 0, 1.0 / np.maximum(ranks, 1), 0.0).sum() / n), 4),
    }


def evaluate(
    articles: Sequence[Article],
    questions: Sequence[str],
    gold: Sequence[str],
    *,
    encoder: Encoder | None,
    cache: VectorCache | None = None,
    folds: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """The figures of ``kb eval`` (see the module's docstring)."""
    cache = cache if cache is not None else VectorCache()
    keys = {a.key for a in articles}
    pairs = [(q, g) for q, g in zip(questions, gold, strict=True) if q.strip() and g in keys]
    if not pairs:
        raise ValueError("no question has a gold article among the articles")
    questions = [q for q, _ in pairs]
    gold = [g for _, g in pairs]
    started = time.perf_counter()
    index = Index(entries(articles), encoder=encoder, cache=cache, query_cache=cache)
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    scores = index.signals(questions)
    rows = ranking(index.fuse(scores), 10)
    ask_ms = (time.perf_counter() - started) * 1000 / len(questions)
    target = np.array([index.position[g] for g in gold], dtype=np.int64)
    zero_shot = _summary(_ranks(rows, target))
    result: dict[str, Any] = {
        **zero_shot,
        "n_questions": len(questions),
        "n_articles": len(articles),
        "retriever": "e5+tfidf" if index.semantic else "tfidf",
        "mode": "zero-shot",
        "index_build_s": round(build_s, 2),
        "ms_per_question": round(ask_ms, 1),
    }
    if folds:
        learned = _cross_fitted(articles, questions, gold, encoder, cache, folds, seed)
        result.update(learned)
        result["mode"] = f"{folds}-fold, other folds' questions learned"
        result["zero_shot"] = zero_shot
    cache.save()
    return result


def _cross_fitted(
    articles: Sequence[Article],
    questions: Sequence[str],
    gold: Sequence[str],
    encoder: Encoder | None,
    cache: VectorCache,
    folds: int,
    seed: int,
) -> dict[str, Any]:
    if folds < 2 or folds > len(questions):
        raise ValueError("--folds must be between 2 and the number of questions")
    assign = np.random.default_rng(seed).permutation(len(questions)) % folds
    ranks: list[NDArray[np.int64]] = []
    confident: list[NDArray[np.bool_]] = []
    right: list[NDArray[np.bool_]] = []
    thresholds: list[float] = []
    keys = [a.key for a in articles]
    for fold in range(folds):
        train = np.flatnonzero(assign != fold).tolist()
        test = np.flatnonzero(assign == fold).tolist()
        train_q = [questions[i] for i in train]
        train_g = [gold[i] for i in train]

        def build(
            subset: Sequence[int], tq: list[str] = train_q, tg: list[str] = train_g
        ) -> tuple[Index, NDArray[np.float32]]:
            learned: dict[str, list[str]] = defaultdict(list)
            counts: dict[str, int] = defaultdict(int)
            for i in subset:
                learned[tg[i]].append(tq[i])
                counts[tg[i]] += 1
            index = Index(
                entries(articles, learned), encoder=encoder, cache=cache, query_cache=cache
            )
            return index, prior_of(keys, counts)

        model = learn(build, train_q, train_g, seed=seed + fold)
        index, prior = build(range(len(train_q)))
        scores = index.signals([questions[i] for i in test])
        top, x = features(index, scores, prior)
        ranked = rerank(top, x, model.reranker)
        target = np.array([index.position[gold[i]] for i in test], dtype=np.int64)
        ranks.append(_ranks(ranked.rows, target))
        calibrator: Calibrator = model.calibrator
        confidence = calibrator.probability(evidence(ranked, scores, index))
        confident.append(confidence >= model.threshold)
        right.append(ranked.rows[:, 0] == target)
        thresholds.append(model.threshold)
    all_ranks = np.concatenate(ranks)
    sure = np.concatenate(confident)
    ok = np.concatenate(right)
    return {
        **_summary(all_ranks),
        "confident_precision": round(float(ok[sure].mean()), 4) if sure.any() else None,
        "confident_coverage": round(float(sure.mean()), 4),
        "confidence_threshold": round(float(np.mean(thresholds)), 3),
        "folds": folds,
    }

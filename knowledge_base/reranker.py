"""Learning from logged (question, article) pairs: a re-ranker and a calibrated confidence.

Why: the fixed fusion weights are a guess that holds across sets; the pairs a city logs
(the article an operator inserted for a caller's question, "helped" from a citizen) say
which signals matter for *its* articles and questions. Two small logistic regressions:

- the **re-ranker** scores each of the fused top ``CANDIDATES`` articles from its signals
  (raw, scaled, their gap to the best), the fused score and rank, and how often the
  article was the answer before (a prior the logged pairs give); on RuTube it adds about
  two points of top-1 over the fusion alone;
- the **calibrator** turns the best candidate's evidence (its score, the margin to the
  second, the raw cosines) into the probability that it is right. The bot answers on its
  own only above a threshold chosen on held-out folds for a target precision.

Both are fitted on *out-of-fold* signals (each logged question scored by an index that
did not learn from it), otherwise a question would find itself among the paraphrases
and every feature would look perfect. Pure: no database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression

from knowledge_base.retriever import SIGNALS, Index, Scores, _minmax, ranking

CANDIDATES = 20
MIN_PAIRS = 60  # fewer logged pairs than this: fusion and the default calibration
TARGET_PRECISION = 0.8

# Default calibration (no logged pairs yet): logistic coefficients over the calibrator's
# features (best score, margin, e5 question and passage cosines, character cosine), fitted on
# zero-shot runs of RuTube's 801 questions and our Almaty set (data/kb/questions.csv), the two
# weighted equally; the threshold 0.7 keeps precision ≥ 0.8 on both and on VTB's set, which
# took no part in the fit (RuTube 86 % right at 40 % coverage, VTB 85 % at 29 %, Almaty 99 %
# at 82 %; docs/knowledge-base.md). Logged pairs replace both by what a city's own data says.
DEFAULT_CALIBRATION: tuple[tuple[float, ...], float] = (
    (0.994, 8.919, 0.101, -0.670, 1.615),
    -1.224,
)
DEFAULT_THRESHOLD = 0.7


@dataclass(frozen=True)
class Ranked:
    """A batch's candidates (questions × CANDIDATES article rows), best first, and scores."""

    rows: NDArray[np.int64]
    scores: NDArray[np.float32]


def features(
    index: Index, scores: Scores, prior: NDArray[np.float32], k: int = CANDIDATES
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """The fused top ``k`` per question and their features (questions × k × features)."""
    fused = index.fuse(scores)
    top = ranking(fused, k)
    columns: list[NDArray[np.float32]] = []
    for name in SIGNALS:
        raw = scores.signals.get(name)
        if raw is None:
            raw = np.zeros_like(fused)
        picked = np.take_along_axis(raw, top, axis=1)
        columns += [
            picked,
            np.take_along_axis(_minmax(raw), top, axis=1),
            picked - raw.max(axis=1, keepdims=True),
        ]
    best = np.take_along_axis(fused, top, axis=1)
    columns += [
        best,
        best - best[:, :1],
        np.tile(np.log1p(np.arange(top.shape[1], dtype=np.float32)), (top.shape[0], 1)),
        prior[top],
    ]
    return top, np.stack(columns, axis=-1).astype(np.float32)


class Reranker:
    """A pointwise logistic regression over the fused candidates' features."""

    def __init__(self) -> None:
        self.model = LogisticRegression(C=1.0, max_iter=3000)
        self.mean: NDArray[np.float32] | None = None
        self.scale: NDArray[np.float32] | None = None

    def fit(self, x: NDArray[np.float32], y: NDArray[np.bool_]) -> Reranker:
        flat = x.reshape(-1, x.shape[-1])
        self.mean = flat.mean(axis=0)
        self.scale = flat.std(axis=0) + 1e-6
        self.model.fit((flat - self.mean) / self.scale, y.reshape(-1))
        return self

    def score(self, x: NDArray[np.float32]) -> NDArray[np.float32]:
        assert self.mean is not None
        assert self.scale is not None
        flat = (x.reshape(-1, x.shape[-1]) - self.mean) / self.scale
        p = self.model.predict_proba(flat)[:, 1]
        return np.asarray(p, dtype=np.float32).reshape(x.shape[:-1])


def rerank(top: NDArray[np.int64], x: NDArray[np.float32], reranker: Reranker | None) -> Ranked:
    """The candidates in the re-ranker's order (or the fusion's, with no re-ranker)."""
    if reranker is None:
        fused = x[:, :, len(SIGNALS) * 3]
        return Ranked(top, fused.astype(np.float32))
    p = reranker.score(x)
    order = np.argsort(-p, axis=1, kind="stable")
    return Ranked(np.take_along_axis(top, order, axis=1), np.take_along_axis(p, order, axis=1))


def evidence(ranked: Ranked, scores: Scores, index: Index) -> NDArray[np.float32]:
    """The calibrator's features of each question's best candidate."""
    first = ranked.rows[:, 0]
    rows = np.arange(len(first))
    second = ranked.scores[:, 1] if ranked.scores.shape[1] > 1 else np.zeros(len(first))
    zero = np.zeros(len(first), dtype=np.float32)
    e5_q = scores.signals.get("e5_q")
    e5_p = scores.signals.get("e5_p")
    return np.stack(
        [
            ranked.scores[:, 0],
            ranked.scores[:, 0] - second,
            e5_q[rows, first] if e5_q is not None else zero,
            e5_p[rows, first] if e5_p is not None else zero,
            scores.signals["char"][rows, first],
        ],
        axis=1,
    ).astype(np.float32)


class Calibrator:
    """P(the best candidate is right) from its evidence."""

    def __init__(self, coef: Sequence[float] | None = None, intercept: float | None = None) -> None:
        self.coef = np.asarray(coef if coef is not None else DEFAULT_CALIBRATION[0], np.float64)
        self.intercept = float(intercept if intercept is not None else DEFAULT_CALIBRATION[1])

    def fit(self, x: NDArray[np.float32], correct: NDArray[np.bool_]) -> Calibrator:
        if correct.all() or not correct.any():
            return self  # nothing to learn from one class: keep the defaults
        model = LogisticRegression(C=1.0, max_iter=3000).fit(x, correct)
        self.coef = model.coef_[0].astype(np.float64)
        self.intercept = float(model.intercept_[0])
        return self

    def probability(self, x: NDArray[np.float32]) -> NDArray[np.float32]:
        z = x.astype(np.float64) @ self.coef + self.intercept
        return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)


def threshold_for(
    confidence: NDArray[np.float32], correct: NDArray[np.bool_], target: float
) -> float:
    """The lowest confidence above which answers are right at least ``target`` of the time
    (on these held-out answers), keeping coverage as large as that allows; 1.01 (never
    answer alone) when no threshold reaches the target."""
    order = np.argsort(-confidence, kind="stable")
    hits = np.cumsum(correct[order])
    precision = hits / np.arange(1, len(order) + 1)
    ok = np.flatnonzero(precision >= target)
    # Require a handful of answers above the threshold, or one lucky answer passes.
    ok = ok[ok >= min(9, len(order) - 1)]
    if len(ok) == 0:
        return 1.01
    return float(confidence[order[ok[-1]]])


@dataclass
class Learned:
    """What the logged pairs taught: the re-ranker, the calibration and its threshold."""

    reranker: Reranker | None
    calibrator: Calibrator
    threshold: float
    pairs: int


def learn(
    build: Callable[[Sequence[int]], tuple[Index, NDArray[np.float32]]],
    questions: Sequence[str],
    gold: Sequence[str],
    *,
    folds: int = 3,
    seed: int = 0,
    target: float = TARGET_PRECISION,
) -> Learned:
    """Fit the re-ranker and the calibrator on out-of-fold signals of the logged pairs.

    ``build(train)`` gives an index that learned the pairs at positions ``train`` (as
    paraphrases) and the articles' prior; each fold's questions are then asked of the index
    built without them.
    """
    n = len(questions)
    if n < MIN_PAIRS:
        return Learned(None, Calibrator(), DEFAULT_THRESHOLD, n)
    assign = np.random.default_rng(seed).permutation(n) % folds
    xs: list[NDArray[np.float32]] = []
    ys: list[NDArray[np.bool_]] = []
    held: list[tuple[Index, Scores, NDArray[np.int64], NDArray[np.float32], NDArray[np.int64]]] = []
    for fold in range(folds):
        train = np.flatnonzero(assign != fold).tolist()
        test = np.flatnonzero(assign == fold).tolist()
        index, prior = build(train)
        known = [i for i in test if gold[i] in index.position]
        if not known:
            continue
        scores = index.signals([questions[i] for i in known])
        target_rows = np.array([index.position[gold[i]] for i in known], dtype=np.int64)
        top, x = features(index, scores, prior)
        xs.append(x)
        ys.append(top == target_rows[:, None])
        held.append((index, scores, top, x, target_rows))
    if not xs:
        return Learned(None, Calibrator(), DEFAULT_THRESHOLD, n)
    reranker = Reranker().fit(np.concatenate(xs), np.concatenate(ys))
    ev: list[NDArray[np.float32]] = []
    ok: list[NDArray[np.bool_]] = []
    for index, scores, top, x, target_rows in held:
        ranked = rerank(top, x, reranker)
        ev.append(evidence(ranked, scores, index))
        ok.append(ranked.rows[:, 0] == target_rows)
    calibrator = Calibrator().fit(np.concatenate(ev), np.concatenate(ok))
    confidence = calibrator.probability(np.concatenate(ev))
    threshold = threshold_for(confidence, np.concatenate(ok), target)
    return Learned(reranker, calibrator, threshold, n)


def prior_of(keys: Sequence[str], counts: Mapping[str, int]) -> NDArray[np.float32]:
    """log(1 + times each article was the answer) in index order."""
    return np.log1p(np.array([counts.get(key, 0) for key in keys], dtype=np.float32))

"""Honest figures for a topic engine: held-out split, k-fold, or a separate test file.

The numbers a city needs before trusting the machine with routing: top-1
accuracy, macro-F1 (rare classes count as much as frequent ones), top-3 accuracy
(is the right answer among the operator's three suggestions), a per-class report
and the pairs of classes it confuses most. Everything is computed on predictions
for texts the model did not see while training.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from collections.abc import Sequence

from sklearn.model_selection import KFold

from nlp.engine import DEFAULT_ENGINE, Prediction
from nlp.engines import make_classifier

CONFUSION_PAIRS = 15


def classification_report(
    truth: Sequence[str], predictions: Sequence[Prediction]
) -> dict[str, object]:
    """Metrics for predictions against the true labels (same order)."""
    if len(truth) != len(predictions):
        raise ValueError("truth and predictions differ in length")
    n = len(truth)
    if n == 0:
        raise ValueError("nothing to evaluate: no test texts")
    predicted = [p.label for p in predictions]
    correct = sum(t == p for t, p in zip(truth, predicted, strict=True))
    top3 = sum(
        t in {label for label, _ in p.alternatives[:3]}
        for t, p in zip(truth, predictions, strict=True)
    )
    support = Counter(truth)
    predicted_count = Counter(predicted)
    hits = Counter(t for t, p in zip(truth, predicted, strict=True) if t == p)
    per_class: dict[str, dict[str, float | int]] = {}
    for label in sorted(set(truth) | set(predicted)):
        tp = hits[label]
        precision = tp / predicted_count[label] if predicted_count[label] else 0.0
        recall = tp / support[label] if support[label] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": support[label],
        }
    f1s = [scores["f1"] for scores in per_class.values()]
    supported = [scores for scores in per_class.values() if scores["support"]]
    weighted_f1 = sum(float(s["f1"]) * int(s["support"]) for s in supported) / n
    confusions = Counter(
        (t, p) for t, p in zip(truth, predicted, strict=True) if t != p
    ).most_common(CONFUSION_PAIRS)
    confidences = [p.confidence for p in predictions]
    right = [p.confidence for t, p in zip(truth, predictions, strict=True) if t == p.label]
    wrong = [p.confidence for t, p in zip(truth, predictions, strict=True) if t != p.label]
    return {
        "n_test": n,
        "accuracy": round(correct / n, 4),
        "macro_f1": round(sum(f1s) / len(f1s), 4),
        "weighted_f1": round(weighted_f1, 4),
        "top3_accuracy": round(top3 / n, 4),
        "majority_rate": round(support.most_common(1)[0][1] / n, 4),
        "n_labels_test": len(support),
        "mean_confidence": round(sum(confidences) / n, 4),
        "mean_confidence_correct": round(sum(right) / len(right), 4) if right else None,
        "mean_confidence_wrong": round(sum(wrong) / len(wrong), 4) if wrong else None,
        "expected_calibration_error": round(_calibration_error(truth, predictions), 4),
        "triage_thresholds": triage_thresholds(truth, predictions),
        "per_class": per_class,
        "confusion_pairs": [
            {"true": t, "predicted": p, "count": count} for (t, p), count in confusions
        ],
    }


TARGET_PRECISIONS = (0.8, 0.85, 0.9, 0.95)


def triage_thresholds(
    truth: Sequence[str],
    predictions: Sequence[Prediction],
    targets: Sequence[float] = TARGET_PRECISIONS,
) -> list[dict[str, float | None]]:
    """For each target precision: the lowest confidence at which the appeals routed without an
    operator (confidence ≥ it) are still right that often, and the share so routed. This is
    how ``CIVICDESK_ROUTING_MIN_CONFIDENCE`` is chosen from a city's own history."""
    outcomes = [(p.confidence, t == p.label) for t, p in zip(truth, predictions, strict=True)]
    ranked = sorted(outcomes, key=lambda pair: -pair[0])
    rows: list[dict[str, float | None]] = []
    for target in targets:
        best: tuple[float, int, float] | None = None
        right = 0
        for count, (confidence, ok) in enumerate(ranked, start=1):
            right += ok
            ties = count < len(ranked) and ranked[count][0] == confidence
            if not ties and right / count >= target:
                best = (confidence, count, right / count)
        rows.append(
            {
                "target_precision": target,
                "min_confidence": round(best[0], 4) if best else None,
                "routed_share": round(best[1] / len(ranked), 4) if best else 0.0,
                "precision": round(best[2], 4) if best else None,
            }
        )
    return rows


def _calibration_error(truth: Sequence[str], predictions: Sequence[Prediction]) -> float:
    """Expected calibration error over 10 confidence bins: |accuracy - confidence| weighted."""
    bins: list[list[tuple[float, bool]]] = [[] for _ in range(10)]
    for t, p in zip(truth, predictions, strict=True):
        bins[min(9, int(p.confidence * 10))].append((p.confidence, t == p.label))
    total = len(truth)
    error = 0.0
    for members in bins:
        if members:
            accuracy = sum(ok for _, ok in members) / len(members)
            confidence = sum(c for c, _ in members) / len(members)
            error += len(members) / total * abs(accuracy - confidence)
    return error


def _timed_predict(
    texts: Sequence[str],
    train_texts: Sequence[str],
    train_labels: Sequence[str],
    *,
    engine: str,
    options: dict[str, object],
) -> tuple[list[Prediction], float, float]:
    classifier = make_classifier(engine, **options)
    started = time.perf_counter()
    classifier.fit(train_texts, train_labels)
    trained = time.perf_counter()
    predictions = classifier.predict(texts, top_k=3)
    return predictions, trained - started, time.perf_counter() - trained


def evaluate_split(
    train_texts: Sequence[str],
    train_labels: Sequence[str],
    test_texts: Sequence[str],
    test_labels: Sequence[str],
    *,
    engine: str = DEFAULT_ENGINE,
    **options: object,
) -> dict[str, object]:
    """Train on one set, report on another (a city's separate test file)."""
    predictions, fit_s, predict_s = _timed_predict(
        test_texts, train_texts, train_labels, engine=engine, options=options
    )
    report = classification_report(test_labels, predictions)
    seen = set(train_labels)
    return {
        "engine": engine,
        "protocol": "train/test files",
        "n_train": len(train_texts),
        "n_labels_train": len(seen),
        "test_rows_label_unseen_in_train": sum(label not in seen for label in test_labels),
        **report,
        "train_seconds": round(fit_s, 3),
        "texts_per_second": round(len(test_texts) / predict_s, 1) if predict_s else None,
    }


def cross_validate(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    folds: int = 5,
    seed: int = 0,
    engine: str = DEFAULT_ENGINE,
    **options: object,
) -> dict[str, object]:
    """KFold(shuffle, seed): every text predicted once by a model that did not see it.

    Plain (not stratified) folds: real histories hold classes with a single
    example, which stratified folds cannot place. Metrics are over the pooled
    out-of-fold predictions; per-fold accuracies show the spread.
    """
    if folds < 2:
        raise ValueError("cross-validation needs at least 2 folds")
    if len(texts) < folds:
        raise ValueError(f"{len(texts)} texts cannot make {folds} folds")
    predictions: list[Prediction | None] = [None] * len(texts)
    fold_accuracy: list[float] = []
    fit_total = predict_total = 0.0
    splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(list(range(len(texts)))):
        fold_predictions, fit_s, predict_s = _timed_predict(
            [texts[i] for i in test],
            [texts[i] for i in train],
            [labels[i] for i in train],
            engine=engine,
            options=options,
        )
        fit_total += fit_s
        predict_total += predict_s
        for i, prediction in zip(test, fold_predictions, strict=True):
            predictions[i] = prediction
        fold_accuracy.append(
            sum(labels[i] == p.label for i, p in zip(test, fold_predictions, strict=True))
            / len(test)
        )
    pooled = [p for p in predictions if p is not None]
    report = classification_report(labels, pooled)
    mean = sum(fold_accuracy) / folds
    spread = math.sqrt(sum((a - mean) ** 2 for a in fold_accuracy) / folds)
    return {
        "engine": engine,
        "protocol": f"{folds}-fold cross-validation (KFold, shuffle, seed {seed})",
        "folds": folds,
        "seed": seed,
        "n_labels_train": len(set(labels)),
        **report,
        "fold_accuracy": [round(a, 4) for a in fold_accuracy],
        "fold_accuracy_std": round(spread, 4),
        "train_seconds": round(fit_total / folds, 3),
        "texts_per_second": round(len(texts) / predict_total, 1) if predict_total else None,
    }


def holdout_split(
    labels: Sequence[str], *, holdout: float = 0.2, seed: int = 0
) -> tuple[list[int], list[int]]:
    """Indices (train, test), stratified where possible: each class with ≥2 examples sends
    about ``holdout`` of them to test (stochastic rounding, at least one stays in train);
    classes with a single example train only."""
    if not 0 < holdout < 1:
        raise ValueError("holdout must be between 0 and 1")
    rng = random.Random(seed)  # noqa: S311 - a reproducible split, not a secret
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    train: list[int] = []
    test: list[int] = []
    for label in sorted(by_label):
        members = by_label[label]
        rng.shuffle(members)
        n_test = 0
        if len(members) >= 2:
            n_test = min(len(members) - 1, math.floor(len(members) * holdout + rng.random()))
        test.extend(members[:n_test])
        train.extend(members[n_test:])
    return sorted(train), sorted(test)


def evaluate_holdout(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    engine: str = DEFAULT_ENGINE,
    holdout: float = 0.2,
    seed: int = 0,
    **options: object,
) -> dict[str, object]:
    """The figures stored with a model: one stratified-where-possible held-out split.

    The per-class report and the confusion pairs are kept short here (the
    model's metadata is not an evaluation dump); ``civicdesk nlp eval`` prints them in full.
    """
    train, test = holdout_split(labels, holdout=holdout, seed=seed)
    if not test:
        return {"protocol": "held-out split", "skipped": "too few examples per label"}
    report = evaluate_split(
        [texts[i] for i in train],
        [labels[i] for i in train],
        [texts[i] for i in test],
        [labels[i] for i in test],
        engine=engine,
        **options,
    )
    report["protocol"] = f"held-out {holdout:.0%} (stratified where possible, seed {seed})"
    report.pop("per_class", None)
    return report

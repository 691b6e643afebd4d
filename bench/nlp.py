"""Topic classification throughput and per-appeal latency of the default engine, one core.

    python bench/nlp.py [--runs 5] [--latency-texts 300] [--short-texts 5000]

Two workloads:
- ``kursk``: trained on the Kursk hackathon train.csv (topic), classifying the
  1,000 texts of its test file (long, ~61% with HTML), from
  ../shared/datasets/kursk-appeals-cp2022 (skipped, with a reason, when absent);
- ``short``: the production model — the one the app serves, trained on
  data/nlp/corpus.csv (``nlp.topic.get_model()``: the configured model directory,
  trained there first when empty) — classifying the corpus's short appeals (≤ 80
  characters), repeated to ``--short-texts``.

``texts_per_second`` is a batch ``predict`` (what ``nlp eval`` and re-scoring do), the
median of ``--runs`` steady passes; ``cold_texts_per_second`` is the first pass, before
any of them (what the first batch after a worker starts sees). ``p95_ms`` is the 95th
percentile of single-text ``predict`` calls (what the pipeline does per appeal),
``cold_first_call_ms`` the very first one. BLAS/OpenMP threads are pinned to 1 and the
process to one CPU before NumPy loads. Prints JSON.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nlp.datasets import read_labeled_csv  # noqa: E402
from nlp.engine import TopicClassifier  # noqa: E402
from nlp.engines import make_classifier  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
KURSK = REPO.parent / "shared" / "datasets" / "kursk-appeals-cp2022"
TARGETS = {"short_texts_per_second": 5000, "kursk_texts_per_second": 2000}


def _measure(
    classifier: TopicClassifier,
    texts: Sequence[str],
    *,
    runs: int,
    latency_texts: int,
) -> dict[str, object]:
    probe = list(texts[:latency_texts])
    started = time.perf_counter()
    classifier.predict([probe[0]])
    cold_first_call = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    classifier.predict(texts)
    cold = len(texts) / (time.perf_counter() - started)
    rates = []
    for _ in range(runs):
        started = time.perf_counter()
        classifier.predict(texts)
        rates.append(len(texts) / (time.perf_counter() - started))
    latencies = []
    for _ in range(runs):
        for text in probe:
            started = time.perf_counter()
            classifier.predict([text])
            latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    return {
        "texts": len(texts),
        "mean_chars": round(sum(len(t) for t in texts) / len(texts)),
        "texts_per_second": round(statistics.median(rates)),
        "texts_per_second_runs": [round(r) for r in rates],
        "cold_texts_per_second": round(cold),
        "cold_first_call_ms": round(cold_first_call, 3),
        "p50_ms": round(latencies[len(latencies) // 2], 3),
        "p95_ms": round(latencies[int(len(latencies) * 0.95)], 3),
    }


def _kursk(args: argparse.Namespace) -> dict[str, object]:
    train_csv, test_csv = args.kursk / "train.csv", args.kursk / "test_unlabeled.csv"
    if not train_csv.is_file() or not test_csv.is_file():
        return {"skipped": f"dataset not found in {args.kursk}"}
    train = read_labeled_csv(train_csv, text_columns="Текст Сообщения", label_column="Тематика")
    test = read_labeled_csv(test_csv, text_columns="Текст Сообщения", label_column="Тематика")
    classifier = make_classifier()
    started = time.perf_counter()
    classifier.fit(train.texts, train.labels)
    trained = time.perf_counter() - started
    figures = _measure(classifier, test.texts, runs=args.runs, latency_texts=args.latency_texts)
    return {"train_texts": len(train.texts), "train_seconds": round(trained, 2), **figures}


def _short(args: argparse.Namespace) -> dict[str, object]:
    from core.settings import get_settings
    from nlp import topic
    from nlp.corpus import load_corpus

    settings = get_settings()
    started = time.perf_counter()
    loaded = topic.get_model(settings)  # loads the served model (trains it first if none)
    loaded_s = time.perf_counter() - started
    texts = [row.text for row in load_corpus(settings.data_dir) if len(row.text) <= 80]
    workload = [texts[i % len(texts)] for i in range(args.short_texts)]
    figures = _measure(
        loaded.classifier, workload, runs=args.runs, latency_texts=args.latency_texts
    )
    return {
        "model": {
            "directory": str(loaded.directory),
            "version": loaded.metadata.version,
            "engine": loaded.metadata.engine,
            "trained_on": loaded.metadata.trained_on.get("corpus"),
        },
        "load_or_train_seconds": round(loaded_s, 2),
        "distinct_texts": len(texts),
        **figures,
    }


def _rate(figures: dict[str, object]) -> float:
    return float(str(figures.get("texts_per_second", 0)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--latency-texts", type=int, default=300)
    parser.add_argument("--short-texts", type=int, default=5000)
    parser.add_argument("--kursk", type=Path, default=KURSK, help="dataset directory")
    parser.add_argument("--no-pin", action="store_true", help="do not pin to one CPU")
    args = parser.parse_args()
    if not args.no_pin and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    kursk = _kursk(args)
    short = _short(args)
    result = {
        "engine": "tfidf-linear",
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "kursk": kursk,
        "short": short,
        "targets": TARGETS,
        "meets_targets": {
            "short": _rate(short) >= TARGETS["short_texts_per_second"],
            "kursk": _rate(kursk) >= TARGETS["kursk_texts_per_second"],
        },
    }
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

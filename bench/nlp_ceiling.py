"""How far can the main job's engine go? Issue 19's accuracy goals against what is in reach.

    python bench/nlp_ceiling.py [--tasks ryazan-category,ryazan-executor,kursk-topic,kursk-executor]
                                [--encoder-chars 200] [--shares 0.02,0.05,0.1,0.2,0.5]

Issue 19 asks for Ryazan category ≥ 75 %, executor ≥ 68 %, Kursk topic ≥ 65 %, executor
≥ 58 % *with the engine the main job runs*, which must keep p95 ≤ 100 ms per appeal and
≥ 200 appeals/s in batches on one core (bench/nlp_engines.py). This bench measures, on the
same protocols as ``civicdesk nlp eval`` (Ryazan: ``KFold(5, shuffle, seed 0)``; Kursk:
train.csv → the test file), what each way of spending that budget buys:

- ``tfidf-linear`` (the default) and ``tfidf-e5`` (every appeal through the encoder);
- a **cascade**: ``tfidf-e5`` only for the ``share`` of appeals the default is least sure
  of. The encoder reads ``--encoder-chars`` characters so that one call stays under the
  100 ms p95; its CPU time per text is measured here, which gives the largest share that
  keeps 200 appeals/s (``max_share_for_200_per_s``);
- a **static word-vector block**: natasha's navec vectors (idf-weighted mean, unit length,
  times 1 or 1.5) added to the TF-IDF blocks: no encoder, microseconds per appeal;
- what the **labels allow**: the executor given the *true* category / theme / topic (the
  majority executor of each; Ryazan in-sample, Kursk from train.csv applied to the test
  file). A text model that knew the topic perfectly would score this on the executor.

Top-1 of the navec variant comes from the engine's own features and a LinearSVC with its
options (calibration does not change top-1). Datasets are read from ``../shared/datasets``;
absent: a JSON line saying so. About 25 minutes on one core (the encoder embeds ~4,700 texts).
Not in ``make bench``. Prints JSON.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from numpy.typing import NDArray  # noqa: E402
from scipy import sparse  # noqa: E402
from sklearn.model_selection import KFold  # noqa: E402
from sklearn.svm import LinearSVC  # noqa: E402

from nlp import embedding_engine  # noqa: E402
from nlp.calibration import expected_calibration_error  # noqa: E402
from nlp.datasets import read_labeled_csv  # noqa: E402
from nlp.engines import make_classifier  # noqa: E402
from nlp.sklearn_engine import TfidfLinearClassifier  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DATASETS = REPO.parent / "shared" / "datasets"
RYAZAN = DATASETS / "ryazan-nashdom-2019" / "appeals.csv"
KURSK_TRAIN = DATASETS / "kursk-appeals-cp2022" / "train.csv"
KURSK_TEST = DATASETS / "kursk-appeals-cp2022" / "test_unlabeled.csv"
KURSK_TEXT = "Текст Сообщения"
GOALS = {
    "ryazan-category": 75.0,
    "ryazan-executor": 68.0,
    "kursk-topic": 65.0,
    "kursk-executor": 58.0,
}
BATCH_BUDGET_MS = 1000 / 200  # ≥ 200 appeals/s on one core
NAVEC_WEIGHTS = (1.0, 1.5)
_WORD = re.compile(r"[а-яё]+")


@dataclass
class Split:
    train_texts: list[str]
    train_labels: list[str]
    test_texts: list[str]
    test_labels: list[str]


def _splits(task: str) -> list[Split]:
    if task.startswith("ryazan-"):
        data = read_labeled_csv(RYAZAN, text_columns="text", label_column=task.split("-")[1])
        texts, labels = list(data.texts), list(data.labels)
        folds = KFold(n_splits=5, shuffle=True, random_state=0).split(texts)
        return [
            Split(
                [texts[i] for i in train],
                [labels[i] for i in train],
                [texts[i] for i in test],
                [labels[i] for i in test],
            )
            for train, test in folds
        ]
    column = {"kursk-topic": "Тематика", "kursk-executor": "Ответственное лицо"}[task]
    train = read_labeled_csv(KURSK_TRAIN, text_columns=KURSK_TEXT, label_column=column)
    test = read_labeled_csv(KURSK_TEST, text_columns=KURSK_TEXT, label_column=column)
    return [Split(list(train.texts), list(train.labels), list(test.texts), list(test.labels))]


class NavecBlock:
    """idf-weighted mean of navec word vectors, unit length: a static-vector feature block."""

    def __init__(self) -> None:
        import natasha
        from navec import Navec  # type: ignore[import-untyped]

        archive = Path(natasha.__file__).parent / "data" / "emb"
        self._navec = Navec.load(str(next(archive.glob("navec_*.tar"))))
        self._vectors: dict[str, NDArray[np.float32] | None] = {}

    def _vector(self, word: str) -> NDArray[np.float32] | None:
        if word not in self._vectors:
            self._vectors[word] = self._navec.get(word)
        return self._vectors[word]

    def features(self, texts: Sequence[str], idf: dict[str, float]) -> NDArray[np.float32]:
        out = np.zeros((len(texts), 300), dtype=np.float32)
        for row, text in enumerate(texts):
            total = np.zeros(300, dtype=np.float64)
            for word in _WORD.findall(text.lower().replace("ё", "е")):
                vector = self._vector(word)
                if vector is not None:
                    total += idf.get(word, 1.0) * vector
            norm = float(np.linalg.norm(total))
            if norm > 0:
                out[row] = total / norm
        return out


def _idf(texts: Sequence[str]) -> dict[str, float]:
    frequency = Counter(
        w for text in texts for w in set(_WORD.findall(text.lower().replace("ё", "е")))
    )
    n = len(texts)
    return {word: float(np.log((n + 1) / (df + 1)) + 1) for word, df in frequency.items()}


def _navec_predictions(split: Split, block: NavecBlock) -> dict[float, list[str]]:
    light = TfidfLinearClassifier()
    word, char = light._vectorizers()
    train = light._normalize(split.train_texts)
    test = light._normalize(split.test_texts)
    a = sparse.hstack([word.fit_transform(train), char.fit_transform(train)], format="csr")
    b = sparse.hstack([word.transform(test), char.transform(test)], format="csr")
    idf = _idf(split.train_texts)
    dense_a = block.features(split.train_texts, idf)
    dense_b = block.features(split.test_texts, idf)
    out: dict[float, list[str]] = {}
    for weight in NAVEC_WEIGHTS:
        model = LinearSVC(C=float(light.options["C"]), class_weight="balanced", max_iter=5000)
        model.fit(
            sparse.hstack([a, sparse.csr_matrix(dense_a * weight)], format="csr"),
            split.train_labels,
        )
        features = sparse.hstack([b, sparse.csr_matrix(dense_b * weight)], format="csr")
        out[weight] = [str(label) for label in model.predict(features)]
    return out


def _label_oracle(task: str) -> dict[str, float]:
    """Executor accuracy a perfect topic would allow (majority executor per true topic)."""
    import csv

    def majority(rows: list[dict[str, str]], key: str, label: str) -> dict[str, str]:
        groups: dict[str, Counter[str]] = defaultdict(Counter)
        for row in rows:
            groups[row[key]][row[label]] += 1
        return {key: counts.most_common(1)[0][0] for key, counts in groups.items()}

    if task == "ryazan-executor":
        with RYAZAN.open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        out = {}
        for key in ("category", "theme"):
            best = majority(rows, key, "executor")
            hits = sum(best[row[key]] == row["executor"] for row in rows)
            out[f"executor_given_true_{key}"] = round(100 * hits / len(rows), 1)
        return out
    if task == "kursk-executor":
        with KURSK_TRAIN.open(encoding="utf-8") as handle:
            train = list(csv.DictReader(handle))
        with KURSK_TEST.open(encoding="utf-8") as handle:
            test = list(csv.DictReader(handle))
        best = majority(train, "Тематика", "Ответственное лицо")
        hits = sum(best.get(row["Тематика"]) == row["Ответственное лицо"] for row in test)
        return {"executor_given_true_topic": round(100 * hits / len(test), 1)}
    return {}


def _embed_cost_ms(texts: Sequence[str], chars: int) -> float:
    """CPU milliseconds per text the encoder spends (every text new to the process)."""
    embedding_engine.embed(["прогрев кодировщика"], max_chars=chars)  # the model loads once
    embedding_engine._cache.clear()
    started = time.process_time()
    embedding_engine.embed(texts, max_chars=chars)
    return 1000 * (time.process_time() - started) / max(len(texts), 1)


def _task(task: str, args: argparse.Namespace, navec: NavecBlock) -> dict[str, Any]:
    splits = _splits(task)
    every_text = list(dict.fromkeys(t for s in splits for t in (*s.train_texts, *s.test_texts)))
    encoder_ms = _embed_cost_ms(every_text, args.encoder_chars)
    truth: list[str] = []
    light: list[tuple[str, float]] = []
    heavy: list[tuple[str, float]] = []
    static: dict[float, list[str]] = defaultdict(list)
    light_cpu = 0.0
    for split in splits:
        truth += split.test_labels
        default = make_classifier("tfidf-linear")
        default.fit(split.train_texts, split.train_labels)
        started = time.process_time()
        light += [(p.label, p.confidence) for p in default.predict(split.test_texts, top_k=1)]
        light_cpu += time.process_time() - started
        encoder = make_classifier("tfidf-e5", embedding_chars=args.encoder_chars)
        encoder.fit(split.train_texts, split.train_labels)
        heavy += [(p.label, p.confidence) for p in encoder.predict(split.test_texts, top_k=1)]
        for weight, labels in _navec_predictions(split, navec).items():
            static[weight] += labels
    y = np.array(truth)
    light_label = np.array([label for label, _ in light])
    light_conf = np.array([conf for _, conf in light])
    heavy_label = np.array([label for label, _ in heavy])
    heavy_conf = np.array([conf for _, conf in heavy])
    order = np.argsort(light_conf, kind="stable")
    cascade: dict[str, Any] = {}
    for share in args.shares:
        routed = np.zeros(len(y), dtype=bool)
        routed[order[: round(share * len(y))]] = True
        label = np.where(routed, heavy_label, light_label)
        confidence = np.where(routed, heavy_conf, light_conf)
        cascade[f"{share:g}"] = {
            "accuracy": round(100 * float((label == y).mean()), 1),
            "expected_calibration_error": round(
                expected_calibration_error(confidence.astype(np.float64), label == y), 4
            ),
        }
    light_ms = 1000 * light_cpu / len(y)
    return {
        "n_test": len(y),
        "goal": GOALS[task],
        "tfidf_linear": round(100 * float((light_label == y).mean()), 1),
        "tfidf_e5_every_appeal": round(100 * float((heavy_label == y).mean()), 1),
        "cascade_by_share": cascade,
        "encoder_cpu_ms_per_text": round(encoder_ms, 1),
        "light_cpu_ms_per_text": round(light_ms, 2),
        "max_share_for_200_per_s": round(max(0.0, BATCH_BUDGET_MS - light_ms) / encoder_ms, 3),
        "navec_block": {
            f"weight_{w:g}": round(100 * float((np.array(static[w]) == y).mean()), 1)
            for w in NAVEC_WEIGHTS
        },
        "labels_allow": _label_oracle(task),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=",".join(GOALS))
    parser.add_argument("--encoder-chars", type=int, default=200)
    parser.add_argument("--shares", default="0.02,0.05,0.1,0.2,0.5")
    parser.add_argument("--no-pin", action="store_true", help="do not pin to one CPU")
    args = parser.parse_args()
    args.shares = [float(share) for share in args.shares.split(",")]
    tasks = args.tasks.split(",")
    unknown = sorted(set(tasks) - set(GOALS))
    if unknown:
        parser.error(f"unknown task(s) {', '.join(unknown)}; choose from {', '.join(GOALS)}")
    missing = [str(p) for p in (RYAZAN, KURSK_TRAIN, KURSK_TEST) if not p.is_file()]
    if missing:
        print(json.dumps({"benchmark": "nlp_ceiling", "skipped": f"not found: {missing}"}))
        return 0
    if not args.no_pin and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    navec = NavecBlock()
    result: dict[str, Any] = {
        "benchmark": "nlp_ceiling",
        "encoder_chars": args.encoder_chars,
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
    for task in tasks:
        started = time.monotonic()
        result[task] = _task(task, args, navec)
        result[task]["seconds"] = round(time.monotonic() - started)
        print(json.dumps({task: result[task]}, ensure_ascii=False), file=sys.stderr, flush=True)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

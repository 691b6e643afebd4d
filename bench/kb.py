"""The knowledge base's search on one core: per-question latency and index build time.

    python bench/kb.py [--articles 10000] [--small 1000] [--questions 200] [--runs 3]

Builds synthetic article sets of 10,000 and 1,000 articles (titles and answers recombined,
seeded, from the example Almaty articles and, when ../shared/datasets is there, the RuTube
and VTB support answers, so lengths and vocabulary are real), indexes each with the
retriever the app uses (e5 + TF-IDF, the re-ranker's features and the calibrated confidence)
and asks real questions (RuTube users' questions, or our Almaty set), one at a time, on one
core (one OpenMP thread, CPU affinity to one core). Prints JSON: top-level ``p50_ms`` and
``p95_ms`` per question and ``index_build_s`` for the large set, the same under ``small``,
medians of ``--runs`` runs.

What ``index_build_s`` is: the build from stored article vectors, as the app does it
(``kb_embeddings`` keeps every article text's e5 vector, computed once when the text is
saved): TF-IDF fitting, lemmatising, stacking the vectors. Encoding 20,000 texts with e5 on
one core takes far longer than a build (``encode_ms_per_text``, measured on real article
texts, and ``cold_encode_s_estimate`` say how long), so the bench does not encode the
synthetic articles: their vectors are random unit vectors, which cost the search exactly
what real ones do. Each question *is* encoded with e5, as in the app.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import yaml

from knowledge_base.encoder import DIM, E5Encoder, VectorCache, prepare, text_key
from knowledge_base.reranker import Calibrator, evidence, features, rerank
from knowledge_base.retriever import PASSAGE_CHARS, QUESTION_CHARS, Entry, Index

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT.parent / "shared" / "datasets"


def _pools() -> tuple[list[str], list[str], list[str]]:
    """Titles, answer sentences and questions from the example articles and real sets."""
    titles: list[str] = []
    sentences: list[str] = []
    questions: list[str] = []
    for article in yaml.safe_load((ROOT / "data" / "kb" / "articles.yaml").read_text()):
        titles += [article["title_ru"], article["title_kk"]]
        for body in (article["body_ru"], article["body_kk"], *article.get("steps_ru", [])):
            sentences += [s.strip() + "." for s in body.split(". ") if len(s) > 20]
    rutube = DATASETS / "rutube-support-faq-cp2024"
    if (rutube / "knowledge_base.csv").exists():
        with (rutube / "knowledge_base.csv").open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                titles.append(row["Вопрос из БЗ"])
                sentences += [
                    s.strip() + "." for s in row["Ответ из БЗ"].split(". ") if len(s) > 20
                ]
        with (rutube / "real_cases.csv").open(encoding="utf-8") as handle:
            questions = [row["Вопрос пользователя"] for row in csv.DictReader(handle)]
    vtb = DATASETS / "vtb-belarus-faq-t1-2025" / "faq.csv"
    if vtb.exists():
        with vtb.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                titles.append(row["Пример вопроса"])
                sentences += [
                    s.strip() + "." for s in row["Шаблонный ответ"].split(". ") if len(s) > 20
                ]
    if not questions:
        with (ROOT / "data" / "kb" / "questions.csv").open(encoding="utf-8") as handle:
            questions = [row["question"] for row in csv.DictReader(handle)]
    return titles, sentences, questions


def _articles(n: int, titles: list[str], sentences: list[str], seed: int) -> list[Entry]:
    rng = random.Random(seed)
    districts = ["Алмалинский", "Бостандыкский", "Медеуский", "Ауэзовский", "Турксибский"]
    out = []
    for i in range(n):
        title = f"{rng.choice(titles)} ({rng.choice(districts)}, {i})"
        body = " ".join(rng.sample(sentences, k=min(len(sentences), rng.randint(2, 5))))
        out.append(Entry(str(i), (title,), (f"{title}\n{body}",)))
    return out


def _fake_vectors(entries: list[Entry], cache: VectorCache, name: str, seed: int) -> None:
    """Random unit vectors under the keys the index will look up (see the docstring)."""
    rng = np.random.default_rng(seed)
    for entry in entries:
        for kind, texts, chars in (
            ("query", entry.questions, QUESTION_CHARS),
            ("passage", entry.texts, PASSAGE_CHARS),
        ):
            for text in texts:
                vector = rng.standard_normal(DIM).astype(np.float32)
                cache.update(
                    [(text_key(kind, prepare(text, chars), name), vector / np.linalg.norm(vector))]
                )  # type: ignore[arg-type]


def _ask(index: Index, question: str, calibrator: Calibrator) -> float:
    """One question as the app's search asks it: signals, fusion, features, confidence."""
    prior = np.zeros(len(index.entries), dtype=np.float32)
    scores = index.signals([question])
    top, x = features(index, scores, prior)
    ranked = rerank(top, x, None)
    return float(calibrator.probability(evidence(ranked, scores, index))[0])


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _one_set(
    n: int, questions: list[str], pools: tuple[list[str], list[str]], encoder: E5Encoder, seed: int
) -> dict[str, float]:
    entries = _articles(n, *pools, seed=seed)
    cache = VectorCache()
    _fake_vectors(entries, cache, encoder.name, seed)
    started, cpu = time.perf_counter(), time.process_time()
    index = Index(entries, encoder=encoder, cache=cache, query_cache=VectorCache(limit=1))
    build_s, build_cpu_s = time.perf_counter() - started, time.process_time() - cpu
    calibrator = Calibrator()
    _ask(index, "прогрев", calibrator)  # the model's first call loads it
    times, cpu_times = [], []
    for question in questions:
        started, cpu = time.perf_counter(), time.process_time()
        _ask(index, question, calibrator)
        times.append((time.perf_counter() - started) * 1000)
        cpu_times.append((time.process_time() - cpu) * 1000)
    return {
        "p50_ms": round(_percentile(times, 0.5), 1),
        "p95_ms": round(_percentile(times, 0.95), 1),
        "index_build_s": round(build_s, 2),
        # CPU time of this process: what the same work takes on a core of its own when the
        # machine is shared (wall-clock figures then include waiting for the core).
        "cpu_p50_ms": round(_percentile(cpu_times, 0.5), 1),
        "cpu_p95_ms": round(_percentile(cpu_times, 0.95), 1),
        "index_build_cpu_s": round(build_cpu_s, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    titles, sentences, all_questions = _pools()
    questions = random.Random(1).sample(all_questions, k=min(args.questions, len(all_questions)))
    encoder = E5Encoder(threads=1)
    # What encoding an article costs (real texts, once per text when it is saved).
    sample = [
        f"{t}\n{' '.join(random.Random(i).sample(sentences, k=3))}"
        for i, t in enumerate(titles[:40])
    ]
    cpu = time.process_time()
    encoder.encode([prepare(text, PASSAGE_CHARS) for text in sample], "passage")
    encoder.encode([prepare(t, QUESTION_CHARS) for t in titles[:40]], "query")
    encode_ms = (time.process_time() - cpu) * 1000 / (2 * len(sample))
    runs: dict[str, list[dict[str, float]]] = {"large": [], "small": []}
    for run in range(args.runs):
        runs["large"].append(_one_set(args.articles, questions, (titles, sentences), encoder, run))
        runs["small"].append(_one_set(args.small, questions, (titles, sentences), encoder, run))

    def median(name: str) -> dict[str, float]:
        return {key: statistics.median(r[key] for r in runs[name]) for key in runs[name][0]}

    large = median("large")
    report: dict[str, Any] = {
        **large,
        "articles": args.articles,
        "questions": len(questions),
        "runs": args.runs,
        "small": {**median("small"), "articles": args.small},
        "encode_ms_per_text": round(encode_ms, 1),  # CPU time, an article's title or text
        "cold_encode_s_estimate": round(encode_ms * 2 * args.articles / 1000),
        "retriever": "e5+tfidf, fused, features and calibrated confidence",
        "questions_from": "RuTube users" if len(all_questions) > 500 else "data/kb/questions.csv",
        "article_vectors": "stored (random unit stand-ins); each question encoded with e5",
        "one_core": True,
        "load_average": round(os.getloadavg()[0], 1),  # > 1: the wall-clock figures waited
    }
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()

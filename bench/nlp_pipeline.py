"""Annotation throughput as the pipeline runs it: topic, district, urgency, language, not-an-appeal.

    python bench/nlp_pipeline.py [--texts 2000] [--batch 200] [--runs 3] [--natasha]

Texts are the hand-written samples (data/sample_appeals.yaml) with a place filled
in. Uses the configured model (CIVICDESK_NLP_MODEL_DIR; trained from the corpus on
first use when missing). Prints JSON, medians of the runs:

- ``annotate_batch_texts_per_s``: ``nlp.annotate.annotate_batch`` on batches of
  ``--batch`` texts (one ``predict()`` per batch), on one core;
- ``single_text_p95_ms``: one text per call (what the dry run pays);
- ``gazetteer_texts_per_s``: district detection alone;
- with ``--natasha``: natasha's load time and milliseconds per text (opt-in feature).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml

from core.settings import get_settings
from nlp import topic
from nlp.annotate import annotate, annotate_batch, load_lexicon
from nlp.places import detect_district, natasha_places


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--natasha", action="store_true", help="also time natasha (~250 MB)")
    args = parser.parse_args()

    settings = get_settings()
    lexicon = load_lexicon(settings.data_dir)
    samples = yaml.safe_load((settings.data_dir / "sample_appeals.yaml").read_text("utf-8"))
    base = [sample["text"].replace("{place}", "мкр Самал-2") for sample in samples]
    texts = (base * (args.texts // len(base) + 1))[: args.texts]
    started = time.perf_counter()
    loaded = topic.get_model()
    report: dict[str, Any] = {
        "benchmark": "nlp_pipeline",
        "model_version": loaded.metadata.version,
        "model_load_s": round(time.perf_counter() - started, 2),
        "texts": len(texts),
        "batch": args.batch,
        "runs": args.runs,
    }
    rates = []
    for _ in range(args.runs):
        started = time.perf_counter()
        for index in range(0, len(texts), args.batch):
            annotate_batch(texts[index : index + args.batch], lexicon)
        rates.append(len(texts) / (time.perf_counter() - started))
    report["annotate_batch_texts_per_s"] = round(statistics.median(rates))
    latencies = []
    for text in texts[:300]:
        started = time.perf_counter()
        annotate(text, lexicon)
        latencies.append((time.perf_counter() - started) * 1000)
    report["single_text_p95_ms"] = round(statistics.quantiles(latencies, n=20)[18], 2)
    rates = []
    gazetteer = lexicon.gazetteer
    assert gazetteer is not None
    for _ in range(args.runs):
        started = time.perf_counter()
        for text in texts:
            detect_district(text, gazetteer)
        rates.append(len(texts) / (time.perf_counter() - started))
    report["gazetteer_texts_per_s"] = round(statistics.median(rates))
    if args.natasha:
        started = time.perf_counter()
        natasha_places("улица Абая")
        report["natasha_load_s"] = round(time.perf_counter() - started, 2)
        sample = texts[:100]
        started = time.perf_counter()
        for text in sample:
            natasha_places(text)
        report["natasha_ms_per_text"] = round((time.perf_counter() - started) / len(sample) * 1000)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

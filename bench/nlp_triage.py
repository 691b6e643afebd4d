"""What the triage threshold does with the served model: routed share and precision per threshold.

    python bench/nlp_triage.py [--thresholds 0.2,0.3,0.34,0.4,0.5,0.6,0.7] [--seed 0]

Issue 19: the triage threshold (``CIVICDESK_ROUTING_MIN_CONFIDENCE``) is chosen from a target
precision. ``civicdesk nlp eval`` gives it for a city's history; this script gives it for the
model the app serves, on the only appeals that model never saw: the held-out split of the
project corpus (synthetic new phrasings, hard by design; data/nlp/README.md).

The served model must be the train-split one (what auto-training on first use ships); a model
refit on every row has seen the held-out split and is refused. Its raw scores of the held-out
rows are calibrated the way the model's own calibration is chosen (``fit_calibrator``, "auto"),
**cross-fitted**: each half of the rows is calibrated on the other half, so no confidence is
judged by a calibration that saw its row. For each threshold: the share routed (confidence ≥
it), how often the category and the organization (``data/taxonomy.yaml``; what routing needs,
many categories share one) are right among them and among those sent to triage; and the
lowest threshold reaching each target precision. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import yaml
from numpy.typing import NDArray

from core.settings import get_settings
from nlp import topic
from nlp.calibration import expected_calibration_error, fit_calibrator
from nlp.corpus import load_corpus

TARGETS = (0.6, 0.7, 0.8, 0.85, 0.9)


def _share(mask: NDArray[np.bool_], values: NDArray[np.bool_]) -> float | None:
    return round(float(values[mask].mean()), 3) if mask.any() else None


def _lowest_threshold(
    confidence: NDArray[np.float64], right: NDArray[np.bool_], target: float
) -> dict[str, float] | None:
    order = np.argsort(-confidence)
    hits = np.cumsum(right[order])
    counts = np.arange(1, len(order) + 1)
    reaching = np.flatnonzero(hits / counts >= target)
    if not len(reaching):
        return None
    last = int(reaching[-1])
    return {
        "min_confidence": round(float(confidence[order][last]), 4),
        "routed_share": round((last + 1) / len(order), 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thresholds", default="0.2,0.3,0.34,0.4,0.5,0.6,0.7")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    settings = get_settings()
    loaded = topic.get_model(settings)
    if loaded.metadata.trained_on.get("splits") != "train":
        print(json.dumps({"skipped": "the served model saw the held-out split (refit on all)"}))
        return 0
    classifier = loaded.classifier
    scores = getattr(classifier, "scores", None)
    if scores is None:
        print(json.dumps({"skipped": f"engine {loaded.metadata.engine} gives no raw scores"}))
        return 0
    index = {label: i for i, label in enumerate(classifier.labels)}
    rows = [
        row
        for row in load_corpus(settings.data_dir)
        if row.split == "test" and row.category in index
    ]
    raw = np.asarray(scores([row.text for row in rows]), dtype=np.float64)
    truth = np.array([index[row.category] for row in rows], dtype=np.int64)
    halves = np.array_split(np.random.default_rng(args.seed).permutation(len(truth)), 2)
    confidence = np.zeros(len(truth))
    predicted = np.zeros(len(truth), dtype=np.int64)
    for fit_rows, test_rows in ((halves[0], halves[1]), (halves[1], halves[0])):
        calibrator = fit_calibrator(raw[fit_rows], truth[fit_rows], seed=args.seed)
        probabilities = calibrator.probabilities(raw[test_rows])
        confidence[test_rows] = probabilities.max(axis=1)
        predicted[test_rows] = probabilities.argmax(axis=1)
    taxonomy = yaml.safe_load((settings.data_dir / "taxonomy.yaml").read_text("utf-8"))
    organization = {
        category["code"]: category["organization"]
        for area in taxonomy["areas"]
        for category in area["categories"]
    }
    labels = classifier.labels
    category_right = predicted == truth
    organization_right = np.array(
        [
            organization[labels[p]] == organization[labels[t]]
            for p, t in zip(predicted, truth, strict=True)
        ]
    )
    report: dict[str, object] = {
        "benchmark": "nlp_triage",
        "model_version": loaded.metadata.version,
        "held_out_rows": len(truth),
        "category_accuracy": round(float(category_right.mean()), 3),
        "organization_accuracy": round(float(organization_right.mean()), 3),
        "expected_calibration_error": round(
            expected_calibration_error(confidence, category_right), 4
        ),
        "configured_threshold": settings.routing_min_confidence,
    }
    table = []
    for threshold in (float(value) for value in args.thresholds.split(",")):
        routed = confidence >= threshold
        table.append(
            {
                "threshold": threshold,
                "routed_share": round(float(routed.mean()), 3),
                "category_precision": _share(routed, category_right),
                "organization_precision": _share(routed, organization_right),
                "triaged_category_right": _share(~routed, category_right),
                "triaged_organization_right": _share(~routed, organization_right),
            }
        )
    report["thresholds"] = table
    report["lowest_threshold_for_category_precision"] = {
        str(target): _lowest_threshold(confidence, category_right, target) for target in TARGETS
    }
    report["lowest_threshold_for_organization_precision"] = {
        str(target): _lowest_threshold(confidence, organization_right, target) for target in TARGETS
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

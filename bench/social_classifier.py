"""'Is this comment an appeal?': precision and recall on comments the model did not see.

    python bench/social_classifier.py [--engines social-e5,social-tfidf] [--folds 5] [--json]

Figures, not speed. For each engine, on the project's labelled comments (data/social/):

- ``heldout``: trained on comments.csv, scored on comments_heldout.csv (written apart,
  26 posts, 7 of them on topics the training part has no post about; never used to choose
  an option);
- ``cv``: stratified ``--folds``-fold cross-validation over comments.csv;
- ``by_post``: folds that keep each post's comments together over both files (the model
  never saw a comment under the post it judges: the hardest and most honest split);

each at P(appeal) >= 0.5 (what ``civicdesk social eval`` reports), and for the deployment's
two thresholds: ``auto_precision`` is the precision of what becomes an appeal without an
operator (P >= CIVICDESK_SOCIAL_APPEAL_AT, 0.7), ``reach_recall`` the share of appeals that
become one or reach the moderation queue (P >= CIVICDESK_SOCIAL_DOUBT_FROM, 0.3), and
``doubtful_share`` the comments an operator looks at.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from sklearn.model_selection import GroupKFold, StratifiedKFold

from channels.social import classifier
from channels.social.classifier import Example
from core.settings import Settings

DATA = Path(__file__).resolve().parent.parent / "data" / "social"


def read(name: str) -> tuple[list[Example], list[str]]:
    import csv

    with (DATA / name).open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    examples = [Example(r["text"], r["context"], int(r["label"])) for r in rows]
    return examples, [r["post"] for r in rows]


def figures(
    truth: Sequence[int], probs: Sequence[float], *, appeal_at: float, doubt_from: float
) -> dict[str, Any]:
    out: dict[str, Any] = dict(classifier.scores(truth, [p >= 0.5 for p in probs]))
    auto = classifier.scores(truth, [p >= appeal_at for p in probs])
    reach = classifier.scores(truth, [p >= doubt_from for p in probs])
    doubtful = sum(1 for p in probs if doubt_from <= p < appeal_at)
    out.update(
        auto_precision=auto["precision"],
        auto_recall=auto["recall"],
        reach_recall=reach["recall"],
        doubtful_share=round(doubtful / len(probs), 3),
    )
    return out


def fit_predict(engine: str, train: list[Example], test: list[Example]) -> list[float]:
    model, _ = classifier.train(train, engine=engine, source={})
    return classifier.probabilities(model, [(e.text, e.context) for e in test])


def out_of_fold(
    engine: str, examples: list[Example], splits: Any, groups: list[str] | None = None
) -> list[float]:
    probs = np.zeros(len(examples))
    labels = [e.label for e in examples]
    for train, test in splits.split(examples, labels, groups):
        probs[test] = fit_predict(engine, [examples[i] for i in train], [examples[i] for i in test])
    return probs.tolist()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="social-e5,social-tfidf")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--skip", default="", help="comma-separated: heldout,cv,by_post")
    parser.add_argument("--json", action="store_true", help="one line of JSON")
    args = parser.parse_args()
    settings = Settings()
    limits = {"appeal_at": settings.social_appeal_at, "doubt_from": settings.social_doubt_from}
    skip = set(filter(None, args.skip.split(",")))
    train, train_posts = read("comments.csv")
    held, held_posts = read("comments_heldout.csv")
    report: dict[str, Any] = {
        "benchmark": "social_classifier",
        "n_train": len(train),
        "n_heldout": len(held),
        "thresholds": {"appeal": 0.5, **limits},
        "engines": {},
    }
    for engine in args.engines.split(","):
        result: dict[str, Any] = {}
        if "heldout" not in skip:
            probs = fit_predict(engine, train, held)
            result["heldout"] = figures([e.label for e in held], probs, **limits)
        if "cv" not in skip:
            splits = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=0)
            probs = out_of_fold(engine, train, splits)
            result["cv"] = figures([e.label for e in train], probs, **limits)
        if "by_post" not in skip:
            both = train + held
            probs = out_of_fold(
                engine, both, GroupKFold(n_splits=args.folds), train_posts + held_posts
            )
            result["by_post"] = figures([e.label for e in both], probs, **limits)
        report["engines"][engine] = result
    print(json.dumps(report, ensure_ascii=False, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Precision and recall of repeat / duplicate detection on a labeled set of appeal pairs.

    civicdesk repeats eval [--json] [--pairs PATH]

Each pair in ``data/eval/appeal_pairs.yaml`` (see ``data/eval/README.md``) holds two
appeals ``a`` (earlier) and ``b`` (later) with their text, a symbolic citizen, the
labeled category and district, an optional address and ``days_ago``, and a label:
``repeat``, ``duplicate`` or ``unrelated``. Both sides become ``AppealFacts`` exactly
as the pipeline builds them (``intake.repeats.linking.facts``: normalized text, places from
address and text) and ``intake.repeats.matching.compare(b, a)`` gives the verdict.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from appeals.models import LinkKind
from intake.repeats.linking import facts
from intake.repeats.matching import MatchRules, compare

DEFAULT_PAIRS = Path(__file__).resolve().parents[2] / "data" / "eval" / "appeal_pairs.yaml"
LABELS = ("repeat", "duplicate", "unrelated")
KINDS = ("repeat", "duplicate")
# The moment the pairs' ``days_ago`` count back from; any fixed instant gives the same verdicts.
REFERENCE = datetime(2025, 11, 3, 4, 0, tzinfo=UTC)


@dataclass(frozen=True)
class _Row:
    """The columns ``intake.repeats.linking.facts`` reads from an appeal row."""

    id: int
    citizen_id: int | None
    category_code: str | None
    district_code: str | None
    address: str | None
    text: str
    received_at: datetime


def load_pairs(path: Path = DEFAULT_PAIRS) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        pairs = yaml.safe_load(handle)
    if not isinstance(pairs, list):
        raise ValueError(f"{path}: expected a list of pairs")
    for index, pair in enumerate(pairs):
        if pair.get("label") not in LABELS:
            raise ValueError(f"{path}: pair {index} has label {pair.get('label')!r}")
        if float(pair["b"]["days_ago"]) > float(pair["a"]["days_ago"]):
            raise ValueError(f"{path}: pair {pair.get('id', index)}: b must not be earlier than a")
    return pairs


def _side(side: Mapping[str, Any], row_id: int, citizens: dict[str, int]) -> _Row:
    who = side.get("citizen")
    citizen_id = None if who is None else citizens.setdefault(str(who), len(citizens) + 1)
    return _Row(
        id=row_id,
        citizen_id=citizen_id,
        category_code=side.get("category"),
        district_code=side.get("district"),
        address=side.get("address"),
        text=str(side["text"]),
        received_at=REFERENCE - timedelta(days=float(side["days_ago"])),
    )


def predict(pair: Mapping[str, Any], rules: MatchRules) -> tuple[str, dict[str, Any]]:
    """The verdict on one pair (``repeat``, ``duplicate`` or ``unrelated``) and its evidence."""
    citizens: dict[str, int] = {}
    old = _side(pair["a"], 1, citizens)
    new = _side(pair["b"], 2, citizens)
    match = compare(facts(new, new.citizen_id), facts(old, old.citizen_id), rules)
    if match is None:
        return "unrelated", {}
    kind = "repeat" if match.kind is LinkKind.REPEAT else "duplicate"
    return kind, {"score": match.score, **match.evidence}


def _ratio(numerator: int, denominator: int) -> float:
    return round(numerator / denominator, 3) if denominator else 0.0


def evaluate(pairs: Iterable[Mapping[str, Any]], rules: MatchRules | None = None) -> dict[str, Any]:
    """Precision, recall, F1, support and errors per kind of link, and the confusion matrix."""
    rules = rules or MatchRules()
    confusion = {label: dict.fromkeys(LABELS, 0) for label in LABELS}
    errors: dict[str, list[dict[str, Any]]] = {"false_positives": [], "false_negatives": []}
    per_kind: dict[str, dict[str, Any]] = {}
    total = 0
    verdicts: list[tuple[str, str, Mapping[str, Any], dict[str, Any]]] = []
    for pair in pairs:
        predicted, evidence = predict(pair, rules)
        confusion[pair["label"]][predicted] += 1
        verdicts.append((pair["label"], predicted, pair, evidence))
        total += 1
    for kind in KINDS:
        tp = sum(1 for label, predicted, _, _ in verdicts if label == kind and predicted == kind)
        fp = sum(1 for label, predicted, _, _ in verdicts if label != kind and predicted == kind)
        fn = sum(1 for label, predicted, _, _ in verdicts if label == kind and predicted != kind)
        precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
        f1 = round(2 * precision * recall / (precision + recall), 3) if precision + recall else 0.0
        per_kind[kind] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": tp + fn,
            "tp": tp,
            "fp": fp,
            "fn": fn,
        }
    for label, predicted, pair, evidence in verdicts:
        if label == predicted:
            continue
        entry = {
            "id": pair.get("id"),
            "label": label,
            "predicted": predicted,
            "note": pair.get("note", ""),
            "evidence": evidence,
        }
        errors["false_negatives" if predicted == "unrelated" else "false_positives"].append(entry)
    return {
        "pairs": total,
        "rules": rules.__dict__,
        **per_kind,
        "confusion": confusion,
        "accuracy": _ratio(sum(confusion[label][label] for label in LABELS), total),
        "errors": errors,
    }


def _text_report(result: Mapping[str, Any]) -> str:
    lines = [f"{result['pairs']} labeled pairs; rules {result['rules']}"]
    for kind in KINDS:
        row = result[kind]
        lines.append(
            f"{kind:<10} precision {row['precision']:.3f}  recall {row['recall']:.3f}  "
            f"f1 {row['f1']:.3f}  support {row['support']}  (tp {row['tp']}, fp {row['fp']}, "
            f"fn {row['fn']})"
        )
    lines.append("confusion (rows: label, columns: predicted)")
    lines.append(" " * 11 + "".join(f"{label:>11}" for label in LABELS))
    for label in LABELS:
        counts = result["confusion"][label]
        lines.append(f"{label:<11}" + "".join(f"{counts[p]:>11}" for p in LABELS))
    for group in ("false_positives", "false_negatives"):
        entries = result["errors"][group]
        lines.append(f"{group.replace('_', ' ')}: {len(entries)}")
        lines.extend(f"  {e['id']} {e['label']} -> {e['predicted']}: {e['note']}" for e in entries)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``civicdesk repeats eval [--json] [--pairs PATH]``: print the figures."""
    parser = argparse.ArgumentParser(
        prog="civicdesk repeats eval", description="precision and recall of repeat detection"
    )
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")
    parser.add_argument("--pairs", type=Path, default=DEFAULT_PAIRS, help="labeled pairs (YAML)")
    args = parser.parse_args(argv)
    result = evaluate(load_pairs(args.pairs))
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(_text_report(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

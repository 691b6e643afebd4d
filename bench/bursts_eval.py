"""The burst test measured on real daily counts with synthetic bursts injected.

    python bench/bursts_eval.py [--rounds 3] [--seed 0] [--times 3,5,8] [--per-stratum 150]

Data: the NYC council's constituent cases (../shared/datasets/nyc-council-constituent-services,
341,299 cases 2015–2024): a series is a complaint type in a council office (the office
stands for a district, the type for a topic), counted per day, 2015-01-01 to 2023-12-31.

- **False alarms on the real series**: every alarm of ``analytics.bursts.score`` on the
  unmodified counts, per office-week (the real series have bursts of their own, such as an
  office entering a backlog in one day; here they all count as false alarms).
- **Injected bursts**: each round takes, for each level of the usual daily count (under 1,
  1 to 5, 5 or more), ``--per-stratum`` series-days at random (one burst per series) and
  adds a burst of 1–3 days in which each day carries ``--times`` × the usual count (at
  least 5 more). Recall: bursts with an alarm on one of their days, per level and overall.
  Precision: alarms on burst days over all alarms on those series in the 29 days around
  each burst (a month in which one burst happens).

Prints JSON. Without the data set it exits 0 with ``skipped`` and the reason (CI=true: 1).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from analytics.bursts import BurstRule, score

DATASET = (
    Path(__file__).resolve().parent.parent.parent
    / "shared"
    / "datasets"
    / "nyc-council-constituent-services"
    / "nycomplaints.csv.gz"
)
FIRST, LAST = np.datetime64("2015-01-01"), np.datetime64("2023-12-31")
AROUND = 14


def load(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Counts (series × days), the office of each series, the weekday of each day."""
    import csv

    days = int((LAST - FIRST).astype(int)) + 1
    index: dict[tuple[str, str], int] = {}
    offices: dict[str, int] = {}
    cells: dict[tuple[int, int], int] = {}
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            try:
                day = np.datetime64(row["opendate"])
            except ValueError:
                continue
            if not FIRST <= day <= LAST:
                continue
            key = (row["account"], row["complaint_type"])
            series = index.setdefault(key, len(index))
            offices.setdefault(row["account"], len(offices))
            position = (series, int((day - FIRST).astype(int)))
            cells[position] = cells.get(position, 0) + 1
    counts = np.zeros((len(index), days))
    for (series, day), count in cells.items():
        counts[series, day] = count
    groups = np.zeros(len(index), dtype=np.int64)
    for (office, _), series in index.items():
        groups[series] = offices[office]
    weekdays = (np.arange(days) + int(FIRST.astype("datetime64[D]").astype(int) + 3)) % 7
    return counts, groups, weekdays, sorted(offices)


STRATA = (("under_1", 0.05, 1.0), ("1_to_5", 1.0, 5.0), ("5_or_more", 5.0, np.inf))


def inject(
    counts: np.ndarray,
    groups: np.ndarray,
    weekdays: np.ndarray,
    rule: BurstRule,
    rng: np.random.Generator,
    per_stratum: int,
    times: float,
) -> list[dict[str, Any]]:
    """Bursts added to a copy of the counts, ``per_stratum`` for each level of the usual
    count; each burst day carries ``times`` × the usual count (at least 5 more)."""
    base = score(counts, groups, weekdays, rule)
    days = counts.shape[1]
    start = rule.window + rule.guard + AROUND
    usable = np.zeros_like(base.alarm)
    usable[:, start : days - AROUND - 3] = True
    bursts: list[dict[str, Any]] = []
    modified = counts.copy()
    taken: set[int] = set()
    for label, low, high in STRATA:
        level = usable & (base.expected >= low) & (base.expected < high)
        series_idx, day_idx = np.nonzero(level)
        order = rng.permutation(len(series_idx))
        chosen = 0
        for position in order:
            series, day = int(series_idx[position]), int(day_idx[position])
            if series in taken:
                continue
            taken.add(series)
            length = int(rng.integers(1, 4))
            mu = float(base.expected[series, day])
            extra = max(5, int(np.ceil((times - 1.0) * mu)))
            modified[series, day : day + length] += extra
            bursts.append(
                {"series": series, "day": day, "length": length, "extra": extra,
                 "expected": mu, "stratum": label}
            )
            chosen += 1
            if chosen >= per_stratum:
                break
    scored = score(modified, groups, weekdays, rule)
    for burst in bursts:
        series, day, length = burst["series"], burst["day"], burst["length"]
        window = scored.alarm[series, day - AROUND : day + AROUND + 1]
        on_burst = scored.alarm[series, day : day + length]
        burst["detected"] = bool(on_burst.any())
        burst["true_alarms"] = int(on_burst.sum())
        burst["false_alarms"] = int(window.sum() - on_burst.sum())
    return bursts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-stratum", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--times", default="3,5,8", help="burst day = this × the usual count")
    parser.add_argument("--alpha", type=float, default=BurstRule().alpha)
    parser.add_argument("--min-count", type=int, default=BurstRule().min_count)
    args = parser.parse_args(argv)
    if not DATASET.exists():
        reason = f"dataset not found: {DATASET}"
        print(json.dumps({"skipped": reason}))
        return 1 if os.environ.get("CI", "").lower() in {"1", "true", "yes"} else 0
    rule = BurstRule(alpha=args.alpha, min_count=args.min_count)
    started = time.perf_counter()
    counts, groups, weekdays, offices = load(DATASET)
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    real = score(counts, groups, weekdays, rule)
    scoring_s = time.perf_counter() - started
    evaluated = counts.shape[1] - rule.window - rule.guard
    office_weeks = len(offices) * evaluated / 7
    alarms_per_office_week = np.zeros((len(offices), counts.shape[1] // 7 + 1))
    series_idx, day_idx = np.nonzero(real.alarm)
    np.add.at(alarms_per_office_week, (groups[series_idx], day_idx // 7), 1)
    weekly = alarms_per_office_week[:, (rule.window + rule.guard) // 7 + 1 :]
    report: dict[str, Any] = {
        "series": int(counts.shape[0]),
        "offices": len(offices),
        "days": int(counts.shape[1]),
        "cases": int(counts.sum()),
        "rule": rule.__dict__,
        "load_s": round(loaded, 2),
        "score_s": round(scoring_s, 2),
        "real_series": {
            "alarms": int(real.alarm.sum()),
            "false_alarms_per_district_week": round(float(real.alarm.sum() / office_weeks), 3),
            "district_weeks_with_more_than_one": round(float((weekly > 1).mean()), 4),
            "worst_district_week": int(weekly.max()),
        },
        "injected": {},
    }
    for times in (float(m) for m in args.times.split(",")):
        rng = np.random.default_rng(args.seed)
        bursts: list[dict[str, Any]] = []
        for _ in range(args.rounds):
            bursts += inject(counts, groups, weekdays, rule, rng, args.per_stratum, times)
        true_alarms = sum(b["true_alarms"] for b in bursts)
        false_alarms = sum(b["false_alarms"] for b in bursts)
        report["injected"][f"{times:g}x_usual"] = {
            "bursts": len(bursts),
            "recall": round(sum(b["detected"] for b in bursts) / len(bursts), 3),
            "precision": round(true_alarms / max(1, true_alarms + false_alarms), 3),
            "recall_by_usual_count": {
                label: round(float(np.mean([b["detected"] for b in group])), 3)
                for label, group in (
                    (label, [b for b in bursts if b["stratum"] == label]) for label, _, _ in STRATA
                )
                if group
            },
            "median_extra_per_day": {
                label: float(np.median([b["extra"] for b in group]))
                for label, group in (
                    (label, [b for b in bursts if b["stratum"] == label]) for label, _, _ in STRATA
                )
                if group
            },
        }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

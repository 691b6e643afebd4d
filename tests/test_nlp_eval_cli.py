"""``civicdesk nlp eval`` and ``nlp train --csv``: how a city measures the engine on its history."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from civicdesk.cli import main
from core.settings import REPO_ROOT
from nlp.engines import load_model
from tests.nlp_support import shared_dataset

RYAZAN = "ryazan-nashdom-2019/appeals.csv"  # under ../shared/datasets
HEADLINE_KEYS = ("accuracy", "macro_f1", "top3_accuracy", "n_test", "texts_per_second")


def _write_csv(
    path: Path, rows: list[dict[str, str]], *, sep: str = ",", encoding: str = "utf-8"
) -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=sep)
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def history(tmp_path: Path) -> Path:
    """A city's 'history': the sample appeals labeled with their taxonomy group, with a
    title column, two rows without a label and markup in some texts."""
    samples = yaml.safe_load((REPO_ROOT / "data" / "sample_appeals.yaml").read_text("utf-8"))
    rows = [
        {
            "id": str(i),
            "title": "Обращение" if i % 2 else "",
            "text": (f"<p>{s['text']}</p>" if i % 3 == 0 else str(s["text"])).replace(
                "{place}", "мкр Самал-2"
            ),
            "group": str(s["category"]).split(".")[0],
        }
        for i, s in enumerate(samples)
    ]
    rows[5]["group"] = ""
    rows[6]["group"] = "  "
    return _write_csv(tmp_path / "history.csv", rows)


def _run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    assert main(list(argv)) == 0
    return dict(json.loads(capsys.readouterr().out))


def test_cross_validation_json_has_the_figures_a_city_needs(
    history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = _run_json(
        capsys,
        *("nlp", "eval", "--csv", str(history), "--text-col", "title,text"),
        *("--label-col", "group", "--folds", "3", "--json"),
    )
    for key in HEADLINE_KEYS:
        assert key in report
    data = report["data"]
    assert isinstance(data, dict)
    assert data["dropped_empty_label"] == 2
    assert data["text_columns"] == ["title", "text"]
    n_test = report["n_test"]
    assert n_test == data["n_rows"] - 2  # every labeled row predicted once
    accuracy = float(str(report["accuracy"]))
    assert accuracy > 2 * float(str(report["majority_rate"]))
    assert accuracy <= float(str(report["top3_accuracy"])) <= 1.0
    assert 0.0 < float(str(report["macro_f1"])) <= 1.0
    assert float(str(report["texts_per_second"])) > 0
    fold_accuracy = report["fold_accuracy"]
    assert report["folds"] == 3 and isinstance(fold_accuracy, list) and len(fold_accuracy) == 3
    per_class = report["per_class"]
    assert isinstance(per_class, dict)
    assert sum(int(scores["support"]) for scores in per_class.values()) == n_test
    for scores in per_class.values():
        assert {"precision", "recall", "f1", "support"} <= set(scores)
    pairs = report["confusion_pairs"]
    assert isinstance(pairs, list) and pairs
    counts = [pair["count"] for pair in pairs]
    assert counts == sorted(counts, reverse=True)
    assert all(pair["true"] != pair["predicted"] for pair in pairs)


def test_separate_test_file_and_the_readable_report(
    history: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with history.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    train = _write_csv(tmp_path / "train.csv", rows[::2])
    # the test file comes from another system: semicolons, Windows-1251 (Russian texts only:
    # that code page has no Kazakh letters)
    russian = [row for row in rows[1::2] if not set(row["text"]) & set("әғқңөұүһі")]
    test = _write_csv(tmp_path / "test.csv", russian, sep=";", encoding="cp1251")
    report = _run_json(
        capsys,
        *("nlp", "eval", "--csv", str(train), "--test-csv", str(test)),
        *("--text-col", "text", "--label-col", "group", "--json"),
    )
    assert report["n_train"] == sum(1 for r in rows[::2] if r["group"].strip())
    assert report["n_test"] == sum(1 for r in russian if r["group"].strip())
    assert float(str(report["accuracy"])) > float(str(report["majority_rate"]))

    assert (
        main(
            [
                *("nlp", "eval", "--csv", str(train), "--test-csv", str(test)),
                *("--text-col", "text", "--label-col", "group"),
            ]
        )
        == 0
    )
    plain = capsys.readouterr().out
    for heading in ("accuracy", "macro-F1", "top-3 accuracy", "texts/second", "precision"):
        assert heading in plain
    assert "most frequent confusions" in plain and " → " in plain


def test_missing_column_is_a_clear_error(history: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            *("nlp", "eval", "--csv", str(history), "--text-col", "body"),
            *("--label-col", "group", "--folds", "3"),
        ]
    )
    assert code == 2
    error = capsys.readouterr().err
    assert "'body' not found" in error and "'text'" in error  # names what the file does have
    assert (
        main(
            [
                *("nlp", "eval", "--csv", "/nonexistent.csv", "--text-col", "t"),
                *("--label-col", "l", "--folds", "3"),
            ]
        )
        == 2
    )
    assert "no such file" in capsys.readouterr().err


def test_bad_fold_counts_and_argument_mixes_are_clear_errors(
    history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for folds in ("1", "0", "-3"):
        code = main(
            [
                *("nlp", "eval", "--csv", str(history), "--text-col", "text"),
                *("--label-col", "group", "--folds", folds),
            ]
        )
        assert code == 2
        assert "--folds must be at least 2" in capsys.readouterr().err
    assert main(["nlp", "eval", "--corpus", "--csv", str(history)]) == 2
    assert "drop --csv" in capsys.readouterr().err
    assert main(["nlp", "eval", "--csv", str(history), "--text-col", "text"]) == 2
    assert "--label-col" in capsys.readouterr().err


def test_eval_on_the_project_corpus_held_out_split(capsys: pytest.CaptureFixture[str]) -> None:
    """`nlp eval --corpus`: trained on the corpus's train split, reported on its held-out
    split (phrasings no training row uses), with the per-class report and confusions."""
    from nlp.corpus import load_corpus

    held_out = load_corpus(REPO_ROOT / "data", split="test")
    report = _run_json(capsys, "nlp", "eval", "--corpus", "--json")
    for key in HEADLINE_KEYS:
        assert key in report
    assert report["n_test"] == len(held_out)
    assert "held-out split" in str(report["protocol"]) and "seed 0" in str(report["protocol"])
    per_class = report["per_class"]
    assert isinstance(per_class, dict)
    assert sum(int(scores["support"]) for scores in per_class.values()) == len(held_out)
    assert {row.category for row in held_out} <= set(per_class)
    pairs = report["confusion_pairs"]
    assert isinstance(pairs, list) and pairs and all(p["true"] != p["predicted"] for p in pairs)
    assert 0.0 < float(str(report["macro_f1"])) <= float(str(report["top3_accuracy"])) <= 1.0


def test_train_from_csv_writes_a_versioned_model(
    history: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "model"
    summary = _run_json(
        capsys,
        *("nlp", "train", "--csv", str(history), "--text-col", "text"),
        *("--label-col", "group", "--out", str(out)),
    )
    classifier, metadata = load_model(out)
    assert summary["version"] == metadata.version
    assert metadata.trained_on["label_column"] == "group"
    assert metadata.trained_on["dropped_empty_label"] == 2
    evaluation = summary["evaluation"]
    assert isinstance(evaluation, dict) and evaluation["n_test"] > 0
    (prediction,) = classifier.predict(["Во дворе не вывозят мусор, контейнеры переполнены"])
    assert prediction.label == "waste"
    assert main(["nlp", "train", "--csv", str(history), "--out", str(out)]) == 2
    assert "--text-col" in capsys.readouterr().err


def test_real_appeals_beat_the_majority_class(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first 300 Ryazan portal appeals, 3 folds: real text nobody here wrote."""
    with shared_dataset(RYAZAN).open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))[:300]
    sliced = _write_csv(tmp_path / "ryazan300.csv", rows)
    report = _run_json(
        capsys,
        *("nlp", "eval", "--csv", str(sliced), "--text-col", "text"),
        *("--label-col", "category", "--folds", "3", "--seed", "0", "--json"),
    )
    assert report["n_test"] == 300
    assert float(str(report["accuracy"])) > float(str(report["majority_rate"])) + 0.2
    assert float(str(report["top3_accuracy"])) > 0.75

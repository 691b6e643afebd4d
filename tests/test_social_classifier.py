"""'Is this comment an appeal?' measured on comments the model never saw, and
``civicdesk social eval`` as a city runs it on its own labelled CSV.

The model trains on data/social/comments.csv (19 posts' comments) and is scored on
data/social/comments_heldout.csv (26 posts, seven of them about topics the training part
has no post on: the air, kindergartens, markets...), written apart and never used to choose
an option. The goal of issue 18 is precision >= 0.85 and recall >= 0.90 on unseen comments.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from social_support import social_model_dir, social_settings  # noqa: F401

from channels.social import classifier
from core.settings import REPO_ROOT, Settings, override_settings

HELDOUT = REPO_ROOT / "data" / "social" / "comments_heldout.csv"


@pytest.fixture
def eval_settings(settings: Settings, social_model_dir: Path) -> Iterator[Settings]:  # noqa: F811
    current = social_settings(settings, social_model_dir)
    with override_settings(current):
        yield current


def _eval(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from civicdesk.cli import main

    code = main(["social", "eval", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_eval_on_the_held_out_comments_meets_the_goal(
    eval_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _eval(
        [
            "--csv",
            str(HELDOUT),
            "--text-col",
            "text",
            "--label-col",
            "label",
            "--context-col",
            "context",
            "--json",
        ],
        capsys,
    )
    assert code == 0
    result = json.loads(out)
    assert {"precision", "recall", "f1", "n"} <= set(result)
    assert result["n"] == 147 and result["engine"] == "social-tfidf"
    assert result["precision"] >= 0.85, result
    assert result["recall"] >= 0.90, result
    assert result["f1"] >= 0.87, result


def test_the_held_out_part_shares_no_comment_with_the_training_part() -> None:
    def texts(path: Path) -> set[str]:
        with path.open(encoding="utf-8") as handle:
            return {" ".join(row["text"].lower().split()) for row in csv.DictReader(handle)}

    trained = texts(REPO_ROOT / "data" / "social" / "comments.csv")
    assert not trained & texts(HELDOUT)


def test_each_kind_of_comment_on_the_held_out_part(eval_settings: Settings) -> None:
    """Per kind, so a regression in one genre (sarcasm, Kazakh typed in Russian letters)
    shows even when the totals still pass."""
    from channels.social.service import model_dir

    model, _ = classifier.current(
        model_dir(eval_settings), engine="social-tfidf", data_dir=eval_settings.data_dir
    )
    with HELDOUT.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    probs = classifier.probabilities(model, [(r["text"], r["context"]) for r in rows])
    right: dict[str, list[bool]] = {}
    for row, p in zip(rows, probs, strict=True):
        right.setdefault(row["kind"], []).append((p >= 0.5) == (row["label"] == "1"))
    share = {kind: sum(marks) / len(marks) for kind, marks in right.items()}
    assert share["problem"] >= 0.9 and share["question"] >= 0.85, share
    assert share["sarcasm"] >= 0.7, share  # "спасибо акимат за очередную яму 👏" is an appeal
    for kind in ("praise", "thanks", "emoji", "joke", "argument", "national", "other_city"):
        assert share[kind] >= 0.6, (kind, share)


def test_sarcasm_is_an_appeal_and_emoji_are_not(eval_settings: Settings) -> None:
    from channels.social.service import verdicts

    post = "Завершён ремонт дороги по улице Абая, обновлена разметка."
    judged = verdicts(
        [
            ("спасибо акимат за очередную яму на Жандосова 👏", post),
            ("👏👏👏", post),
            ("Рахмет, жарайсыңдар!", post),
        ],
        eval_settings,
    )
    assert judged[0].probability >= 0.5
    assert judged[1].decision == "not_appeal" and judged[1].reason == "no_words"
    assert judged[2].probability < 0.5


def test_eval_takes_any_column_names_and_no_context(
    eval_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ours.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["комментарий", "обращение"])
        writer.writerow(["Во дворе на Сатпаева 30 третий день не вывозят мусор", "1"])
        writer.writerow(["Красота! Спасибо за парк 😍", "0"])
        writer.writerow(["Кашан жол жасайсыздар Алгабаста? Жыл сайын уаде бересиздер", "1"])
    code, out, _ = _eval(
        ["--csv", str(path), "--text-col", "комментарий", "--label-col", "обращение", "--json"],
        capsys,
    )
    assert code == 0
    result = json.loads(out)
    assert result["n"] == 3
    assert 0.0 <= result["precision"] <= 1.0 and 0.0 <= result["recall"] <= 1.0


@pytest.mark.parametrize(
    ("rows", "columns", "said"),
    [
        ([["text", "label"], ["яма", "1"]], ["--label-col", "nope"], "no column 'nope'"),
        ([["text", "label"], ["яма", "maybe"]], ["--label-col", "label"], "neither 1 nor 0"),
        ([["text", "label"]], ["--label-col", "label"], "has no rows"),
    ],
)
def test_a_bad_file_is_one_clear_error(
    eval_settings: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    rows: list[list[str]],
    columns: list[str],
    said: str,
) -> None:
    path = tmp_path / "bad.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    code, out, err = _eval(["--csv", str(path), "--text-col", "text", *columns, "--json"], capsys)
    assert code == 2 and not out
    assert said in err


def test_a_missing_file_is_an_error_not_a_traceback(
    eval_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _eval(
        [
            "--csv",
            str(tmp_path / "none.csv"),
            "--text-col",
            "t",
            "--label-col",
            "l",
            "--json",
        ],
        capsys,
    )
    assert code == 2 and "no such file" in err

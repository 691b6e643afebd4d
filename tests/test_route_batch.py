"""``civicdesk route --batch FILE [--json]``: one JSON object per text, the fields of
``civicdesk route --json``, the model loaded once (issue 19)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from civicdesk.cli import main
from core import db
from core.settings import Settings, override_settings
from nlp import topic
from tests.nlp_support import corpus_model_dir


@pytest.fixture
def cli(settings: Settings, connection: Any, monkeypatch: Any) -> Iterator[Settings]:
    current = settings.model_copy(
        update={"nlp_model_dir": str(corpus_model_dir()), "nlp_auto_train": False}
    )
    # The CLI configures its own engine; keep it on the test's connection.
    monkeypatch.setattr(db, "configure", lambda *args, **kwargs: db.get_engine())
    with override_settings(current):
        yield current


def test_a_file_of_texts_gives_one_json_object_per_text_as_route_json_does(
    cli: Settings, tmp_path: Path, capsys: Any, monkeypatch: Any
) -> None:
    texts = [
        "Жарокова 215, во дворе не вывозят мусор",
        "",
        "Шаңырақта жарық жоқ, балалар қараңғыда",
        "Пахнет газом в подъезде, мкр Самал-2",
    ]
    source = tmp_path / "texts.txt"
    source.write_text("\n".join(texts) + "\n", encoding="utf-8")
    loads = 0
    real_load = topic._load_or_train

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal loads
        loads += 1
        return real_load(*args, **kwargs)

    monkeypatch.setattr(topic, "_load_or_train", counted)
    topic.reload()
    assert main(["route", "--batch", str(source), "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    results = [json.loads(line) for line in lines]
    assert [result["line"] for result in results] == [1, 3, 4]  # the empty line is skipped
    assert [result["district"] for result in results] == ["bostandyk", "alatau", "medeu"]
    assert results[2]["urgency"] == "high"
    assert loads == 1  # the model is read from disk once for the whole file

    assert main(["route", texts[0], "--json"]) == 0
    single = json.loads(capsys.readouterr().out)
    assert set(results[0]) - {"line"} == set(single)
    assert results[0]["category"] == single["category"]
    assert results[0]["district_source"] == "street_house"


def test_a_csv_with_a_text_column_and_clear_errors(
    cli: Settings, tmp_path: Path, capsys: Any
) -> None:
    table = tmp_path / "history.csv"
    table.write_text(
        "id;text;executor\n1;Толе би 285, яма у остановки;akimat-auezov\n2;;x\n", encoding="utf-8"
    )
    assert main(["route", "--batch", str(table), "--text-col", "text", "--json"]) == 0
    [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (row["line"], row["district"]) == (2, "auezov")

    assert main(["route", "--batch", str(table), "--text-col", "body"]) == 2
    assert "'body' not found" in capsys.readouterr().err
    assert main(["route", "--batch", str(tmp_path / "missing.txt")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["route", "some text", "--batch", str(table)]) == 2
    assert main(["route"]) == 2
    binary = tmp_path / "latin1.txt"
    binary.write_bytes("Толе би".encode("cp1251"))
    assert main(["route", "--batch", str(binary)]) == 2
    assert "not UTF-8" in capsys.readouterr().err

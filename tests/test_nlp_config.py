"""The topic engine as configured: the transformers checkpoint setting reaches the engine, a
fallback to keywords is said loudly, and model paths read the same in the CLI and the app."""

from __future__ import annotations

import json
import logging
import shutil
import uuid
from pathlib import Path

import pytest

from civicdesk.cli import main
from core.settings import REPO_ROOT, Settings, override_settings
from nlp import topic
from nlp.annotate import annotate, load_lexicon
from nlp.engine import ModelError
from nlp.engines import load_model
from tests.nlp_support import DATA

LEXICON = load_lexicon(DATA)
SECRET_TEXT = "Асель Нурланова, +77011234567: на улице прорвало трубу водопровода"


def _transformers_settings(tmp_path: Path, checkpoint: str) -> Settings:
    return Settings(
        environment="test",
        nlp_engine="transformers",
        nlp_transformers_checkpoint=checkpoint,
        nlp_model_dir=str(tmp_path / "model"),
        nlp_auto_train=True,
    )


def test_the_configured_checkpoint_reaches_the_engine(tmp_path: Path) -> None:
    """CIVICDESK_NLP_ENGINE=transformers trains from CIVICDESK_NLP_TRANSFORMERS_CHECKPOINT:
    the engine's refusal names the configured directory (it does not exist here), instead
    of "needs a local checkpoint" as if none were configured."""
    checkpoint = tmp_path / "rubert-tiny"
    settings = _transformers_settings(tmp_path, str(checkpoint))
    topic.reload()
    with pytest.raises(ModelError) as refused:
        topic.get_model(settings)
    assert str(checkpoint) in refused.value.message
    # a relative setting is read under the repository root, like the model directory
    assert topic.engine_options("transformers", _transformers_settings(tmp_path, "ckpt/x")) == {
        "checkpoint": str(REPO_ROOT / "ckpt" / "x")
    }
    assert topic.engine_options("tfidf-linear", settings) == topic.CORPUS_OPTIONS


def test_falling_back_to_keywords_is_logged_loudly_without_the_text(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    checkpoint = tmp_path / f"missing-{uuid.uuid4().hex[:6]}"
    settings = _transformers_settings(tmp_path, str(checkpoint))
    topic.reload()
    with override_settings(settings), caplog.at_level(logging.WARNING, logger="nlp.annotate"):
        result = annotate(SECRET_TEXT, LEXICON)
    assert (result.topic_source, result.category_code) == ("keywords", "water.leak")
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert errors, "the fallback must be an error in the log, not a quiet warning"
    message = errors[0].getMessage()
    assert "keywords" in message and str(checkpoint) in message
    for private in ("Асель", "77011234567", "прорвало"):
        assert private not in caplog.text


def test_nlp_train_with_the_transformers_engine_names_the_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history = tmp_path / "history.csv"
    rows = ["text,label", *(f"текст номер {i},{'a' if i % 2 else 'b'}" for i in range(20))]
    history.write_text("\n".join(rows), encoding="utf-8")
    checkpoint = tmp_path / "no-checkpoint-here"
    with override_settings(_transformers_settings(tmp_path, str(checkpoint))):
        code = main(
            [
                *("nlp", "train", "--csv", str(history), "--text-col", "text"),
                *("--label-col", "label", "--out", str(tmp_path / "out")),
            ]
        )
    assert code == 2
    assert str(checkpoint) in capsys.readouterr().err


def test_train_out_is_read_like_the_model_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A relative --out lands under the repository root (where the app looks for
    CIVICDESK_NLP_MODEL_DIR), not under whatever directory the command ran in."""
    history = tmp_path / "history.csv"
    rows = ["text,label", *(f"вода течёт {i},water" for i in range(6))]
    rows += [f"яма на дороге {i},roads" for i in range(6)]
    history.write_text("\n".join(rows), encoding="utf-8")
    relative = f"var/models/test-cli-out-{uuid.uuid4().hex[:8]}"
    monkeypatch.chdir(tmp_path)
    try:
        assert (
            main(
                [
                    *("nlp", "train", "--csv", str(history), "--text-col", "text"),
                    *("--label-col", "label", "--out", relative),
                ]
            )
            == 0
        )
        summary = json.loads(capsys.readouterr().out)
        assert summary["model_dir"] == str(REPO_ROOT / relative)
        assert not (tmp_path / relative).exists()
        _, metadata = load_model(REPO_ROOT / relative)
        assert summary["version"] == metadata.version
        settings = Settings(environment="test", nlp_model_dir=relative)
        assert topic.model_directory(settings) == REPO_ROOT / relative
    finally:
        shutil.rmtree(REPO_ROOT / relative, ignore_errors=True)

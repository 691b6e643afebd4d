"""The default topic engine: ranking, calibrated confidence, model files, metadata."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from core.settings import REPO_ROOT
from nlp.engine import (
    METADATA_FILE,
    ModelError,
    ModelMetadata,
    TopicClassifier,
    read_metadata,
    save_model,
)
from nlp.engines import load_model, make_classifier
from nlp.evaluation import holdout_split
from nlp.sklearn_engine import normalize
from nlp.training import train_model


def _sample_corpus() -> tuple[list[str], list[str]]:
    """The project's sample appeals, labeled by taxonomy group (improvement, water, ...)."""
    samples = yaml.safe_load((REPO_ROOT / "data" / "sample_appeals.yaml").read_text("utf-8"))
    texts = [str(s["text"]).replace("{place}", "мкр Самал-2") for s in samples]
    labels = [str(s["category"]).split(".")[0] for s in samples]
    return texts, labels


@pytest.fixture(scope="module")
def corpus() -> tuple[list[str], list[str]]:
    return _sample_corpus()


@pytest.fixture(scope="module")
def trained(corpus: tuple[list[str], list[str]]) -> TopicClassifier:
    texts, labels = corpus
    classifier = make_classifier()
    classifier.fit(texts, labels)
    return classifier


def test_normalisation_strips_markup_and_folds_case() -> None:
    text = "<p>Прошу&nbsp;УБРАТЬ ёлку</p><br>тел. [PHONE] https://example.kz/x?a=1 дом 12"
    assert normalize(text) == "прошу убрать елку тел. дом 00"


def test_predictions_rank_alternatives_best_first(trained: TopicClassifier) -> None:
    predictions = trained.predict(
        ["Во дворе не вывозят мусор уже неделю, контейнеры переполнены", "қоқыс шығарылмайды"],
        top_k=3,
    )
    assert len(predictions) == 2
    for prediction in predictions:
        assert len(prediction.alternatives) == 3
        probabilities = [p for _, p in prediction.alternatives]
        assert probabilities == sorted(probabilities, reverse=True)
        assert prediction.alternatives[0] == (prediction.label, prediction.confidence)
        assert 0.0 < sum(probabilities) <= 1.0 + 1e-6
        assert len({label for label, _ in prediction.alternatives}) == 3
        assert {label for label, _ in prediction.alternatives} <= set(trained.labels)
    assert predictions[0].label == "waste"


def test_full_ranking_is_a_probability_distribution(trained: TopicClassifier) -> None:
    (prediction,) = trained.predict(["нет горячей воды в доме"], top_k=1000)
    assert len(prediction.alternatives) == len(trained.labels)
    assert sum(p for _, p in prediction.alternatives) == pytest.approx(1.0, abs=1e-3)


RYAZAN = "ryazan-nashdom-2019/appeals.csv"  # under ../shared/datasets


def _ryazan_slice(rows: int) -> tuple[list[str], list[str]]:
    from nlp.datasets import read_labeled_csv
    from tests.nlp_support import shared_dataset

    data = read_labeled_csv(shared_dataset(RYAZAN), text_columns="text", label_column="category")
    return data.texts[:rows], data.labels[:rows]


def test_confidence_tracks_correctness_on_held_out_real_appeals() -> None:
    """Calibration-ish on real appeals: sure predictions are right more often than unsure ones,
    and the stated confidence is close to the observed accuracy."""
    texts, labels = _ryazan_slice(800)
    train, test = holdout_split(labels, holdout=0.3, seed=1)
    classifier = make_classifier()
    classifier.fit([texts[i] for i in train], [labels[i] for i in train])
    predictions = classifier.predict([texts[i] for i in test])
    ok = [p.label == labels[i] for i, p in zip(test, predictions, strict=True)]
    right = [p.confidence for p, hit in zip(predictions, ok, strict=True) if hit]
    wrong = [p.confidence for p, hit in zip(predictions, ok, strict=True) if not hit]
    assert right and wrong
    assert sum(right) / len(right) > sum(wrong) / len(wrong) + 0.15
    ranked = sorted(zip(predictions, ok, strict=True), key=lambda pair: -pair[0].confidence)
    half = len(ranked) // 2
    accuracy_sure = sum(hit for _, hit in ranked[:half]) / half
    accuracy_unsure = sum(hit for _, hit in ranked[half:]) / (len(ranked) - half)
    assert accuracy_sure > accuracy_unsure + 0.2
    mean_confidence = sum(p.confidence for p in predictions) / len(predictions)
    assert abs(mean_confidence - sum(ok) / len(ok)) < 0.15


def test_confidence_is_higher_when_right_on_the_sample_appeals(
    corpus: tuple[list[str], list[str]],
) -> None:
    texts, labels = corpus
    train, test = holdout_split(labels, holdout=0.3, seed=1)
    classifier = make_classifier()
    classifier.fit([texts[i] for i in train], [labels[i] for i in train])
    predictions = classifier.predict([texts[i] for i in test])
    right = [p.confidence for i, p in zip(test, predictions, strict=True) if p.label == labels[i]]
    wrong = [p.confidence for i, p in zip(test, predictions, strict=True) if p.label != labels[i]]
    majority = max(labels.count(label) for label in set(labels)) / len(labels)
    assert len(right) / len(test) > 3 * majority  # it learned something from 3 texts a topic
    assert sum(right) / len(right) > sum(wrong) / len(wrong)


def test_save_then_load_predicts_identically(
    trained: TopicClassifier, corpus: tuple[list[str], list[str]], tmp_path: Path
) -> None:
    texts, _ = corpus
    metadata = ModelMetadata(
        engine=trained.engine_name,
        version="test",
        created_at="2026-11-22T14:05:00+00:00",
        trained_on={"source": "sample"},
        evaluation={},
        labels=trained.labels,
    )
    save_model(trained, tmp_path / "topic", metadata)
    loaded, loaded_metadata = load_model(tmp_path / "topic")
    assert loaded_metadata == metadata
    assert loaded.labels == trained.labels
    probe = [*texts[:40], "совершенно новый текст без знакомых слов", "<p>HTML&nbsp;</p>"]
    assert loaded.predict(probe, top_k=5) == trained.predict(probe, top_k=5)
    # no pickle anywhere: the model is JSON and NumPy arrays
    assert not list((tmp_path / "topic").glob("*.pkl")) and not list(
        (tmp_path / "topic").glob("*.joblib")
    )


def test_saving_over_an_existing_model_replaces_it_whole(
    trained: TopicClassifier, tmp_path: Path
) -> None:
    target = tmp_path / "topic"
    target.mkdir()
    (target / "stale.txt").write_text("from an older model")
    metadata = ModelMetadata(
        "tfidf-linear", "v2", "2026-11-22T14:05:00+00:00", {}, {}, trained.labels
    )
    save_model(trained, target, metadata)
    assert not (target / "stale.txt").exists()
    assert read_metadata(target).version == "v2"
    assert [p.name for p in tmp_path.iterdir()] == ["topic"]  # no staging dirs left behind
    assert target.stat().st_mode & 0o055 == 0o055  # workers running as another user can read it


def test_train_model_records_version_data_and_held_out_figures(
    corpus: tuple[list[str], list[str]],
) -> None:
    texts, labels = corpus
    classifier, metadata = train_model(
        texts, labels, source={"source": "data/sample_appeals.yaml"}, holdout=0.25, seed=0
    )
    assert metadata.engine == "tfidf-linear"
    assert metadata.labels == tuple(sorted(set(labels))) == classifier.labels
    stamp, sha8 = metadata.version.split("-")
    assert len(stamp) == len("20261122T1405Z") and stamp.endswith("Z")
    assert str(metadata.trained_on["sha256"]).startswith(sha8)
    assert metadata.trained_on["n_examples"] == len(texts)
    assert metadata.trained_on["n_labels"] == len(set(labels))
    assert metadata.trained_on["source"] == "data/sample_appeals.yaml"
    evaluation = metadata.evaluation
    assert 0 < int(str(evaluation["n_test"])) < len(texts)
    for key in ("accuracy", "macro_f1", "top3_accuracy"):
        assert 0.0 <= float(str(evaluation[key])) <= 1.0
    assert float(str(evaluation["top3_accuracy"])) >= float(str(evaluation["accuracy"]))
    # the shipped model was refit on everything: it knows every training text's label
    assert classifier.predict([texts[0]])[0].label == labels[0]
    # the same data gives the same fingerprint (a retrain on unchanged data is recognisable)
    _, again = train_model(texts, labels, source={}, holdout=0)
    assert again.trained_on["sha256"] == metadata.trained_on["sha256"]


def test_holdout_is_stratified_where_possible() -> None:
    labels = ["a"] * 50 + ["b"] * 10 + ["c"] * 1
    train, test = holdout_split(labels, holdout=0.2, seed=3)
    assert sorted(train + test) == list(range(len(labels)))
    assert 8 <= sum(labels[i] == "a" for i in test) <= 12
    assert 1 <= sum(labels[i] == "b" for i in test) <= 3
    assert all(labels[i] != "c" for i in test)  # a singleton stays in training


def test_missing_or_damaged_model_dir_gives_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"metadata\.json is missing"):
        load_model(tmp_path / "nowhere")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / METADATA_FILE).write_text("{not json")
    with pytest.raises(ModelError, match="not valid JSON"):
        load_model(broken)
    metadata = ModelMetadata("tfidf-linear", "v", "t", {}, {}, ("a", "b"))
    (broken / METADATA_FILE).write_text(metadata.to_json())
    with pytest.raises(ModelError, match="no tfidf-linear model files"):
        load_model(broken)
    (broken / METADATA_FILE).write_text(
        json.dumps({**json.loads(metadata.to_json()), "engine": "x"})
    )
    with pytest.raises(ModelError, match="unknown engine 'x'"):
        load_model(broken)


def test_unknown_engine_and_untrained_model_are_refused() -> None:
    with pytest.raises(ModelError, match="unknown nlp engine"):
        make_classifier("word2vec")
    with pytest.raises(ModelError, match="not trained"):
        make_classifier().predict(["текст"])
    with pytest.raises(ValueError, match="two different labels"):
        make_classifier().fit(["a", "b"], ["x", "x"])

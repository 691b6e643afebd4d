"""Training a topic model with its held-out evaluation, ready to save with its metadata."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from nlp.engine import (
    DEFAULT_ENGINE,
    ModelMetadata,
    TopicClassifier,
    data_fingerprint,
    jsonable,
    model_version,
)
from nlp.engines import make_classifier
from nlp.evaluation import evaluate_holdout


def train_model(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    engine: str = DEFAULT_ENGINE,
    source: dict[str, object],
    holdout: float = 0.2,
    seed: int = 0,
    **options: object,
) -> tuple[TopicClassifier, ModelMetadata]:
    """Evaluate on a held-out split (stratified where possible), then refit on all the data.

    The figures in the metadata therefore describe a model trained on 80% of the
    data; the shipped model saw all of it and should do at least as well.
    """
    texts = list(texts)
    labels = list(labels)
    if len(texts) != len(labels):
        raise ValueError("texts and labels differ in length")
    if len(set(labels)) < 2:
        raise ValueError("training needs at least two different labels")
    evaluation: dict[str, object] = {}
    if holdout > 0:
        evaluation = evaluate_holdout(
            texts, labels, engine=engine, holdout=holdout, seed=seed, **options
        )
    classifier = make_classifier(engine, **options)
    classifier.fit(texts, labels)
    sha256 = data_fingerprint(texts, labels)
    created = datetime.now(UTC)
    metadata = ModelMetadata(
        engine=classifier.engine_name,
        version=model_version(created, sha256),
        created_at=created.isoformat(timespec="seconds"),
        trained_on={
            **source,
            "n_examples": len(texts),
            "n_labels": len(set(labels)),
            "sha256": sha256,
        },
        evaluation=evaluation,
        labels=classifier.labels,
        options={key: jsonable(value) for key, value in options.items()},
    )
    return classifier, metadata

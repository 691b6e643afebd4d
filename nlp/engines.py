"""The engines by name: a fresh classifier or a saved model, with the heavy imports only here.

Kept apart from ``nlp.engine`` (the interface the engines import) so that the engines and
the registry that names them do not import each other.
"""

from __future__ import annotations

from pathlib import Path

from nlp.engine import (
    DEFAULT_ENGINE,
    ENGINES,
    ModelError,
    ModelMetadata,
    TopicClassifier,
    read_metadata,
)


def make_classifier(engine: str = DEFAULT_ENGINE, **options: object) -> TopicClassifier:
    """A fresh, untrained classifier of the named engine; heavy imports happen only here."""
    if engine == "tfidf-linear":
        from nlp.sklearn_engine import TfidfLinearClassifier

        return TfidfLinearClassifier(**options)
    if engine == "tfidf-e5":
        from nlp.embedding_engine import TfidfE5Classifier

        return TfidfE5Classifier(**options)
    if engine == "transformers":
        from nlp.transformers_engine import TransformersClassifier

        return TransformersClassifier(**options)
    raise ModelError(f"unknown nlp engine {engine!r}; choose one of {', '.join(ENGINES)}")


def _load_engine(engine: str, directory: Path) -> TopicClassifier:
    if engine == "tfidf-linear":
        from nlp.sklearn_engine import TfidfLinearClassifier

        return TfidfLinearClassifier.load(directory)
    if engine == "tfidf-e5":
        from nlp.embedding_engine import TfidfE5Classifier

        return TfidfE5Classifier.load(directory)
    if engine == "transformers":
        from nlp.transformers_engine import TransformersClassifier

        return TransformersClassifier.load(directory)
    raise ModelError(f"model in {directory} was written by unknown engine {engine!r}")


def load_model(directory: Path) -> tuple[TopicClassifier, ModelMetadata]:
    """The classifier and its metadata; metadata.json names the engine that reads the files."""
    metadata = read_metadata(directory)
    classifier = _load_engine(metadata.engine, Path(directory))
    return classifier, metadata

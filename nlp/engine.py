"""The topic-classifier interface: engines, model files with metadata, training with evaluation.

Every engine (the default scikit-learn ``tfidf-linear``, the optional
``transformers``) speaks :class:`TopicClassifier`, so the pipeline, the CLI and
the benchmark never care which one is configured. A model on disk is a
directory: the engine's own files plus ``metadata.json`` (engine, version, the
data it was trained on, its held-out evaluation), written atomically so a
reader never sees half a model.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

from core.errors import DomainError

METADATA_FILE = "metadata.json"
DEFAULT_ENGINE = "tfidf-linear"
ENGINES = ("tfidf-linear", "tfidf-e5", "transformers")


class ModelError(DomainError):
    """A model directory is missing, incomplete or written by an unknown engine."""

    code = "nlp_model_unavailable"
    http_status = 503


@dataclass(frozen=True)
class Prediction:
    """One text's topic: the best label, its calibrated probability, and the top-k ranking."""

    label: str
    confidence: float  # calibrated probability of `label` (0..1)
    alternatives: tuple[tuple[str, float], ...]  # top-k (label, probability), best first


@dataclass(frozen=True)
class ModelMetadata:
    """What a model is, what it learned from and how well it did on data it never saw."""

    engine: str
    version: str
    created_at: str
    trained_on: dict[str, object]
    evaluation: dict[str, object]
    labels: tuple[str, ...]
    options: dict[str, object] = field(default_factory=dict)

    def to_json(self) -> str:
        data = asdict(self)
        data["labels"] = list(self.labels)
        return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelMetadata:
        data = json.loads(text)
        try:
            return cls(
                engine=str(data["engine"]),
                version=str(data["version"]),
                created_at=str(data["created_at"]),
                trained_on=dict(data["trained_on"]),
                evaluation=dict(data["evaluation"]),
                labels=tuple(str(label) for label in data["labels"]),
                options=dict(data.get("options") or {}),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ModelError(f"metadata.json is incomplete: {error}") from error


@runtime_checkable
class TopicClassifier(Protocol):
    """Text in, topic labels with calibrated probabilities out."""

    engine_name: str
    labels: tuple[str, ...]

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> None: ...

    def predict(self, texts: Sequence[str], *, top_k: int = 3) -> list[Prediction]: ...

    def save(self, directory: Path) -> None: ...


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


def save_model(classifier: TopicClassifier, directory: Path, metadata: ModelMetadata) -> None:
    """Write model files and metadata.json into a sibling temp dir, then swap it in by rename."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    staging.chmod(0o755)  # mkdtemp makes it 0700; workers may run as another user
    try:
        classifier.save(staging)
        (staging / METADATA_FILE).write_text(metadata.to_json(), encoding="utf-8")
        old: Path | None = None
        if directory.exists():
            old = directory.parent / f".{directory.name}.old-{os.getpid()}"
            if old.exists():
                shutil.rmtree(old)
            directory.rename(old)
        staging.rename(directory)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def read_metadata(directory: Path) -> ModelMetadata:
    """Only the metadata (cheap): which engine, which version, how good."""
    path = Path(directory) / METADATA_FILE
    if not path.is_file():
        raise ModelError(f"no model in {directory}: {METADATA_FILE} is missing")
    try:
        return ModelMetadata.from_json(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ModelError(f"{path} is not valid JSON: {error}") from error


def load_model(directory: Path) -> tuple[TopicClassifier, ModelMetadata]:
    """The classifier and its metadata; metadata.json names the engine that reads the files."""
    metadata = read_metadata(directory)
    classifier = _load_engine(metadata.engine, Path(directory))
    return classifier, metadata


def data_fingerprint(texts: Sequence[str], labels: Sequence[str]) -> str:
    """sha256 of the (text, label) pairs in order: names the exact data a model saw."""
    digest = hashlib.sha256()
    for text, label in zip(texts, labels, strict=True):
        digest.update(text.encode("utf-8"))
        digest.update(b"\x1f")
        digest.update(label.encode("utf-8"))
        digest.update(b"\x1e")
    return digest.hexdigest()


def model_version(created: datetime, sha256: str) -> str:
    return f"{created.astimezone(UTC):%Y%m%dT%H%MZ}-{sha256[:8]}"


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
    from nlp.evaluation import evaluate_holdout

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
        options={key: _jsonable(value) for key, value in options.items()},
    )
    return classifier, metadata


def _jsonable(value: object) -> object:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)

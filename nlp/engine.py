"""The topic-classifier interface: what an engine speaks, model files with metadata.

Every engine (the default scikit-learn ``tfidf-linear``, the optional
``transformers``) speaks :class:`TopicClassifier`, so the pipeline, the CLI and
the benchmark never care which one is configured. A model on disk is a
directory: the engine's own files plus ``metadata.json`` (engine, version, the
data it was trained on, its held-out evaluation), written atomically so a
reader never sees half a model.

The engines import this module and nothing above it; ``nlp.engines`` names them (make,
load) and ``nlp.training`` trains with evaluation, so no import goes in a circle.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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


def save_model(classifier: TopicClassifier, directory: Path, metadata: ModelMetadata) -> None:
    """Write model files and metadata.json into a sibling temp dir, then swap it in by rename."""
    with replacing_directory(directory) as staging:
        classifier.save(staging)
        (staging / METADATA_FILE).write_text(metadata.to_json(), encoding="utf-8")


@contextmanager
def replacing_directory(directory: Path) -> Iterator[Path]:
    """A staging directory beside ``directory`` that replaces it when the block ends.

    What the block writes into the yielded directory is swapped in by two renames (the old
    tree aside, the new one in), so a process loading the model sees the old files or the
    new ones, never a half-written set; if the block raises, the staging directory is
    removed and ``directory`` is left as it was. Model saving and the object-store sync
    both go through here, so they swap the same way."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    staging.chmod(0o755)  # mkdtemp makes it 0700; workers may run as another user
    try:
        yield staging
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


def jsonable(value: object) -> object:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)

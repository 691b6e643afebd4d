"""The running app's topic model: loaded lazily once per process, trained if none exists.

``get_model()`` reads the model directory named by ``CIVICDESK_NLP_MODEL_DIR``
(relative paths are under the repository root). When no model is there and
``nlp_auto_train`` is on, it trains one from the project corpus and saves it,
so a fresh checkout routes appeals without a separate step. The cache is
thread-safe (one lock; workers and web threads share it); ``reload()`` makes the
next call read the directory again, and every process notices a retrained model
by itself: at most every ``RECHECK_S`` seconds it looks at ``metadata.json``'s
modification time and reloads when ``civicdesk nlp train`` replaced the model.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.settings import REPO_ROOT, Settings, get_settings
from nlp.corpus import corpus_path, load_corpus, texts_and_labels
from nlp.engine import (
    METADATA_FILE,
    ModelError,
    ModelMetadata,
    Prediction,
    TopicClassifier,
    data_fingerprint,
    model_version,
    save_model,
)
from nlp.engines import load_model, make_classifier

log = logging.getLogger(__name__)
# Options for the project corpus: char 3–4-grams, min_df 2 and two calibration folds fit
# ~2.7× faster than the engine's defaults on ~7.5k texts (53 s vs 144 s on a busy 2-core
# machine) for 1.4 points less held-out accuracy (0.480 vs 0.494; top-3 0.679 vs 0.690).
CORPUS_OPTIONS: dict[str, Any] = {"char_ngrams": (3, 4), "calibration_folds": 2, "min_df": 2}


RECHECK_S = 30.0


@dataclass(frozen=True)
class LoadedModel:
    classifier: TopicClassifier
    metadata: ModelMetadata
    directory: Path


Stamp = tuple[int, int]  # metadata.json's (mtime in ns, inode): save_model renames a new one in
NO_FILE: Stamp = (0, 0)


def _stamp(directory: Path) -> Stamp:
    try:
        info = (directory / METADATA_FILE).stat()
    except OSError:
        return NO_FILE
    return (info.st_mtime_ns, info.st_ino)


_lock = threading.Lock()
_cache: dict[Path, LoadedModel] = {}
_stamps: dict[Path, tuple[Stamp, float]] = {}  # directory → (stamp of the loaded model, checked at)


def engine_options(engine: str, settings: Settings | None = None) -> dict[str, Any]:
    """The configured engine's options for corpus training: the measured ``CORPUS_OPTIONS``
    for tfidf-linear and tfidf-e5, the configured checkpoint directory for transformers
    (relative paths under the repository root, like the model directory)."""
    if engine in ("tfidf-linear", "tfidf-e5"):  # tfidf-e5 takes every tfidf-linear option
        return dict(CORPUS_OPTIONS)
    if engine == "transformers":
        settings = settings or get_settings()
        checkpoint = settings.nlp_transformers_checkpoint
        if not checkpoint:
            return {}
        return {"checkpoint": str(resolve_path(checkpoint))}
    return {}


def resolve_path(path: str | Path) -> Path:
    """The one reading of a model or checkpoint path, for the settings and the CLI alike: a
    relative path is under the repository root, wherever the command runs from."""
    path = Path(path).expanduser()
    return (path if path.is_absolute() else REPO_ROOT / path).resolve()


def model_directory(settings: Settings | None = None) -> Path:
    settings = settings or get_settings()
    return resolve_path(settings.nlp_model_dir)


def has_model(directory: Path) -> bool:
    return (directory / METADATA_FILE).is_file()


def train_corpus_model(
    *,
    data_dir: Path,
    engine: str = "tfidf-linear",
    extra_texts: Sequence[str] = (),
    extra_labels: Sequence[str] = (),
    source: dict[str, object] | None = None,
    evaluation: dict[str, object] | None = None,
    refit_all: bool = False,
    options: dict[str, Any] | None = None,
) -> tuple[TopicClassifier, ModelMetadata]:
    """Fit on the corpus's train split plus ``extra`` examples (operators' corrections),
    measure and re-calibrate on its held-out split, and (``refit_all``) fit again on all rows.

    Why re-calibrate: the engine fits its softmax temperature on out-of-fold scores, but the
    synthetic corpus repeats each clause in many frames, so folds share sentences and the
    model looks surer than it is on new wordings. The held-out split (phrasings no training
    row uses) gives the honest temperature, which the triage threshold relies on.
    """
    train_texts, train_labels = texts_and_labels(load_corpus(data_dir, split="train"))
    test_texts, test_labels = texts_and_labels(load_corpus(data_dir, split="test"))
    texts = [*train_texts, *extra_texts]
    labels = [*train_labels, *extra_labels]
    if options is None:
        options = engine_options(engine)
    if refit_all:
        texts, labels = [*texts, *test_texts], [*labels, *test_labels]
    held_out = make_classifier(engine, **options)
    held_out.fit([*train_texts, *extra_texts], [*train_labels, *extra_labels])
    figures, factor = held_out_figures(held_out, test_texts, test_labels)
    classifier = held_out
    if refit_all:
        classifier = make_classifier(engine, **options)
        classifier.fit(texts, labels)
    if hasattr(held_out, "calibrator") and hasattr(classifier, "calibrator"):
        # Calibrated on the held-out split by a model that never saw it; the refit model
        # (same engine, more rows) takes the same calibration.
        classifier.calibrator = held_out.calibrator
    elif factor is not None and hasattr(classifier, "temperature"):
        classifier.temperature = float(classifier.temperature) / factor
    sha256 = data_fingerprint(texts, labels)
    created = datetime.now(UTC)
    metadata = ModelMetadata(
        engine=classifier.engine_name,
        version=model_version(created, sha256),
        created_at=created.isoformat(timespec="seconds"),
        trained_on={
            "corpus": str(corpus_path(data_dir)),
            "splits": "train+test" if refit_all else "train",
            "n_examples": len(texts),
            "n_labels": len(set(labels)),
            "sha256": sha256,
            **(source or {}),
        },
        evaluation={**figures, **(evaluation or {})},
        labels=classifier.labels,
        options={key: str(value) for key, value in options.items()},
    )
    return classifier, metadata


def held_out_figures(
    classifier: TopicClassifier, texts: Sequence[str], labels: Sequence[str]
) -> tuple[dict[str, object], float | None]:
    """Accuracy, top-3, macro-F1 on the corpus's held-out split, and the factor that makes
    the probabilities calibrated there (None when the engine gives no probabilities)."""
    import numpy as np
    from scipy.optimize import minimize_scalar
    from sklearn.metrics import f1_score

    predictions = classifier.predict(list(texts), top_k=3)
    predicted = [prediction.label for prediction in predictions]
    top3 = sum(
        label in {name for name, _ in prediction.alternatives}
        for label, prediction in zip(labels, predictions, strict=True)
    )
    n = max(len(labels), 1)
    figures: dict[str, object] = {
        "held_out": "corpus split=test: phrasings no training row uses (synthetic text)",
        "n_test": len(labels),
        "accuracy": round(sum(a == b for a, b in zip(predicted, labels, strict=True)) / n, 4),
        "top3_accuracy": round(top3 / n, 4),
        "macro_f1": round(float(f1_score(labels, predicted, average="macro")), 4),
    }
    recalibrate = getattr(classifier, "recalibrate", None)
    if recalibrate is not None and labels:
        # Temperature and isotonic fitted on the held-out split, the method the numbers chose.
        before = figures_ece(classifier, texts, labels)
        calibrator = recalibrate(list(texts), list(labels))
        figures["calibration"] = {
            **calibrator.report,
            "method": calibrator.method,
            "temperature": round(calibrator.temperature, 4),
            "held_out_ece_engine": before,
            "held_out_ece_recalibrated": figures_ece(classifier, texts, labels),
        }
        return figures, None
    proba = getattr(classifier, "predict_proba", None)
    if proba is None or not labels:
        return figures, None
    index = {label: i for i, label in enumerate(classifier.labels)}
    known = [
        (text, index[label]) for text, label in zip(texts, labels, strict=True) if label in index
    ]
    logp = np.log(np.clip(np.asarray(proba([text for text, _ in known])), 1e-12, 1.0))
    truth = np.array([i for _, i in known])

    def nll(log_factor: float) -> float:
        z = logp * float(np.exp(log_factor))
        z -= z.max(axis=1, keepdims=True)
        z -= np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-z[np.arange(len(truth)), truth].mean())

    before = nll(0.0)
    result = minimize_scalar(nll, bounds=(-3.0, 2.0), method="bounded")
    figures["held_out_nll"] = {"engine": round(before, 4), "recalibrated": round(result.fun, 4)}
    factor = float(np.exp(result.x))
    figures["temperature_factor"] = round(1 / factor, 4)
    return figures, factor


def figures_ece(classifier: TopicClassifier, texts: Sequence[str], labels: Sequence[str]) -> float:
    """Expected calibration error of the classifier's top confidence on labeled texts (on
    the held-out split: in-sample, after recalibrating there)."""
    from nlp.calibration import expected_calibration_error

    predictions = classifier.predict(list(texts), top_k=1)
    import numpy as np

    confidence = np.array([prediction.confidence for prediction in predictions])
    correct = np.array(
        [p.label == label for p, label in zip(predictions, labels, strict=True)], dtype=bool
    )
    return round(expected_calibration_error(confidence, correct), 4)


def _load_or_train(directory: Path, settings: Settings) -> LoadedModel:
    if not has_model(directory):
        if not settings.nlp_auto_train:
            raise ModelError(f"no model in {directory}; run `civicdesk nlp train`")
        log.info("no topic model in %s: training one from the project corpus", directory)
        classifier, metadata = train_corpus_model(
            data_dir=settings.data_dir,
            engine=settings.nlp_engine,
            source={"auto_trained": True},
            options=engine_options(settings.nlp_engine, settings),
        )
        save_model(classifier, directory, metadata)
        return LoadedModel(classifier, metadata, directory)
    classifier, metadata = load_model(directory)
    return LoadedModel(classifier, metadata, directory)


def get_model(settings: Settings | None = None) -> LoadedModel:
    """The configured model, loaded (or trained) once per process and directory.

    At most every ``RECHECK_S`` seconds one caller reads ``metadata.json``'s modification
    time (outside the lock: a stat); when it differs from the loaded model's, the model is
    read again under the lock, comparing the stamp there once more so that two threads
    that both saw the change load it only once.
    """
    settings = settings or get_settings()
    directory = model_directory(settings)
    loaded = _cache.get(directory)
    if loaded is not None:
        current = _current_stamp(directory)
        if current is None:
            return loaded
    with _lock:
        loaded = _cache.get(directory)
        stamp = _stamp(directory)
        known = _stamps.get(directory)
        if loaded is None or known is None or (stamp != known[0] and stamp != NO_FILE):
            loaded = _load_or_train(directory, settings)
            _cache[directory] = loaded
            _stamps[directory] = (_stamp(directory), time.monotonic())
        return loaded


def get_model_at(directory: Path) -> LoadedModel:
    """A model of another directory (the executor model learned from a city's history),
    cached and reloaded like the topic model; never trained here: ``ModelError`` if none."""
    directory = resolve_path(directory)
    loaded = _cache.get(directory)
    if loaded is not None and _current_stamp(directory) is None:
        return loaded
    with _lock:
        loaded = _cache.get(directory)
        stamp = _stamp(directory)
        known = _stamps.get(directory)
        if loaded is None or known is None or (stamp != known[0] and stamp != NO_FILE):
            if not has_model(directory):
                raise ModelError(f"no model in {directory}")
            classifier, metadata = load_model(directory)
            loaded = LoadedModel(classifier, metadata, directory)
            _cache[directory] = loaded
            _stamps[directory] = (_stamp(directory), time.monotonic())
        return loaded


def _current_stamp(directory: Path) -> Stamp | None:
    """The directory's metadata stamp when it is time to look and it changed since the
    model was loaded; None otherwise (not yet time, unchanged, or no file right now)."""
    stamp, checked = _stamps.get(directory, (NO_FILE, 0.0))
    moment = time.monotonic()
    if moment - checked < RECHECK_S:
        return None
    current = _stamp(directory)
    _stamps[directory] = (stamp, moment)
    return current if current not in (stamp, NO_FILE) else None


def install(loaded: LoadedModel) -> None:
    """Serve ``loaded`` for its directory without reading the disk (after training)."""
    with _lock:
        _cache[loaded.directory] = loaded
        _stamps[loaded.directory] = (_stamp(loaded.directory), time.monotonic())


def reload(directory: Path | None = None) -> None:
    """Forget the cached model(s); the next ``get_model()`` reads the directory again."""
    with _lock:
        if directory is None:
            _cache.clear()
            _stamps.clear()
        else:
            _cache.pop(directory, None)
            _stamps.pop(directory, None)


def predict(
    texts: Sequence[str], *, top_k: int = 3, settings: Settings | None = None
) -> list[Prediction]:
    """One ``predict()`` call for the whole batch (the engine vectorizes once)."""
    if not texts:
        return []
    return get_model(settings).classifier.predict(list(texts), top_k=top_k)

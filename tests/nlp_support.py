"""One model trained on the project corpus, shared by the nlp tests (and cached on disk).

Training takes a while on a busy machine, so the model is kept under
``var/models/test-corpus-<key>``, the key naming the corpus, the training options,
the engine's source files and the corpus-training code: a change to any of them trains a
fresh one.
"""

from __future__ import annotations

import hashlib
import inspect
from pathlib import Path

from core.settings import REPO_ROOT
from nlp import engine, sklearn_engine, topic
from nlp.corpus import corpus_path
from nlp.engine import save_model

DATA = REPO_ROOT / "data"


def corpus_model_dir() -> Path:
    digest = hashlib.sha256()
    digest.update(corpus_path(DATA).read_bytes())
    digest.update(repr(sorted(topic.CORPUS_OPTIONS.items())).encode())
    digest.update(str(sklearn_engine.FORMAT_VERSION).encode())
    # The engine's source and the corpus training steps: an edit to either trains afresh
    # (a cached model of older code would test yesterday's engine).
    digest.update(Path(inspect.getfile(sklearn_engine)).read_bytes())
    digest.update(Path(inspect.getfile(engine)).read_bytes())
    for step in (topic.train_corpus_model, topic.held_out_figures):
        digest.update(inspect.getsource(step).encode())
    directory = REPO_ROOT / "var" / "models" / f"test-corpus-{digest.hexdigest()[:12]}"
    if not topic.has_model(directory):
        classifier, metadata = topic.train_corpus_model(data_dir=DATA, source={"purpose": "tests"})
        save_model(classifier, directory, metadata)
    return directory


#: The shared data sets, beside the repository (``../shared/datasets``), as everywhere else.
SHARED_DATASETS = REPO_ROOT.parent / "shared" / "datasets"


def shared_dataset(relative: str) -> Path:
    """The path of a shared data set's file; skip with the reason when it is not on this
    machine, or fail under ``CI=true``, where a missing data set is a broken checkout."""
    import os

    import pytest

    path = SHARED_DATASETS / relative
    if not path.is_file():
        reason = f"shared data set absent: ../shared/datasets/{relative}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{reason} (CI=true: the data sets must be there)")
        pytest.skip(reason)
    return path

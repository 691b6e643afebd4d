"""Retraining the project's topic model: the corpus plus operators' corrections (issue 4).

``train_project_model`` is what ``civicdesk nlp train`` (without ``--csv``) runs:
it fits on the corpus's train split and the corrections — each counted
``nlp_correction_weight`` times, because a real appeal an operator fixed says
more than a synthetic one — evaluates and re-calibrates on the held-out split
(``split=test``: phrasings no training row uses), then (``refit_all``) fits again
on everything, saves the model with its metadata and serves it at once.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core import db
from core.settings import Settings
from intake.corrections import corrections_for_training
from nlp import topic
from nlp.engine import save_model


def train_project_model(
    *,
    settings: Settings,
    out_dir: Path | None = None,
    session: Session | None = None,
    refit_all: bool = True,
    engine: str | None = None,
    options: dict[str, Any] | None = None,
) -> dict[str, object]:
    """Corpus + corrections → a saved model in ``out_dir`` (default: the configured model
    directory), served by this process from now on. Returns the model's metadata.

    ``engine`` and ``options`` default to the configuration (``CIVICDESK_NLP_ENGINE``,
    ``CIVICDESK_NLP_TRANSFORMERS_CHECKPOINT``): what the pipeline would train itself."""
    # Relative paths are under the repository root, as for CIVICDESK_NLP_MODEL_DIR.
    directory = topic.model_directory(settings) if out_dir is None else topic.resolve_path(out_dir)
    corrections_note = "from the database"
    if session is not None:
        texts, labels = corrections_for_training(session)
    else:
        try:
            db.configure(settings)
            with db.session_factory()() as own:
                texts, labels = corrections_for_training(own)
        except DBAPIError as error:  # no database yet (a fresh checkout): the corpus alone
            texts, labels = [], []
            corrections_note = f"database unavailable ({error.__class__.__name__})"
    weight = settings.nlp_correction_weight
    engine = engine or settings.nlp_engine
    classifier, metadata = topic.train_corpus_model(
        data_dir=settings.data_dir,
        engine=engine,
        extra_texts=[text for text in texts for _ in range(weight)],
        extra_labels=[label for label in labels for _ in range(weight)],
        source={
            "corrections": len(texts),
            "corrections_source": corrections_note,
            "correction_weight": weight,
            "corrections_by_category": dict(Counter(labels).most_common()),
        },
        refit_all=refit_all,
        options=options if options is not None else topic.engine_options(engine, settings),
    )
    save_model(classifier, directory, metadata)
    topic.install(topic.LoadedModel(classifier, metadata, directory))
    if settings.s3_bucket and out_dir is None:
        # Several machines (issue 20): the others fetch this model instead of training theirs.
        from intake.model_sync import publish

        if session is not None:
            publish(session, directory, metadata.version, settings)
        else:
            with db.transaction() as own:
                publish(own, directory, metadata.version, settings)
    result: dict[str, Any] = {
        "directory": str(directory),
        "engine": metadata.engine,
        "version": metadata.version,
        "created_at": metadata.created_at,
        "trained_on": metadata.trained_on,
        "evaluation": metadata.evaluation,
        "labels": len(metadata.labels),
    }
    return result

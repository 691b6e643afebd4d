"""Optional topic engine: fine-tunes a local transformers checkpoint (BERT-like) on CPU or GPU.

Install the extra first (torch only as this exact local CPU wheel):

    pip install torch==2.13.0 'transformers>=5,<6'

The checkpoint is any directory on disk that ``AutoModelForSequenceClassification``
and ``AutoTokenizer`` can read (e.g. a ruBERT or a multilingual model copied in
by the city's admins); nothing is ever downloaded (``HF_HUB_OFFLINE=1``,
``local_files_only``). torch and transformers are imported only when this
engine is used, so the default installation does not need them.
"""

from __future__ import annotations

import importlib
import json
import os
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nlp.datasets import strip_html
from nlp.engine import ModelError, Prediction

ENGINE_NAME = "transformers"
CONFIG_FILE = "transformers_engine.json"
MODEL_SUBDIR = "model"
DEFAULTS: dict[str, Any] = {
    "checkpoint": None,
    "epochs": 3,
    "batch_size": 16,
    "learning_rate": 5e-5,
    "max_length": 256,
    "seed": 0,
    "threads": None,  # torch CPU threads; None keeps torch's default
    "device": None,  # "cpu", "cuda"; None picks cuda when available
}


def _modules() -> tuple[Any, Any]:
    """torch and transformers, offline; a clear error when the extra is not installed."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        torch = importlib.import_module("torch")
        transformers = importlib.import_module("transformers")
    except ImportError as error:
        raise ModelError(
            "the transformers engine needs the optional extra: "
            "pip install torch==2.13.0 'transformers>=5,<6'"
        ) from error
    return torch, transformers


def clean(text: str) -> str:
    """Markup out, whitespace collapsed; case kept (cased checkpoints need it)."""
    return " ".join(strip_html(text).split())


class TransformersClassifier:
    """AutoModelForSequenceClassification fine-tuned with a plain AdamW loop."""

    engine_name = ENGINE_NAME

    def __init__(self, **options: object) -> None:
        unknown = set(options) - set(DEFAULTS)
        if unknown:
            raise ModelError(f"unknown transformers option(s): {', '.join(sorted(unknown))}")
        self.options: dict[str, Any] = {**DEFAULTS, **options}
        self.labels: tuple[str, ...] = ()
        self._model: Any = None
        self._tokenizer: Any = None

    def _device(self, torch: Any) -> Any:
        name = self.options["device"] or ("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(name)

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> None:
        checkpoint = self.options["checkpoint"]
        if not checkpoint:
            raise ModelError(
                "the transformers engine needs a local checkpoint directory "
                "(option checkpoint / CIVICDESK_NLP_TRANSFORMERS_CHECKPOINT)"
            )
        if not Path(str(checkpoint)).is_dir():
            raise ModelError(f"transformers checkpoint {checkpoint} is not a directory")
        if len(texts) != len(labels):
            raise ValueError("texts and labels differ in length")
        classes = sorted(set(labels))
        if len(classes) < 2:
            raise ValueError("training needs at least two different labels")
        torch, transformers = _modules()
        if self.options["threads"]:
            torch.set_num_threads(int(self.options["threads"]))
        seed = int(self.options["seed"])
        random.seed(seed)
        torch.manual_seed(seed)
        self.labels = tuple(classes)
        index = {label: i for i, label in enumerate(classes)}
        self._tokenizer = transformers.AutoTokenizer.from_pretrained(
            str(checkpoint), local_files_only=True
        )
        self._model = transformers.AutoModelForSequenceClassification.from_pretrained(
            str(checkpoint),
            local_files_only=True,
            num_labels=len(classes),
            id2label=dict(enumerate(classes)),
            label2id=index,
            ignore_mismatched_sizes=True,  # a fresh head for our labels
        )
        device = self._device(torch)
        model = self._model.to(device)
        optimizer = torch.optim.AdamW(model.parameters(), lr=float(self.options["learning_rate"]))
        cleaned = [clean(text) for text in texts]
        targets = [index[label] for label in labels]
        order = list(range(len(cleaned)))
        batch_size = int(self.options["batch_size"])
        rng = random.Random(seed)  # noqa: S311 - shuffling batches, not a secret
        model.train()
        for _ in range(int(self.options["epochs"])):
            rng.shuffle(order)
            for start in range(0, len(order), batch_size):
                batch = order[start : start + batch_size]
                encoded = self._encode([cleaned[i] for i in batch], device)
                output = model(
                    **encoded, labels=torch.tensor([targets[i] for i in batch], device=device)
                )
                output.loss.backward()
                optimizer.step()
                optimizer.zero_grad()
        model.eval()

    def _encode(self, texts: list[str], device: Any) -> dict[str, Any]:
        encoded = self._tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=int(self.options["max_length"]),
            return_tensors="pt",
        )
        return {key: value.to(device) for key, value in encoded.items()}

    def predict(self, texts: Sequence[str], *, top_k: int = 3) -> list[Prediction]:
        if self._model is None or self._tokenizer is None:
            raise ModelError("the transformers classifier is not trained")
        if not texts:
            return []
        torch, _ = _modules()
        device = self._device(torch)
        model = self._model.to(device)
        k = max(1, min(top_k, len(self.labels)))
        predictions: list[Prediction] = []
        batch_size = max(1, int(self.options["batch_size"]))
        cleaned = [clean(text) for text in texts]
        with torch.no_grad():
            for start in range(0, len(cleaned), batch_size):
                logits = model(**self._encode(cleaned[start : start + batch_size], device)).logits
                probabilities = torch.softmax(logits.float(), dim=-1)
                values, indices = torch.topk(probabilities, k, dim=-1)
                for row_values, row_indices in zip(
                    values.cpu().tolist(), indices.cpu().tolist(), strict=True
                ):
                    alternatives = tuple(
                        (self.labels[i], round(float(p), 6))
                        for i, p in zip(row_indices, row_values, strict=True)
                    )
                    predictions.append(
                        Prediction(
                            label=alternatives[0][0],
                            confidence=alternatives[0][1],
                            alternatives=alternatives,
                        )
                    )
        return predictions

    def save(self, directory: Path) -> None:
        if self._model is None or self._tokenizer is None:
            raise ModelError("the transformers classifier is not trained")
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self._model.save_pretrained(directory / MODEL_SUBDIR)
        self._tokenizer.save_pretrained(directory / MODEL_SUBDIR)
        options = {**self.options, "checkpoint": str(self.options["checkpoint"] or "")}
        config = {"engine": ENGINE_NAME, "labels": list(self.labels), "options": options}
        (directory / CONFIG_FILE).write_text(
            json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8"
        )

    @classmethod
    def load(cls, directory: Path) -> TransformersClassifier:
        directory = Path(directory)
        config_path = directory / CONFIG_FILE
        if not config_path.is_file() or not (directory / MODEL_SUBDIR).is_dir():
            raise ModelError(f"{directory} holds no transformers model files")
        config = json.loads(config_path.read_text(encoding="utf-8"))
        classifier = cls(**config["options"])
        classifier.labels = tuple(config["labels"])
        torch, transformers = _modules()
        if classifier.options["threads"]:
            torch.set_num_threads(int(classifier.options["threads"]))
        path = str(directory / MODEL_SUBDIR)
        classifier._tokenizer = transformers.AutoTokenizer.from_pretrained(
            path, local_files_only=True
        )
        classifier._model = transformers.AutoModelForSequenceClassification.from_pretrained(
            path, local_files_only=True
        )
        classifier._model.eval()
        if classifier._model.config.num_labels != len(classifier.labels):
            raise ModelError(f"{directory}: the model's head does not match its labels")
        return classifier

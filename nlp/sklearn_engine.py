"""The default topic engine: TF-IDF word and character n-grams + a linear model, on CPU.

Why this shape:
- character n-grams inside word boundaries (``char_wb``) survive typos, Russian
  inflection, Kazakh letters and transliteration; word n-grams carry phrases;
- a linear SVM trains in seconds on thousands of appeals and predicts with one
  sparse matrix product;
- its scores are turned into probabilities calibrated on out-of-fold scores
  (``nlp.calibration``: a temperature, and an isotonic map of the top probability
  where the numbers say it helps), so ``confidence`` means "how often a prediction
  this sure is right", which the triage threshold needs. Each calibration fold
  builds its own vocabulary, so the scores are those of texts the model never saw.
  Classic ``CalibratedClassifierCV`` refuses classes with fewer examples than
  folds, and real histories are full of rare classes.

Model files are plain JSON and NumPy arrays (no pickle): loading a model never
runs code and survives scikit-learn upgrades.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Sequence
from itertools import repeat
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold
from sklearn.svm import LinearSVC

from nlp.calibration import Calibrator, fit_calibrator
from nlp.engine import ModelError, Prediction

ENGINE_NAME = "tfidf-linear"
CONFIG_FILE = "tfidf_linear.json"
ARRAYS_FILE = "tfidf_linear.npz"
FORMAT_VERSION = 1

_TAG = re.compile(r"<[^<>]{0,500}>")
_URL = re.compile(r"(?:https?://|www\.)\S+")
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.\w+")
_PLACEHOLDER = re.compile(r"\[(?:phone|email|name|address|iin|card)\]")
_EMPTY = np.zeros(0, dtype=np.int32)
CACHE_LIMIT = 200_000  # distinct words remembered per vectorizer; cleared when full
_TOKEN = re.compile(r"\w+")  # a word: letters of any script (Kazakh too) and digits


def _char_ngrams(word: str, low: int, high: int) -> Iterable[str]:
    """char_wb n-grams: of the word padded with one space each side."""
    padded = f" {word} "
    size = len(padded)
    for n in range(low, min(high, size) + 1):
        for start in range(size - n + 1):
            yield padded[start : start + n]


def _word_ngrams(tokens: list[str], high: int) -> list[str]:
    grams = list(tokens)
    for n in range(2, high + 1):
        grams.extend(map(" ".join, zip(*(tokens[i:] for i in range(n)), strict=False)))
    return grams


class NgramTfidf:
    """TF-IDF over n-grams (sublinear tf, smooth idf, L2 rows) computed on whole arrays.

    scikit-learn's vectorizers count every n-gram of every text in Python, which
    was 90% of prediction time. Here ``kind="char"`` (char_wb n-grams) analyses
    each distinct word once and caches its columns (words repeat, Zipf); ``kind="word"``
    looks tokens and their n-grams up with C-level ``map``. Weighting is vectorised.
    """

    def __init__(self, kind: str, ngram_range: tuple[int, int], *, min_df: int = 1) -> None:
        if kind not in ("char", "word"):
            raise ValueError(f"unknown n-gram kind {kind!r}")
        self.kind = kind
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.vocabulary: dict[str, int] = {}
        self.idf: NDArray[np.float32] = np.zeros(0, dtype=np.float32)
        self._cache: dict[str, NDArray[np.int32]] = {}

    @property
    def n_features(self) -> int:
        return len(self.vocabulary)

    def _analyze(self, text: str) -> set[str]:
        """The distinct n-grams of one text (for document frequencies at fit time)."""
        low, high = self.ngram_range
        if self.kind == "char":
            return {g for word in set(text.split()) for g in _char_ngrams(word, low, high)}
        grams = _word_ngrams(_TOKEN.findall(text), high)
        return {g for g in grams if g.count(" ") + 1 >= low}

    def _word_columns(self, word: str) -> NDArray[np.int32]:
        vocabulary = self.vocabulary
        found = [vocabulary[g] for g in _char_ngrams(word, *self.ngram_range) if g in vocabulary]
        columns = np.array(found, dtype=np.int32) if found else _EMPTY
        if len(self._cache) >= CACHE_LIMIT:
            self._cache.clear()
        self._cache[word] = columns
        return columns

    def _row(self, text: str) -> NDArray[np.int32]:
        if self.kind == "char":
            # .get, not "in" then [], so a concurrent clear() cannot raise KeyError
            cached = self._cache.get
            arrays = []
            for word in text.split():
                columns = cached(word)
                arrays.append(self._word_columns(word) if columns is None else columns)
            return np.concatenate(arrays) if arrays else _EMPTY
        low, high = self.ngram_range
        grams = _word_ngrams(_TOKEN.findall(text), high)
        if low > 1:
            grams = [g for g in grams if g.count(" ") + 1 >= low]
        found = np.fromiter(map(self.vocabulary.get, grams, repeat(-1)), np.int32, len(grams))
        return found[found >= 0]

    def _counts(self, texts: Sequence[str]) -> sparse.csr_matrix:
        rows = [self._row(text) for text in texts]
        indptr = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum([len(row) for row in rows], out=indptr[1:])
        indices = np.concatenate(rows) if rows else _EMPTY
        data = np.ones(len(indices), dtype=np.float32)
        matrix = sparse.csr_matrix(
            (data, indices, indptr), shape=(len(texts), self.n_features), dtype=np.float32
        )
        matrix.sum_duplicates()
        return matrix

    def fit_transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        document_frequency: dict[str, int] = {}
        for text in texts:
            for gram in self._analyze(text):
                document_frequency[gram] = document_frequency.get(gram, 0) + 1
        kept = sorted(g for g, df in document_frequency.items() if df >= self.min_df)
        df = np.array([document_frequency[g] for g in kept], dtype=np.float64)
        # scikit-learn's smooth idf: log((1 + n) / (1 + df)) + 1
        self.restore(kept, np.log((1 + len(texts)) / (1 + df)) + 1)
        return self.transform(texts)

    def restore(self, terms: Sequence[str], idf: NDArray[np.floating[Any]]) -> None:
        """A fitted vectorizer from its terms (in column order) and idf weights."""
        if len(terms) != len(idf):
            raise ValueError("vocabulary and idf differ in length")
        self.vocabulary = {term: column for column, term in enumerate(terms)}
        self.idf = np.asarray(idf, dtype=np.float32)
        self._cache = {}

    def terms(self) -> list[str]:
        ordered = [""] * len(self.vocabulary)
        for term, column in self.vocabulary.items():
            ordered[column] = term
        return ordered

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        matrix = self._counts(texts)
        data = matrix.data
        np.log(data, out=data)
        data += 1.0  # sublinear tf: 1 + log(count)
        data *= self.idf[matrix.indices]
        lengths = np.diff(matrix.indptr)
        squares = np.zeros(matrix.shape[0], dtype=np.float64)
        nonempty = lengths > 0
        if data.size:
            squared = data.astype(np.float64) ** 2
            squares[nonempty] = np.add.reduceat(squared, matrix.indptr[:-1][nonempty])
        norms = np.sqrt(squares)
        norms[norms == 0] = 1.0
        data /= np.repeat(norms, lengths).astype(np.float32)
        return matrix


DEFAULTS: dict[str, Any] = {
    "model": "svc",  # "svc" (LinearSVC) or "lr" (multinomial logistic regression)
    "C": 1.0,
    "class_weight": "balanced",
    "word_ngrams": (1, 2),
    "char_ngrams": (1, 4),
    "min_df": 1,
    "max_chars": 3000,  # only the head of very long texts is read (speed; topic is up front)
    "calibration_folds": 3,
    "calibration": "auto",  # temperature, isotonic, or auto: the held-out numbers decide
    "seed": 0,
}


_DIGIT = re.compile(r"[1-9]")


def normalize(text: str, *, max_chars: int = 0) -> str:
    """Lower-case, ё→е, HTML/URLs/e-mails/redaction placeholders out, digits folded to 0.

    Lives in the engine so that training and prediction see the same text. Each
    regex runs only when its trigger character is present (speed on long texts).
    """
    if max_chars and len(text) > max_chars * 2:
        text = text[: max_chars * 2]  # markup can double the size; cut before the regexes
    if "<" in text:
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    text = text.lower()
    if "[" in text:
        text = _PLACEHOLDER.sub(" ", text)
    if "http" in text or "www." in text:
        text = _URL.sub(" ", text)
    if "@" in text:
        text = _EMAIL.sub(" ", text)
    text = " ".join(_DIGIT.sub("0", text.replace("ё", "е")).split())
    if max_chars and len(text) > max_chars:
        text = text[:max_chars]
    return text


class TfidfLinearClassifier:
    """TF-IDF (word + char_wb n-grams) → linear SVM/LR → temperature-scaled softmax."""

    engine_name = ENGINE_NAME
    # Subclasses add a dense block of features (nlp.embedding_engine) and their options.
    option_defaults: ClassVar[dict[str, Any]] = DEFAULTS
    dense_width = 0

    def __init__(self, **options: object) -> None:
        unknown = set(options) - set(self.option_defaults)
        if unknown:
            raise ModelError(f"unknown {self.engine_name} option(s): {', '.join(sorted(unknown))}")
        self.options: dict[str, Any] = {**self.option_defaults, **options}
        self.options["word_ngrams"] = tuple(int(n) for n in self.options["word_ngrams"])
        self.options["char_ngrams"] = tuple(int(n) for n in self.options["char_ngrams"])
        self.labels: tuple[str, ...] = ()
        self.calibrator = Calibrator()
        self._word: NgramTfidf | None = None
        self._char: NgramTfidf | None = None
        self._coef: NDArray[np.float32] | None = None  # (n_features, n_labels)
        self._intercept: NDArray[np.float32] | None = None  # (n_labels,)

    @property
    def temperature(self) -> float:
        """The softmax temperature (the first step of the calibration)."""
        return self.calibrator.temperature

    @temperature.setter
    def temperature(self, value: float) -> None:
        self.calibrator.temperature = float(value)

    # -- features ---------------------------------------------------------------------------

    def _vectorizers(self) -> tuple[NgramTfidf, NgramTfidf]:
        min_df = int(self.options["min_df"])
        word = NgramTfidf("word", self.options["word_ngrams"], min_df=min_df)
        char = NgramTfidf("char", self.options["char_ngrams"], min_df=min_df)
        return word, char

    def _normalize(self, texts: Sequence[str]) -> list[str]:
        limit = int(self.options["max_chars"])
        return [normalize(text, max_chars=limit) for text in texts]

    def _dense_block(self, texts: Sequence[str]) -> NDArray[np.float32] | None:
        """Extra dense features of the raw texts (``dense_width`` columns); none here."""
        return None

    def _with_dense(
        self, blocks: list[sparse.csr_matrix], texts: Sequence[str]
    ) -> sparse.csr_matrix:
        dense = self._dense_block(texts)
        if dense is not None:
            blocks = [*blocks, sparse.csr_matrix(dense)]
        return sparse.hstack(blocks, format="csr")

    def _transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        if self._word is None or self._char is None:
            raise ModelError(f"the {self.engine_name} classifier is not trained")
        normalized = self._normalize(texts)
        # Each block is L2-normalised on its own; the two blocks weigh the same.
        return self._with_dense(
            [self._word.transform(normalized), self._char.transform(normalized)], texts
        )

    # -- training ---------------------------------------------------------------------------

    def _linear_model(self) -> LinearSVC | LogisticRegression:
        weight = self.options["class_weight"] or None
        if self.options["model"] == "lr":
            return LogisticRegression(
                C=float(self.options["C"]), class_weight=weight, max_iter=3000
            )
        if self.options["model"] == "svc":
            return LinearSVC(C=float(self.options["C"]), class_weight=weight)
        raise ModelError(f"unknown tfidf-linear model {self.options['model']!r}; use svc or lr")

    def _scores_model(
        self, features: sparse.csr_matrix, y: NDArray[np.int64], n_labels: int
    ) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """Fit the linear model; return (coef (features × labels), intercept) over ALL labels."""
        model = self._linear_model()
        model.fit(features, y)
        present = np.asarray(model.classes_, dtype=np.int64)
        raw_coef = np.asarray(model.coef_, dtype=np.float32)
        raw_intercept = np.asarray(model.intercept_, dtype=np.float32)
        if len(present) == 2 and raw_coef.shape[0] == 1:
            raw_coef = np.vstack([-raw_coef, raw_coef])
            raw_intercept = np.concatenate([-raw_intercept, raw_intercept])
        coef = np.zeros((features.shape[1], n_labels), dtype=np.float32)
        # A label absent from this fit can never win: a very low intercept.
        intercept = np.full(n_labels, -1e3, dtype=np.float32)
        coef[:, present] = raw_coef.T
        intercept[present] = raw_intercept
        return coef, intercept

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> None:
        if len(texts) != len(labels):
            raise ValueError("texts and labels differ in length")
        classes = sorted(set(labels))
        if len(classes) < 2:
            raise ValueError("training needs at least two different labels")
        index = {label: i for i, label in enumerate(classes)}
        y = np.array([index[label] for label in labels], dtype=np.int64)
        normalized = self._normalize(texts)
        dense = self._dense_block(texts)  # computed once: the calibration folds reuse it
        self.calibrator = self._calibrate(normalized, dense, y, len(classes))
        self._word, self._char = self._vectorizers()
        features = self._stack(
            [self._word.fit_transform(normalized), self._char.fit_transform(normalized)], dense
        )
        self.labels = tuple(classes)
        self._coef, self._intercept = self._scores_model(features, y, len(classes))

    @staticmethod
    def _stack(
        blocks: list[sparse.csr_matrix], dense: NDArray[np.float32] | None
    ) -> sparse.csr_matrix:
        if dense is not None:
            blocks = [*blocks, sparse.csr_matrix(dense)]
        return sparse.hstack(blocks, format="csr")

    def _calibrate(
        self,
        normalized: list[str],
        dense: NDArray[np.float32] | None,
        y: NDArray[np.int64],
        n_labels: int,
    ) -> Calibrator:
        """Out-of-fold scores → the calibrator. Each fold builds its vocabulary from its own
        training texts, so a held-out text's rare words weigh as they will for a new appeal."""
        folds = int(self.options["calibration_folds"])
        if folds < 2 or len(y) < folds * 5:
            return Calibrator()
        scores = np.zeros((len(y), n_labels), dtype=np.float64)
        splitter = KFold(n_splits=folds, shuffle=True, random_state=int(self.options["seed"]))
        for train, test in splitter.split(np.zeros(len(y))):
            if len(np.unique(y[train])) < 2:
                return Calibrator()
            word, char = self._vectorizers()
            fold_train = [normalized[i] for i in train]
            fold_test = [normalized[i] for i in test]
            features = self._stack(
                [word.fit_transform(fold_train), char.fit_transform(fold_train)],
                dense[train] if dense is not None else None,
            )
            coef, intercept = self._scores_model(features, y[train], n_labels)
            held_out = self._stack(
                [word.transform(fold_test), char.transform(fold_test)],
                dense[test] if dense is not None else None,
            )
            scores[test] = held_out @ coef + intercept
        return fit_calibrator(
            scores, y, method=str(self.options["calibration"]), seed=int(self.options["seed"])
        )

    def scores(self, texts: Sequence[str]) -> NDArray[np.float64]:
        """Raw scores (n_texts × n_labels) before calibration."""
        if self._coef is None or self._intercept is None:
            raise ModelError(f"the {self.engine_name} classifier is not trained")
        features = self._transform(texts)
        return np.asarray(features @ self._coef, dtype=np.float64) + self._intercept

    def recalibrate(
        self, texts: Sequence[str], labels: Sequence[str], *, method: str | None = None
    ) -> Calibrator:
        """Fit the calibration again on a held-out set (texts the model never saw), e.g. the
        project corpus's held-out split; labels the model does not know are skipped."""
        index = {label: i for i, label in enumerate(self.labels)}
        known = [(text, index[label]) for text, label in zip(texts, labels, strict=True)
                 if label in index]  # fmt: skip
        if len(known) < 20:
            return self.calibrator
        raw = self.scores([text for text, _ in known])
        truth = np.array([i for _, i in known], dtype=np.int64)
        chosen = method or str(self.options["calibration"])
        self.calibrator = fit_calibrator(raw, truth, method=chosen, seed=int(self.options["seed"]))
        return self.calibrator

    # -- prediction -------------------------------------------------------------------------

    def predict_proba(self, texts: Sequence[str]) -> NDArray[np.float64]:
        """(n_texts × n_labels) calibrated probabilities, columns in ``self.labels`` order."""
        return self.calibrator.probabilities(self.scores(texts))

    def predict(self, texts: Sequence[str], *, top_k: int = 3) -> list[Prediction]:
        if not texts:
            return []
        probs = self.predict_proba(texts)
        k = max(1, min(top_k, probs.shape[1]))
        if k < probs.shape[1]:
            top = np.argpartition(-probs, k - 1, axis=1)[:, :k]
        else:
            top = np.tile(np.arange(probs.shape[1]), (probs.shape[0], 1))
        top_probs = np.take_along_axis(probs, top, axis=1)
        order = np.argsort(-top_probs, axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        top_probs = np.take_along_axis(top_probs, order, axis=1)
        labels = self.labels
        predictions = []
        for row_labels, row_probs in zip(top.tolist(), top_probs.tolist(), strict=True):
            alternatives = tuple(
                (labels[i], round(p, 6)) for i, p in zip(row_labels, row_probs, strict=True)
            )
            predictions.append(
                Prediction(
                    label=alternatives[0][0],
                    confidence=alternatives[0][1],
                    alternatives=alternatives,
                )
            )
        return predictions

    # -- files ------------------------------------------------------------------------------

    def save(self, directory: Path) -> None:
        if self._word is None or self._char is None or self._coef is None:
            raise ModelError("the tfidf-linear classifier is not trained")
        if self._intercept is None:
            raise ModelError("the tfidf-linear classifier is not trained")
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        word_vocab = self._word.terms()
        char_vocab = self._char.terms()
        config = {
            "format": FORMAT_VERSION,
            "engine": self.engine_name,
            "options": {
                key: list(value) if isinstance(value, tuple) else value
                for key, value in self.options.items()
            },
            "labels": list(self.labels),
            "temperature": self.temperature,
            "calibration": self.calibrator.to_json(),
            "word_vocabulary": word_vocab,
            "char_vocabulary": char_vocab,
        }
        (directory / CONFIG_FILE).write_text(
            json.dumps(config, ensure_ascii=False), encoding="utf-8"
        )
        np.savez_compressed(
            directory / ARRAYS_FILE,
            word_idf=self._word.idf,
            char_idf=self._char.idf,
            coef=self._coef,
            intercept=self._intercept,
        )

    @classmethod
    def load(cls, directory: Path) -> TfidfLinearClassifier:
        directory = Path(directory)
        config_path, arrays_path = directory / CONFIG_FILE, directory / ARRAYS_FILE
        if not config_path.is_file() or not arrays_path.is_file():
            raise ModelError(f"{directory} holds no tfidf-linear model files")
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
            if config.get("format") != FORMAT_VERSION:
                raise ModelError(f"{config_path}: unsupported format {config.get('format')!r}")
            classifier = cls(**config["options"])
            classifier.labels = tuple(config["labels"])
            classifier.calibrator = Calibrator.from_json(
                config.get("calibration"), temperature=float(config["temperature"])
            )
            word, char = classifier._vectorizers()
            with np.load(arrays_path, allow_pickle=False) as arrays:
                word.restore(config["word_vocabulary"], arrays["word_idf"])
                char.restore(config["char_vocabulary"], arrays["char_idf"])
                coef = np.asarray(arrays["coef"], dtype=np.float32)
                intercept = np.asarray(arrays["intercept"], dtype=np.float32)
        except (KeyError, TypeError, ValueError, OSError) as error:
            raise ModelError(f"{directory}: damaged tfidf-linear model ({error})") from error
        n_features = (
            len(config["word_vocabulary"]) + len(config["char_vocabulary"]) + cls.dense_width
        )
        if coef.shape != (n_features, len(classifier.labels)):
            raise ModelError(f"{directory}: model arrays do not match its vocabulary")
        classifier._word, classifier._char = word, char
        classifier._coef, classifier._intercept = coef, intercept
        return classifier

"""Confidence that means what it says: temperature scaling, isotonic regression, and a fair
choice between them (issue 19).

A classifier's softmax is over-sure on texts like its training data and under-sure on new
ones; the triage threshold relies on "80 % confident" meaning "right 8 times in 10". Both
calibrators are fitted on **held-out** scores (out-of-fold scores of texts the scoring model
did not see, or a held-out split):

- ``temperature``: one number dividing the scores before the softmax, fitted by maximum
  likelihood. Keeps the ranking, fixes a uniform over- or under-confidence.
- ``isotonic``: after the temperature, a monotone step function from the top probability to
  how often predictions that sure were right (``sklearn.isotonic``), with each step's
  accuracy shrunk towards the overall rate by its size so a small step of lucky hits does
  not say 100 %. Fixes a confidence that is wrong differently at different levels.

``method="auto"`` lets the numbers decide for each model: the held-out rows are split in
two, each half fits both calibrators that are then scored (expected calibration error) on the
other half, and the lower mean error wins (the temperature on a tie: it is the simpler).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize_scalar

METHODS = ("temperature", "isotonic", "auto")
BINS = 10
# Each isotonic step's accuracy is shrunk towards the overall rate as if it held this many
# more predictions at that rate: 20 right of 20 reads 0.95 at an overall 0.7, not 1.00.
PRIOR_WEIGHT = 2.0
CEILING = 0.995  # no calibrated confidence reads "100 %"


def softmax(scores: NDArray[np.float64], temperature: float) -> NDArray[np.float64]:
    z: NDArray[np.float64] = np.asarray(scores, dtype=np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def fit_temperature(scores: NDArray[np.float64], truth: NDArray[np.int64]) -> float:
    """The softmax temperature that minimises the negative log-likelihood of the true labels."""

    def nll(log_t: float) -> float:
        probs = softmax(scores, float(np.exp(log_t)))
        picked = probs[np.arange(len(truth)), truth]
        return float(-np.log(np.clip(picked, 1e-12, 1.0)).mean())

    result = minimize_scalar(nll, bounds=(-6.0, 4.0), method="bounded")
    return float(np.exp(result.x))


def expected_calibration_error(
    confidence: NDArray[np.float64], correct: NDArray[np.bool_], bins: int = BINS
) -> float:
    """|accuracy − confidence| over ``bins`` equal-width bins, weighted by their size."""
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    if len(confidence) == 0:
        return 0.0
    index = np.minimum((confidence * bins).astype(int), bins - 1)
    error = 0.0
    for b in range(bins):
        members = index == b
        if members.any():
            error += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(error)


def _isotonic(
    top: NDArray[np.float64], correct: NDArray[np.bool_]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Step thresholds (x, y) of an isotonic map from top probability to accuracy, each step
    shrunk towards the overall accuracy by its size."""
    from sklearn.isotonic import IsotonicRegression

    model = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
    model.fit(top, correct.astype(np.float64))
    x = np.asarray(model.X_thresholds_, dtype=np.float64)
    y = np.asarray(model.y_thresholds_, dtype=np.float64)
    overall = float(correct.mean())
    # The size of the step each threshold belongs to, to shrink small steps.
    steps = model.predict(top)
    shrunk = y.copy()
    for i, value in enumerate(y):
        size = float(np.isclose(steps, value).sum())
        shrunk[i] = (value * size + overall * PRIOR_WEIGHT) / (size + PRIOR_WEIGHT)
    shrunk = np.maximum.accumulate(np.clip(shrunk, 0.0, CEILING))
    return x, shrunk


@dataclass
class Calibrator:
    """Scores → calibrated probabilities: a temperature, then (isotonic) the top one mapped."""

    method: str = "temperature"
    temperature: float = 1.0
    iso_x: list[float] = field(default_factory=list)
    iso_y: list[float] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)  # how the choice was made

    def probabilities(self, scores: NDArray[np.float64]) -> NDArray[np.float64]:
        probs = softmax(scores, self.temperature)
        if self.method != "isotonic" or not self.iso_x:
            return probs
        return remap_top(probs, np.asarray(self.iso_x), np.asarray(self.iso_y))

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "temperature": self.temperature,
            "iso_x": list(self.iso_x),  # exact: a loaded model predicts what it did
            "iso_y": list(self.iso_y),
            "report": self.report,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None, *, temperature: float = 1.0) -> Calibrator:
        if not data:
            return cls("temperature", temperature)
        return cls(
            str(data.get("method", "temperature")),
            float(data.get("temperature", temperature)),
            [float(v) for v in data.get("iso_x", [])],
            [float(v) for v in data.get("iso_y", [])],
            dict(data.get("report") or {}),
        )


def remap_top(
    probs: NDArray[np.float64], iso_x: NDArray[np.float64], iso_y: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Each row's top probability through the isotonic map; the others scaled to share the
    rest, never above the top (the ranking stays)."""
    out = np.array(probs, dtype=np.float64, copy=True)
    rows = np.arange(len(out))
    best = out.argmax(axis=1)
    top = out[rows, best]
    calibrated = np.interp(top, iso_x, iso_y)
    rest = np.where(top < 1.0, (1.0 - calibrated) / np.maximum(1.0 - top, 1e-12), 0.0)
    out *= rest[:, None]
    out[rows, best] = calibrated
    np.minimum(out, calibrated[:, None], out=out)
    return out


def _fit(method: str, scores: NDArray[np.float64], truth: NDArray[np.int64]) -> Calibrator:
    temperature = fit_temperature(scores, truth)
    if method == "temperature":
        return Calibrator("temperature", temperature)
    probs = softmax(scores, temperature)
    top = probs.max(axis=1)
    correct = probs.argmax(axis=1) == truth
    x, y = _isotonic(top, correct)
    return Calibrator("isotonic", temperature, x.tolist(), y.tolist())


def _ece_of(calibrator: Calibrator, scores: NDArray[np.float64], truth: NDArray[np.int64]) -> float:
    probs = calibrator.probabilities(scores)
    return expected_calibration_error(probs.max(axis=1), probs.argmax(axis=1) == truth)


def fit_calibrator(
    scores: NDArray[np.float64], truth: NDArray[np.int64], *, method: str = "auto", seed: int = 0
) -> Calibrator:
    """A calibrator fitted on held-out ``scores`` (rows × labels) with the true label index."""
    if method not in METHODS:
        raise ValueError(f"unknown calibration {method!r}; choose one of {', '.join(METHODS)}")
    scores = np.asarray(scores, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.int64)
    if method != "auto":
        return _fit(method, scores, truth)
    errors: dict[str, list[float]] = {"temperature": [], "isotonic": []}
    if len(truth) >= 40:
        order = np.random.default_rng(seed).permutation(len(truth))
        halves = (order[: len(order) // 2], order[len(order) // 2 :])
        for fit_rows, test_rows in (halves, halves[::-1]):
            for name in errors:
                fitted = _fit(name, scores[fit_rows], truth[fit_rows])
                errors[name].append(_ece_of(fitted, scores[test_rows], truth[test_rows]))
    mean = {name: float(np.mean(values)) if values else 1.0 for name, values in errors.items()}
    chosen = "isotonic" if mean["isotonic"] < mean["temperature"] else "temperature"
    calibrator = _fit(chosen, scores, truth)
    calibrator.report = {
        "chosen": chosen,
        "cross_fitted_ece": {name: round(value, 4) for name, value in mean.items()},
        "held_out_rows": len(truth),
    }
    return calibrator

"""Is the model fair to every class? Per-class error rates, their gaps, prediction shares and calibration.

Works on the two arrays a run stores beside its model: ``labels``, the (n,) true classes, and
``probabilities``, the (n, classes) softmax outputs. Pure NumPy and pandas, built on ``metrics``.

Choices, made once here:
- A rate with nothing to count is NaN, never 0: a class with no test images has no recall, and
  a class that is every test image has no false-positive rate. NaN classes are left out of the
  gaps, and ``fairness_summary`` writes them as ``None`` (JSON ``null``).
- Calibration bins are equal-width and closed on the right, ``[0, 0.1], (0.1, 0.2], …, (0.9, 1]``,
  as ``sklearn.calibration.calibration_curve(strategy="uniform")`` draws them. Tables keep
  empty bins (count 0, NaN means), which that function drops.
- A class's calibration is one-vs-rest: every test image's probability *for that class* against
  whether the image *is* that class (Kull et al.'s "classwise" ECE). Unlike "confidence of the
  predictions naming the class" it is defined even for a class the model never predicts, and it
  weighs every image, so classes' errors share one scale.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from fmnist_lab.analysis.metrics import _check_classes, _check_probabilities, confusion_matrix, predicted
from fmnist_lab.config import CLASS_NAMES

BINS = 10  # equal-width confidence bins
METRIC_MEANINGS = {
    "recall": "Of the test images that really are this class, the share the model names right (true-positive rate).",
    "fpr": "Of the test images that are NOT this class, the share the model wrongly calls this class.",
    "tpr_gap": "How far apart the best- and worst-found classes are: zero means every class is found equally often.",
    "fpr_gap": "How far apart the most and least falsely-accused classes are: zero means equal false alarms.",
    "predicted_share": "The share of all predictions that name this class.",
    "true_share": "The share of test images that really are this class.",
    "parity_difference": "Predicted share minus true share: above zero, the model names this class too often.",
    "ece": "On average, how far the model's confidence is from how often it is right (0 = honest confidence).",
    "class_ece": "How far the probability given to this class is from how often images are really this class.",
    "reliability": "Each bin: the mean confidence of its images and the share of them that were right.",
}


def class_rates(
    labels: np.ndarray, probabilities: np.ndarray, class_names: Sequence[str] = CLASS_NAMES
) -> pd.DataFrame:
    """Per class: ``support`` (test images), ``recall`` = TP / (TP + FN) and ``fpr`` = FP / (FP + TN)."""
    labels, probabilities = _checked(labels, probabilities)
    cm = confusion_matrix(labels, predicted(probabilities), num_classes=probabilities.shape[1])
    hits = np.diag(cm)
    support = cm.sum(axis=1)  # TP + FN: images of each true class
    negatives = len(labels) - support  # FP + TN: images of every other class
    false_alarms = cm.sum(axis=0) - hits  # FP: predicted as the class, truly another
    columns = {"support": support, "recall": _ratio(hits, support), "fpr": _ratio(false_alarms, negatives)}
    return pd.DataFrame(columns, index=_index(class_names, probabilities.shape[1]))


def equalized_odds_gaps(rates: pd.DataFrame) -> dict[str, Any]:
    """Largest recall gap and largest FPR gap across classes, and the classes at either end.

    Equalized odds asks every class for the same recall and the same FPR. NaN classes are
    skipped; with no defined rate the gap is NaN and both classes ``None``. First class wins ties.
    """
    gaps: dict[str, Any] = {}
    for column, prefix in (("recall", "tpr"), ("fpr", "fpr")):
        scored = rates[column].dropna()
        high, low = (scored.idxmax(), scored.idxmin()) if len(scored) else (None, None)
        gaps[f"{prefix}_gap"] = float(scored[high] - scored[low]) if high is not None else math.nan
        gaps[f"{prefix}_highest"], gaps[f"{prefix}_lowest"] = high, low
    return gaps


def statistical_parity(
    labels: np.ndarray, probabilities: np.ndarray, class_names: Sequence[str] = CLASS_NAMES
) -> pd.DataFrame:
    """Per class: ``true_share`` of test images, ``predicted_share`` of predictions and their ``difference``."""
    labels, probabilities = _checked(labels, probabilities)
    k = probabilities.shape[1]
    true_share = np.bincount(labels, minlength=k) / len(labels)
    predicted_share = np.bincount(predicted(probabilities), minlength=k) / len(labels)
    columns = {"true_share": true_share, "predicted_share": predicted_share}
    table = pd.DataFrame(columns, index=_index(class_names, k))
    table["difference"] = table["predicted_share"] - table["true_share"]
    return table


def reliability_bins(confidence: np.ndarray, outcome: np.ndarray, bins: int = BINS) -> pd.DataFrame:
    """Reliability-diagram data: one row per equal-width bin of ``confidence`` (0-1).

    Columns: ``lower`` and ``upper`` edges, ``confidence`` (mean in the bin), ``accuracy`` (mean
    ``outcome``: 1 right or is-the-class, 0 not) and ``count``. Empty bins: count 0, NaN means.
    """
    confidence, outcome = np.asarray(confidence, dtype=np.float64), np.asarray(outcome, dtype=np.float64)
    if bins < 1 or confidence.ndim != 1 or confidence.shape != outcome.shape:
        raise ValueError(f"need bins >= 1 and two equal 1-D arrays, got {bins}, {confidence.shape}, {outcome.shape}")
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.searchsorted(edges[1:-1], confidence)  # (n,) bin of each image; right-closed bins
    count = np.bincount(which, minlength=bins)
    columns = {
        "lower": edges[:-1],
        "upper": edges[1:],
        "confidence": _ratio(np.bincount(which, weights=confidence, minlength=bins), count),
        "accuracy": _ratio(np.bincount(which, weights=outcome, minlength=bins), count),
        "count": count,
    }
    return pd.DataFrame(columns)


def expected_calibration_error(table: pd.DataFrame) -> float:
    """ECE from a ``reliability_bins`` table: the count-weighted mean of |accuracy - confidence|."""
    filled = table[table["count"] > 0]
    if filled.empty:
        raise ValueError("no images in any bin, so there is no calibration to measure")
    gaps = (filled["accuracy"] - filled["confidence"]).abs()
    return float((filled["count"] * gaps).sum() / filled["count"].sum())


def confidence_reliability(labels: np.ndarray, probabilities: np.ndarray, bins: int = BINS) -> pd.DataFrame:
    """Top-label reliability: each image's winning probability against whether the prediction was right."""
    labels, probabilities = _checked(labels, probabilities)
    right = predicted(probabilities) == labels
    return reliability_bins(probabilities.max(axis=1), right, bins)


def class_reliability(
    labels: np.ndarray, probabilities: np.ndarray, class_index: int, bins: int = BINS
) -> pd.DataFrame:
    """One-vs-rest reliability of one class: every image's probability for it against being it."""
    labels, probabilities = _checked(labels, probabilities)
    if not 0 <= class_index < probabilities.shape[1]:
        raise ValueError(f"class_index must be between 0 and {probabilities.shape[1] - 1}, got {class_index}")
    return reliability_bins(probabilities[:, class_index], labels == class_index, bins)


def class_calibration_errors(
    labels: np.ndarray, probabilities: np.ndarray, bins: int = BINS, class_names: Sequence[str] = CLASS_NAMES
) -> pd.Series:
    """One-vs-rest ECE of every class (see the module docstring), indexed by class name."""
    k = _checked(labels, probabilities)[1].shape[1]
    errors = [expected_calibration_error(class_reliability(labels, probabilities, c, bins)) for c in range(k)]
    return pd.Series(errors, index=_index(class_names, k), name="class_ece")


def fairness_summary(
    labels: np.ndarray, probabilities: np.ndarray, bins: int = BINS, class_names: Sequence[str] = CLASS_NAMES
) -> dict[str, Any]:
    """JSON-ready plain numbers: per-class recall, FPR, parity difference and ECE (lists in class
    order, NaN as None), the equalized-odds gaps with their classes, and the top-label ECE."""
    rates = class_rates(labels, probabilities, class_names)
    parity = statistical_parity(labels, probabilities, class_names)
    class_ece = class_calibration_errors(labels, probabilities, bins, class_names)
    gaps = {key: _plain(value) for key, value in equalized_odds_gaps(rates).items()}
    return {
        "recall": [_plain(v) for v in rates["recall"]],
        "fpr": [_plain(v) for v in rates["fpr"]],
        **gaps,
        "parity_difference": [_plain(v) for v in parity["difference"]],
        "ece": expected_calibration_error(confidence_reliability(labels, probabilities, bins)),
        "class_ece": [_plain(v) for v in class_ece],
    }


def _checked(labels: np.ndarray, probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    probabilities = np.asarray(_check_probabilities(probabilities, labels), dtype=np.float64)
    labels = _check_classes("labels", labels, probabilities.shape[1])  # (n,) int64
    if not len(labels):
        raise ValueError("there are no test images to score")
    return labels, probabilities


def _index(class_names: Sequence[str], k: int) -> pd.Index:
    if len(class_names) != k:
        raise ValueError(f"{len(class_names)} class names for {k} classes of probabilities")
    return pd.Index(list(class_names), name="class")


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator as float64, NaN where the denominator is 0 (and no warning)."""
    out = np.full(np.shape(denominator), np.nan)
    return np.divide(numerator, denominator, out=out, where=np.asarray(denominator) != 0)


def _plain(value: Any) -> Any:
    """A NumPy scalar as a plain float (NaN as None); strings and None pass through."""
    if value is None or isinstance(value, str):
        return value
    return None if math.isnan(value) else float(value)

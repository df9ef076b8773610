"""What a run's test-set predictions say: confusion matrix, per-class scores, mistakes, run-to-run flips.

Everything here works on the two arrays a run stores beside its model: ``probabilities``,
the (n, 10) float32 softmax outputs, and ``labels``, the (n,) uint8 true classes. Pure
NumPy and pandas, so pages, charts and tests can share it without Streamlit or TensorFlow.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from fmnist_lab.config import CLASS_NAMES, NUM_CLASSES

MODES = ("all", "class", "misclassified", "most_confident", "least_confident", "random")  # for selection()


def predicted(probabilities: np.ndarray) -> np.ndarray:
    """The predicted class of each image: the argmax of its softmax row, (n,) int64."""
    return np.argmax(_check_probabilities(probabilities), axis=1)


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """Counts of (true, predicted) pairs: (num_classes, num_classes) int64, rows true, columns predicted."""
    labels = _check_classes("labels", labels, num_classes)
    predicted = _check_classes("predicted", predicted, num_classes)
    if labels.shape != predicted.shape:
        raise ValueError(f"labels and predicted differ in length: {len(labels)} and {len(predicted)}")
    pairs = labels * num_classes + predicted  # one flat cell index per image
    return np.bincount(pairs, minlength=num_classes**2).reshape(num_classes, num_classes)


def row_normalised(cm: np.ndarray) -> np.ndarray:
    """Each row as percentages of its true class (rows sum to 100); an empty class stays all zeros."""
    cm = _check_square(cm)
    return _safe_divide(100.0 * cm, cm.sum(axis=1, keepdims=True))


def per_class_report(cm: np.ndarray, class_names: Sequence[str] = CLASS_NAMES) -> pd.DataFrame:
    """Precision, recall, F1 (fractions 0-1), support and accuracy per class; 0.0 where undefined."""
    cm = _check_square(cm)
    if len(class_names) != len(cm):
        raise ValueError(f"{len(class_names)} class names for a {len(cm)}×{len(cm)} confusion matrix")
    hits = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1)  # images of each true class
    precision = _safe_divide(hits, cm.sum(axis=0))  # of those predicted as the class, share right
    recall = _safe_divide(hits, support)  # of those truly in the class, share found
    f1 = _safe_divide(2 * precision * recall, precision + recall)
    columns = {"precision": precision, "recall": recall, "f1": f1, "support": support.astype(np.int64)}
    report = pd.DataFrame(columns, index=pd.Index(list(class_names), name="class"))
    report["accuracy"] = recall  # a class's accuracy is the share of its images classified right
    return report


def most_confused_pairs(cm: np.ndarray, top: int = 5) -> list[tuple[int, int, int]]:
    """The ``top`` largest off-diagonal cells as (true, predicted, count); ties in (true, predicted) order."""
    cm = _check_square(cm)
    if top < 0:
        raise ValueError(f"top must be 0 or more, got {top}")
    mistakes = cm.copy()
    np.fill_diagonal(mistakes, 0)
    true, pred = np.nonzero(mistakes)  # row-major, so already in (true, predicted) order
    counts = mistakes[true, pred]
    order = np.argsort(-counts, kind="stable")[:top]
    return [(int(true[i]), int(pred[i]), int(counts[i])) for i in order]


def cell_indices(labels: np.ndarray, probabilities: np.ndarray, true_class: int, predicted_class: int) -> np.ndarray:
    """Images in one confusion cell, most confident in ``predicted_class`` first (ties by index)."""
    probabilities = _check_probabilities(probabilities, labels)
    for name, value in (("true_class", true_class), ("predicted_class", predicted_class)):
        if not 0 <= value < probabilities.shape[1]:
            raise ValueError(f"{name} must be between 0 and {probabilities.shape[1] - 1}, got {value}")
    cell = np.flatnonzero((np.asarray(labels) == true_class) & (predicted(probabilities) == predicted_class))
    confidence = probabilities[cell, predicted_class]
    return cell[np.argsort(-confidence, kind="stable")]


def top_k(probabilities_row: np.ndarray, k: int = 3) -> list[tuple[int, float]]:
    """The ``k`` most likely classes of one image as (class, probability), most likely first."""
    row = np.asarray(probabilities_row, dtype=np.float64)
    if row.ndim != 1:
        raise ValueError(f"top_k takes one image's probabilities, shape (classes,), got {row.shape}")
    if not 1 <= k <= len(row):
        raise ValueError(f"k must be between 1 and {len(row)}, got {k}")
    order = np.argsort(-row, kind="stable")[:k]
    return [(int(i), float(row[i])) for i in order]


def accuracy_gap(report: pd.DataFrame) -> dict[str, Any]:
    """The best- and worst-served classes and the gap between their accuracies (classes with images only)."""
    scored = report.loc[report["support"] > 0, "accuracy"]
    if scored.empty:
        raise ValueError("no class has any test images, so there is no accuracy to compare")
    best, worst = scored.idxmax(), scored.idxmin()  # first class wins a tie
    return {
        "best_class": best,
        "best_accuracy": float(scored[best]),
        "worst_class": worst,
        "worst_accuracy": float(scored[worst]),
        "gap": float(scored[best] - scored[worst]),
    }


def flipped(
    labels: np.ndarray, probs_a: np.ndarray, probs_b: np.ndarray, labels_b: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Images run A gets right and B wrong ("a_only"), and the reverse ("b_only").

    ``labels`` are run A's stored labels; pass run B's as ``labels_b`` so that runs scored on
    different test sets are refused rather than compared image by image.
    """
    labels = np.asarray(labels)
    if labels_b is not None and (np.shape(labels_b) != labels.shape or not np.array_equal(labels, labels_b)):
        raise ValueError("the two runs were scored on different test sets (their labels differ)")
    for name, probs in (("run A", probs_a), ("run B", probs_b)):
        if np.shape(probs)[:1] != labels.shape:
            raise ValueError(f"the two runs were scored on different test sets: {name} has {len(probs)} rows")
    right_a = predicted(_check_probabilities(probs_a, labels)) == labels
    right_b = predicted(_check_probabilities(probs_b, labels)) == labels
    return {"a_only": np.flatnonzero(right_a & ~right_b), "b_only": np.flatnonzero(right_b & ~right_a)}


def confusion_difference(cm_a: np.ndarray, cm_b: np.ndarray) -> np.ndarray:
    """Cell-by-cell change from run A to run B (``b - a``), int64 so counts may fall below zero."""
    cm_a, cm_b = _check_square(cm_a), _check_square(cm_b)
    if cm_a.shape != cm_b.shape:
        raise ValueError(f"confusion matrices differ in shape: {cm_a.shape} and {cm_b.shape}")
    return cm_b.astype(np.int64) - cm_a.astype(np.int64)


def selection(
    labels: np.ndarray,
    probabilities: np.ndarray,
    mode: str,
    class_index: int | None = None,
    count: int | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Image indices to browse, at most ``count`` (None: all), in the order ``mode`` gives.

    ``class_index`` restricts any mode to that true class; mode "class" requires it.
    Mode "random" shuffles with ``seed``, so the same seed shows the same images.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    if mode == "class" and class_index is None:
        raise ValueError('mode "class" needs a class_index')
    if count is not None and count < 0:
        raise ValueError(f"count must be 0 or more, got {count}")
    probabilities = _check_probabilities(probabilities, labels)
    labels = np.asarray(labels)
    chosen = np.arange(len(labels)) if class_index is None else np.flatnonzero(labels == class_index)
    return _order(chosen, labels, probabilities, mode, seed)[:count]


def _order(chosen: np.ndarray, labels: np.ndarray, probabilities: np.ndarray, mode: str, seed: int) -> np.ndarray:
    confidence = probabilities[chosen].max(axis=1)  # the winning softmax value, 0-1
    if mode == "misclassified":
        return chosen[predicted(probabilities[chosen]) != labels[chosen]]
    if mode == "most_confident":
        return chosen[np.argsort(-confidence, kind="stable")]
    if mode == "least_confident":
        return chosen[np.argsort(confidence, kind="stable")]
    if mode == "random":
        return np.random.default_rng(seed).permutation(chosen)
    return chosen  # "all" and "class": by index


def _check_probabilities(probabilities: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
    probabilities = np.asarray(probabilities)
    if probabilities.ndim != 2 or probabilities.shape[1] < 1:
        raise ValueError(f"probabilities must be (n, classes), got shape {probabilities.shape}")
    if labels is not None and np.shape(labels) != probabilities.shape[:1]:
        raise ValueError(f"{probabilities.shape[0]} rows of probabilities for labels of shape {np.shape(labels)}")
    return probabilities


def _check_classes(name: str, values: np.ndarray, num_classes: int) -> np.ndarray:
    values = np.asarray(values)
    if values.ndim != 1 or not np.issubdtype(values.dtype, np.integer):
        raise ValueError(f"{name} must be a 1-D array of whole class numbers, got {values.dtype} {values.shape}")
    if values.size and not (0 <= values.min() and values.max() < num_classes):
        raise ValueError(f"{name} must lie between 0 and {num_classes - 1}, found {values.min()} to {values.max()}")
    return values.astype(np.int64)  # uint8 labels * 10 would overflow


def _check_square(cm: np.ndarray) -> np.ndarray:
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"a confusion matrix must be square, got shape {cm.shape}")
    return cm


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, with 0.0 wherever the denominator is 0 (and no warning)."""
    numerator = np.asarray(numerator, dtype=np.float64)
    out = np.zeros(np.broadcast_shapes(numerator.shape, np.shape(denominator)))
    return np.divide(numerator, denominator, out=out, where=np.asarray(denominator) != 0)


def accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Share of rows whose most probable class is the label."""
    probabilities = _check_probabilities(probabilities, labels)
    return float(np.mean(predicted(probabilities) == _check_classes("labels", labels, probabilities.shape[1])))


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """``exp(z / T) / sum(exp(z / T))`` along the last axis (each row of a 2-D array), computed
    stably: each row's max is subtracted first."""
    if temperature <= 0:
        raise ValueError(f"temperature must be above 0, got {temperature}")
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    exps = np.exp(scaled - scaled.max(axis=-1, keepdims=True))
    return exps / exps.sum(axis=-1, keepdims=True)


def parse_numbers(text: str, least: int = 2, most: int = 20) -> list[float]:
    """``1, 3, 4, 2``, ``[1, 3, 4, 2]`` or ``1 3 4 2`` as floats; ValueError unless ``least``–``most`` finite ones."""
    parts = [part for part in re.split(r"[\s,;]+", text.strip().strip("[]()").strip()) if part]
    numbers = [float(part) for part in parts]
    if not least <= len(numbers) <= most or not all(math.isfinite(n) for n in numbers):
        raise ValueError(f"expected {least} to {most} finite numbers")
    return numbers

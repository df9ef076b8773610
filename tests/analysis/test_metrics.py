"""Metrics checked against independent computations: loops, Counter and hand-worked examples."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from fmnist_lab.analysis import metrics
from fmnist_lab.config import CLASS_NAMES


def random_run(n: int = 500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels (n,) uint8 and softmax-like probabilities (n, 10) float32 that are right about half the time."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    logits = rng.normal(size=(n, 10))
    logits[np.arange(n), labels] += 1.5  # lean towards the true class
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return labels, probabilities.astype(np.float32)


def one_hot_ish(predictions: list[int], confidences: list[float]) -> np.ndarray:
    """Probabilities (n, 10) whose argmax is ``predictions`` with the given winning value."""
    rows = np.full((len(predictions), 10), 0.0, dtype=np.float32)
    for i, (p, c) in enumerate(zip(predictions, confidences, strict=True)):
        rows[i] = (1 - c) / 9
        rows[i, p] = c
    return rows


# --- predicted and the confusion matrix ---


def test_predicted_is_the_argmax_of_each_row() -> None:
    _, probabilities = random_run(50)
    expected = [max(range(10), key=lambda c, row=row: row[c]) for row in probabilities]
    assert metrics.predicted(probabilities).tolist() == expected


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_confusion_matrix_matches_a_counter_and_a_double_loop(seed: int) -> None:
    labels, probabilities = random_run(400, seed)
    pred = metrics.predicted(probabilities)
    cm = metrics.confusion_matrix(labels, pred)
    pairs = Counter(zip(labels.tolist(), pred.tolist(), strict=True))
    expected = [[pairs[(t, p)] for p in range(10)] for t in range(10)]
    assert cm.dtype == np.int64 and cm.shape == (10, 10)
    assert cm.tolist() == expected
    for t in range(10):
        for p in range(10):
            assert cm[t, p] == sum(1 for a, b in zip(labels, pred, strict=True) if a == t and b == p)


def test_confusion_matrix_rows_are_class_counts_and_cells_sum_to_n() -> None:
    labels, probabilities = random_run(321)
    cm = metrics.confusion_matrix(labels, metrics.predicted(probabilities))
    assert cm.sum(axis=1).tolist() == np.bincount(labels, minlength=10).tolist()
    assert cm.sum() == 321
    assert np.trace(cm) == int((metrics.predicted(probabilities) == labels).sum())


def test_confusion_matrix_of_uint8_labels_does_not_overflow() -> None:
    labels = np.array([19, 19, 18], dtype=np.uint8)  # 19 * 20 + 19 = 399 would wrap around in uint8
    cm = metrics.confusion_matrix(labels, np.array([19, 0, 18], dtype=np.uint8), num_classes=20)
    assert cm.shape == (20, 20)
    assert cm[19, 19] == 1 and cm[19, 0] == 1 and cm[18, 18] == 1 and cm.sum() == 3


@pytest.mark.parametrize(
    ("labels", "pred", "message"),
    [
        ([0, 1], [0], "differ in length"),
        ([0, 10], [0, 1], "between 0 and 9"),
        ([0, 1], [-1, 1], "between 0 and 9"),
        ([0.0, 1.0], [0, 1], "whole class numbers"),
        ([[0, 1]], [[0, 1]], "1-D"),
    ],
)
def test_confusion_matrix_rejects_bad_input(labels: list, pred: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        metrics.confusion_matrix(np.array(labels), np.array(pred))


# --- row percentages and the per-class report ---


def test_row_normalised_gives_percentages_and_leaves_empty_rows_zero() -> None:
    cm = np.array([[3, 1, 0], [0, 0, 0], [2, 2, 4]])
    percent = metrics.row_normalised(cm)
    assert percent.tolist() == [[75.0, 25.0, 0.0], [0.0, 0.0, 0.0], [25.0, 25.0, 50.0]]


def test_per_class_report_on_a_hand_worked_three_class_case() -> None:
    cm = np.array(
        [
            [5, 1, 0],  # 6 of class a: 5 right
            [2, 3, 1],  # 6 of class b: 3 right
            [0, 0, 0],  # class c has no images and is never predicted
        ]
    )
    report = metrics.per_class_report(cm, class_names=("a", "b", "c"))
    assert list(report.columns) == ["precision", "recall", "f1", "support", "accuracy"]
    assert list(report.index) == ["a", "b", "c"]
    # a: precision 5/7, recall 5/6, F1 = 2pr/(p+r) = 10/13
    # b: precision 3/4, recall 3/6, F1 = 2 * 3/4 * 1/2 / (5/4) = 3/5
    assert report["precision"].tolist() == pytest.approx([5 / 7, 3 / 4, 0.0])
    assert report["recall"].tolist() == pytest.approx([5 / 6, 1 / 2, 0.0])
    assert report["f1"].tolist() == pytest.approx([10 / 13, 3 / 5, 0.0])
    assert report["support"].tolist() == [6, 6, 0]
    assert pd.api.types.is_integer_dtype(report["support"])
    assert report["accuracy"].tolist() == report["recall"].tolist()


def test_per_class_report_matches_label_counting_on_ten_classes() -> None:
    labels, probabilities = random_run(600, seed=3)
    pred = metrics.predicted(probabilities)
    report = metrics.per_class_report(metrics.confusion_matrix(labels, pred))
    assert list(report.index) == list(CLASS_NAMES)
    for c, name in enumerate(CLASS_NAMES):
        right = sum(1 for t, p in zip(labels, pred, strict=True) if t == p == c)
        assert report.loc[name, "precision"] == pytest.approx(right / sum(1 for p in pred if p == c))
        assert report.loc[name, "recall"] == pytest.approx(right / sum(1 for t in labels if t == c))


def test_per_class_report_needs_one_name_per_class() -> None:
    with pytest.raises(ValueError, match="3 class names for a 2×2"):
        metrics.per_class_report(np.eye(2, dtype=int), class_names=("a", "b", "c"))


# --- mistakes ---


def test_most_confused_pairs_orders_by_count_then_true_then_predicted() -> None:
    cm = np.array(
        [
            [50, 0, 4, 0],
            [4, 60, 0, 1],
            [7, 0, 40, 4],
            [0, 0, 0, 99],  # the diagonal never counts, however large
        ]
    )
    assert metrics.most_confused_pairs(cm, top=10) == [(2, 0, 7), (0, 2, 4), (1, 0, 4), (2, 3, 4), (1, 3, 1)]
    assert metrics.most_confused_pairs(cm, top=2) == [(2, 0, 7), (0, 2, 4)]
    assert metrics.most_confused_pairs(np.diag([3, 4])) == []


def test_most_confused_pairs_breaks_many_ties_in_reading_order() -> None:
    cm = np.ones((10, 10), dtype=np.int64)  # 90 off-diagonal cells, all tied
    cm[7, 2] = 5
    expected = [(7, 2, 5)] + [(t, p, 1) for t in range(10) for p in range(10) if t != p and (t, p) != (7, 2)]
    assert metrics.most_confused_pairs(cm, top=90) == expected


def test_cell_indices_lists_one_cell_most_confident_first() -> None:
    labels = np.array([3, 3, 1, 3, 3, 3], dtype=np.uint8)
    probabilities = one_hot_ish([5, 5, 5, 3, 5, 5], [0.6, 0.9, 0.99, 0.8, 0.9, 0.7])
    # true 3 predicted 5: images 0, 1, 4, 5 (image 2 is true 1; image 3 is right); 1 and 4 tie at 0.9
    assert metrics.cell_indices(labels, probabilities, 3, 5).tolist() == [1, 4, 5, 0]
    assert metrics.cell_indices(labels, probabilities, 3, 3).tolist() == [3]
    assert metrics.cell_indices(labels, probabilities, 0, 0).tolist() == []


def test_cell_indices_agree_with_the_confusion_matrix() -> None:
    labels, probabilities = random_run(300, seed=4)
    cm = metrics.confusion_matrix(labels, metrics.predicted(probabilities))
    for t, p, count in metrics.most_confused_pairs(cm, top=3):
        assert len(metrics.cell_indices(labels, probabilities, t, p)) == count


@pytest.mark.parametrize(("true_class", "predicted_class"), [(-1, 0), (0, 10)])
def test_cell_indices_rejects_unknown_classes(true_class: int, predicted_class: int) -> None:
    labels, probabilities = random_run(10)
    with pytest.raises(ValueError, match="between 0 and 9"):
        metrics.cell_indices(labels, probabilities, true_class, predicted_class)


def test_top_k_gives_the_most_likely_classes_in_order() -> None:
    row = np.array([0.05, 0.5, 0.0, 0.2, 0.2, 0.05, 0, 0, 0, 0], dtype=np.float32)
    top = metrics.top_k(row, k=3)
    assert [c for c, _ in top] == [1, 3, 4]  # 3 and 4 tie: the lower class first
    assert [p for _, p in top] == pytest.approx([0.5, 0.2, 0.2])
    assert isinstance(top[0][0], int) and isinstance(top[0][1], float)


@pytest.mark.parametrize("k", [0, 11])
def test_top_k_rejects_k_out_of_range(k: int) -> None:
    with pytest.raises(ValueError, match="k must be between 1 and 10"):
        metrics.top_k(np.full(10, 0.1), k=k)


def test_accuracy_gap_names_the_best_and_worst_served_classes() -> None:
    cm = np.array([[9, 1, 0], [4, 6, 0], [0, 0, 0]])  # c has no images: not the "worst" class
    gap = metrics.accuracy_gap(metrics.per_class_report(cm, class_names=("a", "b", "c")))
    assert gap == {
        "best_class": "a",
        "best_accuracy": pytest.approx(0.9),
        "worst_class": "b",
        "worst_accuracy": pytest.approx(0.6),
        "gap": pytest.approx(0.3),
    }


def test_accuracy_gap_needs_a_class_with_images() -> None:
    with pytest.raises(ValueError, match="no class has any test images"):
        metrics.accuracy_gap(metrics.per_class_report(np.zeros((2, 2), dtype=int), class_names=("a", "b")))


# --- comparing two runs ---


def test_flipped_finds_images_only_one_run_gets_right() -> None:
    labels = np.array([0, 1, 2, 3, 4], dtype=np.uint8)
    probs_a = one_hot_ish([0, 1, 9, 9, 4], [0.9] * 5)  # right on 0, 1, 4
    probs_b = one_hot_ish([0, 9, 2, 9, 9], [0.9] * 5)  # right on 0, 2
    result = metrics.flipped(labels, probs_a, probs_b, labels_b=labels.copy())
    assert result["a_only"].tolist() == [1, 4]
    assert result["b_only"].tolist() == [2]
    swapped = metrics.flipped(labels, probs_b, probs_a)
    assert swapped["a_only"].tolist() == [2] and swapped["b_only"].tolist() == [1, 4]


def test_flipped_counts_agree_with_the_accuracy_difference() -> None:
    labels, probs_a = random_run(400, seed=5)
    _, probs_b = random_run(400, seed=6)
    result = metrics.flipped(labels, probs_a, probs_b)
    right_a = int((metrics.predicted(probs_a) == labels).sum())
    right_b = int((metrics.predicted(probs_b) == labels).sum())
    assert len(result["a_only"]) - len(result["b_only"]) == right_a - right_b


def test_flipped_refuses_runs_scored_on_different_test_sets() -> None:
    labels, probs = random_run(20)
    with pytest.raises(ValueError, match="different test sets"):
        metrics.flipped(labels, probs, probs[:10])
    with pytest.raises(ValueError, match="different test sets"):
        metrics.flipped(labels, probs, probs, labels_b=(labels + 1) % 10)
    with pytest.raises(ValueError, match="different test sets"):
        metrics.flipped(labels, probs, probs, labels_b=labels[:10])


def test_confusion_difference_is_b_minus_a_and_can_go_negative() -> None:
    cm_a = np.array([[5, 1], [2, 4]], dtype=np.int64)
    cm_b = np.array([[6, 0], [0, 6]], dtype=np.int64)
    diff = metrics.confusion_difference(cm_a, cm_b)
    assert diff.tolist() == [[1, -1], [-2, 2]]
    assert diff.sum() == 0  # same test set, so the same number of images


def test_confusion_difference_needs_equal_shapes() -> None:
    with pytest.raises(ValueError, match="differ in shape"):
        metrics.confusion_difference(np.zeros((2, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="must be square"):
        metrics.confusion_difference(np.zeros((2, 3)), np.zeros((2, 3)))


# --- choosing images to browse ---


@pytest.fixture
def run() -> tuple[np.ndarray, np.ndarray]:
    return random_run(200, seed=8)


def test_selection_all_is_every_index_in_order(run: tuple[np.ndarray, np.ndarray]) -> None:
    labels, probabilities = run
    assert metrics.selection(labels, probabilities, "all").tolist() == list(range(200))
    assert metrics.selection(labels, probabilities, "all", count=5).tolist() == [0, 1, 2, 3, 4]


def test_selection_class_is_that_true_class_by_index(run: tuple[np.ndarray, np.ndarray]) -> None:
    labels, probabilities = run
    chosen = metrics.selection(labels, probabilities, "class", class_index=4)
    assert chosen.tolist() == [i for i, t in enumerate(labels) if t == 4]


def test_selection_misclassified_is_every_wrong_prediction(run: tuple[np.ndarray, np.ndarray]) -> None:
    labels, probabilities = run
    chosen = metrics.selection(labels, probabilities, "misclassified")
    wrong = [i for i, (t, row) in enumerate(zip(labels, probabilities, strict=True)) if row.argmax() != t]
    assert chosen.tolist() == wrong and len(wrong) > 0


@pytest.mark.parametrize(("mode", "sign"), [("most_confident", -1), ("least_confident", 1)])
def test_selection_by_confidence_is_sorted(run: tuple[np.ndarray, np.ndarray], mode: str, sign: int) -> None:
    labels, probabilities = run
    chosen = metrics.selection(labels, probabilities, mode, count=20)
    confidence = probabilities.max(axis=1)
    expected = sorted(range(200), key=lambda i: sign * confidence[i])[:20]
    assert len(chosen) == 20
    assert np.all(sign * np.diff(confidence[chosen]) >= 0)
    assert confidence[chosen].tolist() == confidence[expected].tolist()


def test_selection_class_index_restricts_any_mode(run: tuple[np.ndarray, np.ndarray]) -> None:
    labels, probabilities = run
    chosen = metrics.selection(labels, probabilities, "misclassified", class_index=2)
    assert set(labels[chosen].tolist()) == {2}
    assert np.all(metrics.predicted(probabilities)[chosen] != 2)


def test_selection_random_is_reproducible_by_seed(run: tuple[np.ndarray, np.ndarray]) -> None:
    labels, probabilities = run
    first = metrics.selection(labels, probabilities, "random", count=30, seed=1)
    again = metrics.selection(labels, probabilities, "random", count=30, seed=1)
    other = metrics.selection(labels, probabilities, "random", count=30, seed=2)
    assert first.tolist() == again.tolist()
    assert first.tolist() != other.tolist()
    assert len(set(first.tolist())) == 30 and set(first.tolist()) <= set(range(200))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "best"}, "mode must be one of all, class, misclassified"),
        ({"mode": "class"}, "needs a class_index"),
        ({"mode": "all", "count": -1}, "count must be 0 or more"),
    ],
)
def test_selection_rejects_bad_requests(run: tuple[np.ndarray, np.ndarray], kwargs: dict, message: str) -> None:
    labels, probabilities = run
    with pytest.raises(ValueError, match=message):
        metrics.selection(labels, probabilities, **kwargs)


def test_selection_rejects_mismatched_arrays(run: tuple[np.ndarray, np.ndarray]) -> None:
    labels, probabilities = run
    with pytest.raises(ValueError, match="rows of probabilities"):
        metrics.selection(labels[:10], probabilities, "all")
    with pytest.raises(ValueError, match=r"must be \(n, classes\)"):
        metrics.selection(labels, probabilities[:, 0], "all")


def test_softmax_matches_a_hand_computation() -> None:
    # The course notes' example: logits [1, 3, 4, 2].
    exps = [math.exp(z) for z in (1, 3, 4, 2)]
    expected = [e / sum(exps) for e in exps]
    result = metrics.softmax(np.array([1.0, 3.0, 4.0, 2.0]))
    np.testing.assert_allclose(result, expected)
    assert result.sum() == pytest.approx(1.0) and int(result.argmax()) == 2
    np.testing.assert_allclose(result, [0.0320586, 0.2368828, 0.6439143, 0.0871443], atol=1e-7)


@pytest.mark.parametrize("temperature", [0.1, 0.5, 2.0, 5.0])
def test_softmax_temperature_divides_the_logits(temperature: float) -> None:
    logits = np.array([1.0, 3.0, 4.0, 2.0])
    exps = np.exp(logits / temperature)
    np.testing.assert_allclose(metrics.softmax(logits, temperature), exps / exps.sum())


def test_softmax_is_stable_for_huge_logits_and_refuses_zero_temperature() -> None:
    np.testing.assert_allclose(metrics.softmax(np.array([1000.0, 1000.0])), [0.5, 0.5])
    with pytest.raises(ValueError, match="temperature"):
        metrics.softmax(np.array([1.0, 2.0]), 0)


def test_accuracy_counts_rows_whose_argmax_is_the_label() -> None:
    labels, probabilities = random_run()
    expected = sum(int(np.argmax(row) == label) for row, label in zip(probabilities, labels, strict=True)) / len(labels)
    assert metrics.accuracy(probabilities, labels) == pytest.approx(expected)
    with pytest.raises(ValueError, match="rows of probabilities"):
        metrics.accuracy(probabilities, labels[:-1])


def test_softmax_works_row_by_row_and_survives_huge_logits() -> None:
    total = math.exp(1) + math.exp(2) + math.exp(3)
    result = metrics.softmax(np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, 0.0]]))
    np.testing.assert_allclose(result[0], [math.exp(1) / total, math.exp(2) / total, math.exp(3) / total])
    np.testing.assert_allclose(result[1], [0.5, 0.5, 0.0])

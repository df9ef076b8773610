"""Fairness metrics against scikit-learn and against a six-image, three-class case counted by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import confusion_matrix, multilabel_confusion_matrix, recall_score

from fmnist_lab.analysis import fairness
from fmnist_lab.config import CLASS_NAMES

ABC = ("a", "b", "c")
# Six images, three classes. Winning probabilities sit mid-bin, away from every 0.1 edge.
HAND_LABELS = np.array([0, 0, 0, 1, 1, 2], dtype=np.uint8)
HAND_PROBABILITIES = np.array(
    [
        [0.75, 0.15, 0.10],  # a → a, right, confidence 0.75
        [0.95, 0.03, 0.02],  # a → a, right, 0.95
        [0.25, 0.65, 0.10],  # a → b, wrong, 0.65
        [0.12, 0.85, 0.03],  # b → b, right, 0.85
        [0.05, 0.40, 0.55],  # b → c, wrong, 0.55
        [0.15, 0.10, 0.75],  # c → c, right, 0.75
    ],
    dtype=np.float32,
)


def random_run(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Skewed labels (n,) uint8 and softmax outputs (n, 10) float32, right about two times in three."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(10, size=n, p=np.linspace(1, 3, 10) / np.linspace(1, 3, 10).sum()).astype(np.uint8)
    logits = rng.normal(size=(n, 10)) * 1.5
    logits[np.arange(n), labels] += 2.0
    exps = np.exp(logits - logits.max(axis=1, keepdims=True))
    return labels, (exps / exps.sum(axis=1, keepdims=True)).astype(np.float32)


def sklearn_ece(outcome: np.ndarray, confidence: np.ndarray, bins: int = 10) -> float:
    """ECE from scikit-learn's reliability curve, bin counts from a separate comparison per bin."""
    prob_true, prob_pred = calibration_curve(outcome, confidence, n_bins=bins, strategy="uniform")
    edges = np.linspace(0, 1, bins + 1)
    counts = np.array(
        [np.sum((confidence > lo) & (confidence <= hi)) for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    )
    counts[0] += np.sum(confidence == 0)
    counts = counts[counts > 0]  # calibration_curve drops empty bins too
    return float(np.sum(counts * np.abs(prob_true - prob_pred)) / len(confidence))


# --- the hand-counted case ---


def test_hand_case_recall_and_false_positive_rate() -> None:
    rates = fairness.class_rates(HAND_LABELS, HAND_PROBABILITIES, ABC)
    assert rates["support"].tolist() == [3, 2, 1]
    assert rates["recall"].tolist() == pytest.approx([2 / 3, 1 / 2, 1 / 1])
    # FP / negatives: nothing wrongly called a; one a called b of the four non-b; one b called c of five non-c
    assert rates["fpr"].tolist() == pytest.approx([0 / 3, 1 / 4, 1 / 5])


def test_hand_case_equalized_odds_gaps() -> None:
    gaps = fairness.equalized_odds_gaps(fairness.class_rates(HAND_LABELS, HAND_PROBABILITIES, ABC))
    assert gaps == {
        "tpr_gap": pytest.approx(1 - 1 / 2),
        "tpr_highest": "c",
        "tpr_lowest": "b",
        "fpr_gap": pytest.approx(1 / 4 - 0),
        "fpr_highest": "b",
        "fpr_lowest": "a",
    }


def test_hand_case_statistical_parity() -> None:
    parity = fairness.statistical_parity(HAND_LABELS, HAND_PROBABILITIES, ABC)
    assert parity["true_share"].tolist() == pytest.approx([3 / 6, 2 / 6, 1 / 6])
    assert parity["predicted_share"].tolist() == pytest.approx([2 / 6, 2 / 6, 2 / 6])
    assert parity["difference"].tolist() == pytest.approx([-1 / 6, 0, 1 / 6])


def test_hand_case_top_label_reliability_and_ece() -> None:
    table = fairness.confidence_reliability(HAND_LABELS, HAND_PROBABILITIES)
    filled = table[table["count"] > 0]
    assert filled.index.tolist() == [5, 6, 7, 8, 9]  # 0.55 | 0.65 | 0.75, 0.75 | 0.85 | 0.95
    assert filled["count"].tolist() == [1, 1, 2, 1, 1]
    assert filled["confidence"].tolist() == pytest.approx([0.55, 0.65, 0.75, 0.85, 0.95])
    assert filled["accuracy"].tolist() == [0.0, 0.0, 1.0, 1.0, 1.0]
    assert table["lower"].tolist() == pytest.approx([i / 10 for i in range(10)])
    # (|0 - .55| + |0 - .65| + 2 |1 - .75| + |1 - .85| + |1 - .95|) / 6
    assert fairness.expected_calibration_error(table) == pytest.approx(1.9 / 6)


def test_hand_case_one_vs_rest_class_ece() -> None:
    table = fairness.class_reliability(HAND_LABELS, HAND_PROBABILITIES, 0)
    filled = table[table["count"] > 0]
    # P(a): .05 (not a) | .12, .15 (not a) | .25 (a) | .75 (a) | .95 (a)
    assert filled.index.tolist() == [0, 1, 2, 7, 9] and filled["count"].tolist() == [1, 2, 1, 1, 1]
    assert filled["accuracy"].tolist() == [0.0, 0.0, 1.0, 1.0, 1.0]
    expected = (0.05 + 2 * 0.135 + 0.75 + 0.25 + 0.05) / 6
    errors = fairness.class_calibration_errors(HAND_LABELS, HAND_PROBABILITIES, class_names=ABC)
    assert errors["a"] == pytest.approx(expected) and errors.index.tolist() == list(ABC)


def test_hand_case_summary_is_plain_json() -> None:
    summary = fairness.fairness_summary(HAND_LABELS, HAND_PROBABILITIES, class_names=ABC)
    assert json.loads(json.dumps(summary, allow_nan=False)) == summary
    assert summary["recall"] == pytest.approx([2 / 3, 1 / 2, 1]) and summary["fpr"] == pytest.approx([0, 1 / 4, 1 / 5])
    assert summary["tpr_gap"] == pytest.approx(0.5) and summary["fpr_highest"] == "b"
    assert summary["ece"] == pytest.approx(1.9 / 6) and len(summary["class_ece"]) == 3
    assert all(type(v) is float for key in ("recall", "fpr", "parity_difference", "class_ece") for v in summary[key])


# --- against scikit-learn ---


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recall_and_fpr_match_scikit_learn(seed: int) -> None:
    labels, probabilities = random_run(seed=seed)
    pred = probabilities.argmax(axis=1)
    rates = fairness.class_rates(labels, probabilities)
    assert rates.index.tolist() == list(CLASS_NAMES)
    assert rates["support"].tolist() == confusion_matrix(labels, pred, labels=range(10)).sum(axis=1).tolist()
    np.testing.assert_allclose(rates["recall"], recall_score(labels, pred, labels=range(10), average=None))
    per_class = multilabel_confusion_matrix(labels, pred, labels=range(10))  # (10, 2, 2): [[tn, fp], [fn, tp]]
    tn, fp = per_class[:, 0, 0], per_class[:, 0, 1]
    np.testing.assert_allclose(rates["fpr"], fp / (fp + tn))


def test_gaps_are_the_spread_of_scikit_learns_rates() -> None:
    labels, probabilities = random_run(seed=3)
    pred = probabilities.argmax(axis=1)
    recall = recall_score(labels, pred, labels=range(10), average=None)
    gaps = fairness.equalized_odds_gaps(fairness.class_rates(labels, probabilities))
    assert gaps["tpr_gap"] == pytest.approx(recall.max() - recall.min())
    assert (gaps["tpr_highest"], gaps["tpr_lowest"]) == (CLASS_NAMES[recall.argmax()], CLASS_NAMES[recall.argmin()])


def test_parity_matches_pandas_value_counts() -> None:
    labels, probabilities = random_run(seed=4)
    parity = fairness.statistical_parity(labels, probabilities)
    shares = pd.Series(probabilities.argmax(axis=1)).value_counts(normalize=True).reindex(range(10), fill_value=0)
    np.testing.assert_allclose(parity["predicted_share"], shares)
    np.testing.assert_allclose(parity["true_share"].sum(), 1.0)


@pytest.mark.parametrize("seed", [0, 5])
def test_top_label_reliability_matches_calibration_curve(seed: int) -> None:
    labels, probabilities = random_run(seed=seed)
    confidence, right = probabilities.max(axis=1), probabilities.argmax(axis=1) == labels
    table = fairness.confidence_reliability(labels, probabilities)
    filled = table[table["count"] > 0]
    prob_true, prob_pred = calibration_curve(right, confidence, n_bins=10, strategy="uniform")
    np.testing.assert_allclose(filled["accuracy"], prob_true)
    np.testing.assert_allclose(filled["confidence"], prob_pred)
    assert table["count"].sum() == len(labels)
    assert fairness.expected_calibration_error(table) == pytest.approx(sklearn_ece(right, confidence))


@pytest.mark.parametrize("class_index", [0, 4, 9])
def test_one_vs_rest_reliability_matches_calibration_curve(class_index: int) -> None:
    labels, probabilities = random_run(seed=6)
    outcome, confidence = labels == class_index, probabilities[:, class_index]
    filled = (table := fairness.class_reliability(labels, probabilities, class_index))[table["count"] > 0]
    prob_true, prob_pred = calibration_curve(outcome, confidence, n_bins=10, strategy="uniform")
    np.testing.assert_allclose(filled["accuracy"], prob_true)
    np.testing.assert_allclose(filled["confidence"], prob_pred)
    errors = fairness.class_calibration_errors(labels, probabilities)
    assert errors.iloc[class_index] == pytest.approx(sklearn_ece(outcome, confidence))


@pytest.mark.parametrize("bins", [1, 5, 15])
def test_other_bin_counts_match_calibration_curve(bins: int) -> None:
    labels, probabilities = random_run(seed=7)
    confidence, right = probabilities.max(axis=1), probabilities.argmax(axis=1) == labels
    table = fairness.confidence_reliability(labels, probabilities, bins)
    assert len(table) == bins
    np.testing.assert_allclose(
        table.loc[table["count"] > 0, "accuracy"], calibration_curve(right, confidence, n_bins=bins)[0]
    )
    assert fairness.expected_calibration_error(table) == pytest.approx(sklearn_ece(right, confidence, bins))


def test_summary_of_a_ten_class_run_matches_its_parts() -> None:
    labels, probabilities = random_run(seed=8)
    summary = fairness.fairness_summary(labels, probabilities)
    rates = fairness.class_rates(labels, probabilities)
    assert summary["recall"] == rates["recall"].tolist() and summary["fpr"] == rates["fpr"].tolist()
    right = probabilities.argmax(axis=1) == labels
    assert summary["ece"] == pytest.approx(sklearn_ece(right, probabilities.max(axis=1)))
    assert set(summary) >= {"tpr_gap", "tpr_highest", "tpr_lowest", "fpr_gap", "fpr_highest", "fpr_lowest"}
    json.dumps(summary, allow_nan=False)


# --- edge cases ---


def test_a_class_without_test_images_has_no_recall_and_is_left_out_of_the_gap() -> None:
    labels = np.array([0, 0, 1, 1])
    probabilities = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1], [0.1, 0.2, 0.7]])
    rates = fairness.class_rates(labels, probabilities, ABC)
    assert rates["recall"].iloc[:2].tolist() == [0.5, 0.5] and math.isnan(rates["recall"].iloc[2])
    assert rates["fpr"].tolist() == [0.0, 0.5, 0.25]  # c has four negatives and one false alarm
    sklearn_recall = recall_score(
        labels, probabilities.argmax(axis=1), labels=[0, 1, 2], average=None, zero_division=np.nan
    )
    np.testing.assert_allclose(rates["recall"], sklearn_recall)  # NaN where scikit-learn's is NaN too
    gaps = fairness.equalized_odds_gaps(rates)
    assert gaps["tpr_gap"] == 0.0 and gaps["tpr_highest"] == "a"
    summary = fairness.fairness_summary(labels, probabilities, class_names=ABC)
    assert summary["recall"] == [0.5, 0.5, None]
    assert summary["class_ece"][2] == pytest.approx((0.1 + 0.1 + 0.1 + 0.7) / 4)  # P(c) for four images, none a c
    json.dumps(summary, allow_nan=False)


def test_a_class_that_is_every_image_has_no_false_positive_rate() -> None:
    labels = np.array([1, 1, 1])
    probabilities = np.array([[0.1, 0.9], [0.2, 0.8], [0.6, 0.4]])
    rates = fairness.class_rates(labels, probabilities, ("a", "b"))
    assert math.isnan(rates.loc["a", "recall"]) and rates.loc["a", "fpr"] == pytest.approx(1 / 3)  # the third image
    assert rates.loc["b", "recall"] == pytest.approx(2 / 3) and math.isnan(rates.loc["b", "fpr"])
    gaps = fairness.equalized_odds_gaps(rates)
    assert gaps["tpr_gap"] == 0.0 and gaps["fpr_gap"] == 0.0 and gaps["fpr_highest"] == "a"
    assert fairness.fairness_summary(labels, probabilities, class_names=("a", "b"))["fpr"] == [
        pytest.approx(1 / 3),
        None,
    ]


def test_all_correct_predictions_have_no_gaps() -> None:
    labels = np.arange(10).repeat(3)
    probabilities = np.full((30, 10), 0.01)
    probabilities[np.arange(30), labels] = 0.91
    summary = fairness.fairness_summary(labels, probabilities)
    assert summary["recall"] == [1.0] * 10 and summary["fpr"] == [0.0] * 10
    assert summary["tpr_gap"] == 0.0 and summary["fpr_gap"] == 0.0
    assert summary["parity_difference"] == [0.0] * 10
    assert summary["ece"] == pytest.approx(0.09)  # every image 0.91 confident and right


def test_empty_gaps_are_nan_with_no_classes() -> None:
    rates = pd.DataFrame({"recall": [np.nan, np.nan], "fpr": [np.nan, np.nan]}, index=["a", "b"])
    gaps = fairness.equalized_odds_gaps(rates)
    assert math.isnan(gaps["tpr_gap"]) and gaps["tpr_highest"] is None and gaps["fpr_lowest"] is None


@pytest.mark.parametrize(
    ("labels", "probabilities", "names", "message"),
    [
        (np.array([], dtype=int), np.zeros((0, 3)), ABC, "no test images"),
        (np.array([0, 3]), np.full((2, 3), 1 / 3), ABC, "between 0 and 2"),
        (np.array([0, 1]), np.full((3, 3), 1 / 3), ABC, "3 rows"),
        (np.array([0, 1]), np.full((2, 3), 1 / 3), ("a", "b"), "2 class names"),
        (np.array([0.0, 1.0]), np.full((2, 3), 1 / 3), ABC, "whole class numbers"),
    ],
)
def test_bad_inputs_are_refused(labels: np.ndarray, probabilities: np.ndarray, names: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fairness.class_rates(labels, probabilities, names)


def test_reliability_of_nothing_has_no_ece() -> None:
    with pytest.raises(ValueError, match="no images"):
        fairness.expected_calibration_error(fairness.reliability_bins(np.array([]), np.array([])))
    with pytest.raises(ValueError, match="class_index"):
        fairness.class_reliability(HAND_LABELS, HAND_PROBABILITIES, 3)


def test_every_metric_has_a_meaning() -> None:
    rates = fairness.class_rates(HAND_LABELS, HAND_PROBABILITIES, ABC)
    parity = fairness.statistical_parity(HAND_LABELS, HAND_PROBABILITIES, ABC)
    shown = {*rates.columns, *parity.columns, "tpr_gap", "fpr_gap", "ece", "class_ece", "reliability"} - {"support"}
    assert shown - {"difference"} | {"parity_difference"} <= set(fairness.METRIC_MEANINGS)
    assert all(text.count(". ") == 0 and text.endswith(".") for text in fairness.METRIC_MEANINGS.values())

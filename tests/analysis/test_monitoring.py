"""Monitoring on hand-made streams: tiny weights whose every answer is known, so each day's figures are too."""

from __future__ import annotations

import numpy as np
import pytest

from fmnist_lab.analysis import monitoring
from fmnist_lab.analysis.monitoring import Drift, Stream

SHIRT, TSHIRT, SNEAKER = 6, 0, 7
PER_CLASS = 20
LABELS = np.repeat(np.arange(10), PER_CLASS).astype(np.uint8)  # a 200-image test set


def mark(c: int) -> tuple[int, int]:
    """The one pixel that shows class ``c``: row 4, column 2c + 2."""
    return 4, 2 * c + 2


def images(labels: np.ndarray) -> np.ndarray:
    out = np.zeros((len(labels), 28, 28), np.uint8)
    for i, c in enumerate(labels):
        out[i][mark(int(c))] = 255
    return out


X = images(LABELS)


def weights(shirt_as: int = SHIRT, gain: float = 10.0) -> list[np.ndarray]:
    """One Dense layer (no hidden layer): class c's pixel adds ``gain`` to class c's logit, except
    the Shirt pixel, which adds it to ``shirt_as``'s."""
    kernel = np.zeros((784, 10), np.float32)
    for c in range(10):
        row, col = mark(c)
        kernel[row * 28 + col, shirt_as if c == SHIRT else c] = gain
    return [kernel, np.zeros(10, np.float32)]


def confidence(x: float, gain: float = 10.0) -> float:
    """Softmax top probability when one logit is gain·x and nine are 0."""
    return float(np.exp(gain * x) / (np.exp(gain * x) + 9))


def test_a_growing_shirt_share_costs_a_shirt_blind_model_exactly_its_share() -> None:
    stream = Stream(days=10, per_day=100, baseline=5, drift=Drift("mix", start=6, strength=0.5))
    scores = monitoring.watch(weights(shirt_as=TSHIRT), "relu", True, X, LABELS, stream)
    # shirt share: 10 % for five days, then 0.1 + 0.4 · (d − 5) / 5: 18, 26, 34, 42, 50 %
    assert [s.accuracy for s in scores] == pytest.approx([0.9] * 5 + [0.82, 0.74, 0.66, 0.58, 0.50])
    assert all(s.served == 100 for s in scores)
    assert all(s.recall[SHIRT] == 0 and np.all(np.delete(s.recall, SHIRT) == 1) for s in scores)
    assert all(list(s.confidence_counts) == [0] * 9 + [100] for s in scores)  # every answer ~0.9996 sure
    assert monitoring.first_alert(scores, 5) == 6  # the band is [0.9, 0.9]: no spread in the first days
    assert monitoring.alerts([s.accuracy for s in scores], 5) == [6, 7, 8, 9, 10]


def test_darker_images_lower_the_confidence_not_the_accuracy() -> None:
    stream = Stream(days=8, per_day=50, baseline=4, drift=Drift("darker", start=5, strength=0.2))
    scores = monitoring.watch(weights(), "relu", True, X, LABELS, stream)
    shown = [1.0] * 4 + [1 - 0.8 * k / 4 for k in (1, 2, 3, 4)]  # brightness: 0.8, 0.6, 0.4, 0.2
    expected = [confidence(np.round(255 * b) / 255) for b in shown]
    assert [s.mean_confidence for s in scores] == pytest.approx(expected, rel=1e-5)
    assert all(s.accuracy == 1.0 for s in scores)
    assert monitoring.first_alert(scores, 4, "accuracy") is None
    assert monitoring.first_alert(scores, 4, "mean confidence") == 5


def test_high_tops_replace_a_share_of_each_day_and_stay_sneakers() -> None:
    stream = Stream(days=6, per_day=40, baseline=3, drift=Drift("new shoe", start=4, strength=0.6))
    days = monitoring.plan(LABELS, stream)
    assert [int(d.high_top.sum()) for d in days] == [0, 0, 0, 8, 16, 24]  # 0.6 · 40 · 1/3, 2/3, 3/3
    assert all(len(d.indices) == 40 and np.all(LABELS[d.indices[d.high_top]] == SNEAKER) for d in days)
    again = monitoring.plan(LABELS, stream)
    assert all(np.array_equal(a.indices, b.indices) for a, b in zip(days, again, strict=True))  # seeded


def test_a_high_top_is_the_sneaker_stretched_up_from_its_sole_and_mirrored() -> None:
    sneaker = np.zeros((1, 28, 28), np.uint8)
    sneaker[0, 20:24, 5:11] = 200  # four rows tall, sole on row 23
    (top,) = monitoring.high_top(sneaker)
    rows, cols = np.nonzero(top)
    assert sorted(set(rows)) == list(range(17, 24))  # round(4 · 1.8) = 7 rows, the sole kept on row 23
    assert sorted(set(cols)) == list(range(17, 23))  # columns 5–10 mirrored: 27 − 10 … 27 − 5


def test_the_band_is_mean_plus_minus_three_sd_of_the_baseline() -> None:
    values = [0.80, 0.82, 0.84, 0.82, 0.80, 0.90, 0.70, 0.83]
    band = monitoring.band(values[:5])
    sd = float(np.std(values[:5], ddof=1))
    assert (band.mean, band.low, band.high) == pytest.approx((0.816, 0.816 - 3 * sd, 0.816 + 3 * sd))
    assert monitoring.alerts(values, 5) == [6, 7]  # 0.90 and 0.70 are outside 0.816 ± 0.050; 0.83 inside


def test_ab_serves_alternate_days_and_finds_the_better_model() -> None:
    stream = Stream(days=10, per_day=100, baseline=4, drift=Drift("darker", strength=1.0))  # no change
    blind = monitoring.watch(weights(shirt_as=TSHIRT), "relu", True, X, LABELS, stream)
    sharp = monitoring.watch(weights(), "relu", True, X, LABELS, stream)
    assert monitoring.alternate(blind, sharp) == ([90.0] * 5, [100.0] * 5)  # A on days 1, 3 …; B on 2, 4 …
    result = monitoring.ab_test(blind, sharp, "A", "B")
    assert result.difference == pytest.approx(10.0) and result.interval == pytest.approx((10.0, 10.0))
    assert result.verdict.startswith("B beat A by 10.00 points on average over 5 days")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Drift("flood"), "a drift is one of"),
        (lambda: Drift("mix", strength=1.5), "strength between 0 and 1"),
        (lambda: Stream(days=5, baseline=5), "at least 2 baseline days"),
    ],
)
def test_bad_streams_are_refused(make, message: str) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("normalize", [True, False])
def test_images_are_scaled_as_training_scaled_them(normalize: bool) -> None:
    from fmnist_lab.training.data import prepare

    np.testing.assert_array_equal(monitoring.scaled(X[:5], normalize), prepare(X[:5], normalize))

"""Monitoring a deployed model: a finished run serves a stream of test images over simulated days.

The stream is made from the real test set. Each day serves ``per_day`` images; until ``Drift.start``
every class comes equally often and the images are as they were. From that day one thing drifts,
a little more each day up to ``Drift.strength`` on the last day:

    mix       one class (default Shirt) grows to ``strength`` of the day's images
    darker    every pixel is multiplied by a brightness falling to ``strength``
    new shoe  ``strength`` of the day's images are *high tops*: Sneaker images stretched upward
              and mirrored, a shoe the training set never showed (its label stays Sneaker)

Class counts are exact (largest remainders), so a day's mix is known by hand; the seed picks
which test images of each class are served. A day is scored with the run's stored weights
(``forward.predict``, NumPy only): accuracy, recall per class, the confidence histogram. An alert
fires when a monitored figure leaves its band: mean ± ``k`` sd of the first ``baseline`` days.
An A/B test serves run A on odd days and run B on even days and compares the days' accuracies
with ``statistics.compare`` (Welch's t-test: days are not paired).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from fmnist_lab.analysis import forward, statistics
from fmnist_lab.config import CLASS_NAMES, NUM_CLASSES

DRIFTS = ("mix", "darker", "new shoe")
SNEAKER = CLASS_NAMES.index("Sneaker")
SHIRT = CLASS_NAMES.index("Shirt")
CONFIDENCE_BINS = np.linspace(0.0, 1.0, 11)  # the histogram's edges: ten bins of 0.1
MONITORED = ("accuracy", "mean confidence")  # the figures with a band and an alert
HIGH_TOP_STRETCH = 1.8  # a high top's height over the sneaker's
INK = 20  # a pixel above this (of 255) is part of the garment


@dataclass(frozen=True)
class Drift:
    """What changes in the stream, from which day (1-based), and how far by the last day."""

    kind: str = "mix"  # one of DRIFTS
    start: int = 15  # the first day that drifts
    strength: float = 0.4  # mix: the class's share; darker: the brightness; new shoe: the high tops' share
    grows: int = SHIRT  # mix only: the class that grows

    def __post_init__(self) -> None:
        if self.kind not in DRIFTS:
            raise ValueError(f"a drift is one of {', '.join(DRIFTS)}, not {self.kind!r}")
        if not 0.0 <= self.strength <= 1.0 or self.start < 1 or not 0 <= self.grows < NUM_CLASSES:
            raise ValueError("a drift starts on day 1 or later, with a strength between 0 and 1")


@dataclass(frozen=True)
class Stream:
    """How many days, how many images a day, the days the band is learnt from, the drift and the seed."""

    days: int = 28
    per_day: int = 300
    baseline: int = 7  # the first week: the band is mean ± k sd of these days
    drift: Drift = field(default_factory=Drift)
    seed: int = 0

    def __post_init__(self) -> None:
        if not 2 <= self.baseline < self.days or self.per_day < NUM_CLASSES:
            raise ValueError("a stream needs at least 2 baseline days, a day after them, and 10 images a day")


@dataclass(frozen=True, eq=False)
class Day:
    """One day's plan: which test images, how bright, and which of them are high tops."""

    day: int  # from 1
    indices: np.ndarray  # (per_day,) test-set indices
    brightness: float  # 1.0: as in the test set
    high_top: np.ndarray  # (per_day,) bool: served as a high top (all are Sneakers)


@dataclass(frozen=True, eq=False)
class DayScore:
    """How the deployed model did on one day."""

    day: int
    served: int
    accuracy: float
    mean_confidence: float
    recall: np.ndarray  # (10,) share of each class's images found; NaN when none was served
    confidence_counts: np.ndarray  # (10,) images per top-probability bin of CONFIDENCE_BINS

    def figure(self, name: str) -> float:
        return {"accuracy": self.accuracy, "mean confidence": self.mean_confidence}[name]


@dataclass(frozen=True)
class Band:
    """Where a monitored figure is expected to stay: mean ± k sd of the baseline days."""

    mean: float
    sd: float
    low: float
    high: float

    def holds(self, value: float) -> bool:
        return self.low <= value <= self.high


# -- the stream ------------------------------------------------------------------------------------------------
def ramp(stream: Stream, day: int) -> float:
    """How far the drift has gone on ``day``: 0 before ``start``, rising linearly to 1 on the last day."""
    start, last = stream.drift.start, stream.days
    if day < start:
        return 0.0
    return 1.0 if last == start else (day - start + 1) / (last - start + 1)


def class_counts(stream: Stream, day: int) -> np.ndarray:
    """(10,) images of each class served on ``day``; exact, by largest remainders."""
    shares = np.full(NUM_CLASSES, 1.0 / NUM_CLASSES)
    if stream.drift.kind == "mix":
        grown = 0.1 + (stream.drift.strength - 0.1) * ramp(stream, day)
        shares = np.full(NUM_CLASSES, (1.0 - grown) / (NUM_CLASSES - 1))
        shares[stream.drift.grows] = grown
    return _largest_remainders(shares * stream.per_day, stream.per_day)


def high_tops(stream: Stream, day: int) -> int:
    """How many of ``day``'s images are high tops."""
    if stream.drift.kind != "new shoe":
        return 0
    return int(round(stream.drift.strength * ramp(stream, day) * stream.per_day))


def brightness(stream: Stream, day: int) -> float:
    if stream.drift.kind != "darker":
        return 1.0
    return 1.0 - (1.0 - stream.drift.strength) * ramp(stream, day)


def plan(labels: np.ndarray, stream: Stream) -> list[Day]:
    """Every day of ``stream`` drawn from a test set with ``labels`` (n,); the same seed, the same days."""
    labels = np.asarray(labels)
    by_class = [np.flatnonzero(labels == c) for c in range(NUM_CLASSES)]
    if any(len(found) == 0 for found in by_class):
        raise ValueError("the test set needs images of every class to make a stream")
    rng = np.random.default_rng(stream.seed)
    days = []
    for day in range(1, stream.days + 1):
        counts = class_counts(stream, day)
        tops = high_tops(stream, day)
        counts = _make_room(counts, tops)  # the high tops take the place of other images
        picked = [rng.choice(by_class[c], size=k) for c, k in enumerate(counts)]
        picked.append(rng.choice(by_class[SNEAKER], size=tops))
        order = rng.permutation(stream.per_day)
        flags = np.r_[np.zeros(stream.per_day - tops, bool), np.ones(tops, bool)]
        days.append(Day(day, np.concatenate(picked)[order], brightness(stream, day), flags[order]))
    return days


def served_images(x_test: np.ndarray, day: Day) -> np.ndarray:
    """(per_day, 28, 28) uint8: the day's images, darkened and made high tops as planned."""
    images = np.asarray(x_test)[day.indices].copy()
    if day.high_top.any():
        images[day.high_top] = high_top(images[day.high_top])
    if day.brightness != 1.0:
        images = np.round(images.astype(np.float64) * day.brightness).astype(np.uint8)
    return images


def high_top(images: np.ndarray) -> np.ndarray:
    """Sneakers (n, 28, 28) as high tops: each shoe stretched upward by HIGH_TOP_STRETCH from its
    sole (its lowest inked row stays put) and mirrored left to right."""
    out = np.zeros_like(images)
    for i, image in enumerate(images):
        rows = np.flatnonzero((image > INK).any(axis=1))
        if len(rows) == 0:
            out[i] = image[:, ::-1]
            continue
        top, sole = int(rows[0]), int(rows[-1])
        new_top = max(0, sole - int(round((sole - top + 1) * HIGH_TOP_STRETCH)) + 1)
        target = np.arange(new_top, sole + 1)  # each new row reads the row it stretches from
        source = sole - np.floor((sole - target) / HIGH_TOP_STRETCH).astype(int)
        out[i, target] = image[source]
        out[i, sole + 1 :] = image[sole + 1 :]
        out[i] = out[i][:, ::-1]
    return out


# -- scoring -----------------------------------------------------------------------------------------------
def score_day(day: int, probabilities: np.ndarray, labels: np.ndarray) -> DayScore:
    """A day's figures from the model's outputs (n, 10) and the true labels (n,)."""
    guesses, confidence = probabilities.argmax(axis=1), probabilities.max(axis=1)
    right = guesses == labels
    served = np.bincount(labels, minlength=NUM_CLASSES)
    found = np.bincount(labels[right], minlength=NUM_CLASSES)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(served > 0, found / np.maximum(served, 1), np.nan)
    counts, _ = np.histogram(confidence, bins=CONFIDENCE_BINS)
    return DayScore(day, len(labels), float(right.mean()), float(confidence.mean()), recall, counts)


def watch(
    weights: Sequence[np.ndarray],
    activation: str,
    normalize: bool,
    x_test: np.ndarray,
    y_test: np.ndarray,
    stream: Stream,
) -> list[DayScore]:
    """The deployed run's figures, day by day, on ``stream`` drawn from (``x_test``, ``y_test``)."""
    scores = []
    for day in plan(y_test, stream):
        probabilities = forward.predict(weights, activation, scaled(served_images(x_test, day), normalize))
        scores.append(score_day(day.day, probabilities, np.asarray(y_test)[day.indices]))
    return scores


def scaled(images: np.ndarray, normalize: bool) -> np.ndarray:
    """Images as the run was trained on them: ÷255 when it normalised, raw pixel values otherwise."""
    return images.astype(np.float32) / 255.0 if normalize else images.astype(np.float32)


# -- bands and alerts --------------------------------------------------------------------------------------
def band(values: Sequence[float], k: float = 3.0) -> Band:
    """mean ± k · sd (sample sd) of ``values``, the baseline days' figures."""
    summary = statistics.summarize(values)
    sd = summary.sd or 0.0
    return Band(summary.mean, sd, summary.mean - k * sd, summary.mean + k * sd)


def alerts(values: Sequence[float], baseline: int, k: float = 3.0) -> list[int]:
    """The days (from 1) after the baseline on which ``values`` (one per day) left the band."""
    expected = band(values[:baseline], k)
    return [day for day, value in enumerate(values, start=1) if day > baseline and not expected.holds(value)]


def first_alert(scores: Sequence[DayScore], baseline: int, figure: str = "accuracy", k: float = 3.0) -> int | None:
    """The first day ``figure`` left its band, or None if it never did."""
    fired = alerts([score.figure(figure) for score in scores], baseline, k)
    return fired[0] if fired else None


# -- A/B test ----------------------------------------------------------------------------------------------
def alternate(scores_a: Sequence[DayScore], scores_b: Sequence[DayScore]) -> tuple[list[float], list[float]]:
    """The days' accuracies in percent as A/B serving would see them: A on odd days, B on even days."""
    a = [score.accuracy * 100 for score in scores_a if score.day % 2 == 1]
    b = [score.accuracy * 100 for score in scores_b if score.day % 2 == 0]
    return a, b


def ab_test(
    scores_a: Sequence[DayScore], scores_b: Sequence[DayScore], label_a: str, label_b: str
) -> statistics.Comparison:
    """Is B better than A? Their alternate days' accuracies, compared with Welch's t-test."""
    a, b = alternate(scores_a, scores_b)
    comparison = statistics.compare(a, b, label_a, label_b)
    return replace(comparison, verdict=in_days(comparison.verdict))


def in_days(verdict: str) -> str:
    """``statistics.verdict``'s words for seeds, said of days (each day is one sample here)."""
    return verdict.replace(statistics.LUCK, "this could be luck. More days would tell.").replace("seed", "day")


# -- helpers -----------------------------------------------------------------------------------------------
def _largest_remainders(quotas: np.ndarray, total: int) -> np.ndarray:
    """Whole counts summing to ``total``, each the floor of its quota, the rest to the largest remainders."""
    counts = np.floor(quotas + 1e-9).astype(int)
    order = np.argsort(-(quotas - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return counts


def _make_room(counts: np.ndarray, taken: int) -> np.ndarray:
    """``counts`` less ``taken`` images in all, taken from the largest classes first (one at a time)."""
    counts = counts.copy()
    for _ in range(taken):
        counts[int(np.argmax(counts))] -= 1
    return counts

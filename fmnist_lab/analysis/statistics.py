"""Numbers over seeds: a summary of one group, the comparison of two, and a verdict in words.

A comparison takes each side's numbers (accuracies in percent, so a difference is in points) and,
where both sides ran the same seeds, pairs them by seed (``scipy.stats.ttest_rel``); otherwise it
uses Welch's t-test (``scipy.stats.ttest_ind(equal_var=False)``). With one run on a side there is
no test: the verdict says so. The difference is always B − A.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
PAIRED = "paired t-test"
WELCH = "Welch's t-test"
ONE_RUN_EACH = "One run each: no way to know how much of this is luck — repeat over seeds."
LUCK = "this could be luck. More seeds, or more epochs, would tell."


@dataclass(frozen=True)
class Summary:
    """Mean, sample standard deviation (None for one number), min, max and count."""

    mean: float
    sd: float | None
    min: float
    max: float
    n: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Comparison:
    """B against A: the difference of the means (B − A), its 95 % interval and test, and the verdict."""

    label_a: str
    label_b: str
    a: Summary
    b: Summary
    difference: float
    interval: tuple[float, float] | None  # None without a test (one run on a side)
    test: str | None  # PAIRED, WELCH or None
    p_value: float | None
    seed_differences: tuple[float, ...]  # B − A seed by seed when paired, else empty
    verdict: str

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self) | {"a": self.a.to_dict(), "b": self.b.to_dict()}
        out["interval"] = None if self.interval is None else list(self.interval)
        out["seed_differences"] = list(self.seed_differences)
        return out


def summarize(values: Sequence[float] | np.ndarray) -> Summary:
    """The summary of at least one finite number; ValueError otherwise."""
    array = _finite(values)
    sd = float(np.std(array, ddof=1)) if len(array) > 1 else None
    return Summary(float(array.mean()), sd, float(array.min()), float(array.max()), len(array))


def mean_interval(values: Sequence[float] | np.ndarray) -> tuple[float, float] | None:
    """The 95 % t-interval of the mean of at least two finite numbers; None for one (no spread to go by)."""
    array = _finite(values)
    if len(array) < 2:
        return None
    if np.ptp(array) == 0:
        return float(array[0]), float(array[0])
    low, high = stats.ttest_1samp(array, 0.0).confidence_interval(CONFIDENCE)
    return float(low), float(high)


def compare(
    a: Sequence[float],
    b: Sequence[float],
    label_a: str,
    label_b: str,
    seeds_a: Sequence[int] | None = None,
    seeds_b: Sequence[int] | None = None,
) -> Comparison:
    """Compare B with A: paired by seed if both sides ran the same seeds, Welch's t-test otherwise.

    ``a`` and ``b`` are in percent (the difference is in points); ``seeds_*`` give each value's seed.
    """
    x, y = _finite(a), _finite(b)
    summary_a, summary_b = summarize(x), summarize(y)
    difference = summary_b.mean - summary_a.mean
    if min(len(x), len(y)) < 2:
        test, interval, p_value, pairs = None, None, None, np.array([])
    elif (order := _pairing(seeds_a, seeds_b, len(x), len(y))) is not None:
        pairs = y[order] - x
        interval, p_value = paired_test(pairs)
        test = PAIRED
    else:
        test, pairs = WELCH, np.array([])
        interval, p_value = welch_test(x, y)
    comparison = Comparison(
        label_a, label_b, summary_a, summary_b, difference, interval, test, p_value, tuple(map(float, pairs)), ""
    )
    return replace(comparison, verdict=verdict(comparison))


def paired_test(differences: np.ndarray) -> tuple[tuple[float, float], float]:
    """The 95 % interval of the mean of ``differences`` (B − A per seed) and the paired test's p-value."""
    if np.ptp(differences) == 0:  # every seed agrees exactly: no spread to test against
        return _certain(float(differences[0]))
    result = stats.ttest_1samp(differences, 0.0)  # the same statistic as ttest_rel(b, a)
    low, high = result.confidence_interval(CONFIDENCE)
    return (float(low), float(high)), float(result.pvalue)


def welch_test(a: np.ndarray, b: np.ndarray) -> tuple[tuple[float, float], float]:
    """The 95 % interval of mean(b) − mean(a) with Welch's degrees of freedom, and the p-value."""
    if np.ptp(a) == 0 and np.ptp(b) == 0:
        return _certain(float(b.mean() - a.mean()))
    result = stats.ttest_ind(b, a, equal_var=False)
    low, high = result.confidence_interval(CONFIDENCE)
    return (float(low), float(high)), float(result.pvalue)


def verdict(c: Comparison) -> str:
    """The comparison in one or two sentences a learner can act on."""
    if c.interval is None:
        return ONE_RUN_EACH if c.a.n == c.b.n == 1 else _one_run_side(c)
    seeds = f"{c.a.n} seeds" if c.a.n == c.b.n else f"{c.a.n} and {c.b.n} seeds"
    if round(abs(c.difference), 2) == 0:
        return f"{c.label_b} and {c.label_a} score the same on average over {seeds}: no difference to explain."
    winner, loser, sign = (c.label_b, c.label_a, 1) if c.difference > 0 else (c.label_a, c.label_b, -1)
    claim = f"{winner} beat {loser} by {abs(c.difference):.2f} points on average over {seeds}"
    low, high = sorted(sign * bound for bound in c.interval)  # in the winner's favour
    if low > 0:
        return f"{claim} (95 % interval {low:.2f} to {high:.2f}): more than the seeds' spread."
    spread = [sign * d for d in c.seed_differences]
    if spread and min(spread) < 0 < max(spread):
        return f"{claim}, but the seeds disagree ({_signed(min(spread))} to {_signed(max(spread))}): {LUCK}"
    return f"{claim}, but the 95 % interval runs from {_signed(low)} to {_signed(high)}: {LUCK}"


def _one_run_side(c: Comparison) -> str:
    single = c.label_a if c.a.n == 1 else c.label_b
    return f"One run of {single}: no way to know how much of this is luck — repeat it over seeds."


def _pairing(seeds_a: Sequence[int] | None, seeds_b: Sequence[int] | None, n_a: int, n_b: int) -> np.ndarray | None:
    """For each of A's seeds, the index of B's run with that seed; None unless both ran the same seeds."""
    if seeds_a is None or seeds_b is None or len(seeds_a) != n_a or len(seeds_b) != n_b:
        return None
    if len(set(seeds_a)) != n_a or set(seeds_a) != set(seeds_b) or n_a != n_b:
        return None
    position = {seed: index for index, seed in enumerate(seeds_b)}
    return np.array([position[seed] for seed in seeds_a], dtype=np.intp)


def _certain(difference: float) -> tuple[tuple[float, float], float]:
    """No spread at all: the interval is the difference itself; p is 1 for no difference, else 0."""
    return (difference, difference), 1.0 if difference == 0 else 0.0


def _finite(values: Sequence[float] | np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if len(array) == 0 or not np.isfinite(array).all():
        raise ValueError(f"a summary needs at least one finite number, not {list(array)[:5]}")
    return array


def _signed(value: float) -> str:
    """``+0.86`` and ``−0.31`` (a true minus sign), as the verdict prints a spread."""
    text = f"{value:+.2f}"
    return text.replace("-", "−") if not math.isclose(value, 0, abs_tol=0.005) else "0.00"

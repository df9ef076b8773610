"""Summaries and comparisons over seeds, checked against intervals computed by hand from the t distribution."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import stats

from fmnist_lab.analysis import statistics
from fmnist_lab.analysis.statistics import ONE_RUN_EACH, PAIRED, WELCH, compare, summarize

SEEDS = [0, 1, 2, 3, 4]
UNITS_128 = [86.95, 87.29, 87.56, 87.44, 87.60]  # the issue's table, test accuracy in percent
UNITS_1024 = [87.81, 87.15, 88.14, 87.13, 88.43]


def t_interval(mean: Any, se: Any, df: Any) -> tuple[float, float]:
    half = stats.t.ppf(0.975, df) * se
    return mean - half, mean + half


def test_summary_is_mean_sample_sd_min_max_n() -> None:
    summary = summarize([1.0, 2.0, 4.0])
    assert summary.mean == pytest.approx(7 / 3)
    assert summary.sd == pytest.approx(math.sqrt(((1 - 7 / 3) ** 2 + (2 - 7 / 3) ** 2 + (4 - 7 / 3) ** 2) / 2))
    assert (summary.min, summary.max, summary.n) == (1.0, 4.0, 3)
    assert summary.to_dict() == {"mean": summary.mean, "sd": summary.sd, "min": 1.0, "max": 4.0, "n": 3}


def test_one_number_has_no_sd() -> None:
    assert summarize([87.5]).to_dict() == {"mean": 87.5, "sd": None, "min": 87.5, "max": 87.5, "n": 1}


@pytest.mark.parametrize("values", [[], [1.0, float("nan")], [float("inf")]])
def test_a_summary_needs_finite_numbers(values: list[float]) -> None:
    with pytest.raises(ValueError, match="finite"):
        summarize(values)


def test_the_issues_table_paired_by_seed() -> None:
    differences = np.subtract(UNITS_1024, UNITS_128)  # +0.86, −0.14, +0.58, −0.31, +0.83
    mean, sd = differences.sum() / 5, math.sqrt(((differences - differences.sum() / 5) ** 2).sum() / 4)
    assert mean == pytest.approx(0.364) and sd == pytest.approx(0.55, abs=0.005)
    low, high = t_interval(mean, sd / math.sqrt(5), 4)
    result = compare(UNITS_128, UNITS_1024, "128", "1024 units", SEEDS, SEEDS)
    assert result.test == PAIRED
    assert result.difference == pytest.approx(mean)
    assert result.interval == pytest.approx((low, high)) and result.interval == pytest.approx((-0.32, 1.05), abs=0.01)
    t = mean / (sd / math.sqrt(5))
    assert result.p_value == pytest.approx(2 * stats.t.sf(abs(t), 4))
    assert result.p_value == pytest.approx(stats.ttest_rel(UNITS_1024, UNITS_128).pvalue)
    assert result.seed_differences == pytest.approx(tuple(differences))


def test_seeds_pair_by_value_not_by_position() -> None:
    shuffled = [4, 2, 0, 3, 1]
    reordered = [UNITS_1024[s] for s in shuffled]
    paired = compare(UNITS_128, reordered, "A", "B", SEEDS, shuffled)
    assert paired.test == PAIRED
    assert paired.interval == pytest.approx(compare(UNITS_128, UNITS_1024, "A", "B", SEEDS, SEEDS).interval)


def test_welch_when_the_seeds_differ() -> None:
    a, b = UNITS_128, UNITS_1024[:4]
    result = compare(a, b, "A", "B", SEEDS, [10, 11, 12, 13])
    va, vb = np.var(a, ddof=1) / 5, np.var(b, ddof=1) / 4
    df = (va + vb) ** 2 / (va**2 / 4 + vb**2 / 3)  # Welch–Satterthwaite
    expected = t_interval(np.mean(b) - np.mean(a), math.sqrt(va + vb), df)
    assert result.test == WELCH and result.seed_differences == ()
    assert result.interval == pytest.approx(expected)
    assert result.p_value == pytest.approx(stats.ttest_ind(b, a, equal_var=False).pvalue)


@pytest.mark.parametrize(
    ("seeds_a", "seeds_b"),
    [(None, SEEDS), (SEEDS, None), (SEEDS, [0, 1, 2, 3, 9]), ([0, 0, 1, 2, 3], [0, 0, 1, 2, 3])],
)
def test_welch_unless_the_same_distinct_seeds(seeds_a: list[int] | None, seeds_b: list[int] | None) -> None:
    assert compare(UNITS_128, UNITS_1024, "A", "B", seeds_a, seeds_b).test == WELCH


def test_verdict_seeds_disagree() -> None:
    result = compare(UNITS_128, UNITS_1024, "128", "1024 units", SEEDS, SEEDS)
    assert result.verdict == (
        "1024 units beat 128 by 0.36 points on average over 5 seeds, but the seeds disagree (−0.31 to +0.86): "
        "this could be luck. More seeds, or more epochs, would tell."
    )


def test_verdict_seeds_disagree_when_b_is_worse() -> None:
    result = compare(UNITS_1024, UNITS_128, "1024 units", "128 units", SEEDS, SEEDS)
    assert result.difference == pytest.approx(-0.364)
    assert result.verdict == (
        "1024 units beat 128 units by 0.36 points on average over 5 seeds, but the seeds disagree (−0.31 to +0.86): "
        "this could be luck. More seeds, or more epochs, would tell."
    )


def test_verdict_interval_includes_zero_without_pairs() -> None:
    result = compare(UNITS_128, UNITS_1024, "128 units", "1024 units")
    low, high = result.interval  # type: ignore[misc]
    assert result.test == WELCH and low < 0 < high
    assert result.verdict == (
        f"1024 units beat 128 units by 0.36 points on average over 5 seeds, but the 95 % interval runs from "
        f"−{abs(low):.2f} to +{high:.2f}: this could be luck. More seeds, or more epochs, would tell."
    )


CLEAR_A = [87.0, 87.5, 87.2, 87.4]
CLEAR_B = [88.1, 88.8, 88.4, 88.6]  # +1.1, +1.3, +1.2, +1.2 seed by seed


def test_verdict_clear_difference() -> None:
    result = compare(CLEAR_A, CLEAR_B, "128 units", "1024 units", SEEDS[:4], SEEDS[:4])
    low, high = t_interval(1.2, np.std([1.1, 1.3, 1.2, 1.2], ddof=1) / 2, 3)
    assert result.interval == pytest.approx((low, high))
    assert result.verdict == (
        f"1024 units beat 128 units by 1.20 points on average over 4 seeds (95 % interval {low:.2f} to {high:.2f}): "
        "more than the seeds' spread."
    )


def test_verdict_clear_difference_when_b_is_worse() -> None:
    result = compare(CLEAR_B, CLEAR_A, "1024 units", "128 units", SEEDS[:4], SEEDS[:4])
    low, high = result.interval  # type: ignore[misc]
    assert high < 0 and result.difference == pytest.approx(-1.2)
    assert result.verdict == (
        f"1024 units beat 128 units by 1.20 points on average over 4 seeds (95 % interval {-high:.2f} to {-low:.2f}): "
        "more than the seeds' spread."
    )


def test_one_run_each_has_no_test() -> None:
    result = compare([87.0], [88.0], "128 units", "1024 units")
    assert (
        result.verdict == ONE_RUN_EACH == ("One run each: no way to know how much of this is luck — repeat over seeds.")
    )
    assert (result.test, result.interval, result.p_value) == (None, None, None)
    assert result.difference == pytest.approx(1.0)


def test_one_run_on_one_side_has_no_test() -> None:
    result = compare(UNITS_128, [88.0], "128 units", "1024 units", SEEDS, [0])
    assert result.test is None and result.interval is None
    assert result.verdict == "One run of 1024 units: no way to know how much of this is luck — repeat it over seeds."


def test_equal_means_say_so() -> None:
    result = compare([87.0, 88.0], [88.0, 87.0], "A", "B", [1, 2], [1, 2])
    assert result.difference == 0 and result.verdict.startswith("B and A score the same on average over 2 seeds")


def test_no_spread_at_all_is_a_certain_difference() -> None:
    result = compare([87.0, 87.0], [88.0, 88.0], "A", "B")  # scipy would return nan here
    assert result.interval == (1.0, 1.0) and result.p_value == 0.0
    assert result.verdict.endswith("(95 % interval 1.00 to 1.00): more than the seeds' spread.")


def test_to_dict_is_plain_json() -> None:
    import json

    out = compare(UNITS_128, UNITS_1024, "A", "B", SEEDS, SEEDS).to_dict()
    assert json.loads(json.dumps(out)) == out
    assert out["interval"] == list(statistics.paired_test(np.subtract(UNITS_1024, UNITS_128))[0])


def test_mean_interval_is_the_t_interval_of_the_mean() -> None:
    values = [30.0, 45.0, 38.0, 41.0]
    half = stats.t.ppf(0.975, df=3) * np.std(values, ddof=1) / np.sqrt(4)  # by hand
    low, high = statistics.mean_interval(values)
    assert (low, high) == pytest.approx((np.mean(values) - half, np.mean(values) + half))
    assert statistics.mean_interval([61.0]) is None and statistics.mean_interval([5.0, 5.0]) == (5.0, 5.0)

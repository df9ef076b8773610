"""Sides with their spread: groups and runs as sides, mean curves with a band, per-class spread, table, report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from fmnist_lab.analysis import spread
from fmnist_lab.analysis.statistics import PAIRED, WELCH
from fmnist_lab.config import CLASS_NAMES, TrainConfig
from fmnist_lab.store.groups import GroupNotFound, GroupStore
from fmnist_lab.store.runs import InvalidRunId, RunNotFound, RunStore
from tests.conftest import finished_run

NARROW = [0.8695, 0.8729, 0.8756, 0.8744, 0.8760]  # the table as fractions
WIDE = [0.8781, 0.8715, 0.8814, 0.8713, 0.8843]


@pytest.fixture
def groups(tmp_path: Path) -> GroupStore:
    return GroupStore(RunStore(tmp_path / "runs"))


def make_group(groups: GroupStore, units: int, accuracies: list[float], seeds: list[int] | None = None) -> str:
    seeds = seeds if seeds is not None else list(range(len(accuracies)))
    runs = [
        finished_run(groups.runs, TrainConfig(hidden_units=(units,), seed=seed), accuracy, [accuracy - 0.02, accuracy])
        for seed, accuracy in zip(seeds, accuracies, strict=True)
    ]
    return groups.create([run.id for run in runs]).id


def test_two_groups_paired_by_seed(groups: GroupStore) -> None:
    a, b = (
        spread.load_side(groups, make_group(groups, 128, NARROW)),
        spread.load_side(groups, make_group(groups, 1024, WIDE)),
    )
    assert spread.side_labels(a, b) == ("128 units", "1024 units")
    result = spread.compare_sides(a, b)
    differences = 100 * (np.array(WIDE) - np.array(NARROW))
    assert result.test == PAIRED and result.difference == pytest.approx(differences.mean())
    assert result.p_value == pytest.approx(stats.ttest_rel(WIDE, NARROW).pvalue)
    assert result.verdict.startswith("1024 units beat 128 units by 0.36 points on average over 5 seeds, but the seeds")


def test_a_group_against_a_run_uses_no_test(groups: GroupStore) -> None:
    run = finished_run(groups.runs, TrainConfig(hidden_units=(1024,), seed=9), 0.88)
    a, b = spread.load_side(groups, make_group(groups, 128, NARROW)), spread.load_side(groups, run.id)
    result = spread.compare_sides(a, b)
    assert b.kind == "run" and b.counts["finished"] == 1 and b.seeds == [9]
    assert result.test is None and result.verdict.startswith("One run of 1024 units")
    assert result.difference == pytest.approx(88.0 - 100 * np.mean(NARROW))


def test_groups_with_other_seeds_use_welch_and_skip_unfinished_members(groups: GroupStore) -> None:
    failed = groups.runs.create(TrainConfig(hidden_units=(1024,), seed=99))
    groups.runs.set_status(failed.id, "failed", error="boom")
    wide = [
        finished_run(groups.runs, TrainConfig(hidden_units=(1024,), seed=s), v)
        for s, v in zip((5, 6, 7), WIDE, strict=False)
    ]
    group = groups.create([failed.id, *(run.id for run in wide)])
    a, b = spread.load_side(groups, make_group(groups, 128, NARROW)), spread.load_side(groups, group.id)
    assert b.counts["failed"] == 1 and b.counts["finished"] == 3 and b.seeds == [5, 6, 7]
    result = spread.compare_sides(a, b)
    expected = stats.ttest_ind(np.multiply(WIDE[:3], 100), np.multiply(NARROW, 100), equal_var=False)
    assert result.test == WELCH and result.interval == pytest.approx(tuple(expected.confidence_interval(0.95)))


def test_nothing_finished_is_nothing_to_compare(groups: GroupStore) -> None:
    queued = groups.runs.create(TrainConfig())
    other = finished_run(groups.runs, TrainConfig(seed=3), 0.8)
    with pytest.raises(spread.NothingToCompare, match=f"Run {queued.id} has no finished run"):
        spread.compare_sides(spread.load_side(groups, queued.id), spread.load_side(groups, other.id))


@pytest.mark.parametrize(
    ("side_id", "error"),
    [
        ("g-20260101-000000-000000", GroupNotFound),
        ("20260101-000000-000000", RunNotFound),
        ("../x", InvalidRunId),
        ("g-../../etc", InvalidRunId),
        (None, InvalidRunId),
    ],
)
def test_unknown_and_hostile_ids(groups: GroupStore, side_id: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="neither a run id nor a group id" if error is InvalidRunId else "not found"):
        spread.load_side(groups, side_id)


def test_mean_curve_with_runs_of_different_lengths() -> None:
    histories: list[list[dict[str, Any]]] = [
        [{"epoch": 1, "val_accuracy": 0.80}, {"epoch": 2, "val_accuracy": 0.84}, {"epoch": 3, "val_accuracy": 0.85}],
        [{"epoch": 1, "val_accuracy": 0.82}, {"epoch": 2, "val_accuracy": 0.86}],  # stopped early
        [{"epoch": 1, "val_accuracy": None}, {"epoch": 2, "val_accuracy": 0.83}],  # nothing scored at epoch 1
    ]
    curve = spread.mean_curve(histories)
    assert curve.band == "±1 sd" and curve.epochs == [1, 2, 3] and curve.n == [2, 3, 1]
    assert curve.mean == pytest.approx([0.81, 0.8433333, 0.85])
    assert curve.sd[:2] == pytest.approx([np.std([0.80, 0.82], ddof=1), np.std([0.84, 0.86, 0.83], ddof=1)])
    assert curve.sd[2] is None and curve.low[2] == curve.high[2] == 0.85
    assert curve.high[0] - curve.mean[0] == pytest.approx(curve.sd[0])
    with pytest.raises(ValueError, match="choose one of"):
        spread.mean_curve(histories, "seconds")


def test_side_curve_reads_the_members_histories(groups: GroupStore) -> None:
    side = spread.load_side(groups, make_group(groups, 128, [0.85, 0.87]))
    curve = spread.side_curve(groups.runs, side)
    assert curve.epochs == [1, 2] and curve.mean == pytest.approx([0.84, 0.86]) and curve.n == [2, 2]


def test_class_spread_from_predictions(groups: GroupStore) -> None:
    labels = np.repeat(np.arange(10, dtype=np.uint8), 2)  # two images per class
    right = np.eye(10, dtype=np.float32)[labels]
    wrong_shirts = right.copy()
    wrong_shirts[labels == 6] = np.eye(10, dtype=np.float32)[0]  # every Shirt called a T-shirt
    ids = make_group(groups, 128, [0.85, 0.86])
    side = spread.load_side(groups, ids)
    for run, probabilities in zip(side.runs, (right, wrong_shirts), strict=True):
        groups.runs.write_predictions(run.id, probabilities, labels)
    result = spread.side_class_spread(groups.runs, side)
    assert result["class"] == list(CLASS_NAMES) and result["n"] == 2 and result["band"] == "±1 sd"
    assert result["mean"][6] == pytest.approx(0.5) and result["sd"][6] == pytest.approx(np.std([1.0, 0.0], ddof=1))
    assert result["mean"][0] == 1.0 and result["sd"][0] == 0.0
    assert spread.class_spread([np.ones(10)])["sd"] == [None] * 10
    confusion = spread.side_confusion(groups.runs, side)
    assert confusion["n"] == 2 and confusion["mean"].shape == (10, 10)
    assert confusion["mean"][6, 0] == 50.0 and confusion["mean"][6, 6] == 50.0 and confusion["mean"][1, 1] == 100.0
    assert confusion["sd"][6, 0] == pytest.approx(np.std([0.0, 100.0], ddof=1)) and confusion["sd"][1, 1] == 0.0
    assert spread.confusion_spread([np.eye(10, dtype=np.int64)])["sd"] is None


def test_table_rows(groups: GroupStore) -> None:
    a, b = (
        spread.load_side(groups, make_group(groups, 128, NARROW)),
        spread.load_side(groups, make_group(groups, 1024, WIDE)),
    )
    result = spread.compare_sides(a, b)
    rows = spread.table(result)
    sd = np.std(np.multiply(NARROW, 100), ddof=1)
    assert rows[0][""] == "128 units" and rows[0]["test accuracy"] == f"87.37 % ± {sd:.2f}" and rows[0]["runs"] == 5
    low, high = result.interval  # type: ignore[misc]
    assert rows[2][""] == "1024 units − 128 units" and rows[2]["test"] == PAIRED
    assert rows[2]["test accuracy"] == f"+0.36 points (95 % interval −{-low:.2f} to +{high:.2f})"


def test_report_is_one_json_object(groups: GroupStore) -> None:
    id_a, id_b = make_group(groups, 128, NARROW), make_group(groups, 1024, WIDE)
    out = spread.report(groups, id_a, id_b)
    assert json.loads(json.dumps(out)) == out
    assert out["a"]["id"] == id_a and out["a"]["kind"] == "group" and out["a"]["label"] == "128 units"
    assert out["b"]["test_accuracy"]["mean"] == pytest.approx(np.mean(WIDE)) and out["b"]["test_accuracy"]["n"] == 5
    assert (
        out["difference"] == pytest.approx(0.364) and out["test"] == PAIRED and out["verdict"].startswith("1024 units")
    )


def test_group_summary_counts_and_summarises_the_finished(groups: GroupStore) -> None:
    stopped = groups.runs.create(TrainConfig(seed=9))
    groups.runs.set_status(stopped.id, "stopped")
    runs = [finished_run(groups.runs, TrainConfig(seed=s), v) for s, v in ((1, 0.85), (2, 0.87))]
    group = groups.create([runs[0].id, stopped.id, runs[1].id])
    summary = spread.group_summary(groups, group)
    assert summary["runs"] == [runs[0].id, stopped.id, runs[1].id]
    assert (summary["finished"], summary["stopped"], summary["members"]) == (2, 1, 3)
    assert summary["test_accuracy"] == pytest.approx(
        {"mean": 0.86, "sd": np.std([0.85, 0.87], ddof=1), "min": 0.85, "max": 0.87, "n": 2}
    )

"""The class seen whole, against numbers worked out by hand (t quantiles from a printed table)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.analysis import classroom
from fmnist_lab.analysis.classroom import Setup
from fmnist_lab.analysis.statistics import WELCH
from fmnist_lab.store.runs import Run
from tests.conftest import final_metrics

T_975_DF2, T_975_DF4 = 4.303, 2.776  # Student's t, two-sided 95 %, 2 and 4 degrees of freedom
NOW = datetime(2026, 12, 6, 10, 0, 0, tzinfo=UTC)
ANA, BEN, CY = "a" * 24, "b" * 24, "c" * 24


def run(
    number: int,
    state: str,
    owner: str | None = ANA,
    learner: str | None = "Ana",
    accuracy: float | None = None,
    **settings: Any,
) -> Run:
    """A run as the store would load it, made by hand; ``number`` orders creation."""
    status: dict[str, Any] = {"state": state, "queued": "2026-12-06T09:50:00+00:00"}
    if state == "running":
        status["running"] = "2026-12-06T09:52:30+00:00"
    if state == "failed":
        status |= {"failed": "2026-12-06T09:55:00+00:00", "error": f"out of memory #{number}"}
    metrics = final_metrics(test_accuracy=accuracy) if accuracy is not None else {}
    return Run(
        f"20261206-0950{number:02d}-aaaaaa", f"run {number}", "2026-12-06T09:50:00+00:00",
        TrainConfig(**settings), status, metrics, owner, number, learner,
    )  # fmt: skip


def test_the_live_table_lists_active_runs_training_first_then_in_line() -> None:
    runs = [
        run(1, "finished", accuracy=0.8),
        run(2, "queued", BEN, "Ben"),
        run(3, "running", CY, None, hidden_units=(1024,), epochs=10),
        run(4, "queued", None, None),
        run(5, "failed"),
    ]
    places = {runs[1].id: 2, runs[3].id: 1}
    rows = classroom.active_table(runs, places.get, lambda run_id: (3, 10), NOW)
    assert [(r.learner, r.state, r.position, r.epoch) for r in rows] == [
        (classroom.UNNAMED, "running", None, "3/10"),
        (classroom.COMMAND_LINE, "queued", 1, ""),
        ("Ben", "queued", 2, ""),
    ]
    assert rows[0].setup == "1024 units · 10 epochs"
    assert rows[0].waiting_seconds == 150.0  # queued 09:50:00, started 09:52:30
    assert rows[1].waiting_seconds == 600.0  # queued 09:50:00, now 10:00:00


def test_recent_failures_newest_first_with_errors() -> None:
    runs = [run(n, "failed", learner=f"L{n}") for n in range(1, 5)] + [run(9, "finished", accuracy=0.8)]
    failures = classroom.recent_failures(runs, limit=3)
    assert [(f.learner, f.error) for f in failures] == [
        ("L4", "out of memory #4"),
        ("L3", "out of memory #3"),
        ("L2", "out of memory #2"),
    ]


def test_learners_without_a_finished_run() -> None:
    runs = [run(1, "finished", ANA, "Ana", 0.8), run(2, "failed", BEN, "Ben"), run(3, "queued", None, None)]
    names = {ANA: "Ana", BEN: "Ben", CY: "Cy"}  # Cy named herself and ran nothing
    assert classroom.learners_without_result(runs, names) == ["Ben", classroom.COMMAND_LINE, "Cy"]


def test_the_class_experiment_pools_classic_runs_with_hand_computed_intervals() -> None:
    runs = [
        run(1, "finished", ANA, "Ana", 0.85, seed=0),
        run(2, "finished", BEN, "Ben", 0.86, seed=1),
        run(3, "finished", CY, "Cy", 0.87, seed=2),
        run(4, "finished", ANA, "Ana", 0.87, hidden_units=(1024,), seed=5),
        run(5, "finished", BEN, "Ben", 0.88, hidden_units=(1024,), seed=6),
        run(6, "finished", CY, "Cy", 0.89, hidden_units=(1024,), seed=7),
        run(7, "finished", CY, "Cy", 0.80, hidden_units=(1024,), epochs=2, normalize=False),
        run(8, "finished", ANA, "Ana", 0.70, dropout=0.2),  # left out: dropout
        run(9, "finished", BEN, "Ben", 0.70, hidden_units=(64, 32)),  # left out: two layers
        run(10, "running", CY, "Cy", hidden_units=(128,)),  # not finished
    ]
    experiment = classroom.class_experiment(runs)
    assert [p.run_id for p in experiment.points] == [r.id for r in runs[:3] + runs[6:7] + runs[3:6]]  # by setup
    assert experiment.points[0].accuracy == pytest.approx(85.0)
    assert experiment.left_out == {"Dropout": 1, "more than one hidden layer": 1}
    small, odd, large = experiment.setups  # by units, then epochs
    assert small.setup == Setup(128, 5, True) and odd.setup == Setup(1024, 2, False)
    assert odd.setup.label == "1024 units · 2 epochs · no ÷255"
    # 85, 86, 87: mean 86, sd 1, half-width 4.303 · 1 / √3 = 2.484
    assert small.summary.mean == pytest.approx(86.0) and small.summary.sd == pytest.approx(1.0)
    assert small.interval == pytest.approx((86 - 2.484, 86 + 2.484), abs=1e-3)
    assert large.interval == pytest.approx((88 - 2.484, 88 + 2.484), abs=1e-3)
    assert odd.interval is None and odd.summary.n == 1
    (verdict,) = experiment.verdicts  # only 5 epochs with ÷255 has both sizes
    # Welch: difference 2, se √(1/3 + 1/3) = 0.8165, df = 4, half-width 2.776 · 0.8165 = 2.267
    assert verdict.test == WELCH and verdict.difference == pytest.approx(2.0)
    assert verdict.interval == pytest.approx((2 - 2.267, 2 + 2.267), abs=1e-3)
    assert (verdict.label_a, verdict.label_b) == ("128 units · 5 epochs", "1024 units · 5 epochs")
    assert verdict.verdict.startswith("1024 units · 5 epochs beat 128 units · 5 epochs by 2.00 points")
    assert "could be luck" in verdict.verdict


def test_same_seeds_on_both_sides_are_paired() -> None:
    runs = [run(n, "finished", accuracy=a, seed=n % 3) for n, a in [(0, 0.85), (1, 0.86), (2, 0.84)]]
    runs += [run(n, "finished", accuracy=a, hidden_units=(1024,), seed=n % 3) for n, a in [(3, 0.87), (4, 0.87),
             (5, 0.87)]]  # fmt: skip
    (verdict,) = classroom.class_experiment(runs).verdicts
    # pairs by seed: 87−85, 87−86, 87−84 = 2, 1, 3: mean 2, sd 1, half-width 4.303 / √3 = 2.484
    assert verdict.seed_differences == (2.0, 1.0, 3.0)
    assert verdict.interval == pytest.approx((2 - 2.484, 2 + 2.484), abs=1e-3)


def test_learner_names_come_from_the_store(tmp_path: Any) -> None:
    from fmnist_lab.store.learners import LearnerStore

    store = RunStore(tmp_path)
    LearnerStore(tmp_path).set(ANA, "<b>Ana</b>")
    made = store.create(TrainConfig(), owner=ANA)
    (row,) = classroom.active_table(store.list(), lambda _: 1, lambda _: None, NOW)
    assert (row.run_id, row.learner, row.position) == (made.id, "<b>Ana</b>", 1)  # escaping is the page's job
    assert row.waiting_seconds is not None and not math.isnan(row.waiting_seconds)

"""The Bias lab page through AppTest: renders with no run, sets up the exercise, and tabulates finished runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.analysis import compare, statistics
from fmnist_lab.store.groups import GroupStore
from fmnist_lab.ui import bias_ui
from fmnist_lab.ui.navigation import BIAS_LAB
from tests.conftest import queue_only
from tests.pages.test_pages import finished_run, open_page, texts

PAGE = BIAS_LAB
SHIRT = 6


def predictions(shirts_right: int) -> tuple[np.ndarray, np.ndarray]:
    """100 test images, 10 per class: every class right except Shirt, of which ``shirts_right`` are;
    the other shirts are called T-shirt/top. Each prediction has confidence 0.9."""
    labels = np.repeat(np.arange(10), 10)
    guesses = labels.copy()
    guesses[np.flatnonzero(labels == SHIRT)[shirts_right:]] = 0
    probabilities = np.full((100, 10), 0.1 / 9)
    probabilities[np.arange(100), guesses] = 0.9
    return probabilities, labels


def finished_with_predictions(store: RunStore, config: TrainConfig, shirts_right: int) -> str:
    run_id = finished_run(store, **{name: getattr(config, name) for name in ("class_shares", "balance")})
    store.write_predictions(run_id, *predictions(shirts_right))
    return run_id


def test_the_page_renders_with_no_run(app_env: Path) -> None:
    app = open_page(PAGE)
    assert not app.exception and app.title[0].value == "Bias lab"
    shown = texts(app)
    assert "The test set stays balanced and untouched" in shown and "Pick a finished run in the sidebar" in shown
    assert not app.dataframe


def test_set_up_the_exercise_queues_every_run_with_all_else_equal(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bias_ui, "runs_executor", queue_only)  # the real rules, no training processes
    app = open_page(PAGE)
    app.selectbox(key="bias_class").select(4).run()  # Coat
    app.slider(key="bias_share").set_value(0.2).run()
    app.slider(key="bias_epochs").set_value(3).run()
    app.button(key="bias_setup").click().run()
    assert not app.exception
    queued = sorted(RunStore().list(), key=lambda run: run.created_ns)
    assert [compare.exercise_role(run.config) for run in queued] == [
        "baseline",
        "biased",
        "class-weights",
        "oversample",
        "augment",
        "L2 penalty",
    ]
    assert queued[0].config == TrainConfig(epochs=3)
    assert all(
        run.config == TrainConfig(epochs=3, class_shares=((4, 0.2),), balance=run.config.balance, l2=run.config.l2)
        for run in queued[1:]
    )
    assert app.query_params["exercise"] == ",".join(run.id for run in queued)
    table = app.dataframe[0].value
    assert list(table["state"]) == ["queued"] * 6 and "Starved class: **Coat**." in texts(app)


def test_finished_runs_fill_the_table_and_the_charts(app_env: Path) -> None:
    store = RunStore()
    baseline, biased, *mitigations = compare.bias_exercise(SHIRT, 0.1, 2)
    ids = [finished_with_predictions(store, baseline, 10), finished_with_predictions(store, biased, 3)]
    ids.append(store.create(mitigations[0]).id)  # queued with no worker: the page's refresh marks it failed
    app = open_page(PAGE, exercise=",".join(ids))
    assert not app.exception
    table = app.dataframe[0].value
    assert list(table["state"]) == ["finished", "finished", "failed"]
    # hand counts: the baseline gets all 100 right; the biased run 93 (7 shirts called T-shirt/top)
    assert list(table["overall accuracy"][:2]) == pytest.approx([1.0, 0.93])
    assert list(table["starved recall"][:2]) == pytest.approx([1.0, 0.3])
    assert table["starved FPR"][1] == 0.0 and table["TPR gap"][1] == pytest.approx(0.7)
    assert table["FPR gap"][1] == pytest.approx(7 / 90)  # T-shirt/top: 7 false alarms among 90 other images
    assert table["ECE"][0] == pytest.approx(0.1) and table["ECE"][1] == pytest.approx(abs(0.93 - 0.9))
    assert table.iloc[2][list(bias_ui.TABLE_FORMAT)].isna().all()  # no numbers for a run with no predictions
    assert len(app.get("plotly_chart")) == 3  # recall, FPR, reliability
    assert "Starved class: **Shirt**." in texts(app)


def test_a_finished_run_is_analysed_alone(app_env: Path) -> None:
    store = RunStore()
    run_id = finished_with_predictions(store, compare.bias_exercise(SHIRT, 0.1, 2)[1], 3)
    app = open_page(PAGE, run=run_id)
    assert not app.exception
    per_class = app.dataframe[1].value
    assert per_class.loc["Shirt", "recall"] == pytest.approx(0.3)
    assert per_class.loc["T-shirt/top", "predicted_share"] == pytest.approx(0.17)
    assert "parity difference" in texts(app)


def test_an_exercise_click_over_the_learners_cap_is_refused_whole(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bias_ui, "runs_executor", queue_only)  # 2 slots, at most 10 waiting per learner
    app = open_page(PAGE)
    for _ in range(2):  # 12 runs: 10 waiting, at the cap
        app.button(key="bias_setup").click().run()
    assert len(RunStore().list()) == 12
    app.button(key="bias_setup").click().run()  # 18 runs, 16 of them waiting: over the cap
    assert not app.exception
    assert len(RunStore().list()) == 12  # nothing of the third click was queued
    assert any("at most 10 runs per learner waiting" in error.value for error in app.error)


def test_one_run_per_role_says_so(app_env: Path) -> None:
    store = RunStore()
    baseline, biased, *_ = compare.bias_exercise(SHIRT, 0.1, 2)
    ids = [finished_with_predictions(store, baseline, 10), finished_with_predictions(store, biased, 3)]
    app = open_page(PAGE, exercise=",".join(ids))
    assert "One run each: no way to know how much of this is luck" in texts(app)
    assert len(app.dataframe) == 1  # no table of intervals from one run


def test_several_seeds_per_role_show_shirt_recall_and_the_gaps_with_95_percent_intervals(app_env: Path) -> None:
    store = RunStore()
    baseline, biased, *_ = compare.bias_exercise(SHIRT, 0.1, 2)
    right = {(baseline, 0): 10, (baseline, 1): 9, (biased, 0): 3, (biased, 1): 5}  # shirts right of 10
    ids = []
    for (config, seed), shirts in right.items():
        run_id = finished_run(store, seed=seed, class_shares=config.class_shares)
        store.write_predictions(run_id, *predictions(shirts))
        ids.append(run_id)
    app = open_page(PAGE, exercise=",".join(ids))
    assert not app.exception, app.exception
    assert list(app.dataframe[0].value["run"]) == [
        "baseline · seed 0",
        "baseline · seed 1",
        "biased · seed 0",
        "biased · seed 1",
    ]
    spread = app.dataframe[1].value.set_index("role")
    for role, recalls in (("baseline", [100.0, 90.0]), ("biased", [30.0, 50.0])):
        low, high = stats.ttest_1samp(recalls, 0).confidence_interval(0.95)  # scipy's t interval of the mean
        expected = f"{np.mean(recalls):.1f} % ({low:.1f} to {high:.1f})".replace("-", "−")
        assert spread.loc[role, "starved recall"] == expected and spread.loc[role, "runs"] == 2
    gaps = [0.0, 0.1, 0.7, 0.5]  # TPR gap: best recall (1.0) − worst (the shirts') per run
    low, high = stats.ttest_1samp([100 * g for g in gaps[2:]], 0).confidence_interval(0.95)
    assert spread.loc["biased", "TPR gap"] == f"60.0 % ({low:.1f} to {high:.1f})".replace("-", "−")
    verdict = statistics.compare([30.0, 50.0], [100.0, 90.0], "biased", "baseline", [0, 1], [0, 1]).verdict
    assert verdict.startswith("baseline beat biased by 55.00 points") and verdict in texts(app).replace("\\", "")


def test_seeds_per_run_queue_each_role_as_a_group(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bias_ui, "runs_executor", queue_only)
    app = open_page(PAGE)
    app.slider(key="bias_seeds").set_value(2).run()
    app.button(key="bias_setup").click().run()
    assert not app.exception, app.exception
    groups = GroupStore(RunStore()).list()
    assert len(RunStore().list()) == 12 and len(groups) == 6
    for group in groups:
        assert group.seeds == (0, 1) and group.name == f"{bias_ui.NAME_PREFIX}{compare.exercise_role(group.config())}"
    assert len(app.query_params["exercise"].split(",")) == 12

"""The Sweep page through AppTest: one click submits the series, a stored sweep re-opens as a chart and table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.analysis.sweep import SweepStore, new_sweep
from fmnist_lab.ui import sweep_view
from fmnist_lab.ui.navigation import SWEEP
from tests.conftest import queue_only
from tests.pages.test_pages import figures, finished_run, open_page, texts, values

PAGE = SWEEP


def test_one_click_submits_the_default_sweep(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sweep_view, "runs_executor", queue_only)
    app = open_page(PAGE)
    assert "No sweeps yet" in texts(app)
    app.slider(key="sweep_epochs").set_value(3)
    app.button(key="sweep_start").click().run()
    assert not app.exception, app.exception
    (sweep,) = SweepStore(RunStore()).list()
    configs = [RunStore().load(run_id).config for run_id in sweep.run_ids]
    assert [c.hidden_units for c in configs] == [(n,) for n in (16, 32, 64, 128, 256, 512, 1024)]
    assert all(c == TrainConfig(epochs=3, hidden_units=c.hidden_units) for c in configs)  # all else equal


def test_a_stored_sweep_reopens_as_a_curve_and_a_table(app_env: Path) -> None:
    runs = RunStore()
    sweeps = SweepStore(runs)
    sweep = sweeps.save(new_sweep(TrainConfig(hidden_units=(16,), epochs=2), {"hidden_units": [(16,), (64,)]}))
    for units in (16, 64):
        sweep = sweeps.add_run(sweep, finished_run(runs, hidden_units=(units,)))
    app = open_page(PAGE)
    assert not app.exception, app.exception
    (chart,) = [f for f in figures(app) if any(t.get("name") == "test accuracy" for t in f["data"])]
    accuracy = next(t for t in chart["data"] if t["name"] == "test accuracy")
    assert values(accuracy["x"]) == [16, 64] and values(accuracy["y"]) == [0.78, 0.78]
    assert "2 of 2 runs finished" in app.get("progress")[0].proto.text
    assert len(app.dataframe[0].value) == 2


def test_a_two_setting_sweep_shows_a_heatmap(app_env: Path) -> None:
    runs = RunStore()
    sweeps = SweepStore(runs)
    sweep = sweeps.save(new_sweep(TrainConfig(hidden_units=(16,)), {"hidden_units": [(16,)], "epochs": [2, 3]}))
    sweep = sweeps.add_run(sweep, finished_run(runs, hidden_units=(16,), epochs=2))
    app = open_page(PAGE)
    assert not app.exception, app.exception
    (heatmap,) = [t for f in figures(app) for t in f["data"] if t["type"] == "heatmap"]
    assert heatmap["x"] == ["16"] and heatmap["y"] == ["2", "3"]
    assert values(heatmap["z"]) == [[0.78], [None]]


def test_queued_rows_show_a_dash_not_none(isolated_lab: Path) -> None:
    rows = [
        {"run_id": "a", "Hidden units": 16, "state": "finished", "test accuracy": 0.8, "epochs run": 5},
        {"run_id": "b", "Hidden units": 64, "state": "queued", "test accuracy": None, "epochs run": None},
    ]
    html = sweep_view.sweeps_table(rows).to_html()  # type: ignore[attr-defined]
    assert "None" not in html and "nan" not in html.lower()
    assert ">–<" in html and ">5<" in html  # epochs run as a whole number


def test_the_page_says_which_seconds_and_warns_of_shared_training(app_env: Path) -> None:
    runs = RunStore()
    sweeps = SweepStore(runs)
    sweep = sweeps.save(new_sweep(TrainConfig(hidden_units=(16,), epochs=1), {"hidden_units": [(16,), (64,)]}))
    for units in (16, 64):
        sweep = sweeps.add_run(sweep, finished_run(runs, hidden_units=(units,), epochs=1))
    app = open_page(PAGE)
    assert not app.exception, app.exception
    assert "CPU s / epoch** is the CPU time the run's own training process used" in texts(app)
    assert not [w for w in app.warning if "trained while other runs did" in w.value]  # made one after the other?
    for run in runs.list():  # both trained 10:00–10:30: at the same time
        status = run.status | {"running": "2026-12-06T10:00:00+00:00", "finished": "2026-12-06T10:30:00+00:00"}
        (runs.path(run.id) / "status.json").write_text(json.dumps(status))
    app = open_page(PAGE)
    assert "2 of this sweep's runs trained while other runs did" in texts(app)
    assert "1 epoch" in app.selectbox(key=sweep_view.PICK_KEY).options[0]


def test_a_sweep_over_seeds_draws_each_points_mean_and_band(app_env: Path) -> None:
    from tests.conftest import finished_run as scored_run

    runs = RunStore()
    sweeps = SweepStore(runs)
    base = TrainConfig(hidden_units=(16,), epochs=2)
    sweep = sweeps.save(new_sweep(base, {"hidden_units": [(16,), (64,)]}, repeats=3))
    accuracies = {16: [0.80, 0.82, 0.81], 64: [0.85, 0.84, 0.88]}
    for units, scores in accuracies.items():
        for seed, accuracy in enumerate(scores):
            config = TrainConfig(hidden_units=(units,), epochs=2, seed=seed)
            sweep = sweeps.add_run(sweep, scored_run(runs, config, accuracy).id)
    app = open_page(PAGE)
    assert not app.exception, app.exception
    (chart,) = [f for f in figures(app) if any(t.get("name") == "test accuracy" for t in f["data"])]
    mean = next(t for t in chart["data"] if t["name"] == "test accuracy")
    assert values(mean["y"]) == pytest.approx([np.mean(accuracies[16]), np.mean(accuracies[64])])
    band = next(t for t in chart["data"] if t["name"] == "test accuracy ±1 sd")
    sd = [np.std(accuracies[u], ddof=1) for u in (16, 64)]
    high = [np.mean(accuracies[u]) + s for u, s in zip((16, 64), sd, strict=True)]
    assert values(band["y"])[:2] == pytest.approx(high) and band["fill"] == "toself"
    assert "6 of 6 runs finished" in app.get("progress")[0].proto.text
    assert "Each point trained over 3 seeds" in texts(app) and len(app.dataframe[0].value) == 6

"""The Sweep page through AppTest: one click submits the series, a stored sweep re-opens as a chart and table."""

from __future__ import annotations

from pathlib import Path

import pytest

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.analysis.sweep import SweepStore, new_sweep
from fmnist_lab.store.runs import Run
from fmnist_lab.ui import sweep_view
from fmnist_lab.ui.navigation import SWEEP
from tests.pages.test_pages import figures, finished_run, open_page, texts, values


class QueueOnly:
    """An executor that records runs without starting processes."""

    def __init__(self) -> None:
        self.store = RunStore()

    def submit(self, config: TrainConfig, name: str | None = None, owner: str | None = None) -> Run:
        return self.store.create(config, name, owner)


def test_one_click_submits_the_default_sweep(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sweep_view, "runs_executor", QueueOnly)
    app = open_page(SWEEP)
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
    app = open_page(SWEEP)
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
    app = open_page(SWEEP)
    assert not app.exception, app.exception
    (heatmap,) = [t for f in figures(app) for t in f["data"] if t["type"] == "heatmap"]
    assert heatmap["x"] == ["16"] and heatmap["y"] == ["2", "3"]
    assert values(heatmap["z"]) == [[0.78], [None]]

"""The Monitor page through AppTest: a hand-wired run deployed on the synthetic test set, its alerts and an A/B test."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.analysis import monitoring
from fmnist_lab.analysis.monitoring import Drift, Stream
from fmnist_lab.training import data
from fmnist_lab.ui import monitor_ui
from fmnist_lab.ui.navigation import MONITOR
from tests.conftest import final_metrics
from tests.pages.test_pages import figures, open_page, texts, values

PAGE = MONITOR
UNITS = 16


def band_reader(gain: float) -> list[np.ndarray]:
    """16 hidden units for the synthetic images (conftest.synthetic_images): unit c averages class c's
    bright band (rows 4 + 2c and 5 + 2c, columns 4–23); the output adds ``gain`` × unit c to class c."""
    kernel = np.zeros((28, 28, UNITS), np.float32)
    for c in range(10):
        kernel[4 + 2 * c : 6 + 2 * c, 4:24, c] = 1 / 40
    out = np.zeros((UNITS, 10), np.float32)
    out[np.arange(10), np.arange(10)] = gain
    return [kernel.reshape(784, UNITS), np.zeros(UNITS, np.float32), out, np.zeros(10, np.float32)]


def deployed(store: RunStore, gain: float, name: str) -> str:
    run = store.create(TrainConfig(hidden_units=(UNITS,)), name)
    store.write_metrics(run.id, final_metrics())
    store.write_weights(run.id, band_reader(gain))
    store.write_predictions(run.id, np.full((10, 10), 0.1), np.arange(10))  # the page guard asks for them
    store.set_status(run.id, "finished")
    return run.id


def open_monitor(run_id: str) -> AppTest:
    return open_page(PAGE, run=run_id)


def test_darker_days_raise_the_confidence_alert_on_the_day_the_core_finds(app_env: Path) -> None:
    store = RunStore()
    run_id = deployed(store, 8.0, "band reader")
    app = open_monitor(run_id)
    assert not app.exception, app.exception
    assert app.title[0].value == "Monitoring a deployed model"
    app.selectbox(key="monitor_drift").select("darker").run()
    app.slider(key="monitor_start").set_value(12).run()
    assert not app.exception, app.exception
    dataset = data.read_folder(app_env)
    stream = Stream(28, 300, 7, Drift("darker", 12, 0.4))
    expected = monitoring.watch(band_reader(8.0), "relu", True, dataset.x_test, dataset.y_test, stream)
    charts = [f for f in figures(app) if f["layout"]["title"]["text"].startswith("Mean confidence per day")]
    shown = next(t for t in charts[0]["data"] if t.get("name") == "mean confidence")
    assert np.allclose(values(shown["y"]), [day.mean_confidence for day in expected])
    first = monitoring.first_alert(expected, 7, "mean confidence")
    assert first is not None and first >= 12  # nothing drifts before day 12
    assert "**Mean confidence** left its band" in texts(app) and f"first on **day {first}**" in texts(app)
    assert "A/B test needs a second finished run" in texts(app)


def test_ab_test_names_the_better_run(app_env: Path) -> None:
    store = RunStore()
    weak = deployed(store, 8.0, "weak")
    deployed(store, 8.0, "twin")  # the same weights: no difference to find
    app = open_monitor(weak)
    assert not app.exception, app.exception
    verdict = next(m.value for m in app.markdown if m.value.startswith("**B − A:"))
    assert verdict.startswith("**B − A: ") and "Welch's t-test" in verdict
    assert "days" in verdict and "seed" not in verdict


def test_a_run_without_weights_gets_a_message(app_env: Path) -> None:
    store = RunStore()
    run = store.create(TrainConfig(hidden_units=(UNITS,)))
    store.write_metrics(run.id, final_metrics())
    store.write_predictions(run.id, np.full((10, 10), 0.1), np.arange(10))
    store.set_status(run.id, "finished")
    app = open_monitor(run.id)
    assert not app.exception, app.exception
    assert any("cannot be deployed here" in w.value and "no weights file" in w.value for w in app.warning)
    assert monitor_ui.DAYS == 28

"""A sweep's curves and heatmap put every finished run where it belongs."""

from __future__ import annotations

import pytest

from fmnist_lab.charts.sweep import sweep_curves, sweep_heatmap
from tests.charts import trace

SWEEP_ROWS = [
    {"Hidden units": 64, "parameters": 50890, "held-out accuracy": 0.84, "test accuracy": 0.84, "s / epoch": 1.1},
    {"Hidden units": 16, "parameters": 12730, "held-out accuracy": 0.80, "test accuracy": 0.80, "s / epoch": 1.0},
    {"Hidden units": 256, "parameters": 203530, "held-out accuracy": None, "test accuracy": None, "s / epoch": None},
]


def test_sweep_curves_plot_finished_runs_in_order_on_a_log_axis() -> None:
    figure = sweep_curves(SWEEP_ROWS, "Hidden units")
    accuracy = trace(figure, "test accuracy")
    assert list(accuracy.x) == [16, 64] and list(accuracy.y) == [0.80, 0.84]  # the unfinished run is left out
    assert list(accuracy.text) == ["12,730 parameters", "50,890 parameters"]
    assert list(trace(figure, "s / epoch").y) == [1.0, 1.1]
    assert figure.layout.xaxis.type == "log"


def test_sweep_heatmap_puts_each_run_in_its_cell() -> None:
    rows = [
        {"units": u, "epochs": e, "test accuracy": None if (u, e) == (64, 30) else u / 1000 + e / 100}
        for u in (16, 64)
        for e in (5, 30)
    ]
    heatmap = sweep_heatmap(rows, "units", "epochs").data[0]
    assert list(heatmap.x) == ["16", "64"] and list(heatmap.y) == ["5", "30"]
    assert [list(line) for line in heatmap.z] == [[0.066, 0.114], [0.316, None]]
    assert heatmap.text[1][1] == "…"


def test_sweep_curves_tick_the_swept_values_and_prefer_cpu_seconds() -> None:
    rows = [r | {"CPU s / epoch": cpu} for r, cpu in zip(SWEEP_ROWS, (3.0, 1.5, None), strict=True)]
    figure = sweep_curves(rows, "Hidden units")
    assert list(figure.layout.xaxis.tickvals) == [16, 64] and list(figure.layout.xaxis.ticktext) == ["16", "64"]
    assert list(trace(figure, "CPU s / epoch").y) == [1.5, 3.0]
    assert [t.name for t in figure.data if t.name and "s / epoch" in t.name] == ["CPU s / epoch"]


def test_points_over_seeds_draw_the_mean_with_a_one_sd_band() -> None:
    points = [
        {"Hidden units": 16, "parameters": 12730, "test accuracy": 0.80, "test accuracy sd": 0.02, "s / epoch": 1.0},
        {"Hidden units": 64, "parameters": 50890, "test accuracy": 0.84, "test accuracy sd": 0.01, "s / epoch": 1.1},
    ]
    figure = sweep_curves(points, "Hidden units")
    band = trace(figure, "test accuracy ±1 sd")
    assert band.fill == "toself" and list(band.x) == [16, 64, 64, 16]
    assert list(band.y) == pytest.approx([0.82, 0.85, 0.83, 0.78])  # mean + sd out, mean − sd back
    assert list(trace(figure, "test accuracy").y) == [0.80, 0.84]
    assert "shaded ±1 sd" in figure.layout.title.text
    assert not [t for t in sweep_curves(SWEEP_ROWS, "Hidden units").data if t.name.endswith("sd")]  # one run a point

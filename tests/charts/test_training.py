"""Training curves: every epoch, the running curve, the loss goal and early stopping's marks."""

from __future__ import annotations

import pytest

from fmnist_lab.charts.training import training_curves
from tests.charts import HISTORY, trace


def test_training_curves_plot_every_epoch() -> None:
    figure = training_curves(HISTORY, {}, epochs=5)
    assert list(trace(figure, "Training loss").y) == [0.50, 0.37, 0.24]
    assert list(trace(figure, "Held-out accuracy").y) == [0.85, 0.85, 0.87]
    assert list(trace(figure, "Training loss").x) == [1.0, 2.0, 3.0]
    assert trace(figure, "Training loss").line.dash == "dash" and trace(figure, "Held-out loss").line.dash == "solid"
    assert figure.layout.xaxis.range[1] == pytest.approx(5.25)  # live: the configured 5 epochs and 5 % room


def test_live_progress_adds_the_running_curve() -> None:
    progress = {"trail": [[3.25, 0.30, 0.87], [3.5, 0.28, 0.88]]}
    figure = training_curves(HISTORY, progress)
    running = trace(figure, "Training loss (running)")
    assert list(running.x) == [3.0, 3.25, 3.5] and list(running.y) == [0.24, 0.30, 0.28]


def test_threshold_line_and_stop_marker() -> None:
    figure = training_curves(HISTORY, stop_loss=0.25)
    assert any(shape.y0 == 0.25 for shape in figure.layout.shapes)
    marker = trace(figure, "stopped here")
    assert list(marker.x) == [3.0] and list(marker.y) == [0.24]
    assert not [t for t in training_curves(HISTORY, stop_loss=0.1).data if t.name == "stopped here"]


def test_partial_epoch_sits_between_epochs() -> None:
    history = [*HISTORY[:2], {**HISTORY[2], "fraction": 0.4}]
    assert list(trace(training_curves(history), "Training loss").x) == [1.0, 2.0, pytest.approx(2.4)]


def test_training_curves_mark_the_kept_epoch_and_where_early_stopping_stopped() -> None:
    figure = training_curves(HISTORY, best_epoch=2)
    notes = sorted(a.text for a in figure.layout.annotations if a.text.startswith(("best", "stopped")))
    assert notes == ["best epoch 2 (kept)"] * 2 + ["stopped at 3"] * 2  # on the loss and the accuracy chart
    assert sorted(shape.x0 for shape in figure.layout.shapes) == [2, 2, 3, 3]
    assert not [a for a in training_curves(HISTORY).layout.annotations if a.text.startswith("best")]


def test_an_ended_run_spans_the_epochs_it_ran_not_the_configured_ones() -> None:
    stopped = training_curves(HISTORY[:2], None, stop_loss=0.4, epochs=30)  # the goal met at epoch 2 of 30
    assert stopped.layout.xaxis.range[1] == pytest.approx(2.2)
    assert stopped.layout.xaxis2.range[1] == pytest.approx(2.2)  # the accuracy chart too
    live = training_curves(HISTORY[:2], {"trail": []}, epochs=30)  # still training: room for what is to come
    assert live.layout.xaxis.range[1] == pytest.approx(31.5)

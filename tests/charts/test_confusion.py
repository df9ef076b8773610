"""The confusion heatmap's numbers, its click targets and the cell a click names."""

from __future__ import annotations

import numpy as np
import pytest

from fmnist_lab.charts.confusion import (
    CELL_TARGETS,
    class_accuracy,
    clicked_cell,
    confusion_heatmap,
    confusion_spread_heatmap,
)
from fmnist_lab.config import CLASS_NAMES
from tests.charts import trace


def test_confusion_heatmap_counts_and_percentages() -> None:
    cm = np.arange(100).reshape(10, 10)
    counts = confusion_heatmap(cm)
    np.testing.assert_array_equal(np.array(counts.data[0].z), cm)
    assert list(counts.data[0].x) == list(CLASS_NAMES) and counts.data[0].text[0][1] == "1"
    rows = np.array(confusion_heatmap(cm, normalised=True).data[0].z)
    np.testing.assert_allclose(rows.sum(axis=1), 100.0)
    empty_row = confusion_heatmap(np.zeros((10, 10), dtype=int), normalised=True)
    assert np.array(empty_row.data[0].z).sum() == 0


def test_a_clickable_confusion_matrix_has_a_target_on_every_cell() -> None:
    cm = np.arange(100).reshape(10, 10)
    targets = trace(confusion_heatmap(cm, clickable=True), CELL_TARGETS)
    cells = list(zip(targets.y, targets.x, targets.customdata, strict=True))
    assert cells[23] == (CLASS_NAMES[2], CLASS_NAMES[3], cm[2, 3])  # row 2 (true), column 3 (predicted)
    assert len(set((y, x) for y, x, _ in cells)) == 100
    assert not [t for t in confusion_heatmap(cm).data if t.name == CELL_TARGETS]


def test_a_click_names_its_cell() -> None:
    point = {"curve_number": 1, "point_index": 35, "x": "Sandal", "y": "Dress", "customdata": {"0": 7}}
    assert clicked_cell([point]) == (CLASS_NAMES.index("Dress"), CLASS_NAMES.index("Sandal")) == (3, 5)
    assert clicked_cell([]) is None and clicked_cell([{"x": 2.5, "y": 1}]) is None


def test_class_accuracy_puts_the_worst_class_first_and_marks_the_mean() -> None:
    accuracy = np.array([0.9, 0.8, 0.85, 0.88, 0.8, 0.95, 0.6, 0.93, 0.96, 0.94])
    bars = class_accuracy(accuracy)
    order = sorted(range(10), key=lambda i: accuracy[i])  # worst first
    assert list(bars.data[0].y) == [CLASS_NAMES[i] for i in order]
    assert list(bars.data[0].x) == sorted(accuracy.tolist())
    (mean,) = bars.layout.shapes
    assert mean.x0 == pytest.approx(accuracy.mean())


def test_the_mean_matrix_shows_each_cells_sd_on_hover() -> None:
    rows = np.random.default_rng(0).dirichlet(np.ones(10), size=(3, 10)) * 100  # three runs' rows, in %
    mean, sd = rows.mean(axis=0), rows.std(axis=0, ddof=1)
    figure = confusion_spread_heatmap(mean, sd, 3)
    np.testing.assert_allclose(np.array(figure.data[0].z), mean)
    np.testing.assert_allclose(np.array(figure.data[0].customdata), sd)
    assert "± %{customdata:.1f} (1 sd) over 3 runs" in figure.data[0].hovertemplate
    assert "no sd with one run" in confusion_spread_heatmap(mean, None, 1).data[0].hovertemplate

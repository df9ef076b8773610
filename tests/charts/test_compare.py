"""Several runs side by side: one colour per run, the confusion difference's symmetric colours."""

from __future__ import annotations

import numpy as np

from fmnist_lab.charts.compare import class_accuracy_comparison, compare_curves, confusion_difference
from fmnist_lab.charts.style import run_color
from fmnist_lab.config import CLASS_NAMES
from tests.charts import HISTORY


def test_compare_curves_one_colour_per_run() -> None:
    figure = compare_curves([("a", HISTORY), ("b", HISTORY[:2])], "accuracy")
    assert [t.name for t in figure.data] == ["a · training", "a · held-out", "b · training", "b · held-out"]
    assert figure.data[0].line.color == figure.data[1].line.color != figure.data[2].line.color


def test_confusion_difference_is_symmetric_in_colour() -> None:
    diff = np.zeros((10, 10), dtype=int)
    diff[6, 0], diff[0, 6] = 12, -5
    heatmap = confusion_difference(diff, ("128", "1024")).data[0]
    assert heatmap.zmin == -12 and heatmap.zmax == 12 and np.array(heatmap.z)[6, 0] == 12


def test_class_accuracy_comparison_has_one_bar_trace_per_run_in_its_colour() -> None:
    accuracies = [np.linspace(0.5, 0.95, 10), np.linspace(0.9, 0.45, 10)]
    figure = class_accuracy_comparison(["128", "1024"], accuracies)
    assert [t.name for t in figure.data] == ["128", "1024"]
    for index, (bars, accuracy) in enumerate(zip(figure.data, accuracies, strict=True)):
        assert list(bars.x) == list(CLASS_NAMES) and list(bars.y) == accuracy.tolist()
        assert bars.marker.color == run_color(index)

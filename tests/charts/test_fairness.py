"""The fairness charts draw exactly the numbers they are given."""

from __future__ import annotations

import numpy as np
import pytest

from fmnist_lab.analysis import fairness
from fmnist_lab.charts.fairness import per_class_metric_comparison, reliability_diagram
from fmnist_lab.config import CLASS_NAMES


def test_per_class_comparison_has_one_bar_trace_per_run_with_its_values() -> None:
    runs = [list(np.linspace(0.5, 0.95, 10)), list(np.linspace(0.9, 0.4, 10))]
    figure = per_class_metric_comparison(["balanced", "starved"], runs, "recall", highlight=9)
    assert [t.name for t in figure.data] == ["balanced", "starved"] and all(t.type == "bar" for t in figure.data)
    for trace, values in zip(figure.data, runs, strict=True):
        assert list(trace.x) == list(CLASS_NAMES) and list(trace.y) == pytest.approx(values)
    assert figure.data[0].marker.color != figure.data[1].marker.color
    (shade,) = figure.layout.shapes
    assert (shade.x0, shade.x1) == (8.5, 9.5)  # around the ninth category, Ankle boot
    assert figure.layout.yaxis.title.text == "recall"


def test_per_class_comparison_without_highlight_has_no_shading() -> None:
    figure = per_class_metric_comparison(["one"], [[0.1] * 10], "false-positive rate")
    assert len(figure.data) == 1 and not figure.layout.shapes


def test_reliability_diagram_draws_the_diagonal_and_each_runs_filled_bins() -> None:
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.3, 1.0, size=200)
    tables = [
        fairness.reliability_bins(confidence, rng.random(200) < confidence),
        fairness.reliability_bins(confidence, confidence > 0.6),
    ]
    figure = reliability_diagram(["a", "b"], tables)
    assert len(figure.data) == 3
    assert list(figure.data[0].x) == [0, 1] and list(figure.data[0].y) == [0, 1]
    for trace, table in zip(figure.data[1:], tables, strict=True):
        filled = table[table["count"] > 0]
        assert len(filled) == 7  # bins 0.3-1.0: the three below 0.3 are empty and left out
        assert list(trace.x) == pytest.approx(filled["confidence"].tolist())
        assert list(trace.y) == pytest.approx(filled["accuracy"].tolist())
        assert list(trace.customdata) == filled["count"].tolist()

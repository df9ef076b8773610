"""The class's experiment chart: a dot per run at its accuracy, the mean with its interval, names escaped."""

from __future__ import annotations

import pytest

from fmnist_lab.analysis.classroom import class_experiment
from fmnist_lab.charts.classroom import class_experiment_chart, escaped
from tests.analysis.test_classroom import ANA, BEN, CY, run


def test_dots_means_and_intervals() -> None:
    runs = [
        run(1, "finished", ANA, "<a href='x'>Ana</a>", 0.85),
        run(2, "finished", BEN, "Ben & Jo", 0.86),
        run(3, "finished", CY, None, 0.87),
        run(4, "finished", ANA, "Ana", 0.88, hidden_units=(1024,)),
    ]
    figure = class_experiment_chart(class_experiment(runs))
    dots, means = figure.data
    assert list(dots.y) == pytest.approx([85.0, 86.0, 87.0, 88.0])
    assert [round(x) for x in dots.x] == [0, 0, 0, 1]  # spread sideways around each setup's place
    assert len(set(dots.x[:3])) == 3
    assert dots.hovertext[0].startswith("&lt;a href='x'&gt;Ana&lt;/a&gt; ·")
    assert dots.hovertext[1].startswith("Ben &amp; Jo ·")
    assert list(means.y) == pytest.approx([86.0, 88.0])
    assert list(means.error_y.array) == pytest.approx([2.484, 0.0], abs=1e-3)  # 4.303 · 1 / √3; one run: none
    assert list(figure.layout.xaxis.ticktext) == ["128 units · 5 epochs", "1024 units · 5 epochs"]


def test_escaped_leaves_plain_text() -> None:
    assert escaped("Zoë O'Neil") == "Zoë O'Neil"
    assert escaped("<span>&") == "&lt;span&gt;&amp;"

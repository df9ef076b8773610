"""The monitoring charts: what each trace holds, checked against the day scores it was drawn from."""

from __future__ import annotations

import numpy as np

from fmnist_lab.analysis.monitoring import Band, DayScore
from fmnist_lab.charts import monitoring as charts


def day(n: int, accuracy: float, recall_shirt: float = np.nan) -> DayScore:
    recall = np.ones(10)
    recall[6] = recall_shirt
    counts = np.zeros(10, int)
    counts[-1], counts[4] = 80, 20
    return DayScore(n, 100, accuracy, 0.9, recall, counts)


DAYS = [day(1, 0.9), day(2, 0.9, 0.5), day(3, 0.6, 0.0)]


def test_monitored_figure_marks_the_alert_days_on_the_line() -> None:
    figure = charts.monitored_figure(DAYS, "accuracy", Band(0.9, 0.0, 0.9, 0.9), 2, [3])
    line, alert = figure.data
    assert list(line.y) == [0.9, 0.9, 0.6] and list(alert.x) == [3] and list(alert.y) == [0.6]
    shapes = figure.layout.shapes
    assert (shapes[0].x0, shapes[0].x1) == (0.5, 2.5) and (shapes[1].y0, shapes[1].y1) == (0.9, 0.9)


def test_recall_heatmap_leaves_unserved_classes_blank() -> None:
    heatmap = charts.recall_heatmap(DAYS).data[0]
    assert list(heatmap.z[6]) == [None, 0.5, 0.0] and list(heatmap.text[6]) == ["", "50%", "0%"]
    assert list(heatmap.x) == [1, 2, 3] and heatmap.y[6] == "Shirt"


def test_confidence_histograms_show_shares_of_each_day() -> None:
    figure = charts.confidence_histograms(DAYS, [1, 3])
    assert [bar.name for bar in figure.data] == ["day 1", "day 3"]
    assert list(figure.data[0].y)[-1] == 0.8 and list(figure.data[0].y)[4] == 0.2
    assert np.allclose(list(figure.data[0].x), np.arange(0.05, 1.0, 0.1))


def test_ab_days_put_a_on_odd_days_and_b_on_even() -> None:
    figure = charts.ab_days([90.0, 92.0], [95.0, 97.0], ("A", "B"))
    a, b = figure.data
    assert (list(a.x), list(b.x)) == ([1, 3], [2, 4]) and list(b.y) == [95.0, 97.0]

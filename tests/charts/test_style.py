"""The shared style: one colour per run, cycling; every figure titled on the left with its legend below."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from fmnist_lab.charts.style import FONT, RUN_COLORS, run_color, styled


def test_run_colours_cycle_and_stay_distinct_within_a_cycle() -> None:
    assert [run_color(i) for i in range(len(RUN_COLORS))] == list(RUN_COLORS)
    assert len(set(RUN_COLORS)) == len(RUN_COLORS)
    assert run_color(len(RUN_COLORS) + 1) == RUN_COLORS[1]


def test_styled_sets_title_height_font_and_legend_below() -> None:
    figure = styled(go.Figure(), "A title", height=300)
    assert (figure.layout.title.text, figure.layout.title.x, figure.layout.height) == ("A title", 0.01, 300)
    assert figure.layout.font.size == FONT["size"] and figure.layout.legend.orientation == "h"
    assert figure.layout.legend.y < 0  # below the plot, under the axis titles


HOSTILE = '<a href="https://evil.example">click</a><span style="font-size:90px;color:red">BIG</span> %{y}'


def test_a_hostile_run_name_is_plain_text_in_every_legend_title_and_hover() -> None:
    from fmnist_lab.charts.compare import class_accuracy_comparison, compare_curves, confusion_difference
    from fmnist_lab.charts.fairness import per_class_metric_comparison

    history = [{"epoch": 1, "accuracy": 0.8, "val_accuracy": 0.7, "loss": 0.5, "val_loss": 0.6}]
    figures = [
        compare_curves([(HOSTILE, history), ("other", history)], "accuracy"),
        class_accuracy_comparison([HOSTILE, "other"], [[0.5] * 10, [0.6] * 10]),
        confusion_difference(np.zeros((10, 10), dtype=int), (HOSTILE, "other")),
        per_class_metric_comparison([HOSTILE], [[0.5] * 10], "recall"),
    ]
    for figure in figures:
        shown = list(strings(figure.to_plotly_json()))
        assert not [s for s in shown if "<a " in s or "<span" in s or "%{y})" in s]
        assert any("&lt;a href" in s for s in shown)  # escaped, so it reads as typed


def strings(value: object):  # noqa: ANN201
    """Every string inside a figure's JSON-ready dict."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings(item)

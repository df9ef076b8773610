"""The shared style: one colour per run, cycling; every figure titled on the left with its legend below."""

from __future__ import annotations

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

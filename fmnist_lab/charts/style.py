"""What every chart shares: the colours (one per run, everywhere), the font, margins and the title style.

Training is dashed and held-out solid on every chart; colour tells runs apart only where several are shown.
"""

from __future__ import annotations

import html

import plotly.graph_objects as go

RUN_COLORS = ("#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2")
TRAIN_COLOR, HELDOUT_COLOR, THRESHOLD_COLOR = "#4C78A8", "#F58518", "#E45756"
BEST_COLOR = "#54A24B"  # the epoch early stopping kept
FONT = {"family": "sans-serif", "size": 13}
MARGIN = {"l": 50, "r": 20, "t": 50, "b": 60}
TRAIN_DASH = "dash"  # everywhere: training dashed, held-out solid; colour means a run only on Compare
CURVE_COLOR = "#3A3A3A"  # one run's curves on Train: line style, not colour, tells training from held-out
HEATMAP_SCALE = "Blues"
DIFF_SCALE = "RdBu"


def run_color(index: int) -> str:
    return RUN_COLORS[index % len(RUN_COLORS)]


def styled(figure: go.Figure, title: str, height: int = 380) -> go.Figure:
    """``figure`` with the lab's font, margins, white template, a left title and the legend below."""
    figure.update_layout(
        title={"text": title, "x": 0.01}, font=FONT, margin=MARGIN, height=height, template="plotly_white"
    )
    figure.update_layout(legend={"orientation": "h", "y": -0.22, "yanchor": "top"})  # below the axis titles
    return figure


def plain(text: str) -> str:
    """A learner's text (a run's name) as Plotly shows it: no tags, links or styles, no hover fields.

    Plotly renders ``<a>``, ``<span style>``, ``<b>`` and ``<br>`` in names, titles and hover text,
    and expands ``%{…}`` in hover templates; escaped, a name reads exactly as it was typed.
    """
    return html.escape(text, quote=False).replace("%", "&#37;")

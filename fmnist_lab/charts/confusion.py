"""The confusion matrix as a clickable heatmap, the cell a click picked, and accuracy per class."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from fmnist_lab.analysis import metrics
from fmnist_lab.charts.style import HEATMAP_SCALE, THRESHOLD_COLOR, TRAIN_COLOR, styled
from fmnist_lab.config import CLASS_NAMES

CELL_TARGETS = "cells"  # the confusion heatmap's invisible click targets


def confusion_heatmap(
    cm: np.ndarray, normalised: bool = False, title: str = "Confusion matrix", clickable: bool = False
) -> go.Figure:
    """True class down, predicted class across, the number in every cell.

    ``normalised`` shows each row as percentages of that true class; ``clickable`` lets a click
    on a cell select it (``clicked_cell`` reads the selection).
    """
    cm = np.asarray(cm)
    if normalised:
        values = metrics.row_normalised(cm)
        text, hover = np.vectorize(lambda v: f"{v:.0f}%")(values), "%{z:.1f}% of true %{y}<extra></extra>"
    else:
        values, text, hover = cm, cm.astype(str), "%{z} × true %{y} → predicted %{x}<extra></extra>"
    names = list(CLASS_NAMES)
    figure = go.Figure(
        go.Heatmap(
            z=values, x=names, y=names, text=text, texttemplate="%{text}", colorscale=HEATMAP_SCALE, hovertemplate=hover
        )
    )
    if clickable:
        figure.add_trace(_cell_targets(values, hover))
    figure.update_yaxes(autorange="reversed", title_text="true class")
    figure.update_xaxes(title_text="predicted class", tickangle=-35)
    return styled(figure, title, height=560)


def confusion_spread_heatmap(
    mean: np.ndarray, sd: np.ndarray | None, n: int, title: str = "Mean confusion matrix"
) -> go.Figure:
    """A group's mean row-normalised matrix (percent of each true class), each cell's ±1 sd on hover."""
    mean = np.asarray(mean, dtype=np.float64)
    spread = np.zeros_like(mean) if sd is None else np.asarray(sd, dtype=np.float64)
    sd_text = "no sd with one run" if sd is None else "± %{customdata:.1f} (1 sd)"
    hover = f"true %{{y}} → predicted %{{x}}: %{{z:.1f}}% {sd_text} over {n} runs<extra></extra>"
    names = list(CLASS_NAMES)
    text = np.vectorize(lambda v: f"{v:.0f}%")(mean)
    cells = {"z": mean, "x": names, "y": names, "customdata": spread, "text": text, "texttemplate": "%{text}"}
    figure = go.Figure(go.Heatmap(**cells, colorscale=HEATMAP_SCALE, hovertemplate=hover))
    figure.update_yaxes(autorange="reversed", title_text="true class")
    figure.update_xaxes(title_text="predicted class", tickangle=-35)
    return styled(figure, title, height=560)


def clicked_cell(points: Sequence[Mapping[str, Any]]) -> tuple[int, int] | None:
    """(true, predicted) of the cell a click selected, from ``st.plotly_chart``'s selection points
    (each names its cell's classes: ``x`` predicted, ``y`` true)."""
    for point in points:
        if point.get("x") in CLASS_NAMES and point.get("y") in CLASS_NAMES:
            return CLASS_NAMES.index(point["y"]), CLASS_NAMES.index(point["x"])
    return None


def _cell_targets(values: np.ndarray, hover: str) -> go.Scatter:
    """An invisible square marker on every cell: Plotly selects scatter points on a click but not
    heatmap cells (streamlit/streamlit#8760). It hovers as the cell does."""
    n = len(CLASS_NAMES)
    true, predicted = np.divmod(np.arange(n * n), n)  # row-major: cell k is (k // n, k % n)
    return go.Scatter(
        x=[CLASS_NAMES[p] for p in predicted],
        y=[CLASS_NAMES[t] for t in true],
        customdata=np.asarray(values).ravel(),
        mode="markers",
        marker={"symbol": "square", "size": 40, "opacity": 0},
        name=CELL_TARGETS,
        hovertemplate=hover.replace("%{z", "%{customdata"),
        showlegend=False,
    )


def class_accuracy(accuracy: Sequence[float], title: str = "Accuracy per class") -> go.Figure:
    """Horizontal bars, worst class at the top, with the mean as a line."""
    order = np.argsort(accuracy)
    names = [CLASS_NAMES[i] for i in order]
    values = [float(accuracy[i]) for i in order]
    figure = go.Figure(
        go.Bar(x=values, y=names, orientation="h", marker_color=TRAIN_COLOR, text=[f"{v:.1%}" for v in values])
    )
    figure.add_vline(x=float(np.mean(accuracy)), line={"dash": "dot", "color": THRESHOLD_COLOR}, annotation_text="mean")
    figure.update_xaxes(range=[0, 1], tickformat=".0%")
    return styled(figure, title, height=420)

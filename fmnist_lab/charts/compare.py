"""Several runs side by side: overlaid curves, per-class accuracy, and two confusion matrices' difference."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from fmnist_lab.charts.style import DIFF_SCALE, TRAIN_DASH, plain, run_color, styled
from fmnist_lab.config import CLASS_NAMES


def confusion_difference(diff: np.ndarray, labels: tuple[str, str]) -> go.Figure:
    labels = (plain(labels[0]), plain(labels[1]))
    """``cm_b - cm_a``: red where run B puts more images than run A, blue where fewer."""
    names = list(CLASS_NAMES)
    limit = max(int(np.abs(diff).max()), 1)
    figure = go.Figure(
        go.Heatmap(
            z=diff,
            x=names,
            y=names,
            text=diff.astype(str),
            texttemplate="%{text}",
            colorscale=DIFF_SCALE,
            reversescale=True,
            zmin=-limit,
            zmax=limit,
            hovertemplate=f"true %{{y}} → %{{x}}: %{{z:+d}} ({labels[1]} − {labels[0]})<extra></extra>",
        )
    )
    figure.update_yaxes(autorange="reversed", title_text="true class")
    figure.update_xaxes(title_text="predicted class", tickangle=-35)
    return styled(figure, f"Confusion difference: {labels[1]} − {labels[0]}", height=560)


def compare_curves(histories: Sequence[tuple[str, Sequence[dict[str, Any]]]], metric: str = "accuracy") -> go.Figure:
    """Several runs' curves on one chart: one colour per run, training dashed, held-out solid."""
    figure = go.Figure()
    for index, (label, history) in enumerate((plain(label), history) for label, history in histories):
        x = [r["epoch"] - 1 + r.get("fraction", 1.0) for r in history]
        for key, dash, part in ((metric, TRAIN_DASH, "training"), (f"val_{metric}", "solid", "held-out")):
            y = [r.get(key) for r in history]
            if any(v is not None for v in y):
                line = {"color": run_color(index), "dash": dash}
                figure.add_scatter(x=x, y=y, name=f"{label} · {part}", mode="lines+markers", line=line)
    figure.update_xaxes(title_text="epoch", rangemode="tozero")
    figure.update_yaxes(title_text=metric)
    return styled(figure, f"{metric.capitalize()}: training dashed, held-out solid", height=420)


def class_accuracy_comparison(labels: Sequence[str], accuracies: Sequence[Sequence[float]]) -> go.Figure:
    """Per-class accuracy of several runs as grouped bars, one colour per run."""
    figure = go.Figure()
    for index, (label, accuracy) in enumerate(zip(labels, accuracies, strict=True)):
        figure.add_bar(x=list(CLASS_NAMES), y=list(accuracy), name=plain(label), marker_color=run_color(index))
    figure.update_layout(barmode="group")
    figure.update_yaxes(tickformat=".0%", title_text="test accuracy")
    return styled(figure, "Accuracy per class", height=420)

"""Fairness across runs: one per-class metric as grouped bars, and reliability (calibration) diagrams."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from fmnist_lab.charts.style import THRESHOLD_COLOR, plain, run_color, styled
from fmnist_lab.config import CLASS_NAMES


def per_class_metric_comparison(
    run_labels: Sequence[str],
    values_per_run: Sequence[Sequence[float]],
    metric_name: str,
    highlight: int | None = None,
) -> go.Figure:
    """One per-class metric (fractions 0-1, e.g. recall or FPR) of several runs as grouped bars,
    one colour per run; the ``highlight`` class (the starved one) is shaded and named."""
    figure = go.Figure()
    for index, (label, values) in enumerate(zip(map(plain, run_labels), values_per_run, strict=True)):
        hover = f"{label}<br>%{{x}}: %{{y:.1%}}<extra></extra>"
        figure.add_bar(
            x=list(CLASS_NAMES), y=list(values), name=label, marker_color=run_color(index), hovertemplate=hover
        )
    if highlight is not None:
        shade = {"fillcolor": THRESHOLD_COLOR, "opacity": 0.12, "line_width": 0, "layer": "below"}
        figure.add_vrect(x0=highlight - 0.5, x1=highlight + 0.5, annotation_text="starved class", **shade)
    figure.update_layout(barmode="group")
    figure.update_yaxes(tickformat=".0%", title_text=metric_name, rangemode="tozero")
    figure.update_xaxes(tickangle=-35)
    return styled(figure, f"{metric_name.capitalize()} per class", height=420)


def reliability_diagram(run_labels: Sequence[str], bins_per_run: Sequence[Any]) -> go.Figure:
    """Mean confidence against accuracy in each confidence bin, one line per run, over the diagonal
    of perfect calibration. Each of ``bins_per_run`` is a ``fairness.reliability_bins`` table
    (columns confidence, accuracy, count); empty bins are left out."""
    figure = go.Figure()
    diagonal = {"color": "#999", "dash": "dot"}
    figure.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated", line=diagonal, hoverinfo="skip")
    for index, (label, bins) in enumerate(zip(map(plain, run_labels), bins_per_run, strict=True)):
        filled = bins[bins["count"] > 0]
        hover = f"{label}<br>confidence %{{x:.1%}}: right %{{y:.1%}} of %{{customdata}} images<extra></extra>"
        line = {"color": run_color(index)}
        figure.add_scatter(
            x=list(filled["confidence"]),
            y=list(filled["accuracy"]),
            customdata=list(filled["count"]),
            mode="lines+markers",
            name=label,
            line=line,
            hovertemplate=hover,
        )
    figure.update_xaxes(range=[0, 1], tickformat=".0%", title_text="mean confidence in the bin")
    figure.update_yaxes(range=[0, 1], tickformat=".0%", title_text="accuracy in the bin")
    return styled(figure, "Reliability: points below the diagonal are overconfident", height=460)

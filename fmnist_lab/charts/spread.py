"""The spread over seeds: mean curves with their band, per-class accuracy with error bars.

Every figure says which band it draws (``analysis.spread.BAND``: ±1 sd of the runs), so a learner
never reads a band as an interval of the mean.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from fmnist_lab.analysis.spread import Curve
from fmnist_lab.charts.style import plain, run_color, styled

BAND_OPACITY = 0.18


def _rgba(color: str, alpha: float) -> str:
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def band_curves(curves: Sequence[tuple[str, Curve]], title: str) -> go.Figure:
    """Each side's mean curve over its runs, with its band shaded; ``curves``: (label, curve) pairs."""
    figure = go.Figure()
    for i, (label, curve) in enumerate(curves):
        name, color = plain(label), run_color(i)
        band_x = [*curve.epochs, *reversed(curve.epochs)]
        band_y = [*curve.high, *reversed(curve.low)]
        figure.add_scatter(
            x=band_x, y=band_y, fill="toself", fillcolor=_rgba(color, BAND_OPACITY), line={"width": 0},
            hoverinfo="skip", showlegend=False, name=f"{name} band",
        )  # fmt: skip
        runs = [f"{n} run{'s' if n != 1 else ''}" for n in curve.n]
        figure.add_scatter(
            x=curve.epochs, y=curve.mean, mode="lines+markers", line={"color": color}, name=f"{name} (mean)",
            text=runs, hovertemplate="epoch %{x}: %{y:.4f} (%{text})<extra></extra>",
        )  # fmt: skip
    figure.update_xaxes(title_text="epoch", dtick=1)
    figure.update_yaxes(title_text=curves[0][1].metric.replace("_", " ") if curves else "")
    band = curves[0][1].band if curves else ""
    return styled(figure, f"{title}: mean over seeds, shaded {band}")


def class_error_bars(sides: Sequence[tuple[str, Mapping[str, Any]]]) -> go.Figure:
    """Per-class test accuracy, one bar per side: the mean over its runs, the error bar its sd."""
    figure = go.Figure()
    for i, (label, spread) in enumerate(sides):
        sd = [0.0 if s is None else s for s in spread["sd"]]
        figure.add_bar(
            x=list(spread["class"]), y=list(spread["mean"]), name=f"{plain(label)} (n={spread['n']})",
            marker_color=run_color(i), error_y={"type": "data", "array": sd, "visible": spread["n"] > 1},
        )  # fmt: skip
    figure.update_yaxes(tickformat=".0%", title_text="test accuracy")
    band = sides[0][1]["band"] if sides else ""
    return styled(figure, f"Per-class accuracy: mean over seeds, error bars {band}", height=420)

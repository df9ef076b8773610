"""Charts of a deployed model's days: a monitored figure in its band, recall per class, confidence, A/B.

Pure functions: the day scores of ``fmnist_lab.analysis.monitoring`` in, ``plotly.graph_objects.Figure`` out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from fmnist_lab.analysis.monitoring import CONFIDENCE_BINS, Band, DayScore
from fmnist_lab.config import CLASS_NAMES

LINE_COLOR = "#4C78A8"
BAND_COLOR = "rgba(84, 162, 75, 0.18)"  # the expected range
ALERT_COLOR = "#E45756"
BASELINE_COLOR = "rgba(0, 0, 0, 0.06)"  # the days the band is learnt from
AB_COLORS = ("#4C78A8", "#F58518")  # A, B
FONT = {"family": "sans-serif", "size": 13}
MARGIN = {"l": 50, "r": 20, "t": 50, "b": 60}


def _style(figure: go.Figure, title: str, height: int = 360) -> go.Figure:
    figure.update_layout(
        title={"text": title, "x": 0.01}, font=FONT, margin=MARGIN, height=height, template="plotly_white"
    )
    figure.update_layout(legend={"orientation": "h", "y": -0.22, "yanchor": "top"})
    return figure


def monitored_figure(
    scores: Sequence[DayScore], figure_name: str, band: Band, baseline: int, fired: Sequence[int]
) -> go.Figure:
    """One monitored figure per day: the baseline days shaded, the band, and a red mark on each alert day."""
    days = [score.day for score in scores]
    values = [score.figure(figure_name) for score in scores]
    figure = go.Figure()
    figure.add_vrect(x0=0.5, x1=baseline + 0.5, fillcolor=BASELINE_COLOR, line_width=0)
    figure.add_hrect(y0=band.low, y1=band.high, fillcolor=BAND_COLOR, line_width=0)
    figure.add_scatter(x=days, y=values, name=figure_name, mode="lines+markers", line={"color": LINE_COLOR})
    alert_values = [values[day - 1] for day in fired]
    figure.add_scatter(
        x=list(fired), y=alert_values, name="alert", mode="markers", marker={"color": ALERT_COLOR, "size": 12}
    )
    figure.update_xaxes(title_text="day", dtick=1 if len(days) <= 31 else None)
    figure.update_yaxes(tickformat=".0%", title_text=figure_name)
    title = f"{figure_name.capitalize()} per day; band: the first {baseline} days' mean ± 3 sd"
    return _style(figure, title)


def recall_heatmap(scores: Sequence[DayScore]) -> go.Figure:
    """Each class's recall (rows) on each day (columns); blank where a class was not served."""
    z = np.array([score.recall for score in scores]).T  # (10, days)
    text = [["" if np.isnan(v) else f"{v:.0%}" for v in row] for row in z]
    heatmap = go.Heatmap(
        z=[[None if np.isnan(v) else float(v) for v in row] for row in z],
        x=[score.day for score in scores],
        y=list(CLASS_NAMES),
        text=text,
        colorscale="RdYlGn",
        zmin=0,
        zmax=1,
        hovertemplate="day %{x} · %{y}: %{text}<extra></extra>",
    )
    figure = go.Figure(heatmap)
    figure.update_yaxes(autorange="reversed")
    figure.update_xaxes(title_text="day", dtick=1)
    return _style(figure, "Recall per class, day by day", height=420)


def confidence_histograms(scores: Sequence[DayScore], days: Sequence[int]) -> go.Figure:
    """The top-probability histogram of each of ``days`` (from 1), side by side, as shares of the day's images."""
    centres = (CONFIDENCE_BINS[:-1] + CONFIDENCE_BINS[1:]) / 2
    figure = go.Figure()
    for index, day in enumerate(days):
        score = scores[day - 1]
        shares = score.confidence_counts / max(score.served, 1)
        figure.add_bar(x=centres, y=shares, name=f"day {day}", marker_color=AB_COLORS[index % len(AB_COLORS)])
    figure.update_layout(barmode="group")
    figure.update_xaxes(title_text="the model's top probability", tickformat=".0%", dtick=0.1)
    figure.update_yaxes(title_text="share of the day's images", tickformat=".0%")
    return _style(figure, "How sure the model was")


def ab_days(a: Sequence[float], b: Sequence[float], labels: tuple[str, str]) -> go.Figure:
    """The A/B test's days: A's accuracy on odd days, B's on even days, in percent."""
    figure = go.Figure()
    for values, first, label, color in ((a, 1, labels[0], AB_COLORS[0]), (b, 2, labels[1], AB_COLORS[1])):
        days = list(range(first, first + 2 * len(values), 2))
        figure.add_scatter(x=days, y=list(values), name=label, mode="markers", marker={"color": color, "size": 10})
        figure.add_hline(y=float(np.mean(values)), line={"color": color, "dash": "dash"})
    figure.update_xaxes(title_text="day", dtick=1)
    figure.update_yaxes(title_text="accuracy (%)")
    return _style(figure, "A/B test: each run serves alternate days (dashed: its mean)")

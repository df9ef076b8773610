"""The class's experiment as a chart: one dot per learner's run, the mean and its 95 % interval per setup.

A pure function of ``analysis.classroom.ClassExperiment``. Learners' names reach the chart only as
hover text, escaped: Plotly renders tags such as ``<a>`` and ``<span>`` in text as HTML.
"""

from __future__ import annotations

import html

import plotly.graph_objects as go

from fmnist_lab.analysis.classroom import ClassExperiment

DOT_COLOR, MEAN_COLOR = "#4C78A8", "#E45756"
FONT = {"family": "sans-serif", "size": 13}
PROJECTOR_FONT = {"family": "sans-serif", "size": 24}
MARGIN = {"l": 60, "r": 20, "t": 60, "b": 60}
SPREAD = 0.25  # how far apart, in category widths, a setup's dots are laid side by side


def escaped(text: str) -> str:
    """``text`` shown as typed in a Plotly label: no tags, no entities."""
    return html.escape(text, quote=False)


def class_experiment_chart(experiment: ClassExperiment, projector: bool = False) -> go.Figure:
    """Test accuracy (%) by setup: the runs as dots, spread sideways so none hides another; each
    setup's mean as a bar-less marker with its 95 % interval (none for a single run)."""
    labels = [result.setup.label for result in experiment.setups]
    figure = go.Figure()
    figure.add_trace(_dots(experiment, labels))
    figure.add_trace(_means(experiment, labels))
    figure.update_layout(
        title={"text": "The class's runs: test accuracy by setup", "x": 0.01},
        font=PROJECTOR_FONT if projector else FONT,
        margin=MARGIN,
        height=620 if projector else 420,
        template="plotly_white",
        legend={"orientation": "h", "y": -0.18, "yanchor": "top"},
        xaxis={
            "title": "setup",
            "tickvals": list(range(len(labels))),
            "ticktext": labels,
            "range": [-0.6, len(labels) - 0.4],
        },
        yaxis={"title": "test accuracy (%)"},
    )
    return figure


def _dots(experiment: ClassExperiment, labels: list[str]) -> go.Scatter:
    x, y, hover = [], [], []
    for index, label in enumerate(labels):
        points = [p for p in experiment.points if p.setup.label == label]
        for k, point in enumerate(points):
            offset = 0.0 if len(points) == 1 else SPREAD * (k / (len(points) - 1) - 0.5)
            x.append(index + offset)
            y.append(point.accuracy)
            hover.append(f"{escaped(point.learner)} · seed {point.seed} · {point.accuracy:.2f} %")
    return go.Scatter(
        x=x, y=y, mode="markers", name="a run", marker={"color": DOT_COLOR, "size": 9, "opacity": 0.7},
        hovertext=hover, hoverinfo="text",
    )  # fmt: skip


def _means(experiment: ClassExperiment, labels: list[str]) -> go.Scatter:
    means, plus, minus, hover = [], [], [], []
    for result in experiment.setups:
        mean = result.summary.mean
        low, high = result.interval or (mean, mean)
        means.append(mean)
        plus.append(high - mean)
        minus.append(mean - low)
        span = "one run: no interval" if result.interval is None else f"95 % interval {low:.2f} to {high:.2f}"
        hover.append(f"{result.setup.label}: mean {mean:.2f} % over {result.summary.n} runs ({span})")
    return go.Scatter(
        x=list(range(len(labels))), y=means, mode="markers", name="mean, 95 % interval",
        marker={"color": MEAN_COLOR, "size": 16, "symbol": "line-ew-open", "line": {"width": 3}},
        error_y={"type": "data", "array": plus, "arrayminus": minus, "color": MEAN_COLOR, "thickness": 2, "width": 12},
        hovertext=hover, hoverinfo="text",
    )  # fmt: skip

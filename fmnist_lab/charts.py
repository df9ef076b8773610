"""Charts as pure functions: data in, ``plotly.graph_objects.Figure`` out, no Streamlit.

Shared colours and layout sit at the top so every page looks alike; a run keeps
its colour everywhere (``run_color``). Training curves are dashed, held-out solid.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from PIL import Image
from plotly.subplots import make_subplots

from . import metrics
from .data import CLASS_NAMES

RUN_COLORS = ("#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2")
TRAIN_COLOR, HELDOUT_COLOR, THRESHOLD_COLOR = "#4C78A8", "#F58518", "#E45756"
FONT = {"family": "sans-serif", "size": 13}
MARGIN = {"l": 50, "r": 20, "t": 50, "b": 60}
TRAIN_DASH = "dash"
GRID_LINE = 70  # grey between images in a mosaic
HEATMAP_SCALE = "Blues"
DIFF_SCALE = "RdBu"


def run_color(index: int) -> str:
    return RUN_COLORS[index % len(RUN_COLORS)]


def _style(figure: go.Figure, title: str, height: int = 380) -> go.Figure:
    figure.update_layout(
        title={"text": title, "x": 0.01}, font=FONT, margin=MARGIN, height=height, template="plotly_white"
    )
    figure.update_layout(legend={"orientation": "h", "y": -0.22, "yanchor": "top"})  # below the axis titles
    return figure


def training_curves(
    history: Sequence[dict[str, Any]],
    progress: dict[str, Any] | None = None,
    stop_loss: float | None = None,
    epochs: int | None = None,
) -> go.Figure:
    """Loss and accuracy against epoch, training dashed and held-out solid.

    ``progress`` adds the running curve of the epoch in progress; ``stop_loss`` draws
    the threshold, and the epoch where training stopped below it is marked.
    """
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "Accuracy"), horizontal_spacing=0.1)
    x = [r["epoch"] - 1 + r.get("fraction", 1.0) for r in history]
    series = (("loss", "Training", TRAIN_COLOR, TRAIN_DASH), ("val_loss", "Held-out", HELDOUT_COLOR, "solid"))
    for col, metric in ((1, "loss"), (2, "accuracy")):
        for key, label, color, dash in series:
            key = key.replace("loss", metric)
            y = [r.get(key) for r in history]
            if any(v is not None for v in y):
                line = {"color": color, "dash": dash}
                figure.add_scatter(x=x, y=y, name=f"{label} {metric}", mode="lines+markers", line=line, row=1, col=col)
        trail = (progress or {}).get("trail") or []
        if trail:
            start = [[x[-1], history[-1][metric]]] if history and history[-1].get(metric) is not None else []
            points = start + [[p[0], p[1] if metric == "loss" else p[2]] for p in trail]
            figure.add_scatter(
                x=[p[0] for p in points],
                y=[p[1] for p in points],
                name=f"Training {metric} (this epoch, running)",
                mode="lines",
                line={"color": TRAIN_COLOR, "dash": "dot", "width": 1.5},
                row=1,
                col=col,
            )
    if stop_loss is not None:
        _mark_threshold(figure, history, x, stop_loss)
    figure.update_xaxes(title_text="epoch", range=[0, max([epochs or 1, *x, 1]) + 0.2], rangemode="tozero")
    figure.update_yaxes(rangemode="tozero", row=1, col=1)
    return _style(figure, "Training curves", height=400)


def _mark_threshold(figure: go.Figure, history: Sequence[dict[str, Any]], x: list[float], stop_loss: float) -> None:
    figure.add_hline(
        y=stop_loss,
        line={"color": THRESHOLD_COLOR, "dash": "dot"},
        annotation_text=f"stop below {stop_loss:g}",
        row=1,
        col=1,
    )
    for position, record in zip(x, history, strict=True):
        if record.get("loss") is not None and record["loss"] < stop_loss:
            figure.add_scatter(
                x=[position],
                y=[record["loss"]],
                name="stopped here",
                mode="markers",
                marker={"color": THRESHOLD_COLOR, "size": 14, "symbol": "x"},
                row=1,
                col=1,
            )
            break


def sample_grid(images: np.ndarray, labels: np.ndarray, per_class: int = 12) -> go.Figure:
    """The first ``per_class`` images of each class, one row per class, names on the left."""
    rows = []
    for label in range(len(CLASS_NAMES)):
        picked = images[np.flatnonzero(labels == label)[:per_class]]
        padded = np.zeros((per_class, 28, 28), dtype=np.uint8)
        padded[: len(picked)] = picked
        rows.append(np.concatenate([np.pad(image, 1, constant_values=GRID_LINE) for image in padded], axis=1))
    mosaic = np.concatenate(rows, axis=0)  # (10 * 30, per_class * 30) uint8, drawn as the model sees it
    # One PNG (~40 kB) instead of a heatmap's 108,000 numbers: every home page load sends it.
    figure = go.Figure(go.Image(source=png_data_uri(mosaic), hoverinfo="skip"))
    figure.update_yaxes(
        tickvals=[30 * i + 14.5 for i in range(len(CLASS_NAMES))],
        ticktext=list(CLASS_NAMES),
        scaleanchor="x",
        showgrid=False,
    )
    figure.update_xaxes(showticklabels=False, showgrid=False)
    return _style(figure, f"{per_class} examples of each class", height=560)


def png_data_uri(image: np.ndarray) -> str:
    """A grayscale uint8 array as a ``data:image/png;base64,…`` URI."""
    out = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8), mode="L").save(out, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def class_balance(train_labels: np.ndarray, test_labels: np.ndarray) -> go.Figure:
    """Images per class in the training and test sets."""
    figure = go.Figure()
    for name, labels, color in (("training", train_labels, TRAIN_COLOR), ("test", test_labels, HELDOUT_COLOR)):
        counts = np.bincount(labels, minlength=len(CLASS_NAMES))
        figure.add_bar(x=list(CLASS_NAMES), y=counts, name=f"{name} ({len(labels):,})", marker_color=color)
    figure.update_layout(barmode="group", yaxis_title="images")
    return _style(figure, "Class balance")


def pixel_histogram(images: np.ndarray, bins: int = 64) -> go.Figure:
    """The same pixels raw (0–255) and divided by 255 (0–1): one shape, another scale."""
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Raw pixels (0–255)", "Normalised (÷255: 0–1)"))
    pixels = np.asarray(images).ravel()
    counts, edges = np.histogram(pixels, bins=bins, range=(0, 256))
    for col, scale in ((1, 1.0), (2, 255.0)):
        centres = (edges[:-1] + edges[1:]) / 2 / scale
        figure.add_bar(x=centres, y=counts, marker_color=TRAIN_COLOR, showlegend=False, row=1, col=col)
    figure.update_yaxes(type="log", title_text="pixels (log scale)", row=1, col=1)
    figure.update_yaxes(type="log", row=1, col=2)
    return _style(figure, "Pixel values before and after normalisation")


def confusion_heatmap(cm: np.ndarray, normalised: bool = False, title: str = "Confusion matrix") -> go.Figure:
    """True class down, predicted class across, the number in every cell.

    ``normalised`` shows each row as percentages of that true class.
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
    figure.update_yaxes(autorange="reversed", title_text="true class")
    figure.update_xaxes(title_text="predicted class", tickangle=-35)
    return _style(figure, title, height=560)


def confusion_difference(diff: np.ndarray, labels: tuple[str, str]) -> go.Figure:
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
    return _style(figure, f"Confusion difference: {labels[1]} − {labels[0]}", height=560)


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
    return _style(figure, title, height=420)


def softmax_bars(probabilities: Sequence[float], true_label: int | None = None) -> go.Figure:
    """The ten softmax outputs; the argmax is coloured, the true class outlined."""
    values = np.asarray(probabilities, dtype=float)  # (10,)
    best = int(np.argmax(values))
    colors = [HELDOUT_COLOR if i == best else "#B0BEC5" for i in range(len(CLASS_NAMES))]
    outline = [3 if i == true_label else 0 for i in range(len(CLASS_NAMES))]
    figure = go.Figure(
        go.Bar(
            x=list(CLASS_NAMES),
            y=values,
            marker={"color": colors, "line": {"width": outline, "color": "#222"}},
            text=[f"{p:.1%}" for p in values],
            textposition="outside",
        )
    )
    figure.update_yaxes(range=[0, 1.12], tickformat=".0%", title_text="probability")
    figure.update_xaxes(tickangle=-35)
    title = f"Softmax output: argmax {CLASS_NAMES[best]}"
    if true_label is not None:
        title += f", true {CLASS_NAMES[true_label]}"
    return _style(figure, title, height=380)


def compare_curves(histories: Sequence[tuple[str, Sequence[dict[str, Any]]]], metric: str = "accuracy") -> go.Figure:
    """Several runs' curves on one chart: one colour per run, training dashed, held-out solid."""
    figure = go.Figure()
    for index, (label, history) in enumerate(histories):
        x = [r["epoch"] - 1 + r.get("fraction", 1.0) for r in history]
        for key, dash, part in ((metric, TRAIN_DASH, "training"), (f"val_{metric}", "solid", "held-out")):
            y = [r.get(key) for r in history]
            if any(v is not None for v in y):
                line = {"color": run_color(index), "dash": dash}
                figure.add_scatter(x=x, y=y, name=f"{label} · {part}", mode="lines+markers", line=line)
    figure.update_xaxes(title_text="epoch", rangemode="tozero")
    figure.update_yaxes(title_text=metric)
    return _style(figure, f"{metric.capitalize()}: training dashed, held-out solid", height=420)


def class_accuracy_comparison(labels: Sequence[str], accuracies: Sequence[Sequence[float]]) -> go.Figure:
    """Per-class accuracy of several runs as grouped bars, one colour per run."""
    figure = go.Figure()
    for index, (label, accuracy) in enumerate(zip(labels, accuracies, strict=True)):
        figure.add_bar(x=list(CLASS_NAMES), y=list(accuracy), name=label, marker_color=run_color(index))
    figure.update_layout(barmode="group")
    figure.update_yaxes(tickformat=".0%", title_text="test accuracy")
    return _style(figure, "Accuracy per class", height=420)


def per_class_metric_comparison(
    run_labels: Sequence[str],
    values_per_run: Sequence[Sequence[float]],
    metric_name: str,
    highlight: int | None = None,
) -> go.Figure:
    """One per-class metric (fractions 0-1, e.g. recall or FPR) of several runs as grouped bars,
    one colour per run; the ``highlight`` class (the starved one) is shaded and named."""
    figure = go.Figure()
    for index, (label, values) in enumerate(zip(run_labels, values_per_run, strict=True)):
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
    return _style(figure, f"{metric_name.capitalize()} per class", height=420)


def reliability_diagram(run_labels: Sequence[str], bins_per_run: Sequence[Any]) -> go.Figure:
    """Mean confidence against accuracy in each confidence bin, one line per run, over the diagonal
    of perfect calibration. Each of ``bins_per_run`` is a ``fairness.reliability_bins`` table
    (columns confidence, accuracy, count); empty bins are left out."""
    figure = go.Figure()
    diagonal = {"color": "#999", "dash": "dot"}
    figure.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated", line=diagonal, hoverinfo="skip")
    for index, (label, bins) in enumerate(zip(run_labels, bins_per_run, strict=True)):
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
    return _style(figure, "Reliability: points below the diagonal are overconfident", height=460)

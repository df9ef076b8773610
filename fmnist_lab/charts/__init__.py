"""Charts as pure functions: data in, ``plotly.graph_objects.Figure`` out, no Streamlit.

Shared colours and layout sit at the top so every page looks alike; a run keeps
its colour everywhere (``run_color``). Training curves are dashed, held-out solid.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go
from PIL import Image, ImageDraw, ImageFont
from plotly.subplots import make_subplots

from fmnist_lab.analysis import metrics
from fmnist_lab.config import CLASS_NAMES

if TYPE_CHECKING:
    from fmnist_lab.analysis.inside import Path

RUN_COLORS = ("#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2")
TRAIN_COLOR, HELDOUT_COLOR, THRESHOLD_COLOR = "#4C78A8", "#F58518", "#E45756"
BEST_COLOR = "#54A24B"  # the epoch early stopping kept
FONT = {"family": "sans-serif", "size": 13}
MARGIN = {"l": 50, "r": 20, "t": 50, "b": 60}
TRAIN_DASH = "dash"  # everywhere: training dashed, held-out solid; colour means a run only on Compare
CURVE_COLOR = "#3A3A3A"  # one run's curves on Train: line style, not colour, tells training from held-out
GRID_LINE = 70  # grey between images in a mosaic
HEATMAP_SCALE = "Blues"
DIFF_SCALE = "RdBu"
CELL_TARGETS = "cells"  # the confusion heatmap's invisible click targets


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
    best_epoch: int | None = None,
) -> go.Figure:
    """Loss and accuracy against epoch, training dashed and held-out solid.

    ``progress`` adds the running curve of the epoch in progress; ``stop_loss`` draws
    the threshold, and the epoch where training stopped below it is marked. ``best_epoch``
    (early stopping ran) marks the epoch whose weights were kept and the epoch it stopped.
    """
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "Accuracy"), horizontal_spacing=0.1)
    x = [r["epoch"] - 1 + r.get("fraction", 1.0) for r in history]
    series = (("loss", "Training", CURVE_COLOR, TRAIN_DASH), ("val_loss", "Held-out", CURVE_COLOR, "solid"))
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
                name=f"Training {metric} (running)",
                mode="lines",
                line={"color": CURVE_COLOR, "dash": "dot", "width": 1.5},
                row=1,
                col=col,
            )
    if stop_loss is not None:
        _mark_threshold(figure, history, x, stop_loss)
    if best_epoch is not None and history:
        _mark_early_stop(figure, best_epoch, history[-1]["epoch"])
    figure.update_xaxes(title_text="epoch", range=[0, max([epochs or 1, *x, 1]) + 0.2], rangemode="tozero")
    figure.update_yaxes(rangemode="tozero", row=1, col=1)
    return _style(figure, "Training curves: training dashed, held-out solid", height=400)


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


def _mark_early_stop(figure: go.Figure, best_epoch: int, last_epoch: int) -> None:
    """A solid line at the best epoch (its weights were restored) and a dotted one where training stopped."""
    figure.add_vline(
        x=best_epoch, line={"color": BEST_COLOR}, annotation_text=f"best epoch {best_epoch} (kept)", row=1, col="all"
    )
    if last_epoch != best_epoch:
        stop = {"color": THRESHOLD_COLOR, "dash": "dot"}
        figure.add_vline(x=last_epoch, line=stop, annotation_text=f"stopped at {last_epoch}", row=1, col="all")


# The home page's pictures are a PNG and Vega-Lite specs, not Plotly figures: it is the page
# every learner opens first, and without Plotly's library to load in the browser it is drawn and
# idle in about 0.6 s instead of 1 s here (bench/load_test.py's probe, no load).
LABEL_WIDTH = 100  # pixels of class names left of the sample mosaic, before ``zoom``


def sample_mosaic(images: np.ndarray, labels: np.ndarray, per_class: int = 12) -> np.ndarray:
    """The first ``per_class`` images of each class side by side, one row (30 px) per class,
    grey lines between them: (10 * 30, per_class * 30) uint8, drawn as the model sees them."""
    rows = []
    for label in range(len(CLASS_NAMES)):
        picked = images[np.flatnonzero(labels == label)[:per_class]]
        padded = np.zeros((per_class, 28, 28), dtype=np.uint8)
        padded[: len(picked)] = picked
        rows.append(np.concatenate([np.pad(image, 1, constant_values=GRID_LINE) for image in padded], axis=1))
    return np.concatenate(rows, axis=0)


def sample_grid(images: np.ndarray, labels: np.ndarray, per_class: int = 12, zoom: int = 2) -> bytes:
    """``sample_mosaic`` enlarged ``zoom`` times (pixel for pixel) with the class names on its
    left, as PNG bytes (~60 kB)."""
    mosaic = np.kron(sample_mosaic(images, labels, per_class), np.ones((zoom, zoom), dtype=np.uint8))
    canvas = Image.new("L", (LABEL_WIDTH * zoom + mosaic.shape[1], mosaic.shape[0]), 255)
    canvas.paste(Image.fromarray(mosaic, mode="L"), (LABEL_WIDTH * zoom, 0))
    draw, font = ImageDraw.Draw(canvas), ImageFont.load_default(size=12 * zoom)
    for label, name in enumerate(CLASS_NAMES):
        middle = (30 * label + 15) * zoom
        draw.text(((LABEL_WIDTH - 6) * zoom, middle), name, fill=40, font=font, anchor="rm")  # right, middle
    out = io.BytesIO()
    canvas.save(out, format="PNG", optimize=True)
    return out.getvalue()


def class_balance(train_labels: np.ndarray, test_labels: np.ndarray) -> dict[str, Any]:
    """Images per class in the training and test sets: a Vega-Lite spec of grouped bars."""
    sets = [(f"training ({len(train_labels):,})", train_labels), (f"test ({len(test_labels):,})", test_labels)]
    values = [
        {"class": name, "set": set_name, "images": int(count)}
        for set_name, labels in sets
        for name, count in zip(CLASS_NAMES, np.bincount(labels, minlength=len(CLASS_NAMES)), strict=True)
    ]
    names = [name for name, _ in sets]
    color: dict[str, Any] = {"field": "set", "type": "nominal", "title": None, "legend": {"orient": "bottom"}}
    color["scale"] = {"domain": names, "range": [TRAIN_COLOR, HELDOUT_COLOR]}
    return {
        "title": "Class balance",
        "data": {"values": values},
        "mark": "bar",
        "height": 440,  # with the title, the names and the legend (Streamlit fits the whole chart into it)
        "encoding": {
            "x": {"field": "class", "type": "nominal", "sort": list(CLASS_NAMES), "title": None},
            "xOffset": {"field": "set", "sort": names},
            "y": {"field": "images", "type": "quantitative", "title": "images"},
            "color": color,
        },
    }


LOG_LABELS = "datum.value >= 1e6 ? datum.value / 1e6 + 'M' : datum.value >= 1e3 ? datum.value / 1e3 + 'k' : datum.value"


def pixel_histogram(images: np.ndarray, bins: int = 64, divide_by: float = 1.0) -> dict[str, Any]:
    """How many pixels have each value, on a log scale: a Vega-Lite spec. ``divide_by=255`` shows
    the same counts on the normalised scale (0–1): one shape, another scale. Empty bins are left
    out (a log scale has no 0)."""
    counts, edges = np.histogram(np.asarray(images).ravel(), bins=bins, range=(0, 256))
    values = [
        {"low": float(low / divide_by), "high": float(high / divide_by), "pixels": int(count)}
        for low, high, count in zip(edges[:-1], edges[1:], counts, strict=True)
        if count
    ]
    title = "Raw pixel values (0–255)" if divide_by == 1 else f"Normalised, ÷{divide_by:g} (0–{255 / divide_by:g})"
    return {
        "title": title,
        "data": {"values": values},
        "mark": {"type": "bar", "color": TRAIN_COLOR},
        "height": 220,  # with the title and axes (Streamlit fits the whole chart into it)
        "encoding": {
            "x": {"field": "low", "type": "quantitative", "title": "value", "scale": {"domain": [0, 256 / divide_by]}},
            "x2": {"field": "high"},
            "y": {
                "field": "pixels",
                "type": "quantitative",
                "scale": {"type": "symlog"},  # logarithmic, and bars can start from 0
                "axis": {"values": [1, 1_000, 1_000_000], "labelExpr": LOG_LABELS},
                "title": "pixels (log)",
            },
            "y2": {"datum": 0},  # bars from 0 up (with x and x2 alone, Vega-Lite would lay them sideways)
        },
    }


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
    return _style(figure, title, height=560)


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


# Inside the network: weight pictures, one image's path through the layers, the last hidden layer's map.

CLASS_COLORS = (  # Tableau 10: one colour per class, the same in every "inside" chart
    *("#4E79A7", "#F28E2B", "#E15759", "#76B7B2", "#59A14F"),
    *("#EDC948", "#B07AA1", "#FF9DA7", "#9C755F", "#BAB0AC"),
)
ZERO_COLOR = "#B0BEC5"  # a neuron held at exactly 0 (relu's "off")
GAP_COLOR = "#C8C8C8"  # between weight pictures, unlike white = weight 0
TILE_GAP = 2  # pixels between pictures in a mosaic
TITLE_ROWS = 9  # pixels above each picture that hold its title


def neuron_grid(
    pictures: np.ndarray,
    limit: float,
    columns: int = 16,
    titles: Sequence[str] | None = None,
    neurons: Sequence[int] | None = None,
) -> go.Figure:
    """Weight pictures (n, 28, 28) as one mosaic: red pixels push the neuron up, blue down, white not at all.

    One heatmap (gaps are NaN) on one colour scale, ±``limit`` for every picture, so colours
    compare across neurons. ``neurons`` numbers the pictures in the hover (default 0 … n−1).
    """
    pictures = np.asarray(pictures, dtype=np.float32)
    columns = max(1, min(columns, len(pictures)))
    top = TITLE_ROWS if titles else TILE_GAP
    numbers = np.arange(len(pictures)) if neurons is None else np.asarray(neurons)
    owner = np.broadcast_to(numbers.astype(np.int16)[:, None, None], pictures.shape)  # 2 bytes a cell on the wire
    heatmap = go.Heatmap(
        z=_mosaic(pictures, columns, top, np.nan),
        customdata=_mosaic(owner, columns, top, -1),  # the neuron each cell belongs to; −1 in the gaps
        colorscale=DIFF_SCALE,
        reversescale=True,  # red positive, blue negative
        zmin=-limit,
        zmax=limit,
        hoverongaps=False,
        colorbar={"title": {"text": f"weight<br>±{limit:.2g},<br>all pictures"}},
        hovertemplate="neuron %{customdata}: w = %{z:.3f}<extra></extra>",
    )
    figure = go.Figure(heatmap, layout={"annotations": _tile_titles(titles or (), columns, top)})
    _image_axes(figure, GAP_COLOR)
    rows = -(-len(pictures) // columns)
    height = 110 + rows * (top + 28) * 800 / (columns * (28 + TILE_GAP))  # pictures ~800 px wide in all
    return _style(figure, f"Incoming weights of {len(pictures)} neurons", height=int(height))


def _tile_titles(titles: Sequence[str], columns: int, top: int) -> list[dict[str, Any]]:
    """Annotations centred above each tile, in its ``top`` band (one layout update: fast for 1,000)."""
    positions = (divmod(index, columns) for index in range(len(titles)))
    return [
        {"x": col * (28 + TILE_GAP) + 13.5, "y": row * (top + 28) + top - 0.5, "text": title}
        | {"showarrow": False, "yanchor": "bottom", "font": {"size": 10}}
        for title, (row, col) in zip(titles, positions, strict=True)
    ]


def _mosaic(tiles: np.ndarray, columns: int, top: int, fill: float) -> np.ndarray:
    """(n, h, w) tiles → one array, ``columns`` across, ``top`` rows of ``fill`` above each and TILE_GAP between."""
    n, h, w = tiles.shape
    rows = -(-n // columns)
    grid = np.full((rows * columns, top + h, w + TILE_GAP), fill, dtype=tiles.dtype)
    grid[:n, top:, :w] = tiles
    grid = grid.reshape(rows, columns, top + h, w + TILE_GAP).transpose(0, 2, 1, 3)
    return grid.reshape(rows * (top + h), columns * (w + TILE_GAP))[:, :-TILE_GAP]


def _image_axes(figure: go.Figure, background: str) -> None:
    """Pixel axes: row 0 at the top, square pixels, no ticks; ``background`` shows through NaN gaps."""
    hidden = {"showticklabels": False, "showgrid": False, "zeroline": False, "constrain": "domain"}
    figure.update_yaxes(autorange="reversed", scaleanchor="x", **hidden)
    figure.update_xaxes(**hidden)
    figure.update_layout(plot_bgcolor=background)


def neuron_class_bars(means_row: Sequence[float], title: str = "Mean activation per class") -> go.Figure:
    """One neuron's mean activation over each class's images, one bar per class in its class colour."""
    values = np.asarray(means_row, dtype=float)
    figure = go.Figure(
        go.Bar(
            x=list(CLASS_NAMES),
            y=values,
            marker_color=list(CLASS_COLORS),
            hovertemplate="%{x}: mean %{y:.3f}<extra></extra>",
        )
    )
    figure.update_yaxes(title_text="mean activation")
    figure.update_xaxes(tickangle=-35)
    return _style(figure, title, height=340)


def layer_path(path: Path) -> go.Figure:
    """One image through the network: the pixels, each hidden layer's neurons (grey: exactly 0), logits, softmax."""
    hidden = len(path.activations)
    specs = [[None, {"colspan": 2}, None] for _ in range(hidden)] + [[None, {}, {}]]
    specs[0][0] = {"rowspan": hidden + 1}  # the image down the left; hidden layers, then logits and softmax
    titles = ["Input", *_hidden_titles(path), "Logits (output z)", "Softmax"]
    figure = make_subplots(rows=hidden + 1, cols=3, specs=specs, subplot_titles=titles, column_widths=[0.3, 0.35, 0.35])
    image = path.inputs.reshape(28, 28)
    hover = "pixel [%{y}, %{x}] = %{z:.3f}<extra></extra>"
    heatmap = go.Heatmap(z=image, colorscale="gray", showscale=False, hovertemplate=hover)
    figure.add_trace(heatmap, row=1, col=1)
    for layer, (z, a) in enumerate(zip(path.pre_activations, path.activations, strict=True), start=1):
        figure.add_trace(_neuron_dots(z, a, f"hidden_{layer}"), row=layer, col=2)
    for col, values in ((2, path.logits), (3, path.probabilities)):
        colors = [HELDOUT_COLOR if i == path.predicted else ZERO_COLOR for i in range(len(values))]
        bars = go.Bar(x=list(CLASS_NAMES), y=values, marker_color=colors, showlegend=False)
        figure.add_trace(bars, row=hidden + 1, col=col)
    pixels = {"showticklabels": False, "showgrid": False, "zeroline": False, "row": 1, "col": 1}
    figure.update_yaxes(autorange="reversed", scaleanchor="x", **pixels)
    figure.update_xaxes(**pixels)
    figure.update_xaxes(tickangle=-45, row=hidden + 1)
    title = f"Through the network: predicted {CLASS_NAMES[path.predicted]} ({path.probabilities.max():.0%})"
    return _style(figure, title, height=240 + 170 * hidden)


def _hidden_titles(path: Path) -> list[str]:
    counts = [(int(np.count_nonzero(a == 0)), a.size) for a in path.activations]
    return [f"hidden_{i}: {zeros} of {size} at 0" for i, (zeros, size) in enumerate(counts, start=1)]


def _neuron_dots(z: np.ndarray, a: np.ndarray, name: str) -> go.Scatter:
    """A layer's activations as dots by neuron number; neurons held at exactly 0 are grey."""
    return go.Scatter(
        x=np.arange(len(a)),
        y=a,
        customdata=z,
        mode="markers",
        name=name,
        showlegend=False,
        marker={"color": np.where(a == 0, ZERO_COLOR, TRAIN_COLOR).tolist(), "size": 5},
        hovertemplate="neuron %{x}: a = %{y:.3f} (z = %{customdata:.3f})<extra></extra>",
    )


def hidden_map(
    coords: np.ndarray,
    labels: np.ndarray,
    predicted: np.ndarray,
    indices: np.ndarray | None = None,
    explained: Sequence[float] | None = None,
) -> go.Figure:
    """Test images placed by their hidden activations (e.g. PCA to 2-D), one colour per true class.

    ``customdata`` holds each point's test index (``indices``, default 0 … n−1), for selections.
    ``explained`` (the two components' variance ratios) labels the axes.
    """
    coords, labels, predicted = np.asarray(coords), np.asarray(labels), np.asarray(predicted)
    indices = np.arange(len(coords)) if indices is None else np.asarray(indices)
    figure = go.Figure()
    for label, name in enumerate(CLASS_NAMES):
        mine = np.flatnonzero(labels == label)
        figure.add_trace(
            go.Scattergl(
                x=coords[mine, 0],
                y=coords[mine, 1],
                mode="markers",
                name=name,
                customdata=indices[mine],
                text=[CLASS_NAMES[p] for p in predicted[mine]],
                marker={"color": CLASS_COLORS[label], "size": 4, "opacity": 0.7},
                hovertemplate=f"image %{{customdata}}<br>true {name}<br>predicted %{{text}}<extra></extra>",
            )
        )
    for axis, share in zip(("x", "y"), (None, None) if explained is None else explained, strict=True):
        suffix = "" if share is None else f" ({share:.0%} of the variance)"
        figure.update_layout({f"{axis}axis_title_text": f"component {1 if axis == 'x' else 2}{suffix}"})
    figure = _style(figure, "The hidden layer's view of the test images", height=560)
    return figure.update_layout(legend={"itemsizing": "constant"})  # legend dots readable, not 4 px


def weight_matrix(kernel: np.ndarray, limit: float | None = None, title: str = "Weights") -> go.Figure:
    """A deeper layer's kernel (inputs, units): previous layer's neurons down, this layer's across.

    Symmetric diverging colours, ±``limit`` (default the largest |w|): red positive, blue negative.
    """
    kernel = np.asarray(kernel, dtype=np.float32)
    limit = limit or max(float(np.abs(kernel).max(initial=0.0)), 1e-12)
    heatmap = go.Heatmap(
        z=kernel,
        colorscale=DIFF_SCALE,
        reversescale=True,
        zmin=-limit,
        zmax=limit,
        colorbar={"title": {"text": "weight"}},
        hovertemplate="from neuron %{y} to neuron %{x}: w = %{z:.3f}<extra></extra>",
    )
    figure = go.Figure(heatmap)
    figure.update_yaxes(autorange="reversed", title_text="neuron of the previous layer")
    figure.update_xaxes(title_text="neuron of this layer")
    return _style(figure, title, height=520)


def sweep_curves(rows: Sequence[dict[str, Any]], setting: str) -> go.Figure:
    """Held-out and test accuracy, and seconds per epoch, against the swept ``setting`` (a table column).

    A log x axis when the values are positive numbers (16 … 1024 units): the flattening curve is
    diminishing returns. Hovering a point shows its parameters.
    """
    done = sorted((r for r in rows if r.get("test accuracy") is not None), key=lambda r: r[setting])
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Accuracy", "Seconds per epoch"), horizontal_spacing=0.12)
    x = [r[setting] for r in done]
    hover = [f"{r['parameters']:,} parameters" for r in done]
    template = "%{x}: %{y:.4f}<br>%{text}<extra></extra>"
    for key, color in (("held-out accuracy", HELDOUT_COLOR), ("test accuracy", TRAIN_COLOR)):
        y = [r.get(key) for r in done]
        if any(v is not None for v in y):
            line = {"color": color}
            figure.add_scatter(x=x, y=y, name=key, mode="lines+markers", line=line, text=hover, hovertemplate=template)
    timing = "CPU s / epoch" if any(r.get("CPU s / epoch") is not None for r in done) else "s / epoch"  # own work
    seconds = [r.get(timing) for r in done]
    figure.add_scatter(
        x=x, y=seconds, name=timing, mode="lines+markers", line={"color": BEST_COLOR}, text=hover, row=1, col=2
    )
    numeric = bool(x) and all(isinstance(v, int | float) and not isinstance(v, bool) and v > 0 for v in x)
    ticks = {"tickvals": x, "ticktext": [str(v) for v in x]} if numeric else {}  # the swept values, not 2 5 100
    figure.update_xaxes(title_text=setting, type="log" if numeric else "category", **ticks)
    figure.update_yaxes(tickformat=".1%", row=1, col=1)
    figure.update_yaxes(title_text="seconds", rangemode="tozero", row=1, col=2)
    return _style(figure, f"Diminishing returns: accuracy and time against {setting.lower()}", height=420)


def sweep_heatmap(
    rows: Sequence[dict[str, Any]],
    across: str,
    down: str,
    grid: tuple[Sequence[Any], Sequence[Any]] | None = None,
    metric: str = "test accuracy",
) -> go.Figure:
    """A two-setting sweep as a grid, like TensorBoard's HParams view: ``metric`` in every cell.

    ``grid`` gives the columns' and lines' values (the whole sweep, so runs still to come show as
    empty cells); without it, the values the rows hold.
    """
    xs, ys = grid or (list(dict.fromkeys(r[across] for r in rows)), list(dict.fromkeys(r[down] for r in rows)))
    cell = {(r[across], r[down]): r.get(metric) for r in rows}
    z = [[cell.get((x, y)) for x in xs] for y in ys]  # None: still training
    text = [["…" if v is None else f"{v:.2%}" for v in line] for line in z]
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=[str(x) for x in xs],
            y=[str(y) for y in ys],
            text=text,
            texttemplate="%{text}",
            colorscale=HEATMAP_SCALE,
            hovertemplate=f"{across} %{{x}} · {down} %{{y}}: %{{text}}<extra></extra>",
        )
    )
    figure.update_xaxes(title_text=across, type="category")
    figure.update_yaxes(title_text=down, type="category")
    return _style(figure, f"{metric.capitalize()}: {across.lower()} × {down.lower()}", height=460)


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

"""Inside the network: weight pictures, one image's path through the layers, the last hidden layer's map."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from fmnist_lab.charts.style import DIFF_SCALE, HELDOUT_COLOR, MARGIN, TRAIN_COLOR, styled
from fmnist_lab.config import CLASS_NAMES

if TYPE_CHECKING:
    from fmnist_lab.analysis.inside import Path

CLASS_COLORS = (  # Tableau 10: one colour per class, the same in every "inside" chart
    *("#4E79A7", "#F28E2B", "#E15759", "#76B7B2", "#59A14F"),
    *("#EDC948", "#B07AA1", "#FF9DA7", "#9C755F", "#BAB0AC"),
)
ZERO_COLOR = "#B0BEC5"  # a neuron held at exactly 0 (relu's "off")
GAP_COLOR = "#C8C8C8"  # between weight pictures, unlike white = weight 0
TILE_GAP = 2  # pixels between pictures in a mosaic
TITLE_ROWS = 9  # pixels above each picture that hold its title
GRID_COLUMNS = 8  # pictures per row: each about 80 screen pixels wide on a 1280-pixel screen
GRID_WIDTH = 720  # screen pixels the mosaic is laid out for (a 1280-pixel screen's main column, less the colour bar)
TITLE_FONT = 12  # the numbers above the pictures; the title band is 9 × ~3 = 27 screen pixels tall


def neuron_grid(
    pictures: np.ndarray,
    limit: float,
    columns: int = GRID_COLUMNS,
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
    scale = GRID_WIDTH / (columns * (28 + TILE_GAP))  # screen pixels per weight pixel
    height = MARGIN["t"] + MARGIN["b"] + rows * (top + 28) * scale
    return styled(figure, f"Incoming weights of {len(pictures)} neurons", height=int(height))


def _tile_titles(titles: Sequence[str], columns: int, top: int) -> list[dict[str, Any]]:
    """Annotations centred above each tile, in its ``top`` band (one layout update: fast for 1,000)."""
    positions = (divmod(index, columns) for index in range(len(titles)))
    return [
        {"x": col * (28 + TILE_GAP) + 13.5, "y": row * (top + 28) + top - 0.5, "text": title}
        | {"showarrow": False, "yanchor": "bottom", "font": {"size": TITLE_FONT}}
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
    return styled(figure, title, height=340)


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
    return styled(figure, title, height=240 + 170 * hidden)


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
    figure = styled(figure, "The hidden layer's view of the test images", height=560)
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
    return styled(figure, title, height=520)

"""Charts of one prediction's explanation: templates, pixel contributions, saliency, IG, occlusion, relu's zeros.

Pure functions, data in, figures (or PNG pixels) out. Red pushes a class's logit up, blue pulls it down, white is
0; every map of one kind shares one symmetric colour range, so the same red means the same amount everywhere.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from PIL import Image
from plotly.subplots import make_subplots

from fmnist_lab.config import CLASS_NAMES

FONT = {"family": "sans-serif", "size": 13}
SCALE = "RdBu_r"  # blue negative, white 0, red positive
RED, BLUE = np.array([178, 24, 43]), np.array([33, 102, 172])  # RdBu's ends, for PNG pictures
LIMIT_PERCENTILE = 99.5  # colour range: this percentile of |value|, so one outlier washes nothing out
PNG_ZOOM = 8  # each pixel of a 28×28 map drawn PNG_ZOOM × PNG_ZOOM
BAR_COLOR, DEAD_COLOR = "#4C78A8", "#B0BEC5"


def limit_of(*maps: np.ndarray, percentile: float = LIMIT_PERCENTILE) -> float:
    """One symmetric colour range ±limit for ``maps``: a high percentile of |value| (1.0 if all are 0)."""
    values = np.abs(np.concatenate([np.ravel(m) for m in maps])) if maps else np.zeros(1)
    limit = float(np.percentile(values, percentile))
    return limit if limit > 0 else 1.0


def diverging_rgb(values: np.ndarray, limit: float | None = None, zoom: int = PNG_ZOOM) -> np.ndarray:
    """A map (h, w) as an RGB picture (h·zoom, w·zoom, 3) uint8: blue below 0, white at 0, red above."""
    values = np.asarray(values, dtype=np.float64)
    t = np.clip(values / (limit or limit_of(values)), -1.0, 1.0)[..., None]  # (h, w, 1) in [-1, 1]
    white = np.full(3, 255.0)
    rgb = np.where(t >= 0, white + t * (RED - white), white - t * (BLUE - white))
    return np.kron(np.round(rgb).astype(np.uint8), np.ones((zoom, zoom, 1), dtype=np.uint8))


def enlarge(image: np.ndarray, zoom: int = PNG_ZOOM) -> np.ndarray:
    """A gray picture (h, w) uint8, each pixel a crisp ``zoom`` × ``zoom`` square."""
    return np.kron(np.asarray(image, dtype=np.uint8), np.ones((zoom, zoom), dtype=np.uint8))


def png(rgb: np.ndarray) -> bytes:
    """An RGB (or gray) uint8 array as PNG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(rgb, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def map_grid(
    maps: Sequence[np.ndarray], titles: Sequence[str], limit: float | None = None, height: int = 300
) -> go.Figure:
    """Maps (28, 28) side by side, one shared colour range (``limit``, else from all of them), hover shows values."""
    limit = limit or limit_of(*maps)
    figure = make_subplots(rows=1, cols=len(maps), subplot_titles=list(titles), horizontal_spacing=0.03)
    for column, values in enumerate(maps, start=1):
        figure.add_trace(
            go.Heatmap(
                z=np.asarray(values),
                zmin=-limit,
                zmax=limit,
                colorscale=SCALE,
                showscale=column == len(maps),
                hovertemplate="row %{y}, column %{x}: %{z:.4f}<extra></extra>",
            ),
            row=1,
            col=column,
        )
    figure.update_yaxes(autorange="reversed", scaleanchor="x", showticklabels=False)
    figure.update_xaxes(showticklabels=False, constrain="domain")
    figure.update_layout(font=FONT, height=height, margin={"l": 10, "r": 10, "t": 60, "b": 10})
    return figure


def logit_sum(contributions: np.ndarray, bias_terms: np.ndarray, classes: Sequence[int]) -> go.Figure:
    """For each of ``classes``, stacked bars: pixel contributions + bias terms, a diamond at the logit they add to,
    and the sum written under the class's name."""
    names = [CLASS_NAMES[c] for c in classes]
    pixels, biases = [float(contributions[c]) for c in classes], [float(bias_terms[c]) for c in classes]
    logits = [p + b for p, b in zip(pixels, biases, strict=True)]
    figure = go.Figure(
        [
            go.Bar(name="pixels (Σ template × image)", x=names, y=pixels, marker_color=BAR_COLOR),
            go.Bar(name="biases", x=names, y=biases, marker_color=DEAD_COLOR),
            go.Scatter(
                name="logit",
                x=names,
                y=logits,
                mode="markers",
                marker={"symbol": "diamond", "size": 12, "color": "black"},
            ),
        ]
    )
    sums = [f"{n}<br>{p:+.2f} {b:+.2f} = {z:.2f}" for n, p, b, z in zip(names, pixels, biases, logits, strict=True)]
    figure.update_xaxes(tickvals=names, ticktext=sums)
    figure.update_layout(barmode="relative", font=FONT, height=340, title="Each logit = pixels + biases")
    return figure


def firing_per_class(per_class: Sequence[np.ndarray], layer_names: Sequence[str]) -> go.Figure:
    """Share of each layer's neurons that fire (relu output > 0), averaged over each true class's images."""
    figure = go.Figure(
        [
            go.Bar(name=name, x=list(CLASS_NAMES), y=list(shares))
            for name, shares in zip(layer_names, per_class, strict=True)
        ]
    )
    figure.update_layout(font=FONT, height=340, title="Neurons that fire, per true class", yaxis_tickformat=".0%")
    figure.update_yaxes(range=[0, 1])
    return figure


def zeroed_neurons(z: np.ndarray, title: str) -> go.Figure:
    """One layer's pre-activations z for one image, bars: grey where relu zeroes them (z ≤ 0)."""
    z = np.asarray(z)
    colors = np.where(z > 0, BAR_COLOR, DEAD_COLOR).tolist()
    figure = go.Figure(go.Bar(x=np.arange(len(z)), y=z, marker_color=colors, hovertemplate="neuron %{x}: z=%{y:.3f}"))
    figure.update_layout(font=FONT, height=260, title=title, xaxis_title="neuron", yaxis_title="z = x·w + b")
    return figure

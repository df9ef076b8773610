"""The home page's pictures: a sample mosaic (PIL, PNG bytes) and Vega-Lite specs of the class balance and the
pixel histogram (Plotly-free, so the home page opens fast)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from fmnist_lab.charts.style import HELDOUT_COLOR, TRAIN_COLOR
from fmnist_lab.config import CLASS_NAMES

GRID_LINE = 70  # grey between images in a mosaic


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

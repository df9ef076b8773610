"""A sweep's results: accuracy and time against one setting (log axis), or a heatmap for a two-setting cross."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from fmnist_lab.analysis.spread import BAND
from fmnist_lab.charts.style import BEST_COLOR, HEATMAP_SCALE, HELDOUT_COLOR, TRAIN_COLOR, styled


def sweep_curves(rows: Sequence[dict[str, Any]], setting: str) -> go.Figure:
    """Held-out and test accuracy, and seconds per epoch, against the swept ``setting`` (a table column).

    A log x axis when the values are positive numbers (16 … 1024 units): the flattening curve is
    diminishing returns. Hovering a point shows its parameters. Rows of ``analysis.sweep.point_rows``
    (a point's mean over seeds, with ``<key> sd``) add a shaded ±1 sd band around each mean curve.
    """
    done = sorted((r for r in rows if r.get("test accuracy") is not None), key=lambda r: r[setting])
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Accuracy", "Seconds per epoch"), horizontal_spacing=0.12)
    x = [r[setting] for r in done]
    hover = [f"{r['parameters']:,} parameters" for r in done]
    template = "%{x}: %{y:.4f}<br>%{text}<extra></extra>"
    banded = False
    for key, color in (("held-out accuracy", HELDOUT_COLOR), ("test accuracy", TRAIN_COLOR)):
        y = [r.get(key) for r in done]
        if any(v is not None for v in y):
            banded |= _band(figure, x, y, [r.get(f"{key} sd") for r in done], key, color)
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
    spread = f" (mean over seeds, shaded {BAND})" if banded else ""
    return styled(figure, f"Diminishing returns: accuracy and time against {setting.lower()}{spread}", height=420)


def _band(figure: go.Figure, x: list[Any], mean: list[Any], sd: list[Any], key: str, color: str) -> bool:
    """A shaded mean ± sd polygon where points have an sd (several seeds); whether one was drawn."""
    kept = [(xi, m, d) for xi, m, d in zip(x, mean, sd, strict=True) if m is not None and d is not None]
    if not kept:
        return False
    xs = [p[0] for p in kept]
    high, low = [m + d for _, m, d in kept], [m - d for _, m, d in kept]
    figure.add_scatter(
        x=xs + xs[::-1],
        y=high + low[::-1],
        fill="toself",
        fillcolor=color,
        opacity=0.2,
        line={"width": 0},
        name=f"{key} {BAND}",
        hoverinfo="skip",
    )
    return True


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
    return styled(figure, f"{metric.capitalize()}: {across.lower()} × {down.lower()}", height=460)

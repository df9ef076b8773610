"""Training curves: loss and accuracy per epoch, training dashed and held-out solid, live or finished."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from fmnist_lab.charts.style import BEST_COLOR, CURVE_COLOR, THRESHOLD_COLOR, TRAIN_DASH, styled


def training_curves(
    history: Sequence[dict[str, Any]],
    progress: dict[str, Any] | None = None,
    stop_loss: float | None = None,
    epochs: int | None = None,
    best_epoch: int | None = None,
) -> go.Figure:
    """Loss and accuracy against epoch, training dashed and held-out solid.

    While the run trains (``progress`` given, even empty) the x axis spans the configured ``epochs``;
    once it has ended, the epochs it ran plus a little room, so a run stopped at 2 of 30 fills the width.
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
    figure.update_xaxes(title_text="epoch", range=[0, x_end(x, epochs if progress is not None else None)])
    figure.update_yaxes(rangemode="tozero", row=1, col=1)
    return styled(figure, "Training curves: training dashed, held-out solid", height=400)


def x_end(x: Sequence[float], epochs: int | None) -> float:
    """The x axis's right end: the last point (or ``epochs``, if more) plus room of 5 %, at least 0.2 epoch."""
    last = max([epochs or 1, *x, 1])
    return last + max(0.2, 0.05 * last)


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

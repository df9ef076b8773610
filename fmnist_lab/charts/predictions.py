"""One image's softmax outputs as bars."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from fmnist_lab.charts.style import HELDOUT_COLOR, styled
from fmnist_lab.config import CLASS_NAMES


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
    return styled(figure, title, height=380)

"""Softmax bars: the argmax coloured, the true class outlined."""

from __future__ import annotations

import numpy as np
import pytest

from fmnist_lab.charts.predictions import softmax_bars
from fmnist_lab.charts.style import HELDOUT_COLOR


def test_softmax_bars_mark_argmax_and_true_class() -> None:
    probabilities = np.full(10, 0.02)
    probabilities[6], probabilities[0] = 0.62, 0.22
    figure = softmax_bars(probabilities, true_label=0)
    bar = figure.data[0]
    assert sum(bar.y) == pytest.approx(1.0)
    assert bar.marker.color[6] == HELDOUT_COLOR and bar.marker.color[0] != HELDOUT_COLOR
    assert bar.marker.line.width[0] == 3 and bar.marker.line.width[6] == 0
    assert figure.layout.title.text == "Softmax output: argmax Shirt, true T-shirt/top"

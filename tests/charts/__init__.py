"""Tests of ``fmnist_lab.charts``, one module per chart module; shared here: a short history and a trace by name."""

from __future__ import annotations

HISTORY = [
    {"epoch": 1, "fraction": 1.0, "loss": 0.50, "accuracy": 0.82, "val_loss": 0.44, "val_accuracy": 0.85},
    {"epoch": 2, "fraction": 1.0, "loss": 0.37, "accuracy": 0.86, "val_loss": 0.39, "val_accuracy": 0.85},
    {"epoch": 3, "fraction": 1.0, "loss": 0.24, "accuracy": 0.88, "val_loss": 0.36, "val_accuracy": 0.87},
]


def trace(figure, name: str):  # noqa: ANN001, ANN201
    return next(t for t in figure.data if t.name == name)

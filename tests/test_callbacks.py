"""Overfitting tools on crafted cases: the accuracy goal, and the weight penalties' exact loss term."""

from __future__ import annotations

import numpy as np
import pytest

from fmnist_lab import TrainConfig
from fmnist_lab.callbacks import StopAtAccuracy
from fmnist_lab.model import build_model


class FakeModel:
    stop_training = False


def goal(threshold: float) -> StopAtAccuracy:
    callback = StopAtAccuracy(threshold)
    callback.set_model(FakeModel())  # type: ignore[arg-type]
    return callback


@pytest.mark.parametrize(
    ("logs", "stops"),
    [({"accuracy": 0.94}, False), ({"accuracy": 0.95}, True), ({"accuracy": 0.97}, True), ({}, False), (None, False)],
)
def test_accuracy_goal_on_crafted_logs(logs: dict | None, stops: bool) -> None:
    callback = goal(0.95)
    callback.on_epoch_end(2, logs)
    assert callback.model.stop_training is stops
    assert callback.stopped_epoch == (3 if stops else None)
    if stops:
        assert callback.reason == f"accuracy {logs['accuracy']:.3f} ≥ 0.95 at epoch 3"  # type: ignore[index]


def test_accuracy_goal_stops_at_the_first_epoch_at_or_above_it() -> None:
    callback = goal(0.9)
    for epoch, accuracy in enumerate([0.7, 0.85, float("nan"), 0.9, 0.95]):
        callback.on_epoch_end(epoch, {"accuracy": accuracy})
        if callback.model.stop_training:
            break
    assert callback.stopped_epoch == 4 and callback.reason == "accuracy 0.900 ≥ 0.9 at epoch 4"


def numpy_penalty(weights: list[np.ndarray], l1: float, l2: float) -> float:
    """l1·Σ|w| + l2·Σw² over the kernels (every other array, starting with the first), in float64."""
    kernels = [w.astype(np.float64) for w in weights[0::2]]
    return sum(l1 * np.abs(k).sum() + l2 * np.square(k).sum() for k in kernels)


@pytest.mark.parametrize(("l1", "l2"), [(0.0, 0.01), (0.001, 0.0), (0.0005, 0.002)])
def test_a_penalty_adds_exactly_its_term_to_the_loss(l1: float, l2: float) -> None:
    plain = build_model(TrainConfig(hidden_units=(16, 8)), fast=False)
    penalised = build_model(TrainConfig(hidden_units=(16, 8), l1=l1, l2=l2), fast=False)
    rng = np.random.default_rng(1)
    weights = [rng.normal(scale=0.2, size=w.shape).astype(np.float32) for w in plain.get_weights()]  # biases too
    plain.set_weights(weights)
    penalised.set_weights(weights)
    x = rng.random((64, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, size=64)
    loss = lambda model: model.evaluate(x, y, batch_size=64, verbose=0, return_dict=True)["loss"]  # noqa: E731
    expected = numpy_penalty(weights, l1, l2)
    assert expected > 0.05  # large enough that float32 rounding cannot fake the match
    assert loss(penalised) - loss(plain) == pytest.approx(expected, rel=1e-5)

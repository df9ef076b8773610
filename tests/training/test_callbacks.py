"""Overfitting tools on crafted cases: the accuracy goal, and the weight penalties' exact loss term."""

from __future__ import annotations

import numpy as np
import pytest

from fmnist_lab import TrainConfig
from fmnist_lab.training.callbacks import ProgressRecorder, RunningWindow, StopAtAccuracy
from fmnist_lab.training.model import build_model


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


def keras_means(values: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """What Keras logs after each batch of one epoch: the sample-weighted mean so far."""
    return np.cumsum(values * sizes) / np.cumsum(sizes)


def test_the_running_window_is_the_last_epochs_worth_of_samples() -> None:
    """Three epochs of 100 samples in batches of 32 (the last has 4): the window after each batch
    is the shortest run of latest batches holding at least 100 samples, as a NumPy mean."""
    rng = np.random.default_rng(3)
    sizes = np.array([32, 32, 32, 4])
    losses, accuracies = rng.uniform(0.2, 2.0, (3, 4)), rng.uniform(0, 1, (3, 4))
    window = RunningWindow(samples=100, batch_size=32)
    flat_sizes, flat_losses, got = np.tile(sizes, 3), losses.ravel(), []
    for epoch in range(3):
        window.new_epoch()
        means = zip(keras_means(losses[epoch], sizes), keras_means(accuracies[epoch], sizes), strict=True)
        got += [window.add(batch, loss, accuracy)[0] for batch, (loss, accuracy) in enumerate(means)]
    for end in range(12):
        start = end
        while start > 0 and flat_sizes[start : end + 1].sum() < 100:
            start -= 1
        expected = np.average(flat_losses[start : end + 1], weights=flat_sizes[start : end + 1])
        assert got[end] == pytest.approx(expected)
    for epoch in range(3):  # an epoch's end meets the score Keras reports for it
        assert got[4 * epoch + 3] == pytest.approx(keras_means(losses[epoch], sizes)[-1])


def test_the_running_line_does_not_jump_at_an_epoch_edge() -> None:
    """A loss falling from 1.0 to 0.5 over each epoch: Keras' own mean restarts high at the edge,
    the window moves by one batch's share only."""
    steps, batch = 10, 10
    trail = []
    recorder = ProgressRecorder(
        steps, 2, on_progress=lambda p: trail.append(p["trail"]), interval=0, samples=100, batch_size=batch
    )
    recorder.on_train_begin()
    batch_losses = np.linspace(1.0, 0.5, 2 * steps)
    for epoch in range(2):
        recorder.on_epoch_begin(epoch)
        means = keras_means(batch_losses[epoch * steps : (epoch + 1) * steps], np.full(steps, batch))
        for k, mean in enumerate(means):
            recorder.on_train_batch_end(k, {"loss": mean, "accuracy": 0.5})
        recorder.on_epoch_end(epoch, {"loss": means[-1], "accuracy": 0.5})
    edge = [point for point in trail[-1] if point[0] > 1][0]  # the first point of the second epoch
    epoch_one = batch_losses[:steps].mean()
    assert edge[1] == pytest.approx(epoch_one + (batch_losses[steps] - batch_losses[0]) / steps)
    assert abs(edge[1] - epoch_one) < 0.03 < abs(batch_losses[steps] - epoch_one)  # Keras' own mean restarts 0.14 away
    assert trail[-1][-1][1] == pytest.approx(batch_losses[steps:].mean())


def test_each_epoch_records_its_own_cpu_time_beside_the_wall_clock() -> None:
    """A loaded machine: each epoch takes 10 s of wall clock but only 2 s of this process's CPU time."""
    now = {"wall": 0.0, "cpu": 0.0}
    recorder = ProgressRecorder(4, 2, interval=1e9, clock=lambda: now["wall"], cpu_clock=lambda: now["cpu"])
    recorder.on_train_begin()
    for epoch in range(2):
        recorder.on_epoch_begin(epoch)
        now["wall"] += 10.0
        now["cpu"] += 2.0
        recorder.on_epoch_end(epoch, {"loss": 1.0, "accuracy": 0.5})
    assert [(r["seconds"], r["cpu_seconds"]) for r in recorder.history] == [(10.0, 2.0), (10.0, 2.0)]

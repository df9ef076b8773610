"""The NumPy forward pass against Keras' own, on the lab's models with random weights."""

from __future__ import annotations

import numpy as np
import pytest

from fmnist_lab import TrainConfig
from fmnist_lab.analysis import forward
from fmnist_lab.config import ACTIVATIONS
from fmnist_lab.training.model import build_model


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("hidden_units", [(16,), (24, 12)])
def test_predict_matches_keras(activation: str, hidden_units: tuple[int, ...]) -> None:
    model = build_model(TrainConfig(hidden_units=hidden_units, activation=activation), fast=False)
    rng = np.random.default_rng(0)
    weights = [rng.normal(scale=0.3, size=w.shape).astype(np.float32) for w in model.get_weights()]
    model.set_weights(weights)  # non-zero biases too, unlike a fresh model
    images = rng.random((50, 28, 28), dtype=np.float32)
    expected = model.predict(images, verbose=0)
    np.testing.assert_allclose(forward.predict(weights, activation, images), expected, atol=1e-5)


def test_predict_needs_kernel_and_bias_pairs() -> None:
    with pytest.raises(ValueError, match="kernel and bias pairs, got 3"):
        forward.predict([np.zeros((784, 2)), np.zeros(2), np.zeros((2, 10))], "relu", np.zeros((1, 28, 28)))

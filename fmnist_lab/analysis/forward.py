"""The trained network's forward pass in NumPy, so the app server never imports TensorFlow.

A run stores its Dense layers' weights (``weights.npz``: kernel, bias, kernel, bias …,
as ``model.get_weights()`` lists them). Scoring one uploaded picture is then a few
matrix products: no 3 s TensorFlow import, no 500 MB in the server, and no Keras in
``sys.modules`` (Streamlit calls ``keras.backend.clear_session()`` after every script run
of every session once Keras is loaded: ~0.6 s each).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from fmnist_lab.analysis import metrics

ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {  # the hidden layers' choices in TrainConfig
    "relu": lambda z: np.maximum(z, 0.0),
    "sigmoid": lambda z: 0.5 * (1.0 + np.tanh(0.5 * z)),  # = 1 / (1 + exp(-z)), without overflow
    "tanh": np.tanh,
}


def predict(weights: Sequence[np.ndarray], activation: str, images: np.ndarray) -> np.ndarray:
    """Softmax outputs (n, classes) for ``images`` (n, 28, 28), already scaled as in training."""
    return layers(weights, activation, images)[-1][1]


def layers(weights: Sequence[np.ndarray], activation: str, images: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every Dense layer's (pre-activation ``x @ kernel + bias``, output) for ``images`` (n, 28, 28).

    Hidden layers first, each (n, units) float32; the last pair is (logits, softmax), (n, classes).
    """
    if len(weights) < 2 or len(weights) % 2:
        raise ValueError(f"expected kernel and bias pairs, got {len(weights)} arrays")
    x = np.asarray(images, dtype=np.float32).reshape(len(images), -1)  # Flatten: (n, 784)
    pairs = list(zip(weights[0::2], weights[1::2], strict=True))
    outputs = []
    for index, (kernel, bias) in enumerate(pairs, start=1):
        z = x @ kernel + bias
        x = metrics.softmax(z) if index == len(pairs) else ACTIVATIONS[activation](z)
        outputs.append((z, x))
    return outputs

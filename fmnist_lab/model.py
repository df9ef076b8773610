"""The course model: Flatten(28×28) → Dense(N, activation) … → Dense(10, softmax).

Dropout follows each hidden layer when set; L1/L2 penalties, when set, apply to every Dense kernel
(hidden and output layers alike), never to biases.

Imports Keras (and so TensorFlow, ~3 s) when first called, never at import time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .config import NUM_CLASSES, TrainConfig

if TYPE_CHECKING:
    import keras

STEPS_PER_EXECUTION = 100  # batches per compiled call: same numerics, far less Python overhead


def build_model(config: TrainConfig, *, fast: bool = True) -> keras.Model:
    """A compiled model for ``config``; ``fast`` adds XLA and multi-step execution."""
    import keras

    penalty = penalty_of(config)
    layers = [keras.Input(shape=(28, 28), name="image"), keras.layers.Flatten(name="flatten")]
    for index, units in enumerate(config.hidden_units, start=1):
        layers.append(
            keras.layers.Dense(units, activation=config.activation, kernel_regularizer=penalty, name=f"hidden_{index}")
        )
        if config.dropout:  # zeroes a share of this layer's outputs while training; a no-op at inference
            layers.append(keras.layers.Dropout(config.dropout, seed=config.seed + index, name=f"dropout_{index}"))
    layers.append(keras.layers.Dense(NUM_CLASSES, activation="softmax", kernel_regularizer=penalty, name="softmax"))
    model = keras.Sequential(layers, name="fmnist_" + "_".join(map(str, config.hidden_units)))
    model.compile(
        optimizer=make_optimizer(config),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=STEPS_PER_EXECUTION if fast else 1,
        jit_compile=fast,
    )
    return model


def penalty_of(config: TrainConfig) -> keras.regularizers.Regularizer | None:
    """L1 and L2 weight penalties on every Dense kernel (not the biases); None when both are 0."""
    import keras

    if not (config.l1 or config.l2):
        return None  # the plain course model, unchanged
    return keras.regularizers.L1L2(l1=config.l1, l2=config.l2)


def make_optimizer(config: TrainConfig) -> keras.optimizers.Optimizer:
    import keras

    optimizers = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD, "rmsprop": keras.optimizers.RMSprop}
    return optimizers[config.optimizer](learning_rate=config.effective_learning_rate)

"""The course model: Flatten(28×28) → Dense(N, activation) … → Dense(10, softmax).

Dropout follows each hidden layer when set; L1/L2 penalties, when set, apply to every Dense kernel
(hidden and output layers alike), never to biases.

``ModelCache`` lets a long-lived worker skip the second or so TensorFlow spends tracing and XLA
compiling each new model's training step: a later run of the same shape trains the compiled model
it kept, with every variable set to what a newly built model would hold.

Imports Keras (and so TensorFlow, ~3 s) when first called, never at import time.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from fmnist_lab.config import NUM_CLASSES, TrainConfig

T = TypeVar("T")  # what ModelCache.loop keeps

if TYPE_CHECKING:
    import keras

STEPS_PER_EXECUTION = 100  # batches per compiled call: same numerics, far less Python overhead


def build_model(config: TrainConfig, *, fast: bool = True) -> keras.Model:
    """A compiled model for ``config``; ``fast`` adds XLA and multi-step execution."""
    model = make_model(config)
    compile_model(model, make_optimizer(config), fast)
    return model


def make_model(config: TrainConfig) -> keras.Model:
    """The layers of ``config``'s model, their weights drawn from the current seed; not compiled."""
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
    return keras.Sequential(layers, name="fmnist_" + "_".join(map(str, config.hidden_units)))


def compile_model(model: keras.Model, optimizer: keras.optimizers.Optimizer, fast: bool) -> None:
    """The course's loss and metric; ``fast`` adds XLA and multi-step execution."""
    model.compile(
        optimizer=optimizer,
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=STEPS_PER_EXECUTION if fast else 1,
        jit_compile=fast,
    )


def penalty_of(config: TrainConfig) -> keras.regularizers.Regularizer | None:
    """L1 and L2 weight penalties on every Dense kernel (not the biases); None when both are 0."""
    import keras

    if not (config.l1 or config.l2):
        return None  # the plain course model, unchanged
    return keras.regularizers.L1L2(l1=config.l1, l2=config.l2)


def make_optimizer(config: TrainConfig) -> keras.optimizers.Optimizer:
    import keras

    rate = config.effective_learning_rate
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=rate, momentum=config.momentum)
    optimizers = {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop}
    return optimizers[config.optimizer](learning_rate=rate)


class ModelCache:
    """Compiled models kept by shape, handed out again with the state a newly built one would have.

    Keras traces and XLA-compiles a model's training step on its first batch (about a second
    here, most of a warm worker's wait for its first point) and again for every new model
    object, even of the same shape. ``model`` builds the new model's layers as ``build_model``
    would (drawing the same initial weights from the seed), and when a compiled model of that
    shape is kept, copies into it every variable of the new one (weights and Dropout's seed
    state) and of a new optimizer (step 0, the run's learning rate, zero moments), then trains
    that one: the same numbers as a new model, without the compile. The shape is the model's
    Keras config without seeds, the optimizer's without its learning rate and name, and ``fast``.

    A model handed out belongs to its run until the next ``model`` call: one run at a time.
    """

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self._models: OrderedDict[str, keras.Model] = OrderedDict()
        self.reused = 0  # models (and loops) handed out again (for tests and tools)
        # the compiled training loops of the vectorised engine, by shape (``replicas.kept_loop``)
        self.loops: OrderedDict[str, Any] = OrderedDict()

    def model(self, config: TrainConfig, *, fast: bool = True) -> keras.Model:
        fresh, optimizer = make_model(config), make_optimizer(config)
        key = shape_key(fresh, optimizer, fast)
        kept = self._models.get(key)
        if kept is None or not kept.optimizer.built:  # new shape, or compiled but never trained
            compile_model(fresh, optimizer, fast)
            self._keep(self._models, key, fresh)
            return fresh
        optimizer.build(fresh.trainable_variables)  # step 0, the learning rate, zero moments
        pairs = [*zip(kept.variables, fresh.variables, strict=True)]
        pairs += zip(kept.optimizer.variables, optimizer.variables, strict=True)
        for target, source in pairs:
            target.assign(source)
        self._models.move_to_end(key)
        self.reused += 1
        return kept

    def loop(self, key: str, new: Callable[[], T], reset: Callable[[T], None]) -> T:
        """The compiled loop kept under ``key``, ``reset`` for its next run; else ``new()``, kept."""
        kept = self.loops.get(key)
        if kept is None:
            fresh = new()
            self._keep(self.loops, key, fresh)
            return fresh
        reset(kept)
        self.loops.move_to_end(key)
        self.reused += 1
        return kept

    def _keep(self, kept: OrderedDict[str, Any], key: str, value: Any) -> None:
        """Keep ``value`` as the newest under ``key``, letting the oldest go beyond ``size``."""
        kept[key] = value
        kept.move_to_end(key)
        while len(kept) > self.size:
            kept.popitem(last=False)


def optimizer_constants(optimizer: keras.optimizers.Optimizer) -> dict[str, Any]:
    """What of an optimizer decides its compiled update: its config without learning rate and name (adam_2…)."""
    return {k: v for k, v in optimizer.get_config().items() if k not in ("learning_rate", "name")}


def shape_key(model: keras.Model, optimizer: keras.optimizers.Optimizer, fast: bool) -> str:
    """What decides a compiled training step: the layers, the optimizer's constants, ``fast``."""
    settings = optimizer_constants(optimizer)
    return json.dumps([_without_seeds(model.get_config()), type(optimizer).__name__, settings, fast], default=str)


def _without_seeds(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_seeds(v) for k, v in value.items() if k != "seed"}
    if isinstance(value, list | tuple):
        return [_without_seeds(v) for v in value]
    return value

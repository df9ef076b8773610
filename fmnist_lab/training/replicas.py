"""Vectorised replicas: K seeds of one plain setup trained as one stacked computation, saved as K runs.

Each layer holds K weight sets, kernels (K, in, out) and biases (K, out), and one batched matmul
trains the K replicas' batches (K, B, 784) at once. At batch 32 a single run's matrices are too
small to keep two cores busy, so K replicas cost far less than K runs. Each replica is its own
single run: initial weights drawn as ``build_model`` draws them for its seed, its own shuffles
(``train.epoch_keys``/``epoch_order``) and its own optimizer state — Adam, SGD and RMSprop update
elementwise, so one optimizer over the stacked variables, stepping the sum of the replicas' mean
losses, gives each replica exactly its own update. The numbers equal the single run's up to float
rounding (the batched matmul adds in another order; ``tests/training/test_replicas.py`` states the
tolerance).

Every member writes progress, history, snapshots and TensorBoard logs into its own run folder through
the single run's callbacks and is saved by ``train.save_run``. A cancel request on any member stops
the group. Setups whose replicas would differ in more than numbers (dropout, penalties, goals, early
stopping, the bias settings) train one run at a time: ``grouping.vectorisable`` says why.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from fmnist_lab.config import TrainConfig
from fmnist_lab.store.runs import RunStore
from fmnist_lab.training.callbacks import CancelOnRequest, EpochSnapshots, ProgressRecorder, ScoreHeldOut
from fmnist_lab.training.data import Dataset, load_dataset, prepare
from fmnist_lab.training.grouping import check_group
from fmnist_lab.training.model import (
    STEPS_PER_EXECUTION,
    ModelCache,
    build_model,
    make_optimizer,
    optimizer_constants,
)
from fmnist_lab.training.result import TrainResult
from fmnist_lab.training.train import (
    Fitted,
    Splits,
    Watch,
    epoch_keys,
    epoch_order,
    frozen_heap,
    make_splits,
    save_run,
    worth_compiling,
)

VECTORISED = "vectorised"  # this engine's name in a run's metrics (``training.engine``)
KEYS_PER_EPOCH = 2  # shuffle keys the single run draws per epoch: see Member.next_key
GroupHook = Callable[[str, dict[str, Any]], None]  # (run id, progress or epoch record)


class Stack:
    """K replicas' layers as stacked variables, in a Keras model's weight order (kernel, bias, …)."""

    def __init__(self, models: Sequence[keras.Model], activation: str) -> None:
        weights = zip(*(model.get_weights() for model in models), strict=True)  # per weight: K arrays
        self.variables = [keras.Variable(np.stack(w), name=f"stacked_{i}") for i, w in enumerate(weights)]
        self.activation = keras.activations.get(activation)

    def logits(self, x: tf.Tensor) -> tf.Tensor:
        """(K, B, 784) float32 pixels → (K, B, 10) logits, each replica through its own weights."""
        layers = list(zip(self.variables[::2], self.variables[1::2], strict=True))
        for kernel, bias in layers[:-1]:
            x = self.activation(tf.matmul(x, kernel) + bias[:, None, :])
        kernel, bias = layers[-1]
        return tf.matmul(x, kernel) + bias[:, None, :]

    def weights(self) -> list[np.ndarray]:
        return [keras.ops.convert_to_numpy(v) for v in self.variables]  # each (K, …)


def compiled_steps(stack: Stack, optimizer: keras.optimizers.Optimizer, fast: bool) -> Callable[..., Any]:
    """``steps(x, y, count)``: train the first ``count`` batches of ``x`` (S, K, B, 784) and ``y`` (S, K, B),
    the whole loop one XLA computation when ``fast``; the (K,) sums over those batches of each replica's
    batch loss × batch size and of its correct answers. Its shapes do not depend on the data set's size,
    so one compiled loop serves every run of its shape (``Loop``). A loop in one XLA computation costs far
    less per batch than Keras' ``steps_per_execution`` (an XLA step per batch in a graph loop): at 128
    units one run's epoch takes about 0.6 s instead of 1.4–1.7 s (docs/benchmarks.md)."""

    def step(x: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:  # (K, B, 784), (K, B)
        with tf.GradientTape() as tape:
            logits = stack.logits(x)
            losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)  # (K, B)
            means = tf.reduce_sum(losses, axis=1) / tf.cast(tf.shape(y)[1], tf.float32)  # as Keras reduces
            total = tf.reduce_sum(means)  # replica k's gradient is its own mean's
        gradients = tape.gradient(total, stack.variables)
        optimizer.apply_gradients(zip(gradients, stack.variables, strict=True))
        answers = tf.argmax(tf.nn.softmax(logits), axis=-1, output_type=tf.int32)
        return means, tf.reduce_sum(tf.cast(tf.equal(answers, y), tf.float32), axis=1)

    @tf.function(jit_compile=fast)
    def steps(x: tf.Tensor, y: tf.Tensor, count: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        replicas, batch = stack.variables[0].shape[0], tf.shape(y)[2]  # K static: a loop of one replica too
        loss_sum, hits = tf.zeros([replicas]), tf.zeros([replicas])
        for s in tf.range(count):
            means, correct = step(x[s], y[s])
            loss_sum, hits = loss_sum + means * tf.cast(batch, tf.float32), hits + correct
        return loss_sum, hits

    return steps


@dataclass
class Loop:
    """A compiled training loop and the variables it closes over: K replicas' weights and their optimizer."""

    stack: Stack
    optimizer: keras.optimizers.Optimizer
    steps: Callable[..., Any]

    @classmethod
    def new(cls, models: Sequence[keras.Model], config: TrainConfig, fast: bool) -> Loop:
        stack = Stack(models, config.activation)
        optimizer = make_optimizer(config)  # one over all K: elementwise, so each replica's own
        optimizer.build(stack.variables)
        return cls(stack, optimizer, compiled_steps(stack, optimizer, fast))

    def reset(self, models: Sequence[keras.Model], config: TrainConfig) -> None:
        """The state a new loop for ``models`` would start from: their weights, and a new optimizer's
        variables (step 0, the run's learning rate, zero moments)."""
        weights = zip(*(model.get_weights() for model in models), strict=True)  # per weight: K arrays
        for variable, values in zip(self.stack.variables, weights, strict=True):
            variable.assign(np.stack(values))
        fresh = make_optimizer(config)
        fresh.build(self.stack.variables)
        for target, source in zip(self.optimizer.variables, fresh.variables, strict=True):
            target.assign(source)


def loop_key(config: TrainConfig, replicas: int, fast: bool) -> str:
    """What decides a compiled loop: the layers, the optimizer's constants, K and ``fast``."""
    settings = optimizer_constants(make_optimizer(config))
    return json.dumps([config.hidden_units, config.activation, config.optimizer, settings, replicas, fast], default=str)


def kept_loop(models: Sequence[keras.Model], config: TrainConfig, fast: bool, cache: ModelCache | None) -> Loop:
    """A new loop for ``models``, or the one ``cache`` (a warm process's) keeps for their shape, reset."""
    new = functools.partial(Loop.new, models, config, fast)
    if cache is None:
        return new()
    return cache.loop(loop_key(config, len(models), fast), new, lambda loop: loop.reset(models, config))


@dataclass
class Member:
    """One replica: its run, its ordinary model (filled at epoch ends) and the single run's callbacks."""

    run_id: str
    config: TrainConfig
    model: keras.Model
    keys: tf.data.Dataset  # one shuffle key per epoch, as the single run draws them
    recorder: ProgressRecorder
    cancel: CancelOnRequest
    callbacks: list[keras.callbacks.Callback]

    def next_key(self) -> tf.Tensor:
        """The key of this member's next epoch. Keras' ``fit`` opens an iterator over the data for each
        epoch and, at the epoch's end, one more that it never reads (``EpochIterator``, Keras 3.15);
        every opening draws a key, so the single run shuffles each epoch with every other key."""
        key = next(iter(self.keys))
        for _ in range(KEYS_PER_EPOCH - 1):
            next(iter(self.keys))
        return key

    def call(self, hook: str, *args: Any) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(*args)


def new_member(
    store: RunStore,
    run_id: str,
    splits: Splits,
    hooks: tuple[GroupHook | None, GroupHook | None],
    live: bool,
    fast: bool,
    models: ModelCache | None = None,
) -> Member:
    """The replica of ``run_id``: seeded, shuffled and built in the single run's order (``fit_run``)."""
    config = store.load(run_id).config
    keras.utils.set_random_seed(config.seed)
    keys = epoch_keys(config.seed)
    model = models.model(config, fast=fast) if models is not None else build_model(config, fast=fast)
    on_progress, on_epoch = (functools.partial(hook, run_id) if hook else None for hook in hooks)
    watch = Watch(store, run_id, on_progress, on_epoch, live)
    recorder, cancel = watch.callbacks(config, samples=len(splits.x_train))
    x_val, y_val = splits.x_val, splits.y_val
    held_out = ScoreHeldOut(x_val, y_val) if x_val is not None and y_val is not None else None
    callbacks: list[keras.callbacks.Callback] = [*([held_out] if held_out else []), recorder, cancel]
    lent = held_out if config.holdout == "test" else None
    callbacks.append(EpochSnapshots(splits.x_test, splits.y_test, watch.save_snapshot, lent))
    callbacks.append(keras.callbacks.TensorBoard(str(store.logs_path(run_id)), write_graph=False, profile_batch=0))
    for callback in callbacks:
        callback.set_model(model)
    return Member(run_id, config, model, keys, recorder, cancel, callbacks)


class Group:
    """K members trained together, epoch by epoch, in chunks of ``STEPS_PER_EXECUTION`` batches."""

    def __init__(
        self, store: RunStore, members: list[Member], splits: Splits, fast: bool, cache: ModelCache | None = None
    ) -> None:
        self.store, self.members = store, members
        config = members[0].config
        self.batch_size, self.normalize = config.batch_size, config.normalize
        loop = kept_loop([m.model for m in members], config, fast, cache)
        self.stack, self.optimizer, self.steps = loop.stack, loop.optimizer, loop.steps
        self.images = tf.constant(prepare(splits.x_train, config.normalize))  # (n, 28, 28) float32, scaled once
        self.labels = tf.constant(splits.y_train)
        self.cancelled = False

    def fit(self, epochs: int) -> None:
        for member in self.members:
            member.call("on_train_begin", {})
        for epoch in range(epochs):
            self.cancelled = self.cancelled or any(self.store.cancel_requested(m.run_id) for m in self.members)
            if self.cancelled:
                break
            self.epoch(epoch)
        for member in self.members:
            member.call("on_train_end", {})

    def epoch(self, epoch: int) -> None:
        """One pass of every replica over its own order; the members' callbacks as ``fit`` calls them."""
        n, size = len(self.labels), self.batch_size
        orders = tf.stack([epoch_order(n, m.next_key()) for m in self.members])  # (K, n)
        full = n // size
        rows = tf.transpose(tf.reshape(orders[:, : full * size], (len(self.members), full, size)), (1, 0, 2))
        for member in self.members:
            member.call("on_epoch_begin", epoch, {})
        sums, seen = np.zeros((2, len(self.members))), 0  # each replica's loss × images, correct answers
        for start in range(0, full, STEPS_PER_EXECUTION):
            stop = min(start + STEPS_PER_EXECUTION, full)
            sums, seen = sums + self.train(rows[start:stop]), stop * size
            if self.batch_end(stop - 1, sums / seen):
                break
        else:
            if seen < n:  # the short last batch, as in fit
                sums, seen = sums + self.train(orders[None, :, seen:]), n
                self.batch_end(full, sums / n)
        self.epoch_end(epoch, sums / max(seen, 1))

    def train(self, orders: tf.Tensor) -> np.ndarray:
        """Train the batches ``orders`` (S, K, B), S ≤ ``STEPS_PER_EXECUTION``; (2, K): loss × images and
        correct answers summed. The loop always takes ``STEPS_PER_EXECUTION`` batches, the last ones
        padding, so that one compiled loop serves every chunk and every data set size."""
        count = orders.shape[0]
        pad = [[0, STEPS_PER_EXECUTION - count], [0, 0], [0, 0]]
        orders = tf.pad(orders, pad)
        x = tf.reshape(tf.gather(self.images, orders), [*orders.shape, -1])  # (S, K, B, 784)
        loss_sum, hits = self.steps(x, tf.gather(self.labels, orders), tf.constant(count))
        return np.stack([loss_sum.numpy(), hits.numpy()])

    def batch_end(self, batch: int, means: np.ndarray) -> bool:
        """Each member's running loss and accuracy; True once any member has a cancel request."""
        for k, member in enumerate(self.members):
            member.call("on_train_batch_end", batch, {"loss": float(means[0, k]), "accuracy": float(means[1, k])})
        self.cancelled = any(m.cancel.cancelled for m in self.members)
        return self.cancelled

    def epoch_end(self, epoch: int, means: np.ndarray) -> None:
        self.load_weights()
        for k, member in enumerate(self.members):
            member.call("on_epoch_end", epoch, {"loss": float(means[0, k]), "accuracy": float(means[1, k])})

    def load_weights(self) -> None:
        """Put each replica's weights into its member's ordinary model."""
        stacked = self.stack.weights()
        for k, member in enumerate(self.members):
            member.model.set_weights([w[k] for w in stacked])

    def lend_optimizer(self) -> None:
        """Give each member's optimizer its replica's state (step, moments), as the single run saves it."""
        for k, member in enumerate(self.members):
            optimizer = member.model.optimizer
            optimizer.build(member.model.trainable_variables)
            for target, source in zip(optimizer.variables, self.optimizer.variables, strict=True):
                value = keras.ops.convert_to_numpy(source)
                target.assign(value[k] if value.shape != tuple(target.shape) else value)


def train_replicas(
    store: RunStore,
    run_ids: Sequence[str],
    *,
    dataset: Dataset | None = None,
    on_progress: GroupHook | None = None,
    on_epoch: GroupHook | None = None,
    live: bool = True,
    fast: bool | None = None,
    models: ModelCache | None = None,
) -> list[TrainResult]:
    """Train the runs ``run_ids`` (one setup, one seed each) as one computation and save each as an
    ordinary run; marks them all failed (and re-raises) on any error. Every member's ``train_seconds``
    and epoch times are the group's: they trained together. ``models``: a warm process's compiled models
    and loops, reused when the shape matches (its models only for a group of one: one run at a time)."""
    configs = [store.load(run_id).config for run_id in run_ids]
    check_group(configs)
    for run_id in run_ids:
        store.set_status(run_id, "running")
    try:
        with frozen_heap():
            fitted = fit_group(store, run_ids, dataset or load_dataset(), (on_progress, on_epoch), live, fast, models)
            results = [save_run(store, run_id, f) for run_id, f in zip(run_ids, fitted, strict=True)]
    except BaseException as exc:
        reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else f"{type(exc).__name__}: {exc}"
        for run_id in run_ids:
            store.record_end(run_id, "failed", error=reason)
        raise
    for result in results:
        store.record_end(result.run_id, result.state, stop_reason=result.stop_reason)
    return results


def fit_group(
    store: RunStore,
    run_ids: Sequence[str],
    dataset: Dataset,
    hooks: tuple[GroupHook | None, GroupHook | None],
    live: bool,
    fast: bool | None,
    models: ModelCache | None = None,
) -> list[Fitted]:
    started = time.perf_counter()  # as fit_run: scaling the data and building the models count
    config = store.load(run_ids[0]).config
    splits = make_splits(config, dataset)  # the seed plays no part in a plain setup's cut
    fast = worth_compiling(config, len(splits.x_train)) if fast is None else fast  # as each member alone
    alone = models if len(run_ids) == 1 else None  # a kept model serves one run at a time
    members = [new_member(store, run_id, splits, hooks, live, fast, alone) for run_id in run_ids]
    group = Group(store, members, splits, fast, models)
    group.fit(config.epochs)
    group.lend_optimizer()
    seconds = time.perf_counter() - started
    stopped_by = "request" if group.cancelled else None
    return [
        Fitted(
            m.config,
            m.model,
            splits,
            seconds,
            m.recorder.history,
            group.cancelled,
            None,
            stopped_by,
            engine=VECTORISED,
        )
        for m in members
    ]

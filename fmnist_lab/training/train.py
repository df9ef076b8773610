"""Training one run, top to bottom: prepare the data, build the model, fit, score, save.

``train_run`` reads the run's config from the store, trains it as ``fit_run`` tells, then
scores the test set and writes history, metrics, predictions, weights, the model and
TensorBoard logs into the run's folder. It imports TensorFlow: import it only to train.
"""

from __future__ import annotations

import contextlib
import gc
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from fmnist_lab.analysis import fairness
from fmnist_lab.config import ConfigError, TrainConfig
from fmnist_lab.store import atomic
from fmnist_lab.store.runs import RunStore
from fmnist_lab.training import bias
from fmnist_lab.training.callbacks import (
    CANCEL_POLL_INTERVAL,
    PROGRESS_INTERVAL,
    CancelOnRequest,
    EpochSnapshots,
    ProgressHook,
    ProgressRecorder,
    ScoreHeldOut,
    StopAtAccuracy,
    StopAtGoal,
    StopAtLoss,
    early_stopping,
)
from fmnist_lab.training.data import Dataset, load_dataset, prepare
from fmnist_lab.training.hparams import write_hparams
from fmnist_lab.training.model import ModelCache, build_model
from fmnist_lab.training.result import TrainResult
from fmnist_lab.training.scoring import score


@dataclass(frozen=True)
class Splits:
    """The arrays one run trains and scores on."""

    x_train: np.ndarray  # (n, 28, 28) uint8 pixels as stored: training_data scales them batch by batch
    y_train: np.ndarray  # (n,) int32
    x_val: np.ndarray | None  # (m, 28, 28) float32, scaled for the model (``data.prepare``)
    y_val: np.ndarray | None
    x_test: np.ndarray  # (k, 28, 28) float32, scaled
    y_test: np.ndarray


def make_splits(config: TrainConfig, dataset: Dataset) -> Splits:
    """Cut the data set as ``config`` says: sample limits, the held-out part, then the training
    images' bias and its mitigation (``biased``). The test set is never touched."""
    x_train, y_train = dataset.x_train[: config.train_samples], dataset.y_train[: config.train_samples]
    x_test, y_test = dataset.x_test[: config.test_samples], dataset.y_test[: config.test_samples]
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    if config.holdout == "test":
        x_val, y_val = x_test, y_test
    elif config.holdout == "split":
        cut = len(x_train) - max(1, round(len(x_train) * config.holdout_fraction))
        x_train, x_val, y_train, y_val = x_train[:cut], x_train[cut:], y_train[:cut], y_train[cut:]
    x_train, y_train = biased(config, x_train, y_train)
    if not len(x_train):
        raise ConfigError("These settings leave no training images (check the training images and class shares).")
    scale = lambda images: prepare(images, config.normalize)  # noqa: E731
    labels = lambda y: np.asarray(y, dtype=np.int32)  # noqa: E731
    if x_val is None or y_val is None:
        return Splits(x_train, labels(y_train), None, None, scale(x_test), labels(y_test))
    return Splits(x_train, labels(y_train), scale(x_val), labels(y_val), scale(x_test), labels(y_test))


def biased(config: TrainConfig, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The training images as the bias settings leave them: class shares kept, then label noise,
    then oversampled or augmented copies of the starved classes (those with a share kept above 0)."""
    if config.class_shares:
        keep = bias.keep_class_shares(y, dict(config.class_shares), config.seed)  # (m,) ascending indices
        x, y = x[keep], y[keep]
    if config.label_noise:
        y = bias.add_label_noise(y, dict(config.label_noise), config.seed)
    starved = [c for c, share in config.class_shares if share > 0]
    if config.balance == "oversample" and starved:
        order = bias.oversample(y, starved, config.seed)
        x, y = x[order], y[order]
    elif config.balance == "augment" and starved:
        x_extra, y_extra = bias.augmented_copies(x, y, starved, config.seed)  # uint8 images, as stored
        x, y = np.concatenate([x, x_extra]), np.concatenate([y, y_extra])
    return x, y


def fit_class_weights(config: TrainConfig, y_train: np.ndarray) -> dict[int, float] | None:
    """Keras' ``fit(class_weight=…)`` for the class-weights mitigation; None otherwise."""
    return bias.class_weights(y_train) if config.balance == "class-weights" else None


def train_run(
    store: RunStore,
    run_id: str,
    *,
    dataset: Dataset | None = None,
    on_progress: ProgressHook | None = None,
    on_epoch: ProgressHook | None = None,
    fast: bool | None = None,
    live: bool = True,
    models: ModelCache | None = None,
) -> TrainResult:
    """Train the run ``run_id`` to the end; marks it failed (and re-raises) on any error.

    ``live=False`` drops the in-epoch progress snapshots and cancel polling (the benchmark
    uses it to measure what live progress costs); ``fast``: XLA and multi-step execution, or
    plain compiling (None: as ``worth_compiling`` says for the run's size); ``models``:
    a warm worker's compiled models, reused when the shape matches (else a new one is built).
    """
    config = store.load(run_id).config
    store.set_status(run_id, "running")
    try:
        with frozen_heap():
            watch = Watch(store, run_id, on_progress, on_epoch, live)
            fitted = fit_run(config, dataset or load_dataset(), watch, fast, models)
            result = save_run(store, run_id, fitted)
    except BaseException as exc:
        reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else f"{type(exc).__name__}: {exc}"
        store.record_end(run_id, "failed", error=reason)  # the lock's release tells other processes if this fails
        raise
    store.record_end(run_id, result.state, stop_reason=result.stop_reason)  # from memory if the disk is full
    return result


XLA_MIN_STEPS = 500  # batches: a shorter run trains plainly (see worth_compiling)


def worth_compiling(config: TrainConfig, samples: int) -> bool:
    """Whether XLA and multi-step execution pay for their compiling: for a run of ``XLA_MIN_STEPS``
    batches or more. Compiling a new shape's step costs 1–2 s; a 94-batch run (3,000 images, one
    epoch) trains in about a third of the time without it, and from about 400 batches on XLA is
    ahead (docs/benchmarks.md). Both ways train the same model on the same batches."""
    return -(-samples // config.batch_size) * config.epochs >= XLA_MIN_STEPS


@dataclass
class Watch:
    """Who follows a training: the run store (progress, history, cancel requests) and the caller's hooks."""

    store: RunStore
    run_id: str
    on_progress: ProgressHook | None = None
    on_epoch: ProgressHook | None = None
    live: bool = True  # False: progress only at epoch edges, no cancel polling
    recorder: ProgressRecorder | None = field(default=None, init=False)

    def callbacks(self, config: TrainConfig, samples: int) -> tuple[ProgressRecorder, CancelOnRequest]:
        interval = PROGRESS_INTERVAL if self.live else math.inf
        steps = -(-samples // config.batch_size)
        recorder = self.recorder = ProgressRecorder(
            steps, config.epochs, self._progress, self._epoch, interval, samples=samples, batch_size=config.batch_size
        )
        poll = CANCEL_POLL_INTERVAL if self.live else math.inf
        return recorder, CancelOnRequest(lambda: self.store.cancel_requested(self.run_id), poll)

    def save_snapshot(self, epoch: int, probabilities: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> None:
        self.store.write_epoch_snapshot(self.run_id, epoch, probabilities, kernel, bias)

    def _progress(self, progress: dict[str, Any]) -> None:
        self.store.write_progress(self.run_id, progress)
        if self.on_progress:
            self.on_progress(progress)

    def _epoch(self, record: dict[str, Any]) -> None:
        self.store.write_history(self.run_id, self.recorder.history if self.recorder else [record])
        if self.on_epoch:
            self.on_epoch(record)


@dataclass(frozen=True)
class Fitted:
    """What ``fit`` leaves for scoring and saving."""

    config: TrainConfig
    model: keras.Model
    splits: Splits
    seconds: float  # scaling the data, building and fitting the model
    history: list[dict[str, Any]]  # one record per epoch (ProgressRecorder's)
    cancelled: bool
    goal_reason: str | None  # in words, why a goal or early stopping ended training, if one did
    stopped_by: str | None = None  # as TrainResult.stopped_by
    best_epoch: int | None = None  # with early stopping: the epoch whose weights were restored
    engine: str = "keras"  # what trained it: Keras' fit, or "vectorised" (``replicas``)


def fit_run(
    config: TrainConfig,
    dataset: Dataset,
    watch: Watch,
    fast: bool | None = None,
    models: ModelCache | None = None,
) -> Fitted:
    """Prepare the data, build the model, fit it with the run's callbacks; like a keras-io example."""
    started = time.perf_counter()  # like the notebook's timed fit(x / 255.0, …): scaling counts
    keras.utils.set_random_seed(config.seed)  # same seed and config: same initial weights and order
    # Prepare the data: the cuts the config asks for, and seeded, shuffled, scaled batches
    splits = make_splits(config, dataset)
    fast = worth_compiling(config, len(splits.x_train)) if fast is None else fast
    batches = training_data(splits.x_train, splits.y_train, config.batch_size, config.seed, config.normalize)
    # Build the model
    model = models.model(config, fast=fast) if models is not None else build_model(config, fast=fast)
    # Callbacks: held-out scores first (the others read them), progress, stop, goals, early stopping, snapshots
    recorder, cancel = watch.callbacks(config, samples=len(splits.x_train))
    goals = goal_callbacks(config)
    x_val, y_val = splits.x_val, splits.y_val
    held_out = ScoreHeldOut(x_val, y_val) if x_val is not None and y_val is not None else None
    early = early_stopping(config.early_stopping) if config.early_stopping is not None and held_out else None
    callbacks: list[keras.callbacks.Callback] = [held_out] if held_out else []
    callbacks += [recorder, cancel, *goals, *([early] if early else [])]
    test_lent = held_out if config.holdout == "test" else None  # it scores the test set already
    callbacks.append(EpochSnapshots(splits.x_test, splits.y_test, watch.save_snapshot, test_lent))
    callbacks.append(
        keras.callbacks.TensorBoard(str(watch.store.logs_path(watch.run_id)), write_graph=False, profile_batch=0)
    )
    # Train
    weights = fit_class_weights(config, splits.y_train)  # batches are shuffled already, hence shuffle=False
    model.fit(batches, epochs=config.epochs, callbacks=callbacks, shuffle=False, verbose=0, class_weight=weights)
    seconds = time.perf_counter() - started  # early stopping has restored the best weights by now
    stopped_by, reason = why_stopped(cancel, goals, early)
    best = early.best_epoch + 1 if early is not None and early.best_weights is not None else None
    return Fitted(config, model, splits, seconds, recorder.history, cancel.cancelled, reason, stopped_by, best)


def goal_callbacks(config: TrainConfig) -> list[StopAtGoal]:
    """The loss and accuracy goals the config sets."""
    goals: list[StopAtGoal] = []
    if config.stop_loss is not None:
        goals.append(StopAtLoss(config.stop_loss))
    if config.stop_accuracy is not None:
        goals.append(StopAtAccuracy(config.stop_accuracy))
    return goals


def why_stopped(
    cancel: CancelOnRequest, goals: list[StopAtGoal], early: keras.callbacks.EarlyStopping | None
) -> tuple[str | None, str | None]:
    """(which callback ended training, why in words); (None, None) when every epoch ran."""
    if cancel.cancelled:
        return "request", None
    for goal in goals:
        if goal.reason:
            return goal.name, goal.reason
    if early is not None and early.stopped_epoch > 0:
        best, last = early.best_epoch + 1, early.stopped_epoch + 1
        why = f"held-out loss no better than epoch {best}'s for {early.patience} epochs at epoch {last}"
        return "early stopping", why
    return None, None


def save_run(store: RunStore, run_id: str, fitted: Fitted) -> TrainResult:
    """Score the test set and write every artefact; the caller writes the status last."""
    model, splits, history = fitted.model, fitted.splits, fitted.history
    test = score(model, splits.x_test, splits.y_test)
    store.write_predictions(run_id, test.probabilities, splits.y_test)
    store.write_weights(run_id, model.get_weights())
    store.write_history(run_id, history)
    atomic.write_with(store.model_path(run_id), lambda tmp: model.save(tmp), suffix=".keras")
    complete = [record for record in history if record["fraction"] >= 1]
    state, reason = ending(fitted, len(complete))
    last = history[fitted.best_epoch - 1] if fitted.best_epoch else history[-1] if history else {}  # the kept weights'
    result = TrainResult(
        run_id=run_id,
        state=state,
        test_accuracy=test.accuracy,
        test_loss=test.loss,
        train_accuracy=last.get("accuracy"),
        train_loss=last.get("loss"),
        val_accuracy=last.get("val_accuracy"),
        val_loss=last.get("val_loss"),
        epochs_run=len(complete),
        stop_reason=reason,
        stopped_by=fitted.stopped_by,
        best_epoch=fitted.best_epoch,
        train_seconds=round(fitted.seconds, 3),
        seconds_per_epoch=mean_per_epoch(complete, "seconds"),
        parameters=model.count_params(),
        test_samples=len(splits.y_test),
        fairness=fairness.fairness_summary(splits.y_test, test.probabilities),
        cpu_seconds_per_epoch=mean_per_epoch(complete, "cpu_seconds"),
        engine=fitted.engine,
    )
    store.write_metrics(run_id, result.to_dict())
    learner = store.load(run_id).learner
    write_hparams(store.logs_path(run_id), run_id, fitted.config, result.to_dict(), learner)  # the class in TensorBoard
    return result


def mean_per_epoch(complete: list[dict[str, Any]], key: str) -> float | None:
    """The mean of ``key`` over the complete epochs' records (seconds, 3 decimals); None if none has it."""
    values = [record[key] for record in complete if record.get(key) is not None]
    return round(sum(values) / len(values), 3) if values else None


def ending(fitted: Fitted, complete_epochs: int) -> tuple[str, str]:
    """The run's final state and, in words, why training ended."""
    restored = f"; weights restored from the best epoch, {fitted.best_epoch}" if fitted.best_epoch else ""
    if fitted.cancelled:
        return "stopped", f"stopped by request during epoch {complete_epochs + 1}{restored}"
    if fitted.goal_reason:
        return "finished", f"{fitted.goal_reason}: stopped{restored}"
    epochs = fitted.config.epochs
    return "finished", (f"completed all {epochs} epochs" if epochs > 1 else "completed its 1 epoch") + restored


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Exempt the objects alive now (TensorFlow's hundreds of thousands) from garbage collection.

    An automatic full collection scans every tracked object: with TensorFlow loaded that
    takes 0.4–0.7 s here (``gc.collect()`` timed), a stall in whichever epoch it lands.
    Objects made inside are still collected; the frozen ones are handed back after.
    """
    if gc.get_freeze_count():  # someone froze the heap already: theirs to thaw
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def training_data(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, normalized: bool) -> tf.data.Dataset:
    """Batches of ``prepare(x, normalized)``, reshuffled every pass as ``fit(x, y, shuffle=True)`` does.

    Each pass (one epoch) draws a fresh permutation from ``seed``, then gathers, converts
    and scales the whole epoch in three vectorised ops and cuts it into ``ceil(n / batch_size)``
    batches, the last one short as in ``fit``. Keras re-iterates the data every epoch.
    A per-image pipeline (``shuffle`` then ``batch``) moves 60,000 elements through
    tf.data each epoch; this moves 1,875 batches.
    """
    n, full = len(x), len(x) // batch_size
    cut = full * batch_size  # images in full batches; the rest make one short batch
    images, labels = tf.constant(x), tf.constant(y)  # (n, 28, 28) uint8, (n,) int32

    def one_pass(key: tf.Tensor) -> tf.data.Dataset:
        order = epoch_order(n, key)
        pixels = tf.cast(tf.gather(images, order), tf.float32)
        if normalized:  # the same float32 division as data.normalize
            pixels = pixels / tf.constant(255.0, tf.float32)
        answers = tf.gather(labels, order)
        batches = tf.data.Dataset.from_tensor_slices(
            (tf.reshape(pixels[:cut], (full, batch_size, 28, 28)), tf.reshape(answers[:cut], (full, batch_size)))
        )
        return batches if cut == n else batches.concatenate(tf.data.Dataset.from_tensors((pixels[cut:], answers[cut:])))

    data = epoch_keys(seed).flat_map(one_pass).apply(tf.data.experimental.assert_cardinality(-(-n // batch_size)))
    return data.prefetch(tf.data.AUTOTUNE)


def epoch_keys(seed: int) -> tf.data.Dataset:
    """One shuffle key per pass: each new iteration over it draws the next epoch's key.

    Made after ``keras.utils.set_random_seed(seed)``, it yields the same keys run after run
    (``replicas`` rebuilds each member's shuffles from it).
    """
    return tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2).take(1)


def epoch_order(n: int, key: tf.Tensor) -> tf.Tensor:
    """The (n,) int32 order in which one epoch visits the training images."""
    return tf.random.experimental.stateless_shuffle(tf.range(n), seed=key)

"""Training one run: the course model, its callbacks, and the artefacts it leaves.

``train_run`` reads the run's config from the store, fits, evaluates on the test
set and writes history, progress, metrics, predictions, the model and TensorBoard
logs into the run's folder. It imports TensorFlow, so import it only where you train.
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from . import atomic
from .config import TrainConfig
from .data import Dataset, load_dataset, prepare
from .model import build_model
from .runs import RunStore
from .scoring import ScoreHeldOut, score

PROGRESS_INTERVAL = 0.25  # seconds between progress records while an epoch runs
TRAIL_LENGTH = 240  # running (x, loss, accuracy) points kept for the current epoch's live curve
CANCEL_POLL_INTERVAL = 0.1  # seconds between looks for a cancel request

ProgressHook = Callable[[dict[str, Any]], None]


class StopAtLoss(keras.callbacks.Callback):
    """Stop at the end of the first epoch whose training loss is below ``threshold``."""

    def __init__(self, threshold: float) -> None:
        super().__init__()
        self.threshold = threshold
        self.stopped_epoch: int | None = None
        self.reason: str | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is None or not np.isfinite(loss):  # nothing to compare with this epoch
            return
        if loss < self.threshold:
            self.stopped_epoch = epoch + 1
            self.reason = f"loss {float(loss):.3f} < {self.threshold:g} at epoch {epoch + 1}"
            self.model.stop_training = True


class CancelOnRequest(keras.callbacks.Callback):
    """Stop within a fraction of a second once ``requested()`` says so."""

    def __init__(self, requested: Callable[[], bool], interval: float = CANCEL_POLL_INTERVAL) -> None:
        super().__init__()
        self.requested, self.interval = requested, interval
        self.cancelled = False
        self._last_check = 0.0

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        now = time.monotonic()
        if now - self._last_check < self.interval:
            return
        self._last_check = now
        if self.requested():
            self.cancelled = True
            self.model.stop_training = True


class ProgressRecorder(keras.callbacks.Callback):
    """Per-epoch records plus a running snapshot at least every ``interval`` seconds."""

    def __init__(
        self,
        steps_per_epoch: int,
        epochs: int,
        on_progress: ProgressHook | None = None,
        on_epoch: ProgressHook | None = None,
        interval: float = PROGRESS_INTERVAL,
    ) -> None:
        super().__init__()
        self.steps, self.epochs, self.interval = steps_per_epoch, epochs, interval
        self.on_progress, self.on_epoch = on_progress, on_epoch
        self.history: list[dict[str, Any]] = []
        self._train_start = self._epoch_start = self._last = 0.0
        self._epoch = 0
        self._batches = 0
        self._trail: list[list[float]] = []  # [epoch position, running loss, running accuracy]

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._train_start = time.perf_counter()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch, self._batches, self._trail = epoch + 1, 0, []
        self._epoch_start = time.perf_counter()
        self._emit({})

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._batches = min(batch + 1, self.steps)
        if time.perf_counter() - self._last >= self.interval:
            self._emit(logs or {})

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        record = {
            "epoch": epoch + 1,
            "fraction": round(self._batches / self.steps, 4),  # below 1 when stopped mid-epoch
            "loss": _number(logs.get("loss")),
            "accuracy": _number(logs.get("accuracy")),
            "val_loss": _number(logs.get("val_loss")),
            "val_accuracy": _number(logs.get("val_accuracy")),
            "seconds": round(time.perf_counter() - self._epoch_start, 3),
        }
        self.history.append(record)
        if self.on_epoch:
            self.on_epoch(record)
        self._emit(logs)

    def _emit(self, logs: dict[str, Any]) -> None:
        self._last = now = time.perf_counter()
        loss, accuracy = _number(logs.get("loss")), _number(logs.get("accuracy"))
        if loss is not None and accuracy is not None and self._batches:
            self._trail.append([round(self._epoch - 1 + self._batches / self.steps, 4), loss, accuracy])
            del self._trail[:-TRAIL_LENGTH]
        if self.on_progress:
            self.on_progress(
                {
                    "epoch": self._epoch,
                    "epochs": self.epochs,
                    "batch": self._batches,
                    "steps": self.steps,
                    "loss": loss,
                    "accuracy": accuracy,
                    "epoch_seconds": round(now - self._epoch_start, 3),
                    "elapsed": round(now - self._train_start, 3),
                    "trail": list(self._trail),
                }
            )


@dataclass(frozen=True)
class TrainResult:
    """The summary line the CLI prints and the store keeps as ``metrics.json``."""

    run_id: str
    state: str  # "finished" or "stopped"
    test_accuracy: float
    test_loss: float
    train_accuracy: float | None
    train_loss: float | None
    val_accuracy: float | None
    val_loss: float | None
    epochs_run: int
    stop_reason: str
    train_seconds: float  # scaling the data, building and fitting the model; not the final scoring
    seconds_per_epoch: float | None
    parameters: int
    test_samples: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
    """Cut the data set as ``config`` says: sample limits, then the held-out part."""
    x_train, y_train = dataset.x_train[: config.train_samples], dataset.y_train[: config.train_samples]
    x_test, y_test = dataset.x_test[: config.test_samples], dataset.y_test[: config.test_samples]
    x_val = y_val = None
    if config.holdout == "test":
        x_val, y_val = x_test, y_test
    elif config.holdout == "split":
        cut = len(x_train) - max(1, round(len(x_train) * config.holdout_fraction))
        x_train, x_val, y_train, y_val = x_train[:cut], x_train[cut:], y_train[:cut], y_train[cut:]
    scale = lambda images: None if images is None else prepare(images, config.normalize)  # noqa: E731
    labels = lambda y: None if y is None else np.asarray(y, dtype=np.int32)  # noqa: E731
    return Splits(x_train, labels(y_train), scale(x_val), labels(y_val), scale(x_test), labels(y_test))


def train_run(
    store: RunStore,
    run_id: str,
    *,
    dataset: Dataset | None = None,
    on_progress: ProgressHook | None = None,
    on_epoch: ProgressHook | None = None,
    fast: bool = True,
    live: bool = True,
) -> TrainResult:
    """Train the run ``run_id`` to the end; marks it failed (and re-raises) on any error.

    ``live=False`` drops the in-epoch progress snapshots and cancel polling (the benchmark
    uses it to measure what live progress costs); ``fast=False`` compiles plainly.
    """
    config = store.load(run_id).config
    store.set_status(run_id, "running", pid=os.getpid())
    try:
        with frozen_heap():
            result = _train(config, store, run_id, dataset or load_dataset(), on_progress, on_epoch, fast, live)
    except BaseException as exc:
        reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else f"{type(exc).__name__}: {exc}"
        store.set_status(run_id, "failed", error=reason)
        raise
    store.set_status(run_id, result.state, stop_reason=result.stop_reason)
    return result


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


def _train(
    config: TrainConfig,
    store: RunStore,
    run_id: str,
    dataset: Dataset,
    on_progress: ProgressHook | None,
    on_epoch: ProgressHook | None,
    fast: bool,
    live: bool,
) -> TrainResult:
    started = time.perf_counter()  # like the notebook's timed fit(x / 255.0, …): scaling counts
    splits = make_splits(config, dataset)
    keras.utils.set_random_seed(config.seed)  # same seed and config: same initial weights and order
    model = build_model(config, fast=fast)
    steps = -(-len(splits.x_train) // config.batch_size)

    def record_epoch(record: dict[str, Any]) -> None:
        store.write_history(run_id, recorder.history)
        if on_epoch:
            on_epoch(record)

    def record_progress(progress: dict[str, Any]) -> None:
        store.write_progress(run_id, progress)
        if on_progress:
            on_progress(progress)

    interval = PROGRESS_INTERVAL if live else math.inf  # not live: snapshots at epoch edges only
    recorder = ProgressRecorder(steps, config.epochs, record_progress, record_epoch, interval)
    cancel = CancelOnRequest(lambda: store.cancel_requested(run_id), CANCEL_POLL_INTERVAL if live else math.inf)
    callbacks: list[keras.callbacks.Callback] = [recorder, cancel]
    if splits.x_val is not None:
        callbacks.insert(0, ScoreHeldOut(splits.x_val, splits.y_val))
    stopper = StopAtLoss(config.stop_loss) if config.stop_loss is not None else None
    if stopper:
        callbacks.append(stopper)
    logs = str(store.logs_path(run_id))
    callbacks.append(keras.callbacks.TensorBoard(logs, write_graph=False, profile_batch=0))
    model.fit(
        training_data(splits.x_train, splits.y_train, config.batch_size, config.seed, config.normalize),
        epochs=config.epochs,
        callbacks=callbacks,
        shuffle=False,  # the tf.data pipeline shuffles, seeded
        verbose=0,
    )
    seconds = time.perf_counter() - started
    return _finish(config, store, run_id, model, splits, seconds, recorder, cancel, stopper)


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
        order = tf.random.experimental.stateless_shuffle(tf.range(n), seed=key)
        pixels = tf.cast(tf.gather(images, order), tf.float32)
        if normalized:  # the same float32 division as data.normalize
            pixels = pixels / tf.constant(255.0, tf.float32)
        answers = tf.gather(labels, order)
        batches = tf.data.Dataset.from_tensor_slices(
            (tf.reshape(pixels[:cut], (full, batch_size, 28, 28)), tf.reshape(answers[:cut], (full, batch_size)))
        )
        return batches if cut == n else batches.concatenate(tf.data.Dataset.from_tensors((pixels[cut:], answers[cut:])))

    keys = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2).take(1)  # one per pass
    data = keys.flat_map(one_pass).apply(tf.data.experimental.assert_cardinality(-(-n // batch_size)))
    return data.prefetch(tf.data.AUTOTUNE)


def _finish(
    config: TrainConfig,
    store: RunStore,
    run_id: str,
    model: keras.Model,
    splits: Splits,
    seconds: float,
    recorder: ProgressRecorder,
    cancel: CancelOnRequest,
    stopper: StopAtLoss | None,
) -> TrainResult:
    """Score on the test set and write every artefact; status is written last by the caller."""
    test = score(model, splits.x_test, splits.y_test)
    store.write_predictions(run_id, test.probabilities, splits.y_test)
    store.write_weights(run_id, model.get_weights())
    store.write_history(run_id, recorder.history)
    atomic.write_with(store.model_path(run_id), lambda tmp: model.save(tmp), suffix=".keras")
    complete = [record for record in recorder.history if record["fraction"] >= 1]
    last = recorder.history[-1] if recorder.history else {}
    if cancel.cancelled:
        state, reason = "stopped", f"stopped by request during epoch {len(complete) + 1}"
    elif stopper and stopper.reason:
        state, reason = "finished", f"{stopper.reason}: stopped"
    else:
        state, reason = (
            "finished",
            f"completed all {config.epochs} epochs" if config.epochs > 1 else "completed its 1 epoch",
        )
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
        train_seconds=round(seconds, 3),
        seconds_per_epoch=round(sum(r["seconds"] for r in complete) / len(complete), 3) if complete else None,
        parameters=model.count_params(),
        test_samples=len(splits.y_test),
    )
    store.write_metrics(run_id, result.to_dict())
    return result


def _number(value: Any) -> float | None:
    return None if value is None else float(value)

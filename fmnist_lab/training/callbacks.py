"""The Keras callbacks of a training run: live progress, a stop button, loss and accuracy goals,
held-out scores, per-epoch snapshots.

Each is a ``keras.callbacks.Callback`` that does one thing. Times come from an injectable
clock, so tests can drive them without waiting.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from fmnist_lab.training.scoring import Score, score

PROGRESS_INTERVAL = 0.25  # seconds between progress records while an epoch runs
TRAIL_LENGTH = 240  # running (x, loss, accuracy) points kept for the current epoch's live curve
CANCEL_POLL_INTERVAL = 0.1  # seconds between looks for a cancel request

SNAPSHOT_NEURONS = 128  # first-layer neurons kept per epoch: all of a 128-unit model, the first 128 of larger ones

ProgressHook = Callable[[dict[str, Any]], None]
SnapshotHook = Callable[[int, np.ndarray, np.ndarray, np.ndarray], None]  # (epoch, probabilities, kernel, bias)
Clock = Callable[[], float]


class ScoreHeldOut(keras.callbacks.Callback):
    """Add ``val_loss`` and ``val_accuracy`` to every epoch's logs, scored in eager mode.

    List it first: the callbacks after it (progress, stop-loss, TensorBoard) read what it adds.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        super().__init__()
        self.x, self.y = x, y
        self.last: Score | None = None  # this epoch's scores, for EpochSnapshots when x is the test set

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is not None:
            self.last = held_out = score(self.model, self.x, self.y)
            logs["val_loss"], logs["val_accuracy"] = held_out.loss, held_out.accuracy


class EpochSnapshots(keras.callbacks.Callback):
    """After each epoch, hand ``save`` what replaying that epoch needs, in float16.

    The test set's softmax outputs (n, 10) and the first layer's kernel (784, k) and bias (k,)
    of its first ``k = min(units, SNAPSHOT_NEURONS)`` neurons: about 0.3 MB an epoch, so a
    1024-unit, 50-epoch run keeps ~15 MB. ``held_out``, when it scores the same test set,
    lends its probabilities so the test set is scored once an epoch, not twice.
    """

    def __init__(
        self, x_test: np.ndarray, y_test: np.ndarray, save: SnapshotHook, held_out: ScoreHeldOut | None
    ) -> None:
        super().__init__()
        self.x, self.y, self.save, self.held_out = x_test, y_test, save, held_out

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        lent = self.held_out.last if self.held_out is not None else None
        probabilities = lent.probabilities if lent is not None else score(self.model, self.x, self.y).probabilities
        first = next(layer for layer in self.model.layers if isinstance(layer, keras.layers.Dense))
        kernel, bias = (keras.ops.convert_to_numpy(w)[..., :SNAPSHOT_NEURONS] for w in (first.kernel, first.bias))
        self.save(epoch + 1, probabilities.astype(np.float16), kernel.astype(np.float16), bias.astype(np.float16))


class StopAtGoal(keras.callbacks.Callback):
    """Stop at the end of the first epoch whose training ``monitor`` reaches ``threshold``.

    A subclass says which quantity, in which direction, and how the goal is named (``stopped_by``).
    """

    monitor = "loss"
    name = "goal"
    sign = "<"

    def __init__(self, threshold: float) -> None:
        super().__init__()
        self.threshold = threshold
        self.stopped_epoch: int | None = None
        self.reason: str | None = None

    def reached(self, value: float) -> bool:
        raise NotImplementedError

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        value = (logs or {}).get(self.monitor)
        if value is None or not np.isfinite(value):  # nothing to compare with this epoch
            return
        if self.reached(float(value)):
            self.stopped_epoch = epoch + 1
            self.reason = f"{self.monitor} {float(value):.3f} {self.sign} {self.threshold:g} at epoch {epoch + 1}"
            self.model.stop_training = True


class StopAtLoss(StopAtGoal):
    """Stop at the end of the first epoch whose training loss is below ``threshold``."""

    monitor, name, sign = "loss", "loss goal", "<"

    def reached(self, value: float) -> bool:
        return value < self.threshold


class StopAtAccuracy(StopAtGoal):
    """Stop at the end of the first epoch whose training accuracy is at or above ``threshold``."""

    monitor, name, sign = "accuracy", "accuracy goal", "≥"

    def reached(self, value: float) -> bool:
        return value >= self.threshold


def early_stopping(patience: int) -> keras.callbacks.EarlyStopping:
    """Keras' own: stop when the held-out loss has not improved for ``patience`` epochs, keep the best weights.

    List it after ``ScoreHeldOut``, which puts ``val_loss`` in the logs it reads.
    """
    return keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)


class CancelOnRequest(keras.callbacks.Callback):
    """Stop within a fraction of a second once ``requested()`` says so."""

    def __init__(
        self, requested: Callable[[], bool], interval: float = CANCEL_POLL_INTERVAL, clock: Clock = time.monotonic
    ) -> None:
        super().__init__()
        self.requested, self.interval, self.clock = requested, interval, clock
        self.cancelled = False
        self._last_check = -math.inf

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        now = self.clock()
        if now - self._last_check < self.interval:
            return
        self._last_check = now
        if self.requested():
            self.cancelled = True
            self.model.stop_training = True


class RunningWindow:
    """Training loss and accuracy over the last epoch's worth of samples, sliding across epoch edges.

    Keras logs a mean that restarts with every epoch, so a line drawn from it jumps at each edge
    (the new epoch's first batches against the old epoch's average). The batches' own sums are
    recovered from that mean (Keras weights it by samples: sum after batch k = mean × samples so
    far) and averaged over a window one epoch long: at an epoch's end the window is exactly that
    epoch, so the line meets the epoch's reported score, and it moves one batch at a time.
    (With class weights Keras weights the accuracy mean by them too; the window's accuracy is
    then a close approximation of the weighted one.)
    """

    def __init__(self, samples: int, batch_size: int) -> None:
        self.samples, self.batch_size = samples, batch_size
        self._batches: deque[tuple[int, float, float]] = deque()  # (samples, loss sum, accuracy sum)
        self._seen, self._sums = 0, (0.0, 0.0)  # this epoch: samples and the sums Keras' mean implies
        self._window = [0, 0.0, 0.0]  # samples, loss sum, accuracy sum of the batches in the deque

    def new_epoch(self) -> None:
        self._seen, self._sums = 0, (0.0, 0.0)

    def add(self, batch: int, loss: float, accuracy: float) -> tuple[float, float]:
        """Take Keras' running means after ``batch`` (0-based); the window's (loss, accuracy)."""
        seen = min((batch + 1) * self.batch_size, self.samples)
        sums = (loss * seen, accuracy * seen)
        if seen > self._seen:
            self._push(seen - self._seen, sums[0] - self._sums[0], sums[1] - self._sums[1])
            self._seen, self._sums = seen, sums
        n, loss_sum, accuracy_sum = self._window
        return loss_sum / n, accuracy_sum / n

    def _push(self, n: int, loss_sum: float, accuracy_sum: float) -> None:
        self._batches.append((n, loss_sum, accuracy_sum))
        self._window = [self._window[0] + n, self._window[1] + loss_sum, self._window[2] + accuracy_sum]
        while self._window[0] - self._batches[0][0] >= self.samples:
            old = self._batches.popleft()
            self._window = [self._window[0] - old[0], self._window[1] - old[1], self._window[2] - old[2]]


class ProgressRecorder(keras.callbacks.Callback):
    """Per-epoch records plus a running snapshot at least every ``interval`` seconds.

    With ``samples`` and ``batch_size`` the running line (``trail``) is a ``RunningWindow``, which
    does not jump at epoch edges; without them, Keras' own mean of the epoch so far.
    """

    def __init__(
        self,
        steps_per_epoch: int,
        epochs: int,
        on_progress: ProgressHook | None = None,
        on_epoch: ProgressHook | None = None,
        interval: float = PROGRESS_INTERVAL,
        clock: Clock = time.perf_counter,
        samples: int | None = None,
        batch_size: int | None = None,
        cpu_clock: Clock = time.process_time,  # this process's CPU time, all threads: load on others leaves it be
    ) -> None:
        super().__init__()
        self.steps, self.epochs, self.interval, self.clock = steps_per_epoch, epochs, interval, clock
        self.cpu_clock, self._epoch_cpu_start = cpu_clock, 0.0
        self.on_progress, self.on_epoch = on_progress, on_epoch
        self.window = RunningWindow(samples, batch_size) if samples and batch_size else None
        self._running: tuple[float, float] | None = None  # the window's latest (loss, accuracy)
        self.history: list[dict[str, Any]] = []
        self._train_start = self._epoch_start = 0.0
        self._last = -math.inf
        self._epoch = 0
        self._batches = 0
        self._trail: list[list[float]] = []  # [epoch position, running loss, running accuracy]

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._train_start = self.clock()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch, self._batches, self._trail = epoch + 1, 0, []
        self._epoch_start, self._epoch_cpu_start = self.clock(), self.cpu_clock()
        if self.window:
            self.window.new_epoch()
        self._emit({})

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._batches = min(batch + 1, self.steps)
        logs = logs or {}
        loss, accuracy = _number(logs.get("loss")), _number(logs.get("accuracy"))
        if self.window and loss is not None and accuracy is not None:
            self._running = self.window.add(batch, loss, accuracy)
        if self.clock() - self._last >= self.interval:
            self._emit(logs)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        record = {
            "epoch": epoch + 1,
            "fraction": round(self._batches / self.steps, 4),  # below 1 when stopped mid-epoch
            "loss": _number(logs.get("loss")),
            "accuracy": _number(logs.get("accuracy")),
            "val_loss": _number(logs.get("val_loss")),
            "val_accuracy": _number(logs.get("val_accuracy")),
            "seconds": round(self.clock() - self._epoch_start, 3),  # wall clock: grows when others share the cores
            "cpu_seconds": round(self.cpu_clock() - self._epoch_cpu_start, 3),  # the run's own work
        }
        self.history.append(record)
        if self.on_epoch:
            self.on_epoch(record)
        self._emit(logs)

    def _emit(self, logs: dict[str, Any]) -> None:
        self._last = now = self.clock()
        loss, accuracy = _number(logs.get("loss")), _number(logs.get("accuracy"))
        keras_mean = None if loss is None or accuracy is None else (loss, accuracy)
        running = self._running if self.window else keras_mean
        if running is not None and keras_mean is not None and self._batches:
            self._trail.append([round(self._epoch - 1 + self._batches / self.steps, 4), *running])
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


def _number(value: Any) -> float | None:
    return None if value is None else float(value)

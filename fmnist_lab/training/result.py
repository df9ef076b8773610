"""How a training ended, in one frozen record: the CLI's summary line and the run's ``metrics.json``.

Kept apart from ``train`` (which imports TensorFlow) so that executors, the CLI and pages can name
and rebuild a result without loading TensorFlow.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


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
    stopped_by: str | None  # "loss goal", "accuracy goal", "early stopping", "request"; None: all epochs ran
    best_epoch: int | None  # with early stopping: the epoch whose weights were restored (and tested)
    train_seconds: float  # scaling the data, building and fitting the model; not the final scoring
    seconds_per_epoch: float | None
    parameters: int
    test_samples: int
    fairness: dict[str, Any] | None = None  # fairness.fairness_summary of the test set
    cpu_seconds_per_epoch: float | None = None  # the training process's own CPU time (all its threads) per epoch
    engine: str | None = None  # "vectorised" (a compiled loop, ``training.engine``) or "keras" (fit); None: older runs

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

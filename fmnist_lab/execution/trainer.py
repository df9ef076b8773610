"""A warm trainer: a process's data set and compiled models, kept between runs (local warm workers, Ray actors).

A cold worker spends seconds importing TensorFlow, reading the data set and compiling its first
training step. A warm one has done all that before its first run: ``WarmTrainer.start`` loads the
data and trains two tiny throwaway runs, 128 and 1024 units, whose compiled models it keeps
(``training.model.ModelCache``), so a later run of either shape starts its first step at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fmnist_lab.store.runs import RunStore

if TYPE_CHECKING:
    from fmnist_lab.execution.contract import ProgressHook
    from fmnist_lab.training.data import Dataset
    from fmnist_lab.training.model import ModelCache
    from fmnist_lab.training.result import TrainResult


@dataclass
class WarmTrainer:
    """What one warm process holds for its runs."""

    dataset: Dataset
    models: ModelCache

    @classmethod
    def start(cls, dataset: Dataset | None = None, waiting: Callable[[], bool] = lambda: False) -> WarmTrainer:
        """Load the data (unless given) and warm up; stops warming early once ``waiting`` says a run waits."""
        from fmnist_lab.training.data import load_dataset
        from fmnist_lab.training.engine import warm_up
        from fmnist_lab.training.model import ModelCache

        trainer = cls(dataset if dataset is not None else load_dataset(), ModelCache())
        warm_up(trainer.dataset, trainer.models, waiting=waiting)
        return trainer

    def train(
        self,
        store: RunStore,
        run_id: str,
        on_progress: ProgressHook | None = None,
        on_epoch: ProgressHook | None = None,
    ) -> TrainResult:
        """Train the run with this process's data and kept models (``engine.train`` records any failure)."""
        from fmnist_lab.training.engine import train

        return train(
            store, run_id, dataset=self.dataset, models=self.models, on_progress=on_progress, on_epoch=on_epoch
        )

"""Which engine trains a run: the vectorised engine's compiled loop where the setup allows, else Keras' ``fit``.

A plain setup (``grouping.vectorisable``: no dropout, penalties, goals, early stopping or bias settings)
of a size that XLA pays for (``train.worth_compiling``) trains as a group of one (``replicas``): each
chunk of 100 batches is one XLA loop, where Keras' ``fit`` runs an XLA step per batch in a graph loop.
At 128 units that is about half the time per epoch, at 1024 units the same (the arithmetic dominates);
``bench/bench.py`` measures both. The model, its initial weights, the batches and the optimizer are the
single run's; the numbers agree with ``fit``'s up to float rounding (tests/training/test_engine.py). Every
other run trains by ``fit`` (``train.train_run``), which also serves as the reference in the tests.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable

from fmnist_lab.config import TrainConfig
from fmnist_lab.store.runs import RunStore
from fmnist_lab.training.callbacks import ProgressHook
from fmnist_lab.training.data import Dataset, load_dataset
from fmnist_lab.training.grouping import vectorisable
from fmnist_lab.training.model import ModelCache
from fmnist_lab.training.replicas import VECTORISED, train_replicas
from fmnist_lab.training.result import TrainResult
from fmnist_lab.training.train import make_splits, train_run, worth_compiling

KERAS = "keras"  # the engines, as a run's metrics and the CLI name them: VECTORISED and KERAS


def engine_for(config: TrainConfig, dataset: Dataset, fast: bool | None = None) -> str:
    """The engine that trains ``config``: ``fast`` as ``train_run`` takes it (None: by the run's size)."""
    if vectorisable(config) is not None or fast is False:
        return KERAS
    return VECTORISED if fast or worth_compiling(config, len(make_splits(config, dataset).x_train)) else KERAS


def train(
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
    """``train_run``, by the engine ``engine_for`` picks; marks the run failed (and re-raises) on any error."""
    dataset = dataset or load_dataset()
    if engine_for(store.load(run_id).config, dataset, fast) == KERAS:
        return train_run(
            store,
            run_id,
            dataset=dataset,
            on_progress=on_progress,
            on_epoch=on_epoch,
            fast=fast,
            live=live,
            models=models,
        )
    hooks = [(lambda _run_id, record, hook=hook: hook(record)) if hook else None for hook in (on_progress, on_epoch)]
    [result] = train_replicas(
        store, [run_id], dataset=dataset, on_progress=hooks[0], on_epoch=hooks[1], live=live, fast=True, models=models
    )
    return result


# Throwaway runs on a few images: the default model first, then the 1024 units it is compared with
WARM_UPS = tuple(
    TrainConfig(hidden_units=(units,), epochs=1, train_samples=256, test_samples=64) for units in (128, 1024)
)


def warm_up(dataset: Dataset, models: ModelCache, waiting: Callable[[], bool] = lambda: False) -> None:
    """Train tiny throwaway runs, so that a warm worker's first real run finds TensorFlow's runtime,
    Keras' code paths and the saving machinery initialised and, in ``models``, the training loop and
    step of 128 and of 1024 units compiled and kept: by each engine, as a full-size run trains (the
    compiled loop's shapes do not depend on the data set's size). Stops early once ``waiting`` says a
    real run is waiting."""
    with tempfile.TemporaryDirectory(prefix="fmnist-warm-up-") as folder:
        scratch = RunStore(folder)
        for engine in (VECTORISED, KERAS):
            for config in WARM_UPS:
                if waiting():
                    return
                run_id = scratch.create(config).id
                if engine == VECTORISED:
                    train_replicas(scratch, [run_id], dataset=dataset, models=models, fast=True)
                else:
                    train_run(scratch, run_id, dataset=dataset, models=models, fast=True)

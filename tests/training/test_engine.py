"""The engine a run trains by: a plain setup's compiled loop (a vectorised group of one) against Keras'
``fit`` (``train_run``), the reference; what falls back to ``fit``; and the warm-up that keeps both compiled.

Tolerance as in test_replicas.py: per-epoch scores within rtol 1e-5, final weights within rtol 1e-5 /
atol 1e-6 (the same batches, initial weights and optimizer; the epoch means are summed in another order).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.training.data import Dataset
from fmnist_lab.training.engine import KERAS, engine_for, train, warm_up
from fmnist_lab.training.model import ModelCache
from fmnist_lab.training.replicas import VECTORISED
from tests.training.test_replicas import assert_same_as_single_runs

SMALL = {"epochs": 2, "train_samples": 600, "test_samples": 200}


def test_a_plain_run_trains_by_the_compiled_loop_and_equals_fit(tmp_path: Path, tiny_dataset: Dataset) -> None:
    store = RunStore(tmp_path / "runs")
    config = TrainConfig(hidden_units=(32,), holdout="split", **SMALL)
    run_id = store.create(config).id
    progress: list[dict[str, Any]] = []
    epochs: list[int] = []
    result = train(
        store,
        run_id,
        dataset=tiny_dataset,
        fast=True,
        on_progress=progress.append,
        on_epoch=lambda record: epochs.append(record["epoch"]),
    )
    assert result.engine == VECTORISED and store.load(run_id).metrics["engine"] == VECTORISED
    assert epochs == [1, 2] and progress and progress[-1]["epoch"] == 2  # the single run's hooks, called
    assert_same_as_single_runs(store, [run_id], tiny_dataset, fast=True)  # train_run: Keras' fit


@pytest.mark.parametrize(
    ("settings", "fast", "engine"),
    [
        ({}, True, VECTORISED),
        ({}, None, KERAS),  # 600 images × 2 epochs: too short for XLA, trained plainly by fit
        ({"epochs": 30}, None, VECTORISED),  # 19 batches × 30 epochs: long enough
        ({}, False, KERAS),
        ({"dropout": 0.2}, True, KERAS),
        ({"stop_accuracy": 0.9}, True, KERAS),
    ],
)
def test_engine_for(settings: dict, fast: bool | None, engine: str, tiny_dataset: Dataset) -> None:
    assert engine_for(TrainConfig(hidden_units=(32,), **(SMALL | settings)), tiny_dataset, fast) == engine


def test_a_run_the_loop_cannot_train_trains_by_fit(tmp_path: Path, tiny_dataset: Dataset) -> None:
    store = RunStore(tmp_path / "runs")
    run_id = store.create(TrainConfig(hidden_units=(32,), dropout=0.2, **SMALL)).id
    assert train(store, run_id, dataset=tiny_dataset, fast=True).engine == KERAS


def trained(store: RunStore, dataset: Dataset, models: ModelCache, **settings: Any) -> tuple[str, str]:
    """Train a run as a full-size run of its shape trains (``fast``); its id and the engine that trained it."""
    run_id = store.create(TrainConfig(**(SMALL | settings))).id
    return run_id, train(store, run_id, dataset=dataset, models=models, fast=True).engine or ""


def test_warm_up_keeps_the_128_and_1024_unit_loops_and_models(tmp_path: Path, tiny_dataset: Dataset) -> None:
    store, models = RunStore(tmp_path / "runs"), ModelCache()
    warm_up(tiny_dataset, models)
    assert len(models.loops) == 2
    reused = models.reused
    first, engine = trained(store, tiny_dataset, models, hidden_units=(128,), seed=3, learning_rate=0.003)
    assert engine == VECTORISED
    assert trained(store, tiny_dataset, models, hidden_units=(1024,))[1] == VECTORISED
    assert trained(store, tiny_dataset, models, hidden_units=(128,), dropout=0.2)[1] == KERAS  # a new shape for fit
    assert len(models.loops) == 2  # each loop kept was used again, none compiled anew
    assert models.reused > reused
    assert_same_as_single_runs(store, [first], tiny_dataset, fast=True)  # a kept loop starts as a new one


def test_warm_up_stops_once_a_run_is_waiting(tmp_path: Path, tiny_dataset: Dataset) -> None:
    models = ModelCache()
    answers = iter([False, True])  # nothing waits before the first throwaway run; one does before the second
    warm_up(tiny_dataset, models, waiting=lambda: next(answers))
    assert len(models.loops) == 1  # 128 units' loop only: 1024 units were never compiled

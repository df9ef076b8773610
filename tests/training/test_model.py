"""The model cache: a kept compiled model trains a later run exactly as a newly built one would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.training.data import Dataset
from fmnist_lab.training.model import ModelCache, make_model, make_optimizer, shape_key
from fmnist_lab.training.train import train_run

SMALL = {"epochs": 2, "hidden_units": (16,), "train_samples": 600, "test_samples": 200}


def trained(
    store: RunStore, dataset: Dataset, models: ModelCache | None, fast: bool | None = None, **settings: Any
) -> tuple[list[float], list[np.ndarray]]:
    """Train one run; its per-epoch losses and final weights. ``fast``: as ``train_run`` (None: by its size)."""
    run = store.create(TrainConfig(**(SMALL | settings)))
    train_run(store, run.id, dataset=dataset, models=models, fast=fast)
    return [record["loss"] for record in store.history(run.id)], store.weights(run.id)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"seed": 1, "learning_rate": 0.01}, {"seed": 2, "learning_rate": 0.003}),
        (  # Dropout's seed state, penalties, another optimizer
            {"seed": 5, "dropout": 0.3, "l2": 0.001, "optimizer": "rmsprop"},
            {"seed": 6, "dropout": 0.3, "l2": 0.001, "optimizer": "rmsprop", "learning_rate": 0.0005},
        ),
        ({"seed": 1, "optimizer": "sgd", "learning_rate": 0.1}, {"seed": 9, "optimizer": "sgd", "normalize": False}),
    ],
)
def test_a_kept_model_trains_a_later_run_exactly_as_a_new_model(
    tmp_path: Path, tiny_dataset: Dataset, first: dict[str, Any], second: dict[str, Any]
) -> None:
    store, models = RunStore(tmp_path / "runs"), ModelCache()
    # XLA and multi-step, as the full-size runs a warm worker keeps models for (these small ones would not)
    trained(store, tiny_dataset, models, fast=True, **first)  # compiles and keeps the model, trained and moved on
    reused_losses, reused_weights = trained(store, tiny_dataset, models, fast=True, **second)
    assert models.reused == 1  # the second run did train the kept model
    new_losses, new_weights = trained(store, tiny_dataset, None, fast=True, **second)
    assert reused_losses == new_losses
    assert len(reused_weights) == len(new_weights)
    for reused, new in zip(reused_weights, new_weights, strict=True):
        np.testing.assert_array_equal(reused, new)


def test_the_same_model_trained_twice_gives_the_same_run(tmp_path: Path, tiny_dataset: Dataset) -> None:
    store, models = RunStore(tmp_path / "runs"), ModelCache()
    runs = [trained(store, tiny_dataset, models, seed=4) for _ in range(3)]
    assert models.reused == 2
    assert runs[0][0] == runs[1][0] == runs[2][0]


def test_another_shape_is_another_model_and_the_oldest_shape_leaves_first(
    tmp_path: Path, tiny_dataset: Dataset
) -> None:
    store, models = RunStore(tmp_path / "runs"), ModelCache(size=1)
    trained(store, tiny_dataset, models, hidden_units=(16,))
    trained(store, tiny_dataset, models, hidden_units=(8,))  # another shape: built, and 16's leaves
    trained(store, tiny_dataset, models, hidden_units=(16,))
    assert models.reused == 0
    trained(store, tiny_dataset, models, hidden_units=(16,), seed=3)
    assert models.reused == 1


@pytest.mark.parametrize(
    ("change", "same"),
    [
        ({"seed": 7}, True),
        ({"learning_rate": 0.5}, True),
        ({"dropout": 0.2, "seed": 7}, False),  # a Dropout layer is another model; its seed alone is not
        ({"hidden_units": (32,)}, False),
        ({"activation": "tanh"}, False),
        ({"l1": 0.01}, False),
        ({"optimizer": "sgd"}, False),
    ],
)
def test_the_shape_key_ignores_seeds_and_learning_rate_only(change: dict[str, Any], same: bool) -> None:
    base = TrainConfig(hidden_units=(16,))
    other = TrainConfig(**({"hidden_units": (16,)} | change))
    key = lambda config: shape_key(make_model(config), make_optimizer(config), True)  # noqa: E731
    assert (key(base) == key(other)) is same
    if "dropout" in change:  # two Dropout runs with different seeds share a model
        assert key(other) == key(TrainConfig(hidden_units=(16,), dropout=0.2, seed=8))


@pytest.mark.parametrize("momentum", [0.0, 0.5, 0.9])
def test_the_sgd_model_trains_with_the_momentum_asked_for(momentum: float) -> None:
    from fmnist_lab.training.model import build_model

    optimizer = build_model(TrainConfig(optimizer="sgd", momentum=momentum), fast=False).optimizer
    assert float(optimizer.momentum) == pytest.approx(momentum)
    assert float(optimizer.learning_rate) == pytest.approx(0.01)  # SGD's Keras default, unchanged


def test_a_different_momentum_is_a_different_compiled_step() -> None:
    keys = {
        shape_key(make_model(config), make_optimizer(config), False)
        for config in (TrainConfig(optimizer="sgd"), TrainConfig(optimizer="sgd", momentum=0.9))
    }
    assert len(keys) == 2

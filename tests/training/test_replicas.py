"""Vectorised replicas against the single run: each replica trained alone with its seed through
``train_run`` is the reference.

Tolerance: per-epoch loss, accuracy and held-out scores within rtol 1e-5, final weights within
rtol 1e-5 / atol 1e-6. The weights come out bit for bit equal here (same XLA step, same orders,
elementwise optimizer); the epoch means differ in the last float32 digits because the group sums
them in float64 across chunks of batches where Keras keeps a float32 running mean. The setups below
train with XLA, as full-size runs and groups do (``fast=True``); runs as short as these would
otherwise train plainly (``train.worth_compiling``), which the CLI's and the executor's tests cover.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.training.data import Dataset
from fmnist_lab.training.grouping import check_group, vectorisable
from fmnist_lab.training.replicas import train_replicas
from fmnist_lab.training.train import train_run
from tests.conftest import make_dataset

RTOL, ATOL = 1e-5, 1e-6
SCORES = ("loss", "accuracy", "val_loss", "val_accuracy")


@pytest.fixture(scope="module")
def two_thousand() -> Dataset:
    return make_dataset(2_000, 300)


def seeds(config: TrainConfig, k: int) -> list[TrainConfig]:
    return [replace(config, seed=config.seed + i) for i in range(k)]


def assert_same_as_single_runs(
    store: RunStore, group_ids: list[str], dataset: Dataset, fast: bool | None = None
) -> None:
    """Train each member's config alone (``fast``: as ``train_run``) and compare history, weights and test scores."""
    for group_id in group_ids:
        alone = store.create(store.load(group_id).config).id
        single = train_run(store, alone, dataset=dataset, fast=fast)
        ours, theirs = store.history(group_id), store.history(alone)
        assert len(ours) == len(theirs) == store.load(alone).config.epochs
        for mine, reference in zip(ours, theirs, strict=True):
            assert mine["fraction"] == reference["fraction"] == 1
            for key in SCORES:
                if reference[key] is None:
                    assert mine[key] is None
                else:
                    assert mine[key] == pytest.approx(reference[key], rel=RTOL), (group_id, mine["epoch"], key)
        for mine_w, reference_w in zip(store.weights(group_id), store.weights(alone), strict=True):
            np.testing.assert_allclose(mine_w, reference_w, rtol=RTOL, atol=ATOL)
        metrics = store.load(group_id).metrics or {}
        assert metrics["test_accuracy"] == pytest.approx(single.test_accuracy, abs=1 / single.test_samples)
        assert metrics["test_loss"] == pytest.approx(single.test_loss, rel=RTOL)


@pytest.mark.parametrize(
    ("k", "setup"),
    [
        (2, {"optimizer": "adam", "normalize": True}),
        (2, {"optimizer": "sgd", "normalize": False, "holdout": "split", "hidden_units": (32, 16)}),
        (4, {"optimizer": "adam", "normalize": False, "activation": "tanh", "holdout": "none"}),
        (4, {"optimizer": "sgd", "normalize": True, "batch_size": 48, "activation": "sigmoid"}),
    ],
)
def test_each_replica_equals_its_single_run(k: int, setup: dict, two_thousand: Dataset) -> None:
    base = TrainConfig(**({"hidden_units": (32,), "epochs": 2, "seed": 7, "test_samples": 300} | setup))
    store = RunStore()
    ids = [store.create(config).id for config in seeds(base, k)]
    results = train_replicas(store, ids, dataset=two_thousand, fast=True)
    assert [r.run_id for r in results] == ids
    assert all(store.load(i).state == "finished" for i in ids)
    assert len({r.test_loss for r in results}) == k  # k different seeds: k different models
    assert_same_as_single_runs(store, ids, two_thousand, fast=True)


def test_members_write_progress_snapshots_and_call_hooks(two_thousand: Dataset) -> None:
    store = RunStore()
    ids = [store.create(c).id for c in seeds(TrainConfig(hidden_units=(16,), epochs=2, test_samples=300), 2)]
    epochs: list[tuple[str, int]] = []
    train_replicas(
        store, ids, dataset=two_thousand, on_epoch=lambda run_id, record: epochs.append((run_id, record["epoch"]))
    )
    assert sorted(epochs) == sorted((i, e) for i in ids for e in (1, 2))
    for run_id in ids:
        progress = store.progress(run_id)
        assert (progress["epoch"], progress["batch"], progress["steps"]) == (2, 63, 63)  # 2,000 / 32 → 63 batches
        assert store.snapshot_epochs(run_id) == [1, 2]
        assert store.model_path(run_id).exists()


def test_a_cancel_request_on_one_member_stops_the_group(two_thousand: Dataset) -> None:
    store = RunStore()
    ids = [store.create(c).id for c in seeds(TrainConfig(hidden_units=(16,), epochs=4, test_samples=300), 3)]
    stop_second = lambda run_id, record: store.request_cancel(ids[1]) if run_id == ids[0] else None  # noqa: E731
    results = train_replicas(store, ids, dataset=two_thousand, on_epoch=stop_second)
    assert [r.state for r in results] == ["stopped"] * 3
    assert all(r.stopped_by == "request" for r in results)
    assert all(len(store.history(i)) < 4 for i in ids)  # stopped before the last epoch
    assert len({len(store.history(i)) for i in ids}) == 1  # together


@pytest.mark.parametrize(
    ("setting", "word"),
    [
        ({"dropout": 0.2}, "dropout"),
        ({"l2": 0.001}, "L1/L2"),
        ({"early_stopping": 3}, "early stopping"),
        ({"stop_loss": 0.3}, "goal"),
        ({"stop_accuracy": 0.9}, "goal"),
        ({"class_shares": ((6, 0.1),)}, "class shares"),
        ({"label_noise": ((6, 0.2),)}, "label noise"),
        ({"balance": "oversample", "class_shares": ((6, 0.1),)}, "balance oversample"),
    ],
)
def test_vectorisable_names_what_falls_back(setting: dict, word: str) -> None:
    why = vectorisable(TrainConfig(**setting))
    assert why is not None and word in why


@pytest.mark.parametrize("setup", [{}, {"hidden_units": (8, 8, 8, 8), "optimizer": "rmsprop", "normalize": False}])
def test_plain_setups_are_vectorisable(setup: dict) -> None:
    assert vectorisable(TrainConfig(**setup)) is None


def test_a_group_must_differ_in_its_seed_only() -> None:
    with pytest.raises(ValueError, match="seed only"):
        check_group([TrainConfig(seed=1), TrainConfig(seed=2, epochs=3)])
    with pytest.raises(ValueError, match="distinct seeds"):
        check_group([TrainConfig(seed=1), TrainConfig(seed=1)])
    with pytest.raises(ValueError, match="dropout"):
        check_group([TrainConfig(seed=1, dropout=0.2), TrainConfig(seed=2, dropout=0.2)])


def test_four_replicas_on_the_real_data(real_dataset: Dataset) -> None:
    store = RunStore()
    configs = seeds(TrainConfig(hidden_units=(128,), epochs=1, train_samples=4_000), 4)
    ids = [store.create(config).id for config in configs]
    train_replicas(store, ids, dataset=real_dataset)
    assert_same_as_single_runs(store, ids, real_dataset)

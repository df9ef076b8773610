"""What the lesson checks gather from a store: the learner's pair, its groups and their verdict, a group's
members, neuron 0's class means and the first mistake's template matches, each against an independent sum."""

from __future__ import annotations

import numpy as np

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.analysis import statistics
from fmnist_lab.execution.ownership import owner_id
from fmnist_lab.store.groups import GroupStore
from fmnist_lab.teaching.evidence import Needs, gather, partner_of
from tests.conftest import final_metrics

ANA, BEN = owner_id("a" * 32), owner_id("b" * 32)  # fixed: xdist workers must collect the same ids


def stored_run(store: RunStore, config: TrainConfig, accuracy: float = 0.85, owner: str | None = None) -> str:
    """A finished run with metrics, a two-epoch history and four test predictions."""
    run = store.create(config, owner=owner)
    store.write_metrics(run.id, final_metrics(test_accuracy=accuracy, epochs_run=2))
    history = [{"epoch": k, "loss": 0.5, "accuracy": 0.8, "val_loss": 0.6, "val_accuracy": 0.8} for k in (1, 2)]
    store.write_history(run.id, history)
    store.write_predictions(run.id, np.full((4, 10), 0.1, dtype=np.float32), np.arange(4))
    store.set_status(run.id, "finished")
    return run.id


def test_the_partner_differs_only_in_the_pair_setting_and_is_the_learners_own() -> None:
    store = RunStore()
    base = TrainConfig(hidden_units=(32,), epochs=1, normalize=False)
    mine = stored_run(store, base, owner=ANA)
    stored_run(store, TrainConfig(hidden_units=(64,), epochs=1), owner=ANA)  # differs in units too
    stored_run(store, TrainConfig(hidden_units=(32,), epochs=1, seed=3), owner=BEN)  # someone else's
    own = stored_run(store, TrainConfig(hidden_units=(32,), epochs=1, seed=5), owner=ANA)
    stored_run(store, TrainConfig(hidden_units=(32,), epochs=1, normalize=False, seed=2), owner=ANA)  # not a pair
    partner = partner_of(store, store.load(mine), frozenset({"normalize"}))
    assert partner is not None and partner.id == own
    for other in ("hidden_units", "epochs"):  # the 64-unit run also differs in ÷255: no pair
        assert partner_of(store, store.load(mine), frozenset({other})) is None


def test_a_pair_of_groups_is_compared_paired_by_seed() -> None:
    store, groups = RunStore(), GroupStore(RunStore())
    small = [0.8695, 0.8729, 0.8756]
    big = [0.8781, 0.8715, 0.8814]
    ids = {}
    for units, accuracies in ((128, small), (1024, big)):
        ids[units] = [
            stored_run(store, TrainConfig(hidden_units=(units,), seed=seed), accuracy)
            for seed, accuracy in enumerate(accuracies)
        ]
        groups.create(ids[units])
    ev = gather(store, ids[1024][1], Needs(pair=frozenset({"hidden_units"})))
    assert ev.partner is not None and ev.partner.config.hidden_units == (128,)
    assert ev.comparison is not None and ev.comparison.test == statistics.PAIRED
    assert np.isclose(ev.comparison.difference, 100 * (np.mean(big) - np.mean(small)))
    assert ev.comparison.a.n == ev.comparison.b.n == 3


def test_one_run_each_is_compared_as_one_run_each() -> None:
    store = RunStore()
    run = stored_run(store, TrainConfig(hidden_units=(1024,)), 0.88)
    stored_run(store, TrainConfig(), 0.87)
    ev = gather(store, run, Needs(pair=frozenset({"hidden_units"})))
    assert ev.comparison is not None and ev.comparison.verdict == statistics.ONE_RUN_EACH
    assert np.isclose(ev.comparison.difference, 1.0)


def test_the_seeds_are_the_groups_finished_members() -> None:
    store = RunStore()
    ids = [stored_run(store, TrainConfig(seed=seed), 0.85 + seed / 100) for seed in range(3)]
    store.set_status(ids[2], "failed")
    GroupStore(store).create(ids)
    ev = gather(store, ids[0], Needs(seeds=True))
    assert ev.seeds is not None and ev.seeds.accuracies == (0.85, 0.86) and len(ev.seeds.histories) == 2
    assert gather(store, stored_run(store, TrainConfig(seed=9)), Needs(seeds=True)).seeds is None


def test_neuron_means_and_the_first_mistake_from_the_stored_weights() -> None:
    rng = np.random.default_rng(0)
    store = RunStore()
    config = TrainConfig(hidden_units=(6,))
    weights = [rng.normal(0, 0.05, (784, 6)), rng.normal(0, 0.1, 6), rng.normal(0, 1, (6, 10)), rng.normal(0, 0.1, 10)]
    images = rng.integers(0, 256, (30, 28, 28), dtype=np.uint8)
    labels = np.arange(30) % 10
    x = images.reshape(30, 784).astype(np.float32) / np.float32(255)
    z = x.astype(np.float64) @ weights[0] + weights[1]  # (30, 6)
    logits = np.maximum(z, 0) @ weights[2] + weights[3]
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    run = store.create(config)
    store.write_weights(run.id, [w.astype(np.float32) for w in weights])
    store.write_predictions(run.id, probabilities.astype(np.float32), labels)
    store.write_metrics(run.id, final_metrics())
    store.write_history(run.id, [])
    store.set_status(run.id, "finished")

    ev = gather(store, run.id, Needs(neuron=True, mistake=True), (images, labels))
    fired = np.maximum(x.astype(np.float64) @ weights[0][:, 0].astype(np.float32) + np.float32(weights[1][0]), 0)
    expected = [fired[labels == c].mean() for c in range(10)]
    assert ev.neuron_means is not None and np.allclose(ev.neuron_means, expected, atol=1e-5)
    wrong = np.flatnonzero(probabilities.argmax(axis=1) != labels)
    assert ev.mistake is not None and ev.mistake.index == wrong[0] and ev.mistake.true == labels[wrong[0]]
    i = wrong[0]
    mask = z[i] > 0
    matches = ((x[i].astype(np.float64) @ weights[0]) * mask) @ weights[2]  # the templates · image, by hand
    assert np.allclose(ev.mistake.matches, matches, atol=1e-4)

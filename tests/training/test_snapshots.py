"""Per-epoch snapshots: what training keeps of each epoch, and the loader that checks it."""

from __future__ import annotations

import numpy as np
import pytest

from fmnist_lab import RunNotFound, RunStore, TrainConfig
from fmnist_lab.training import callbacks
from fmnist_lab.training.data import Dataset
from fmnist_lab.training.train import train_run


def trained(dataset: Dataset, **settings: object) -> tuple[RunStore, str]:
    store = RunStore()
    run = store.create(TrainConfig(**{"epochs": 2, "hidden_units": (16,), "batch_size": 32, **settings}))
    train_run(store, run.id, dataset=dataset)
    return store, run.id


@pytest.mark.parametrize("holdout", ["test", "split", "none"])
def test_every_epoch_is_kept_and_the_last_matches_the_final_model(tiny_dataset: Dataset, holdout: str) -> None:
    store, run_id = trained(tiny_dataset, holdout=holdout)
    assert store.snapshot_epochs(run_id) == [1, 2]
    probabilities, _ = store.predictions(run_id)
    kernel, bias = store.weights(run_id)[:2]
    last = store.epoch_snapshot(run_id, 2)
    assert last.probabilities.shape == (200, 10) and last.kernel.shape == (784, 16) and last.bias.shape == (16,)
    np.testing.assert_allclose(last.probabilities, probabilities, atol=1e-3)  # float16 keeps ~3 decimals
    np.testing.assert_allclose(last.kernel, kernel, atol=1e-3, rtol=1e-3)
    np.testing.assert_allclose(last.bias, bias, atol=1e-3, rtol=1e-3)
    first = store.epoch_snapshot(run_id, 1)
    assert not np.allclose(first.kernel, last.kernel)  # the second epoch changed the weights
    with np.load(store.path(run_id) / "epochs" / "1.npz") as stored:
        assert {stored[name].dtype for name in stored.files} == {np.dtype(np.float16)}


def test_a_wide_layer_keeps_its_first_neurons(tiny_dataset: Dataset) -> None:
    store, run_id = trained(tiny_dataset, hidden_units=(200,), epochs=1)
    kernel, bias = store.weights(run_id)[:2]
    snapshot = store.epoch_snapshot(run_id, 1)
    assert snapshot.kernel.shape == (784, callbacks.SNAPSHOT_NEURONS) == (784, 128)
    np.testing.assert_allclose(snapshot.kernel, kernel[:, :128], atol=1e-3, rtol=1e-3)
    np.testing.assert_allclose(snapshot.bias, bias[:128], atol=1e-3, rtol=1e-3)


@pytest.mark.parametrize(("holdout", "scorings"), [("test", 2), ("split", 4)])
def test_the_test_set_is_scored_once_an_epoch_when_it_is_the_holdout(
    tiny_dataset: Dataset, monkeypatch: pytest.MonkeyPatch, holdout: str, scorings: int
) -> None:
    calls = []
    real = callbacks.score
    monkeypatch.setattr(callbacks, "score", lambda *args: calls.append(1) or real(*args))
    trained(tiny_dataset, holdout=holdout)
    assert len(calls) == scorings  # per epoch: held-out scoring, plus the test set's when it differs


def good_arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(10), size=5).astype(np.float16)
    return {"probabilities": probabilities, "kernel": np.zeros((784, 3), np.float16), "bias": np.ones(3, np.float16)}


def finished(store: RunStore) -> str:
    return store.create(TrainConfig(hidden_units=(3,))).id


def test_a_run_without_snapshots_lists_none_and_says_so() -> None:
    store = RunStore()
    run_id = finished(store)
    assert store.snapshot_epochs(run_id) == []
    with pytest.raises(RunNotFound, match="no snapshot of epoch 1"):
        store.epoch_snapshot(run_id, 1)


def test_a_written_snapshot_reads_back() -> None:
    store = RunStore()
    run_id = finished(store)
    arrays = good_arrays()
    store.write_epoch_snapshot(run_id, 3, **arrays)
    assert store.snapshot_epochs(run_id) == [3]
    snapshot = store.epoch_snapshot(run_id, 3)
    assert snapshot.epoch == 3 and snapshot.probabilities.dtype == np.float32
    np.testing.assert_array_equal(snapshot.probabilities, arrays["probabilities"].astype(np.float32))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bias": np.ones(4, np.float16)}, "bias"),
        ({"kernel": np.zeros((783, 3), np.float16)}, "kernel"),
        ({"probabilities": np.zeros((5, 9), np.float16)}, r"\(n, 10\)"),
        ({"probabilities": np.full((5, 10), np.nan, np.float16)}, "not finite"),
        ({"kernel": np.zeros((784, 3), np.float32)}, "float16"),
        ({"extra": np.zeros(1, np.float16)}, "arrays"),
    ],
)
def test_a_damaged_snapshot_is_refused_with_a_message(change: dict, message: str) -> None:
    store = RunStore()
    run_id = finished(store)
    folder = store.path(run_id) / "epochs"
    folder.mkdir()
    np.savez(folder / "1.npz", **(good_arrays() | change))
    with pytest.raises(RunNotFound, match=f"files are damaged: epochs/1.npz: .*{message}"):
        store.epoch_snapshot(run_id, 1)


def test_a_truncated_snapshot_file_is_refused() -> None:
    store = RunStore()
    run_id = finished(store)
    store.write_epoch_snapshot(run_id, 1, **good_arrays())
    path = store.path(run_id) / "epochs" / "1.npz"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(RunNotFound, match="damaged"):
        store.epoch_snapshot(run_id, 1)


def test_the_writer_refuses_bad_arrays() -> None:
    store = RunStore()
    with pytest.raises(ValueError, match="probabilities"):
        store.write_epoch_snapshot(finished(store), 1, np.zeros((5, 3)), np.zeros((784, 2)), np.zeros(2))

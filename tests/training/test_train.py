"""Training: the callbacks on crafted cases, then short real Keras runs on synthetic data."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.analysis import forward
from fmnist_lab.store.runs import Run
from fmnist_lab.training.callbacks import CancelOnRequest, ProgressRecorder, StopAtLoss
from fmnist_lab.training.data import Dataset, normalize, prepare
from fmnist_lab.training.train import frozen_heap, make_splits, train_run, training_data
from tests.conftest import make_dataset

TINY = {"epochs": 2, "hidden_units": (16,), "batch_size": 32}


class FakeModel:
    stop_training = False


def stopper(threshold: float) -> StopAtLoss:
    callback = StopAtLoss(threshold)
    callback.set_model(FakeModel())  # type: ignore[arg-type]
    return callback


@pytest.mark.parametrize(
    ("logs", "stops"),
    [({"loss": 0.3}, False), ({"loss": 0.25}, False), ({"loss": 0.248}, True), ({}, False), (None, False)],
)
def test_stop_at_loss_on_crafted_logs(logs: dict | None, stops: bool) -> None:
    callback = stopper(0.25)
    callback.on_epoch_end(6, logs)
    assert callback.model.stop_training is stops
    assert callback.reason == ("loss 0.248 < 0.25 at epoch 7" if stops else None)
    assert callback.stopped_epoch == (7 if stops else None)


def test_stop_at_loss_ignores_a_nan_loss() -> None:
    callback = stopper(0.25)
    callback.on_epoch_end(0, {"loss": float("nan")})
    assert callback.model.stop_training is False


def test_cancel_polls_at_most_every_interval() -> None:
    asked, now = [], [100.0]
    callback = CancelOnRequest(lambda: asked.append(1) or len(asked) >= 2, interval=0.05, clock=lambda: now[0])
    callback.set_model(FakeModel())  # type: ignore[arg-type]
    for _ in range(100):
        callback.on_train_batch_end(0)
    now[0] += 0.049
    callback.on_train_batch_end(0)
    assert len(asked) == 1 and not callback.cancelled
    now[0] += 0.002
    callback.on_train_batch_end(1)
    assert callback.cancelled and callback.model.stop_training


def test_progress_recorder_snapshots_and_epoch_records() -> None:
    snapshots, epochs = [], []
    recorder = ProgressRecorder(
        steps_per_epoch=10, epochs=1, on_progress=snapshots.append, on_epoch=epochs.append, interval=0
    )
    recorder.on_train_begin()
    recorder.on_epoch_begin(0)
    for batch in range(10):
        recorder.on_train_batch_end(batch, {"loss": 1.0 / (batch + 1), "accuracy": batch / 10})
    recorder.on_epoch_end(0, {"loss": 0.5, "accuracy": 0.8, "val_loss": 0.6, "val_accuracy": 0.7})
    assert [s["batch"] for s in snapshots] == [0, *range(1, 11), 10]
    assert snapshots[5]["loss"] == pytest.approx(0.2) and snapshots[5]["steps"] == 10
    assert epochs == [recorder.history[0]]
    assert epochs[0]["fraction"] == 1.0 and epochs[0]["val_accuracy"] == pytest.approx(0.7)


@pytest.mark.parametrize(("holdout", "n_train", "n_val"), [("test", 600, 200), ("split", 540, 60), ("none", 600, 0)])
def test_splits(tiny_dataset: Dataset, holdout: str, n_train: int, n_val: int) -> None:
    splits = make_splits(TrainConfig(holdout=holdout), tiny_dataset)
    assert len(splits.x_train) == n_train and (0 if splits.x_val is None else len(splits.x_val)) == n_val
    assert splits.x_train.dtype == np.uint8  # scaled batch by batch in training_data
    assert splits.x_test.dtype == np.float32 and splits.x_test.max() <= 1.0
    np.testing.assert_array_equal(splits.x_test, normalize(tiny_dataset.x_test))
    raw = make_splits(TrainConfig(normalize=False, train_samples=100, test_samples=50), tiny_dataset)
    assert raw.x_train.shape == (100, 28, 28) and raw.x_test.shape == (50, 28, 28) and raw.x_test.max() > 1


def train(dataset: Dataset, **settings: object) -> tuple[RunStore, str, object]:
    store = RunStore()
    run = store.create(TrainConfig(**{**TINY, **settings}))
    return store, run.id, train_run(store, run.id, dataset=dataset)


def test_a_finished_run_leaves_every_artefact(tiny_dataset: Dataset) -> None:
    store, run_id, result = train(tiny_dataset)
    run = store.load(run_id)
    assert run.state == "finished" and run.status["stop_reason"] == "completed all 2 epochs"
    assert run.metrics["stopped_by"] is None and run.metrics["best_epoch"] is None
    history = store.history(run_id)
    assert [r["epoch"] for r in history] == [1, 2] and all(r["val_loss"] is not None for r in history)
    assert all(r["cpu_seconds"] > 0 for r in history)  # the process's own CPU time, beside the wall clock
    cpu = [r["cpu_seconds"] for r in history]
    assert run.metrics["cpu_seconds_per_epoch"] == pytest.approx(sum(cpu) / 2, abs=1e-3)
    probabilities, labels = store.predictions(run_id)
    assert probabilities.shape == (200, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(labels, tiny_dataset.y_test)
    assert result.test_accuracy == pytest.approx(np.mean(probabilities.argmax(1) == labels), abs=1e-6)
    assert result.test_accuracy > 0.5  # the bands are easy: well above chance (0.1)
    assert run.metrics["test_accuracy"] == result.test_accuracy and result.epochs_run == 2
    assert result.parameters == TrainConfig(hidden_units=(16,)).parameter_count
    model = keras.saving.load_model(store.model_path(run_id), safe_mode=True)
    np.testing.assert_allclose(model.predict(tiny_dataset.x_test / 255.0, verbose=0), probabilities, atol=1e-5)
    weights = store.weights(run_id)  # what the app server scores an uploaded picture with, in NumPy
    np.testing.assert_allclose(forward.predict(weights, "relu", tiny_dataset.x_test / 255.0), probabilities, atol=1e-5)
    progress = store.progress(run_id)
    assert progress["epoch"] == 2 and progress["batch"] == progress["steps"] == 19
    # the running line, rebuilt from Keras' per-batch means (last batch 24 of 32), meets its epoch score
    assert progress["trail"][-1][1:] == pytest.approx([history[-1]["loss"], history[-1]["accuracy"]], rel=1e-4)
    assert list(Path(store.logs_path(run_id)).rglob("events.out.tfevents.*"))


def test_same_seed_same_curves_and_another_seed_differs(tiny_dataset: Dataset) -> None:
    losses = [
        [r["loss"] for r in store.history(run_id)]
        for store, run_id, _ in (train(tiny_dataset, seed=s) for s in (3, 3, 4))
    ]
    assert losses[0] == losses[1]
    assert losses[0] != losses[2]


def test_stop_loss_ends_training_and_says_why(tiny_dataset: Dataset) -> None:
    store, run_id, result = train(tiny_dataset, epochs=10, stop_loss=5.0)  # any first epoch is below 5
    assert result.epochs_run == 1 and result.state == "finished" and result.stopped_by == "loss goal"
    assert result.stop_reason.startswith("loss ") and result.stop_reason.endswith("< 5 at epoch 1: stopped")
    assert len(store.history(run_id)) == 1


def test_accuracy_goal_ends_training_and_says_why(tiny_dataset: Dataset) -> None:
    store, run_id, result = train(tiny_dataset, epochs=10, stop_accuracy=0.01)  # any first epoch reaches 1%
    assert result.epochs_run == 1 and result.stopped_by == "accuracy goal" and result.best_epoch is None
    assert result.stop_reason.startswith("accuracy ") and result.stop_reason.endswith("≥ 0.01 at epoch 1: stopped")


@pytest.fixture(scope="module")
def noisy_dataset() -> Dataset:
    """A third of the images show another class's band: a big model soon fits the noise (overfits)."""
    return make_dataset(noise=0.3)


def test_early_stopping_tests_the_restored_best_epoch(noisy_dataset: Dataset) -> None:
    settings = {"hidden_units": (256,), "epochs": 20, "early_stopping": 2, "batch_size": 16, "train_samples": 200}
    store, run_id, result = train(noisy_dataset, **settings)  # holdout="test": each epoch's val_* are test scores
    history = store.history(run_id)
    best = result.best_epoch
    assert result.stopped_by == "early stopping" and result.epochs_run == len(history) < 20
    assert best is not None and best == 1 + int(np.argmin([r["val_loss"] for r in history]))
    assert best < len(history) and history[-1]["val_loss"] != history[best - 1]["val_loss"]  # restoring mattered
    assert result.test_loss == pytest.approx(history[best - 1]["val_loss"], abs=1e-6)  # the best epoch's weights
    assert result.test_accuracy == pytest.approx(history[best - 1]["val_accuracy"], abs=1e-9)
    assert store.load(run_id).metrics["best_epoch"] == best
    assert result.stop_reason.endswith(f"stopped; weights restored from the best epoch, {best}")


def test_numpy_forward_pass_reproduces_predictions_with_dropout_and_penalties(tiny_dataset: Dataset) -> None:
    settings = {"hidden_units": (24, 12), "dropout": 0.3, "l2": 0.001, "l1": 0.0001, "early_stopping": 1}
    store, run_id, result = train(tiny_dataset, **settings)
    probabilities, _ = store.predictions(run_id)
    weights = store.weights(run_id)
    assert len(weights) == 6  # dropout adds no weights: kernel and bias of three Dense layers
    np.testing.assert_allclose(forward.predict(weights, "relu", tiny_dataset.x_test / 255.0), probabilities, atol=1e-5)


def test_cancel_stops_within_a_second_and_keeps_what_was_learnt(tiny_dataset: Dataset) -> None:
    store = RunStore()
    run = store.create(TrainConfig(hidden_units=(16,), epochs=100, batch_size=1))
    outcome: dict = {}
    worker = threading.Thread(target=lambda: outcome.update(result=train_run(store, run.id, dataset=tiny_dataset)))
    worker.start()
    while not store.history(run.id):  # let it learn for one epoch
        time.sleep(0.05)
    store.request_cancel(run.id)
    worker.join(timeout=120)
    result = outcome["result"]  # stopped mid-epoch: the cancel poll ended fit, not the last epoch
    assert store.history(run.id)[-1]["fraction"] < 1
    assert result.state == "stopped" and store.load(run.id).state == "stopped"
    assert result.stop_reason.startswith("stopped by request during epoch") and result.stopped_by == "request"
    assert 1 <= result.epochs_run < 100
    assert store.model_path(run.id).exists() and store.predictions(run.id)[0].shape == (200, 10)


def test_a_training_error_marks_the_run_failed(tiny_dataset: Dataset) -> None:
    broken = Dataset(
        tiny_dataset.x_train[:, :20], tiny_dataset.y_train, tiny_dataset.x_test, tiny_dataset.y_test, "bad"
    )
    store = RunStore()
    run = store.create(TrainConfig(**TINY))
    with pytest.raises(ValueError):
        train_run(store, run.id, dataset=broken)
    status = store.load(run.id).status
    assert status["state"] == "failed" and "ValueError" in status["error"]


def test_training_data_passes_over_every_image_once_per_epoch_in_a_new_order() -> None:
    x = np.repeat(np.arange(70, dtype=np.uint8), 28 * 28).reshape(70, 28, 28)  # image i is all pixels i
    y = np.arange(70, dtype=np.int32)
    data = training_data(x, y, 32, 1, False)
    batches = [(bx.numpy(), by.numpy()) for _ in range(2) for bx, by in data]  # two epochs: two passes
    assert [len(by) for _, by in batches] == [32, 32, 6] * 2  # ceil(70 / 32) batches a pass, the last short
    passes = [np.concatenate([by for _, by in batches[i : i + 3]]) for i in (0, 3)]
    assert all(sorted(order) == list(range(70)) for order in passes)  # each image once a pass
    assert all(np.array_equal(bx[:, 3, 5], by) for bx, by in batches)  # images stay with their labels
    assert not np.array_equal(passes[0], passes[1]) and not np.array_equal(passes[0], y)  # reshuffled


@pytest.mark.parametrize("normalized", [True, False])
def test_training_data_scales_exactly_as_prepare(normalized: bool) -> None:
    x = np.random.default_rng(0).integers(0, 256, size=(40, 28, 28), dtype=np.uint8)
    y = np.arange(40, dtype=np.int32)  # each label names its image
    (images, labels), *_ = training_data(x, y, 40, 0, normalized)
    assert images.dtype == tf.float32
    np.testing.assert_array_equal(images.numpy(), prepare(x[labels.numpy()], normalized))  # bit for bit


@pytest.mark.parametrize(("batch_size", "steps"), [(32, 19), (4, 150)])  # fewer than and not a multiple of 100
def test_each_epoch_trains_exactly_one_pass(tiny_dataset: Dataset, batch_size: int, steps: int) -> None:
    """Keras runs 100 batches per call: an epoch must still stop at the end of its pass."""
    store, run_id, result = train(tiny_dataset, batch_size=batch_size)  # 600 training images, 2 epochs
    model = keras.saving.load_model(store.model_path(run_id), safe_mode=True)
    assert int(model.optimizer.iterations.numpy()) == steps * 2
    assert [r["fraction"] for r in store.history(run_id)] == [1.0, 1.0] and result.epochs_run == 2


def test_frozen_heap_freezes_while_inside_and_keeps_a_callers_freeze() -> None:
    import gc

    assert gc.get_freeze_count() == 0
    with frozen_heap():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        theirs = gc.get_freeze_count()
        with frozen_heap():
            pass
        assert gc.get_freeze_count() == theirs
    finally:
        gc.unfreeze()


def test_seconds_per_epoch_average_the_complete_epochs_that_have_them() -> None:
    from fmnist_lab.training.train import mean_per_epoch

    complete = [{"seconds": 10.0, "cpu_seconds": 2.0}, {"seconds": 14.0, "cpu_seconds": 3.0}, {"seconds": 12.0}]
    assert mean_per_epoch(complete, "seconds") == 12.0
    assert mean_per_epoch(complete, "cpu_seconds") == 2.5  # the epoch without it is left out, not counted as 0
    assert mean_per_epoch([], "cpu_seconds") is None


KILLER = """
import os, signal, sys
from fmnist_lab import RunStore
from fmnist_lab.store import atomic
from fmnist_lab.training import train
from tests.conftest import make_dataset

store, run_id, kill_at = RunStore(sys.argv[1]), sys.argv[2], int(sys.argv[3])
writes, saving, fsync, save_run = [], [], atomic._fsync, train.save_run

def counted_fsync(path):  # every atomic write, just before its rename
    fsync(path)
    if saving:
        writes.append(path.name)
        if len(writes) == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

def marked_save_run(*args, **kwargs):
    saving.append(True)
    return save_run(*args, **kwargs)

atomic._fsync, train.save_run = counted_fsync, marked_save_run
train.train_run(store, run_id, dataset=make_dataset(300, 100))
print(len(writes))
"""


def test_sigkill_at_each_write_of_the_end_of_run_save_never_hides_a_run_with_its_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review's kill loop: a training killed before each write of ``save_run`` and of its final status
    lands; then the server's refresh. Finished with its results, or failed: never failed with every result
    present, and never hidden from the analysis pages with them.

    Every write is atomic (a temporary file, fsync, rename), so a kill just before write k's rename leaves
    the run folder exactly as it stands at that moment: one training here copies the folder there, once per
    write, and each copy is refreshed as the server would. The last point is also a real SIGKILL of a real
    training process, which must leave what its copy says."""
    import shutil

    from fmnist_lab.execution.local import LocalExecutor
    from fmnist_lab.store import atomic
    from fmnist_lab.training import train
    from fmnist_lab.ui.analysis import analysable_runs

    config = TrainConfig(hidden_units=(16,), epochs=1, train_samples=300, test_samples=100)
    store = RunStore(tmp_path / "runs")
    whole_id = store.create(config).id
    copies: list[RunStore] = []
    fsync, save_run = atomic._fsync, train.save_run

    def copied_fsync(path: Path) -> None:  # every atomic write, just before its rename
        fsync(path)
        if saving:
            copy = RunStore(tmp_path / f"killed-at-{len(copies) + 1}")
            shutil.copytree(store.path(whole_id), copy.path(whole_id))
            copies.append(copy)

    def marked_save_run(*args: object, **kwargs: object) -> object:
        saving.append(True)
        return save_run(*args, **kwargs)

    saving: list[bool] = []
    monkeypatch.setattr(atomic, "_fsync", copied_fsync)
    monkeypatch.setattr(train, "save_run", marked_save_run)
    train_run(store, whole_id, dataset=make_dataset(300, 100))
    monkeypatch.undo()
    assert len(copies) == 6  # predictions, weights, history, model, metrics, status
    assert store.load(whole_id).state == "finished" and "recovered" not in store.load(whole_id).status["stop_reason"]

    def refreshed(copy: RunStore) -> Run:
        LocalExecutor(copy).refresh()
        return copy.load(whole_id)

    for kill_at, copy in enumerate(copies, start=1):
        run = refreshed(copy)
        results = (copy.path(whole_id) / "metrics.json").exists()
        assert results == (kill_at == len(copies))  # metrics.json is the last result written
        if results:
            assert run.state == "finished" and "status recovered" in run.status["stop_reason"]
            assert whole_id in [shown.id for shown in analysable_runs(copy)]  # the analysis pages' list
        else:
            assert run.state == "failed" and "ended without recording why" in run.status["error"], kill_at

    killed = RunStore(tmp_path / "killed")
    run_id = killed.create(config).id
    argv = [sys.executable, "-c", KILLER, str(killed.root), run_id, str(len(copies))]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == -signal.SIGKILL, done.stderr
    LocalExecutor(killed).refresh()
    run, copied = killed.load(run_id), refreshed(copies[-1])
    assert (run.state, run.status["stop_reason"]) == (copied.state, copied.status["stop_reason"])
    assert [shown.id for shown in analysable_runs(killed)] == [run_id]


@pytest.mark.parametrize(
    ("samples", "epochs", "batch", "compiled"),
    [(3000, 5, 32, False), (16_000, 1, 32, True), (15_968, 1, 32, False), (8000, 2, 32, True), (60_000, 1, 256, False)],
)
def test_xla_is_worth_compiling_from_500_batches_on(samples: int, epochs: int, batch: int, compiled: bool) -> None:
    from fmnist_lab.training.train import worth_compiling

    # 3000/32 → 94 batches (the last one short) × 5 = 470; 16,000/32 = 500; 15,968/32 = 499; 250 × 2; 235
    assert worth_compiling(TrainConfig(epochs=epochs, batch_size=batch), samples) == compiled


def test_a_short_run_trains_plainly_and_a_long_one_with_xla(tiny_dataset: Dataset) -> None:
    from fmnist_lab.training.train import Watch, fit_run

    store = RunStore()
    short = TrainConfig(hidden_units=(8,), epochs=1, train_samples=len(tiny_dataset.y_train))
    long = TrainConfig(hidden_units=(8,), epochs=100, train_samples=160, stop_loss=10.0)  # 5 × 100 batches, stops soon
    models = {}
    for name, config in (("short", short), ("long", long)):
        models[name] = fit_run(config, tiny_dataset, Watch(store, store.create(config).id)).model
    assert (models["short"].jit_compile, models["short"].steps_per_execution) == (False, 1)
    assert (models["long"].jit_compile, models["long"].steps_per_execution) == (True, 100)

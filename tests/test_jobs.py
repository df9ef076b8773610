"""Training in a separate process: it trains, it stops on request, and a dead worker is recorded."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from fmnist_lab import RunStore, TrainConfig, jobs

QUICK = TrainConfig(hidden_units=(16,), epochs=2, train_samples=2000, test_samples=500)


def wait_for(predicate, timeout: float = 120.0, step: float = 0.1) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(step)


def test_a_worker_process_trains_the_run(app_env: Path) -> None:
    store = RunStore()
    run = jobs.start(store, QUICK)
    assert store.load(run.id).status["pid"] != os.getpid()
    wait_for(lambda: not store.load(run.id).is_active)
    finished = store.load(run.id)
    assert finished.state == "finished", finished.status
    assert finished.metrics["epochs_run"] == 2 and finished.metrics["test_samples"] == 500
    assert finished.metrics["test_accuracy"] > 0.5  # the synthetic bands are easy


def test_stop_ends_a_worker_within_about_a_second(app_env: Path) -> None:
    store = RunStore()
    run = jobs.start(store, TrainConfig(hidden_units=(16,), epochs=100, train_samples=3000, test_samples=500))
    wait_for(lambda: len(store.history(run.id)) >= 1)
    asked = time.monotonic()
    jobs.stop(store, run.id)
    wait_for(lambda: store.history(run.id)[-1]["fraction"] < 1 or not store.load(run.id).is_active, 10, 0.02)
    fit_ended = time.monotonic() - asked
    wait_for(lambda: not store.load(run.id).is_active, 30)
    assert fit_ended < 1.5
    stopped = store.load(run.id)
    assert stopped.state == "stopped" and stopped.metrics["epochs_run"] < 100
    assert store.model_path(run.id).exists()


def test_a_killed_worker_marks_its_run_failed(app_env: Path) -> None:
    store = RunStore()
    run = jobs.start(store, TrainConfig(hidden_units=(16,), epochs=100, train_samples=3000))
    wait_for(lambda: store.load(run.id).state == "running" and store.progress(run.id))
    os.kill(store.load(run.id).status["pid"], signal.SIGKILL)
    wait_for(lambda: store.load(run.id).state == "failed", 10)
    assert store.load(run.id).status["error"] == "the training process was killed (SIGKILL)"
    assert store.progress(run.id)  # what it had recorded is kept


def test_a_worker_with_damaged_data_fails_and_says_which_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    folder = tmp_path / "damaged"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(b"this is not gzip")
    monkeypatch.setenv("FMNIST_DATA_DIR", str(folder))
    store = RunStore()
    run = jobs.start(store, QUICK)
    wait_for(lambda: store.load(run.id).state == "failed", 60)
    error = store.load(run.id).status["error"]
    assert "DataError" in error and "train-images-idx3-ubyte.gz" in error and "damaged" in error

"""Shared fixtures: an isolated lab home for every test, small synthetic data, the real data when present.

Each expensive thing is built once per session and, under pytest-xdist, once for all workers: the
synthetic full-size data set, the trained runs and the parsed-data cache live in a folder the workers
share (``shared_folder``), built by whichever worker asks first while the others wait on a file lock.
Tests never write into them: they copy what they change into their own lab home.
"""

from __future__ import annotations

import fcntl
import gzip
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fmnist_lab.training import data
from fmnist_lab.training.data import Dataset

REQUIRE_REAL_DATA = os.environ.get("FMNIST_REQUIRE_REAL_DATA") == "1"  # CI sets it: no silent skip there
# Tests that one xdist worker runs together (``--dist loadgroup``), by path prefix: the browser tests share
# one server, the corruption corpus is built once per module. Every other test is a work unit of its own.
XDIST_GROUPS = {"tests/e2e/": "e2e", "tests/pages/test_corruption.py": "corruption"}


def xdist_group(nodeid: str) -> str:
    """The work unit ``nodeid`` belongs to: its group, or itself."""
    return next((group for prefix, group in XDIST_GROUPS.items() if nodeid.startswith(prefix)), nodeid)


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """``--dist loadgroup`` with the groups above. xdist 3.8 groups ``xdist_group`` marks by appending
    ``@group`` to ``item._nodeid``, which pytest 9.2 no longer reads (a node id is now built from
    ``item._id``), so the marks would be ignored silently; the controller sees only node ids, hence paths."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_group(nodeid)

    return GroupScheduling(config, log)


def shared_folder(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """``name`` in this session's temporary folder, the same for every xdist worker (not yet created)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # each worker's basetemp is popen-gwN inside the session's
        root = root.parent
    return root / name


def built_once(folder: Path, build: Callable[[Path], None]) -> Path:
    """``folder``, filled by ``build(folder)`` unless a worker of this session already did; a lock orders them."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    done = folder.with_name(f"{folder.name}.built")
    with open(folder.with_name(f"{folder.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, even if build fails
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)  # what a failed build left
            build(folder)
            done.touch()
    return folder


@pytest.fixture(scope="session")
def data_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The parsed-data cache every test shares (FMNIST_CACHE_DIR): each source is parsed once per session.

    Its entries are named by the source files' fingerprint (path, size, time), so sharing it changes no answer.
    """
    folder = shared_folder(tmp_path_factory, "data-cache")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(autouse=True)
def isolated_lab(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, data_cache: Path) -> Path:
    """Every test gets its own FMNIST_LAB_HOME and Keras home, and downloads are off; the parsed-data
    cache is the session's."""
    home = tmp_path_factory.mktemp("lab")
    monkeypatch.setenv("FMNIST_LAB_HOME", str(home))
    monkeypatch.setenv("FMNIST_CACHE_DIR", str(data_cache))
    monkeypatch.setenv("KERAS_HOME", str(home / "keras"))
    monkeypatch.setenv("FMNIST_DOWNLOAD", "0")
    monkeypatch.setenv(
        "FMNIST_WARM_WORKERS", "0"
    )  # page tests start no pools; tests/execution/test_warm.py asks for one
    monkeypatch.delenv("FMNIST_DATA_DIR", raising=False)
    data._load_folder_cached.cache_clear()
    return home


def synthetic_images(labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """Dim noise with a bright two-row band whose height gives the class: easy to learn."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 60, size=(len(labels), 28, 28), dtype=np.uint8)
    rows = 4 + 2 * np.asarray(labels, dtype=np.intp)[:, None] + np.arange(2)  # (n, 2) band rows
    bright = rng.integers(180, 256, size=(len(labels), 2, 20), dtype=np.uint8)
    images[np.arange(len(labels))[:, None, None], rows[:, :, None], np.arange(4, 24)] = bright
    return images


def make_dataset(n_train: int = 600, n_test: int = 200, seed: int = 0, noise: float = 0.08) -> Dataset:
    """Balanced training labels, random test labels; ``noise`` of the images show another class's band,
    so even a perfect model makes mistakes to analyse."""
    rng = np.random.default_rng(seed)
    y_train = np.resize(np.arange(10, dtype=np.uint8), n_train)
    y_test = rng.integers(0, 10, size=n_test, dtype=np.uint8)

    def drawn(labels: np.ndarray) -> np.ndarray:
        shown = labels.copy()
        wrong = rng.random(len(labels)) < noise
        shown[wrong] = (labels[wrong] + rng.integers(1, 10, size=int(wrong.sum()))) % 10
        return shown

    x_train, x_test = synthetic_images(drawn(y_train), seed), synthetic_images(drawn(y_test), seed + 1)
    return Dataset(x_train, y_train, x_test, y_test, "synthetic")


@pytest.fixture(scope="session")
def tiny_dataset() -> Dataset:
    return make_dataset()


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode ``array`` (uint8, 1 or 3 dimensions) in the IDX format."""
    magic = data.IMAGE_MAGIC if array.ndim == 3 else data.LABEL_MAGIC
    header = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_idx_folder(folder: Path, dataset: Dataset, compress: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for key, stem in data.FILES.items():
        raw = idx_bytes(getattr(dataset, key))
        if compress:
            (folder / f"{stem}.gz").write_bytes(gzip.compress(raw, compresslevel=1))
        else:
            (folder / stem).write_bytes(raw)
    return folder


@pytest.fixture
def idx_folder(tmp_path: Path, tiny_dataset: Dataset) -> Path:
    return write_idx_folder(tmp_path / "idx", tiny_dataset)


@pytest.fixture(scope="session")
def real_dataset() -> Dataset:
    """The full Fashion-MNIST from the Debian package; skipped (or failed in CI) when absent."""
    if data.find_file(data.DEBIAN_DIR, data.FILES["x_train"]) is None:
        message = f"real Fashion-MNIST not installed in {data.DEBIAN_DIR} (apt-get install dataset-fashion-mnist)"
        if REQUIRE_REAL_DATA:
            pytest.fail(message)
        pytest.skip(message)
    return data.read_folder(data.DEBIAN_DIR)


@pytest.fixture(scope="session")
def full_size_idx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic data set with the real counts (60,000/10,000), as raw IDX files.

    Lets the app and its worker processes run end to end without the real download. Built once for
    all xdist workers; never written to afterwards (the data cache's fingerprint is its files' times).
    """
    folder = shared_folder(tmp_path_factory, "full-size-idx")
    return built_once(folder, lambda into: write_idx_folder(into, make_dataset(60_000, 10_000), compress=False))


@pytest.fixture
def app_env(full_size_idx: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the app (and the training processes it starts) at the synthetic data set."""
    import streamlit as st

    monkeypatch.setenv("FMNIST_DATA_DIR", str(full_size_idx))
    st.cache_resource.clear()
    st.cache_data.clear()
    return full_size_idx


@pytest.fixture(scope="session")
def trained_runs_dir(tmp_path_factory: pytest.TempPathFactory, full_size_idx: Path) -> Path:
    """Two real tiny trainings, 128 and 1024 units, on the synthetic full-size data set."""
    from fmnist_lab import RunStore, TrainConfig
    from fmnist_lab.training.train import train_run

    def train(root: Path) -> None:
        store = RunStore(root)
        dataset = data.read_folder(full_size_idx)
        for units in (128, 1024):
            run = store.create(TrainConfig(hidden_units=(units,), epochs=1, train_samples=1000))
            train_run(store, run.id, dataset=dataset)

    return built_once(shared_folder(tmp_path_factory, "trained") / "runs", train)


@pytest.fixture
def trained_store(trained_runs_dir: Path, isolated_lab: Path, app_env: Path) -> Path:
    """This test's own copy of the trained runs, in its lab home."""
    shutil.copytree(trained_runs_dir, isolated_lab / "runs")
    return isolated_lab / "runs"


def final_metrics(**scores: object) -> dict[str, object]:
    """A complete metrics.json as a finished run writes it, with ``scores`` changed."""
    metrics: dict[str, object] = {"test_accuracy": 0.85, "test_loss": 0.4, "train_accuracy": 0.87, "train_loss": 0.35}
    metrics |= {"epochs_run": 5, "stop_reason": "completed all 5 epochs", "parameters": 101_770}
    metrics |= {"train_seconds": 6.5, "seconds_per_epoch": 1.3, "test_samples": 10_000}
    return metrics | scores


def finished_run(store: Any, config: Any, test_accuracy: float, curve: Sequence[float] = ()) -> Any:
    """A run stored as a finished one with ``test_accuracy`` and, per epoch, held-out accuracies ``curve``."""
    run = store.create(config)
    store.write_metrics(run.id, final_metrics(test_accuracy=test_accuracy, epochs_run=max(len(curve), 1)))
    history = [
        {"epoch": k, "loss": 0.5, "accuracy": 0.8, "val_loss": 0.6, "val_accuracy": v, "seconds": 1.0}
        for k, v in enumerate(curve, start=1)
    ]
    store.write_history(run.id, history)
    store.set_status(run.id, "finished")
    return store.load(run.id)


class QueueOnly:
    """An executor back end that queues submitted runs without starting training processes (page tests):
    like the server, this process holds each waiting run's alive lock, so refresh keeps them queued."""

    held: list[int] = []  # the locks' fds, for the test process's lifetime

    def __init__(self) -> None:
        from fmnist_lab import RunStore

        self.store = RunStore()

    def submit(self, config: object, name: str | None = None, owner: str | None = None) -> object:
        from fmnist_lab.execution.processes import hold_lock

        vouch = lambda folder: QueueOnly.held.append(hold_lock(folder))  # noqa: E731
        return self.store.create(config, name, owner, on_staged=vouch)  # type: ignore[arg-type]

    def cancel(self, run_id: str) -> None:
        self.store.request_cancel(run_id)

    def capacity(self) -> int:
        return 2


def queue_only() -> object:
    """The lab's real rules (``factory.Ruled``: default caps, whole-or-nothing clicks) around ``QueueOnly``."""
    from fmnist_lab.environment import Environment
    from fmnist_lab.execution.factory import Ruled
    from fmnist_lab.execution.limits import Limits
    from fmnist_lab.execution.policy import QueueCaps

    caps = QueueCaps(Environment().max_queued_per_learner, Environment().max_queued)  # the defaults
    return Ruled(QueueOnly(), Limits(), caps)  # type: ignore[arg-type]

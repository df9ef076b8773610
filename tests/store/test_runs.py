"""The run store: life cycle, hostile ids, damaged folders, crash-safe writes."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from fmnist_lab.config import TrainConfig
from fmnist_lab.store import atomic
from fmnist_lab.store.runs import DamagedRun, InvalidRunId, RunBusy, RunNotFound, RunStore, check_run_id, clean_name


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(tmp_path / "runs")


def test_create_load_list_rename_delete(store: RunStore) -> None:
    first = store.create(TrainConfig(hidden_units=(128,)))
    second = store.create(TrainConfig(hidden_units=(1024,), epochs=30), name="wide")
    assert first.state == "queued" and first.name == "128 units · 5 epochs"
    assert [run.id for run in store.list()] == [second.id, first.id]
    assert store.load(second.id).config == TrainConfig(hidden_units=(1024,), epochs=30)
    assert store.rename(first.id, "  my\nfirst\trun ").name == "my first run"
    for run in (first, second):
        store.set_status(run.id, "finished")
    store.delete(first.id)
    assert [run.id for run in store.list()] == [second.id]
    assert [p.name for p in store.root.iterdir()] == [second.id]  # no trash left behind
    with pytest.raises(RunNotFound):
        store.load(first.id)


def test_default_home_comes_from_the_environment(isolated_lab: Path) -> None:
    assert RunStore().root == isolated_lab / "runs"


def test_status_keeps_its_history_of_times(store: RunStore) -> None:
    run = store.create(TrainConfig())
    store.set_status(run.id, "running", pid=123)
    status = store.set_status(run.id, "failed", error="boom")
    assert status["state"] == "failed" and status["error"] == "boom" and status["pid"] == 123
    assert {"queued", "running", "failed"} <= set(status)
    with pytest.raises(ValueError):
        store.set_status(run.id, "exploded")


def test_active_runs_are_not_deleted_without_force(store: RunStore) -> None:
    run = store.create(TrainConfig())
    with pytest.raises(RunBusy, match="queued"):
        store.delete(run.id)
    store.delete(run.id, force=True)
    assert store.list() == []


HOSTILE_IDS = [
    "../../etc/passwd",
    "..",
    "",
    "20261121-093015-a3f09c/../../x",
    "20261121-093015-A3F09C",
    "20261121-093015-a3f09c\n",
    "/etc",
    "20261121-093015-a3f09",
    "２0261121-093015-a3f09c",
    "x" * 10_000,
    None,
    42,
]


@pytest.mark.parametrize("run_id", HOSTILE_IDS)
def test_hostile_ids_are_rejected_before_any_path_is_made(store: RunStore, run_id: object) -> None:
    with pytest.raises(InvalidRunId):
        check_run_id(run_id)
    for method in (store.path, store.load, store.delete, store.history, store.request_cancel):
        with pytest.raises(InvalidRunId):
            method(run_id)  # type: ignore[arg-type]


def test_a_linked_run_folder_cannot_lead_outside(store: RunStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    store.root.mkdir(parents=True)
    (store.root / "20261121-093015-a3f09c").symlink_to(outside)
    with pytest.raises(InvalidRunId, match="outside"):
        store.path("20261121-093015-a3f09c")


def test_damaged_and_foreign_folders_are_skipped_with_a_warning(
    store: RunStore, caplog: pytest.LogCaptureFixture
) -> None:
    good = store.create(TrainConfig())
    bad_json = store.create(TrainConfig())
    (store.path(bad_json.id) / "status.json").write_text("{not json")
    bad_config = store.create(TrainConfig())
    info = json.loads((store.path(bad_config.id) / "run.json").read_text())
    info["config"]["epochs"] = -3
    (store.path(bad_config.id) / "run.json").write_text(json.dumps(info))
    (store.root / "holiday-photos").mkdir()
    (store.root / "notes.txt").write_text("hello")
    (store.root / "20991231-000000-abcdef").mkdir()  # right shape, nothing inside
    with caplog.at_level(logging.WARNING):
        listed = store.list()
    assert [run.id for run in listed] == [good.id]
    for name in (bad_json.id, bad_config.id, "holiday-photos", "notes.txt", "20991231-000000-abcdef"):
        assert name in caplog.text
    with pytest.raises(RunNotFound, match="Epochs must be between"):
        store.load(bad_config.id)


def test_predictions_round_trip_and_shape_check(store: RunStore) -> None:
    run = store.create(TrainConfig())
    probabilities = np.full((5, 10), 0.1, dtype=np.float64)
    store.write_predictions(run.id, probabilities, np.arange(5))
    loaded, labels = store.predictions(run.id)
    assert loaded.dtype == np.float32 and loaded.shape == (5, 10) and labels.tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError):
        store.write_predictions(run.id, np.zeros((5, 9)), np.arange(5))


def test_weights_round_trip_in_order_and_say_what_is_missing_or_damaged(store: RunStore) -> None:
    run = store.create(TrainConfig(hidden_units=(3,)))
    arrays = [np.arange(2352, dtype=np.float64).reshape(784, 3), np.ones(3), np.full((3, 10), 2.0), np.zeros(10)]
    store.write_weights(run.id, arrays)
    loaded = store.weights(run.id)
    assert [w.shape for w in loaded] == [(784, 3), (3,), (3, 10), (10,)] and all(w.dtype == np.float32 for w in loaded)
    assert all(np.array_equal(a, b) for a, b in zip(arrays, loaded, strict=True))
    other = store.create(TrainConfig(hidden_units=(3,)))
    damaged: list[dict] = [
        {},  # no layer
        {"w0": np.ones((784, 3))},  # half a layer
        {"w0": np.ones((784, 3)), "w2": np.ones(3)},  # a gap
        {f"w{i}": a for i, a in enumerate(arrays[:2] + [np.ones((4, 10)), np.ones(10)])},  # wrong shape
        {f"w{i}": a.astype(np.int32) for i, a in enumerate(arrays)},  # not floats
        {f"w{i}": a for i, a in enumerate(arrays[:3] + [np.full(10, np.inf)])},  # not finite
    ]
    for bad in damaged:
        np.savez(store.path(other.id) / "weights.npz", **bad)
        with pytest.raises(DamagedRun, match="files are damaged: weights.npz"):
            store.weights(other.id)


@pytest.mark.parametrize(("what", "missing"), [("predictions", "no predictions yet"), ("weights", "no weights file")])
def test_a_missing_or_corrupt_array_file_is_reported(store: RunStore, what: str, missing: str) -> None:
    run = store.create(TrainConfig())
    read = getattr(store, what)
    with pytest.raises(RunNotFound, match=missing):
        read(run.id)
    (store.path(run.id) / f"{what}.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DamagedRun, match=f"files are damaged: {what}.npz: not a readable array file"):
        read(run.id)


def test_non_finite_numbers_are_stored_as_null(store: RunStore) -> None:
    run = store.create(TrainConfig())
    store.write_history(run.id, [{"epoch": 1, "loss": float("nan"), "accuracy": float("inf")}])
    assert json.loads((store.path(run.id) / "history.json").read_text()) == [
        {"epoch": 1, "loss": None, "accuracy": None}
    ]
    (record,) = store.history(run.id)
    assert record["loss"] is None and record["accuracy"] is None


def test_cancel_flag(store: RunStore) -> None:
    run = store.create(TrainConfig())
    assert not store.cancel_requested(run.id)
    store.request_cancel(run.id)
    assert store.cancel_requested(run.id)


@pytest.mark.parametrize("name", ["", "   ", "\n\t"])
def test_empty_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="visible character"):
        clean_name(name)


WRITER = """
import sys
from fmnist_lab.store.runs import RunStore
store, run_id = RunStore(sys.argv[1]), sys.argv[2]
history = [{"epoch": i, "loss": 1.0 / i, "note": "x" * 2000} for i in range(1, 101)]
n = 0
while True:
    n += 1
    store.write_history(run_id, history[: n % 100 + 1])
    store.set_status(run_id, "running", step=n)
    if n == 1:  # ready once one step is on disk, however busy the machine (xdist runs two test processes)
        print("ready", flush=True)
"""


def test_a_kill_mid_write_leaves_a_loadable_store(store: RunStore) -> None:
    """SIGKILL a process that rewrites the run's files as fast as it can, several times."""
    run = store.create(TrainConfig())
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    for delay in (0.05, 0.13, 0.29):
        argv = [sys.executable, "-c", WRITER, str(store.root), run.id]
        with subprocess.Popen(argv, stdout=subprocess.PIPE, env=env) as writer:
            assert writer.stdout is not None and writer.stdout.readline() == b"ready\n"
            time.sleep(delay)
            writer.send_signal(signal.SIGKILL)
        loaded = store.load(run.id)  # parses status.json and run.json
        assert loaded.state == "running" and loaded.status["step"] >= 1
        history = store.history(run.id)
        assert history and history[-1]["epoch"] == len(history)
    visible = sorted(p.name for p in store.path(run.id).iterdir() if not atomic.is_temporary(p))
    assert visible == ["history.json", "run.json", "spare", "status.json"]
    assert [r.id for r in store.list()] == [run.id]
    assert store.remove_leftovers() == []  # too young: a writer may still be at work on them
    left = {p for p in store.path(run.id).iterdir() if atomic.is_temporary(p)}
    assert set(store.remove_leftovers(older_than=-1)) == left
    assert sorted(p.name for p in store.path(run.id).iterdir()) == ["history.json", "run.json", "spare", "status.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "file.json"
    atomic.write_json(target, {"version": 1})

    def explode(tmp: Path) -> None:
        tmp.write_text('{"version": 2, "half')
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic.write_with(target, explode)
    assert json.loads(target.read_text()) == {"version": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.json"]


def test_unique_labels_add_time_then_a_short_id_only_where_labels_tie(isolated_lab: Path) -> None:
    from fmnist_lab.store.runs import unique_labels

    store = RunStore()

    def created_at(run_id: str, created: str) -> None:
        info = json.loads((store.path(run_id) / "run.json").read_text()) | {"created": created}
        (store.path(run_id) / "run.json").write_text(json.dumps(info))

    alone = store.create(TrainConfig(hidden_units=(64,)))
    twins = [store.create(TrainConfig()) for _ in range(2)]
    later = store.create(TrainConfig())
    for run in twins:
        created_at(run.id, "2026-12-06T03:29:42+00:00")  # the same second: only the id tells them apart
    created_at(later.id, "2026-12-07T09:15:30+00:00")  # a day later: the time alone tells it apart
    labels = unique_labels(store.list())
    assert len(set(labels.values())) == 4
    assert labels[alone.id] == alone.label()  # nothing to tell apart: unchanged
    assert labels[later.id] == f"{later.label()} · 07 Dec 09:15:30"
    for twin in twins:
        assert labels[twin.id] == f"{twin.label()} · 06 Dec 03:29:42 · #{twin.id[-6:]}"


def test_cpu_seconds_are_checked_and_old_runs_without_them_still_load(store: RunStore) -> None:
    from tests.conftest import final_metrics

    run = store.create(TrainConfig())
    store.write_metrics(run.id, final_metrics())  # written before the lab recorded CPU time
    store.write_history(run.id, [{"epoch": 1, "loss": 0.5, "seconds": 4.0}])
    assert "cpu_seconds_per_epoch" not in store.load(run.id).metrics
    assert store.history(run.id)[0]["cpu_seconds"] is None
    store.write_metrics(run.id, final_metrics(cpu_seconds_per_epoch=2.5))
    assert store.load(run.id).metrics["cpu_seconds_per_epoch"] == 2.5
    store.write_metrics(run.id, final_metrics(cpu_seconds_per_epoch=-1))
    with pytest.raises(DamagedRun, match="cpu_seconds_per_epoch"):
        store.load(run.id)
    store.write_history(run.id, [{"epoch": 1, "loss": 0.5, "seconds": 4.0, "cpu_seconds": "lots"}])
    with pytest.raises(DamagedRun, match="cpu_seconds"):
        store.history(run.id)


@pytest.mark.parametrize(
    ("written", "kept"), [("vectorised", "vectorised"), ("keras", "keras"), ("<b>x</b>", None), (3, None)]
)
def test_the_engine_is_kept_when_known_and_dropped_otherwise_without_hiding_the_run(
    store: RunStore, written: object, kept: str | None
) -> None:
    from tests.conftest import final_metrics

    run = store.create(TrainConfig())
    store.write_metrics(run.id, final_metrics(engine=written))
    metrics = store.load(run.id).metrics
    assert metrics.get("engine") == kept and metrics["test_accuracy"] == final_metrics()["test_accuracy"]


def saved_results(store: RunStore, run_id: str) -> None:
    """Every file ``train.save_run`` writes, as it writes them (the model file's content is not read here)."""
    store.write_predictions(run_id, np.full((4, 10), 0.1, dtype=np.float32), np.arange(4))
    store.write_weights(run_id, [np.zeros((784, 16)), np.zeros(16), np.zeros((16, 10)), np.zeros(10)])
    record = {"epoch": 1, "fraction": 1, "loss": 0.5, "accuracy": 0.8, "val_loss": None, "val_accuracy": None}
    store.write_history(run_id, [{**record, "seconds": 1.0}])
    atomic.write_bytes(store.model_path(run_id), b"PK model")
    metrics = {"test_accuracy": 0.8, "test_loss": 0.5, "epochs_run": 1, "parameters": 12_730, "train_seconds": 1.0}
    store.write_metrics(run_id, {**metrics, "state": "finished", "stop_reason": "completed its 1 epoch"})


def test_a_run_with_every_result_saved_is_finished_whatever_its_last_status_write(store: RunStore) -> None:
    run_id = store.create(TrainConfig(hidden_units=(16,), epochs=1)).id
    store.set_status(run_id, "running")
    saved_results(store, run_id)
    store.record_end(run_id, "failed", error="its training process ended without recording why")
    run = store.load(run_id)
    assert run.state == "finished" and run.metrics["test_accuracy"] == 0.8 and "error" not in run.status
    assert run.status["stop_reason"].startswith("completed its 1 epoch; finished (status recovered)")


@pytest.mark.parametrize("damage", ["metrics.json", "predictions.npz", "weights.npz", "history.json", "model.keras"])
def test_a_run_missing_or_damaging_one_result_stays_failed(store: RunStore, damage: str) -> None:
    run_id = store.create(TrainConfig(hidden_units=(16,), epochs=1)).id
    saved_results(store, run_id)
    for broken in ("missing", "damaged"):
        path = store.path(run_id) / damage
        path.unlink() if broken == "missing" else path.write_bytes(b"")  # an empty file: damaged for every kind
        store.set_status(run_id, "failed", error="killed")
        status = json.loads((store.path(run_id) / "status.json").read_text())
        assert (status["state"], status["error"]) == ("failed", "killed"), broken
        saved_results(store, run_id)


@pytest.fixture
def tiny_mount(tmp_path: Path) -> Iterator[Path]:
    """A 512 kB tmpfs of its own (root only, as in tests/pages/test_faults.py)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_keeps_why_the_run_failed_on_disk(tiny_mount: Path) -> None:
    store = RunStore(tiny_mount / "runs")
    run_id = store.create(TrainConfig(hidden_units=(16,), epochs=3)).id
    store.set_status(run_id, "running")
    ballast = tiny_mount / "ballast"
    with open(ballast, "wb") as filling, pytest.raises(OSError, match="No space left on device"):
        while True:
            filling.write(bytes(65536))
            filling.flush()
    with pytest.raises(OSError) as full:
        store.write_progress(run_id, {"epoch": 2})  # what training does next
    assert store.record_end(run_id, "failed", error=f"OSError: {full.value}")
    ballast.unlink()  # space freed: what is on disk, not in this process's memory
    on_disk = json.loads((store.path(run_id) / "status.json").read_text())
    assert on_disk["state"] == "failed" and "No space left on device" in on_disk["error"]
    assert not (store.path(run_id) / "spare").exists()


def test_odd_files_among_the_epoch_snapshots_are_skipped(store: RunStore) -> None:
    run_id = store.create(TrainConfig(hidden_units=(4,))).id
    store.write_epoch_snapshot(run_id, 2, np.zeros((3, 10)), np.zeros((784, 4)), np.zeros(4))
    for stem in ("²", "٣", "1_0", "9" * 200):  # isdigit() says yes to all but 1_0; int() refuses the first two
        (store.path(run_id) / "epochs" / f"{stem}.npz").write_bytes(b"")
    assert store.snapshot_epochs(run_id) == [2]

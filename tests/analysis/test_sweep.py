"""The diminishing-returns sweep: its plans, its stored object, and the CLI command on tiny real trainings."""

from __future__ import annotations

import json
import signal
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.analysis.sweep import (
    DEFAULT_VALUES,
    SweepError,
    SweepStore,
    cross,
    new_sweep,
    plan,
    point_rows,
    table_rows,
)
from fmnist_lab.cli import main
from fmnist_lab.config import ConfigError

BASE = TrainConfig(epochs=7, seed=42, dropout=0.2, l2=0.001, batch_size=64)


def differing(a: TrainConfig, b: TrainConfig) -> set[str]:
    return {f.name for f in fields(TrainConfig) if getattr(a, f.name) != getattr(b, f.name)}


def test_plan_varies_only_the_swept_setting_and_keeps_the_seed() -> None:
    configs = plan(BASE, "hidden_units", [(16,), (64,), (256,)])
    assert [c.hidden_units for c in configs] == [(16,), (64,), (256,)]
    assert all(c.seed == 42 for c in configs)
    assert all(differing(c, BASE) <= {"hidden_units"} for c in configs)
    assert all(differing(a, b) == {"hidden_units"} for a, b in zip(configs, configs[1:], strict=False))


def test_a_sweep_is_named_by_what_it_sweeps_and_what_else_differs() -> None:
    assert new_sweep(TrainConfig(), {"hidden_units": [(16,), (32,)]}).name == "hidden units 16, 32"
    sweep = new_sweep(BASE, {"hidden_units": [(16,), (32,)], "epochs": [5, 30]})
    assert sweep.name == "hidden units 16, 32 × epochs 5, 30 · dropout 0.2 · L2 0.001 · batch 64 · seed 42"


def test_a_cross_of_units_and_epochs_makes_every_pair_once() -> None:
    configs = cross(BASE, {"hidden_units": [(32,), (128,)], "epochs": [5, 30]})
    assert [(c.hidden_units, c.epochs) for c in configs] == [((32,), 5), ((32,), 30), ((128,), 5), ((128,), 30)]
    assert all(differing(c, BASE) <= {"hidden_units", "epochs"} and c.seed == 42 for c in configs)


@pytest.mark.parametrize(
    ("axes", "message"),
    [
        ({"epochs": [0, 5]}, "Epochs must be between 1 and 100"),
        ({"epochs": [5]}, "between 2 and 49 runs; this one would train 1"),
        ({"epochs": [1, 2], "seed": [1, 2], "dropout": [0.1, 0.2]}, "one or two settings"),
        ({"epochs": list(range(1, 11)), "seed": list(range(6))}, "would train 60"),
    ],
)
def test_bad_sweeps_are_refused(axes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        new_sweep(BASE, axes)


def test_a_sweep_is_stored_and_read_back(isolated_lab: Path) -> None:
    sweeps = SweepStore(RunStore())
    sweep = sweeps.save(new_sweep(BASE, {"hidden_units": DEFAULT_VALUES}))
    run = sweeps.runs.create(sweep.configs()[0])
    sweep = sweeps.add_run(sweep, run.id)
    assert (isolated_lab / "runs" / ".sweeps" / f"{sweep.id}.json").is_file()
    assert sweeps.load(sweep.id) == sweep and sweeps.list() == [sweep]
    assert [v[0] for v in sweep.values[0]] == [16, 32, 64, 128, 256, 512, 1024]
    assert sweeps.runs.list() == [run]  # the sweeps folder is not mistaken for a run
    (row,) = table_rows(sweep, sweeps.runs)
    assert row["Hidden units"] == 16 and row["state"] == "queued" and row["test accuracy"] is None


@pytest.mark.parametrize("damage", ["{not json", '{"id": "x"}', '{"settings": ["frob"], "values": [[1]]}'])
def test_a_damaged_sweep_file_is_a_clear_error_and_skipped_in_listings(damage: str) -> None:
    sweeps = SweepStore(RunStore())
    good = sweeps.save(new_sweep(BASE, {"epochs": [1, 2]}))
    bad_id = "20200101-000000-abcdef"
    (sweeps.root / f"{bad_id}.json").write_text(damage)
    with pytest.raises(SweepError, match=f"Sweep {bad_id} cannot be read"):
        sweeps.load(bad_id)
    assert sweeps.list() == [good]
    with pytest.raises(SweepError, match="not a sweep id"):
        sweeps.load("../../etc/passwd")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sweep", "--hidden-units", "16,0"], "--hidden-units: Hidden units must be between 1 and 4,096"),
        (["sweep", "--epochs", "3,"], "between 2 and 49 runs; this one would train 1"),  # a list of one
        (["sweep", "--l2", "0,0.5"], "--l2: L2 penalty must be at least 0 and at most 0.1"),
        (["sweep", "--epochs", "1,2", "--seed", "1,2", "--dropout", "0,0.2"], "one or two settings"),
    ],
)
def test_bad_sweep_arguments_exit_2_with_usage(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    err = capsys.readouterr().err
    assert caught.value.code == 2 and "usage:" in err and message in err and "Traceback" not in err


def test_sweep_command_trains_each_run_and_ends_with_the_table(
    full_size_idx: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FMNIST_DATA_DIR", str(full_size_idx))
    argv = ["sweep", "--hidden-units", "8,16", "--epochs", "1", "--seed", "3"]
    handler = signal.getsignal(signal.SIGTERM)  # the command installs its own: put pytest's back after
    try:
        assert main([*argv, "--train-samples", "600", "--test-samples", "100"]) == 0
    finally:
        signal.signal(signal.SIGTERM, handler)
    *runs, last = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [r["parameters"] for r in runs] == [TrainConfig(hidden_units=(n,)).parameter_count for n in (8, 16)]
    summary = last
    assert summary["settings"] == ["hidden_units"]
    assert [row["run_id"] for row in summary["table"]] == [r["run_id"] for r in runs]
    assert [row["test accuracy"] for row in summary["table"]] == [r["test_accuracy"] for r in runs]
    sweep = SweepStore(RunStore()).load(summary["sweep_id"])
    configs = [RunStore().load(r["run_id"]).config for r in runs]
    assert configs == sweep.configs() and differing(*configs) == {"hidden_units"} and configs[0].seed == 3


def test_sweep_picker_labels_tell_twin_sweeps_apart() -> None:
    from dataclasses import replace

    from fmnist_lab.analysis.sweep import picker_labels

    twin = new_sweep(TrainConfig(), {"hidden_units": [(16,), (32,)]})
    twins = [replace(twin, id=f"20261206-032942-00000{i}", created="2026-12-06T03:29:42+00:00") for i in (1, 2)]
    other = replace(twin, id="20261206-033000-000003", created="2026-12-06T03:30:00+00:00")
    labels = picker_labels([*twins, other])
    assert labels[other.id] == "2026-12-06T03:30 · hidden units 16, 32"
    assert labels[twins[0].id] == "2026-12-06T03:29 · hidden units 16, 32 · #000001"
    assert len(set(labels.values())) == 3


def test_a_one_epoch_sweep_says_one_epoch() -> None:
    assert new_sweep(TrainConfig(epochs=1), {"hidden_units": [(16,), (32,)]}).name == "hidden units 16, 32 · 1 epoch"
    assert new_sweep(TrainConfig(epochs=3), {"hidden_units": [(16,), (32,)]}).name == "hidden units 16, 32 · 3 epochs"


def timed(store: RunStore, units: int, running: str | None, ended: str | None, state: str = "finished") -> str:
    """A run whose status says it trained from ``running`` to ``ended`` (HH:MM on one day)."""
    run = store.create(TrainConfig(hidden_units=(units,)), f"{units} units")
    status = {"state": state, "queued": "2026-12-06T09:00:00+00:00"}
    status |= {"running": f"2026-12-06T{running}:00+00:00"} if running else {}
    status |= {state: f"2026-12-06T{ended}:00+00:00"} if ended else {}
    (store.path(run.id) / "status.json").write_text(json.dumps(status))
    return run.id


def test_members_that_trained_alongside_other_runs_are_named(isolated_lab: Path) -> None:
    from datetime import UTC, datetime

    from fmnist_lab.analysis.sweep import shared_training

    store = RunStore()
    alone = timed(store, 16, "10:00", "10:05")  # nothing else between 10:00 and 10:05
    a = timed(store, 64, "10:05", "10:20")  # overlaps b (10:10–10:30)
    b = timed(store, 256, "10:10", "10:30")
    timed(store, 32, "10:40", None, "running")  # still running at 11:00, overlaps c
    c = timed(store, 1024, "10:50", "10:55")
    never = timed(store, 128, None, "10:45", "failed")  # never ran: no interval
    sweep = SweepStore(store).save(new_sweep(TrainConfig(), {"hidden_units": [(16,), (64,)]}))
    for run_id in (alone, a, b, c, never):
        sweep = SweepStore(store).add_run(sweep, run_id)
    shared = shared_training(sweep, store, now=datetime(2026, 12, 6, 11, 0, tzinfo=UTC))
    assert shared == {a: ["256 units"], b: ["64 units"], c: ["32 units"]}


def test_sweep_rows_carry_cpu_and_wall_seconds(isolated_lab: Path) -> None:
    from tests.conftest import final_metrics

    store = RunStore()
    run = store.create(TrainConfig(hidden_units=(64,)))
    store.write_metrics(run.id, final_metrics(seconds_per_epoch=72.7, cpu_seconds_per_epoch=3.1))
    store.set_status(run.id, "finished")
    old = store.create(TrainConfig(hidden_units=(16,)))
    store.write_metrics(old.id, final_metrics())  # trained before CPU time was recorded
    store.set_status(old.id, "finished")
    sweep = new_sweep(TrainConfig(), {"hidden_units": [(16,), (64,)]})
    from dataclasses import replace

    rows = table_rows(replace(sweep, run_ids=(run.id, old.id)), store)
    assert [(r["CPU s / epoch"], r["s / epoch"]) for r in rows] == [(3.1, 72.7), (None, 1.3)]


def test_a_repeated_sweep_is_stored_with_its_groups_and_older_files_read_as_one_seed(isolated_lab: Path) -> None:
    sweeps = SweepStore(RunStore())
    sweep = sweeps.save(new_sweep(BASE, {"hidden_units": [(16,), (64,)]}, repeats=3))
    assert [[c.seed for c in point] for point in sweep.point_configs()] == [[42, 43, 44]] * 2
    assert [point[0].hidden_units for point in sweep.point_configs()] == [(16,), (64,)]
    sweep = sweeps.add_group(sweep, "g-20261121-093015-a3f09c")
    assert sweeps.load(sweep.id) == sweep and sweep.name.endswith("3 seeds each")
    stored = json.loads((sweeps.root / f"{sweep.id}.json").read_text())
    old = {key: value for key, value in stored.items() if key not in ("repeats", "group_ids")}
    (sweeps.root / f"{sweep.id}.json").write_text(json.dumps(old))
    assert sweeps.load(sweep.id).repeats == 1
    (sweeps.root / f"{sweep.id}.json").write_text(json.dumps(stored | {"group_ids": ["../x"]}))
    with pytest.raises(SweepError, match="a group id has the wrong shape"):
        sweeps.load(sweep.id)


@pytest.mark.parametrize(("repeats", "message"), [(0, "1 to 10 seeds"), (11, "1 to 10 seeds"), (8, "7 points × 8")])
def test_too_many_repeats_are_refused(repeats: int, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        new_sweep(BASE, {"hidden_units": DEFAULT_VALUES}, repeats=repeats)


def test_point_rows_are_each_points_mean_and_sd_over_its_finished_runs() -> None:
    rows = [
        {"Hidden units": 16, "parameters": 1, "test accuracy": 0.80, "held-out accuracy": 0.79, "s / epoch": 1.0},
        {"Hidden units": 16, "parameters": 1, "test accuracy": 0.84, "held-out accuracy": 0.83, "s / epoch": 3.0},
        {"Hidden units": 16, "parameters": 1, "test accuracy": None, "held-out accuracy": None, "s / epoch": None},
        {"Hidden units": 64, "parameters": 2, "test accuracy": 0.86, "held-out accuracy": 0.85, "s / epoch": 2.0},
    ]
    first, second = point_rows(rows, ["Hidden units"])
    assert first["runs"] == 2 and first["test accuracy"] == pytest.approx(0.82)
    assert first["test accuracy sd"] == pytest.approx(np.std([0.80, 0.84], ddof=1))
    assert first["s / epoch sd"] == pytest.approx(np.std([1.0, 3.0], ddof=1)) and first["CPU s / epoch"] is None
    assert second["runs"] == 1 and second["test accuracy"] == 0.86 and second["test accuracy sd"] is None


def test_sweep_repeats_train_each_point_over_seeds_as_a_group(
    full_size_idx: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from fmnist_lab.store.groups import GroupStore

    monkeypatch.setenv("FMNIST_DATA_DIR", str(full_size_idx))
    argv = ["sweep", "--hidden-units", "8,16", "--epochs", "1", "--seed", "3", "--repeats", "2"]
    handler = signal.getsignal(signal.SIGTERM)
    try:
        assert main([*argv, "--train-samples", "600", "--test-samples", "100"]) == 0
    finally:
        signal.signal(signal.SIGTERM, handler)
    *runs, last = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    configs = [RunStore().load(r["run_id"]).config for r in runs]
    assert [(c.hidden_units, c.seed) for c in configs] == [((8,), 3), ((8,), 4), ((16,), 3), ((16,), 4)]
    groups = [GroupStore(RunStore()).load(group_id) for group_id in last["group_ids"]]
    assert [group.run_ids for group in groups] == [
        tuple(r["run_id"] for r in runs[:2]),
        tuple(r["run_id"] for r in runs[2:]),
    ]
    for point, members in zip(last["points"], (runs[:2], runs[2:]), strict=True):
        accuracies = [r["test_accuracy"] for r in members]
        assert point["test_accuracy"]["mean"] == pytest.approx(np.mean(accuracies))
        assert (
            point["test_accuracy"]["sd"] == pytest.approx(np.std(accuracies, ddof=1))
            and point["test_accuracy"]["n"] == 2
        )
    assert SweepStore(RunStore()).load(last["sweep_id"]).repeats == 2

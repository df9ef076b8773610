"""export --csv: every run, one row each, read back with pandas; links, devices and folders refused."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.cli import main
from fmnist_lab.config import SETTINGS
from fmnist_lab.execution.ownership import new_key, owner_id
from fmnist_lab.store.learners import LearnerStore
from tests.conftest import final_metrics, finished_run


@pytest.fixture
def store() -> RunStore:
    """A named learner's finished 1024-unit run, a command-line run of two layers, a failed run."""
    store = RunStore()
    ana = owner_id(new_key())
    LearnerStore(store.root).set(ana, 'Ana, "the" <best>')
    run = store.create(TrainConfig(hidden_units=(1024,), epochs=3, dropout=0.2, seed=7), owner=ana)
    store.write_metrics(run.id, final_metrics(test_accuracy=0.8912, epochs_run=3, parameters=814_090))
    store.set_status(run.id, "running")
    store.set_status(run.id, "finished")
    finished_run(store, TrainConfig(hidden_units=(64, 32), normalize=False), 0.85)
    failed = store.create(TrainConfig(class_shares=((6, 0.1),)))
    store.set_status(failed.id, "failed", error="boom")
    return store


def test_every_run_reads_back_with_pandas(store: RunStore, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    target = tmp_path / "class.csv"
    assert main(["export", "--csv", str(target)]) == 0
    assert "wrote 3 runs" in capsys.readouterr().err
    table = pd.read_csv(target)
    assert set(SETTINGS) <= set(table.columns) and {"learner", "test_accuracy", "created", "ended"} <= set(
        table.columns
    )
    runs = {run.id: run for run in store.list()}
    assert sorted(table["run_id"]) == sorted(runs)
    named = table[table["hidden_units"] == "1024"].iloc[0]
    assert named["learner"] == 'Ana, "the" <best>' and named["state"] == "finished"
    assert (named["epochs"], named["dropout"], named["seed"]) == (3, 0.2, 7)
    assert named["test_accuracy"] == 0.8912 and named["parameters"] == 814_090
    assert named["started"] == runs[named["run_id"]].status["running"]
    assert named["ended"] == runs[named["run_id"]].status["finished"]
    cli_run = table[table["hidden_units"] == "64,32"].iloc[0]
    assert pd.isna(cli_run["learner"]) and not cli_run["normalize"] and cli_run["test_accuracy"] == 0.85
    failed = table[table["state"] == "failed"].iloc[0]
    assert failed["class_shares"] == "Shirt:0.1" and pd.isna(failed["test_accuracy"]) and pd.isna(failed["started"])


def test_a_regular_file_is_replaced(store: RunStore, tmp_path: Path) -> None:
    target = tmp_path / "old.csv"
    target.write_text("old\n")
    assert main(["export", "--csv", str(target)]) == 0
    assert len(pd.read_csv(target)) == 3


@pytest.mark.parametrize("kind", ["symlink", "folder", "device", "missing folder"])
def test_anything_else_is_refused_in_one_line(
    store: RunStore, tmp_path: Path, capsys: pytest.CaptureFixture, kind: str
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    target = {"device": Path("/dev/null"), "missing folder": tmp_path / "no" / "x.csv"}.get(kind, tmp_path / "x")
    if kind == "symlink":
        os.symlink(victim, target)
    elif kind == "folder":
        target.mkdir()
    assert main(["export", "--csv", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert victim.read_text() == "keep me\n"

"""The command line: bad arguments exit 2 with usage; a real end-to-end run on a small subset."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.cli import main

from tests.conftest import final_metrics

ROOT = Path(__file__).parents[1]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--epochs", "0"], "Epochs must be between 1 and 100"),
        (["train", "--epochs", "many"], "--epochs: Epochs must be a whole number, not 'many'."),
        (["train", "--hidden-units", "5000"], "Hidden units must be between 1 and 4,096"),
        (["train", "--stop-loss", "-1"], "above 0"),
        (["train", "--optimizer", "adagrad"], "invalid choice: 'adagrad'"),
        (["train", "--l2", "-0.1"], "--l2: L2 penalty must be at least 0 and at most 0.1"),
        (["train", "--l1", "1"], "--l1: L1 penalty must be at least 0 and at most 0.1"),
        (["train", "--early-stopping", "0"], "--early-stopping: Early stopping must be between 1 and 100"),
        (["train", "--early-stopping", "3", "--holdout", "none"], "Early stopping watches the held-out loss"),
        (["train", "--stop-accuracy", "1.5"], "--stop-accuracy: Accuracy goal must be above 0 and at most 1"),
        (["train", "--stop-accuracy", "0"], "Accuracy goal must be above 0"),
        (["train", "--class-share", "Hat=0.1"], "--class-share: Class shares: there is no class 'Hat'; use one of"),
        (["train", "--class-share", "Shirt=1.5"], "Class shares of Shirt must be at least 0 and at most 1"),
        (["train", "--label-noise", "Shirt"], "write a class and its fraction, like Shirt:0.1"),
        (["train", "--balance", "smote"], "invalid choice: 'smote'"),
        (["train", "--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["fly"], "invalid choice: 'fly'"),
        ([], "required: COMMAND"),
    ],
)
def test_bad_arguments_exit_2_with_usage(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    err = capsys.readouterr().err
    assert caught.value.code == 2
    assert "usage:" in err and message in err and "Traceback" not in err


@pytest.mark.parametrize("command", ["train", "runs"])
def test_help_lists_every_option(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    from fmnist_lab.config import SETTINGS

    with pytest.raises(SystemExit) as caught:
        main([command, "--help"])
    assert caught.value.code == 0
    shown = capsys.readouterr().out
    if command == "train":
        assert all(setting.flag in shown for setting in SETTINGS.values())


def test_missing_data_is_a_message_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from fmnist_lab.training import data

    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "none")
    assert main(["train", "--epochs", "1"]) == 1
    err = capsys.readouterr().err
    assert "apt-get install dataset-fashion-mnist" in err and "Traceback" not in err
    assert RunStore().list() == []  # no run folder for a run that could not start


def test_runs_lists_stored_runs(capsys: pytest.CaptureFixture[str]) -> None:
    store = RunStore()
    run = store.create(TrainConfig(hidden_units=(1024,), epochs=30))
    store.write_metrics(run.id, final_metrics(test_accuracy=0.8912))
    store.set_status(run.id, "finished")
    assert main(["runs"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(run.id) and "finished" in line and "0.8912" in line and "1024 units · 30 epochs" in line
    assert main(["runs", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["run_id"] == run.id and row["test_accuracy"] == 0.8912 and row["config"]["hidden_units"] == [1024]


@pytest.mark.realdata
def test_train_end_to_end_on_a_small_subset(real_dataset: object, isolated_lab: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [
        sys.executable,
        "-m",
        "fmnist_lab",
        "train",
        "--hidden-units",
        "32",
        "--hidden-units",
        "16",
        "--epochs",
        "3",
    ]
    argv += ["--train-samples", "3000", "--test-samples", "500", "--stop-loss", "0.01", "--seed", "1"]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert [line.split()[:2] for line in lines[1:-1]] == [["epoch", "1"], ["epoch", "2"], ["epoch", "3"]]
    result = json.loads(lines[-1])
    assert {"run_id", "test_accuracy", "test_loss", "epochs_run", "stop_reason", "train_seconds"} <= set(result)
    assert result["epochs_run"] == 3 and result["stop_reason"] == "completed all 3 epochs"
    assert 0.5 < result["test_accuracy"] <= 1 and result["test_samples"] == 500 and result["train_seconds"] > 0
    run = RunStore(isolated_lab / "runs").load(result["run_id"])
    assert run.state == "finished" and run.config.hidden_units == (32, 16)
    assert len(result["fairness"]["recall"]) == 10 and 0 <= result["fairness"]["tpr_gap"] <= 1


def symlink_loop(tmp_path: Path) -> Path:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    return tmp_path / "a"


def plain_file(tmp_path: Path) -> Path:
    (tmp_path / "plain").write_text("not a folder\n")
    return tmp_path / "plain"


HOMES = {
    "symlink loop": (symlink_loop, "a loop of symbolic links"),
    "~nouser": (lambda tmp: "~fmnist-no-such-user/x", "no such user's home"),
    "plain file": (plain_file, "is not a folder"),
}
COMMANDS = [["runs"], ["runs", "--json"], ["code", "20261121-093015-a3f09c"], ["train", "--epochs", "1"], ["sweep"]]


@pytest.mark.parametrize("home", list(HOMES))
@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_an_unusable_home_is_one_line_and_exit_2(
    home: str, argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make, message = HOMES[home]
    monkeypatch.setenv("FMNIST_LAB_HOME", str(make(tmp_path)))
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # not an empty listing that looks like success
    assert captured.err.count("\n") == 1 and captured.err.startswith("error: ") and message in captured.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["worker", "--lock-fd", "99999", "20261121-093015-a3f09c"], "--lock-fd 99999 is not an open file descriptor"),
        (["worker", "--lock-fd", "-1", "20261121-093015-a3f09c"], "--lock-fd -1 is not an open file descriptor"),
        (["warm", "--channel-fd", "99999"], "--channel-fd 99999 is not an open file descriptor"),
        (["warm", "--channel-fd", "2**70"], "invalid int value"),  # argparse's own usage error
    ],
)
def test_the_hidden_commands_refuse_a_bad_descriptor(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code  # type: ignore[assignment]
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err


def test_the_warm_command_refuses_a_descriptor_that_is_not_a_socket(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with open(tmp_path / "plain", "w") as plain:
        assert main(["warm", "--channel-fd", str(plain.fileno())]) == 2
    assert "is not a socket" in capsys.readouterr().err


def test_the_notebook_never_replaces_a_link_a_device_or_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id = RunStore().create(TrainConfig()).id
    target = tmp_path / "target.txt"
    target.write_text("mine\n")
    link, fifo, folder = tmp_path / "link.ipynb", tmp_path / "fifo", tmp_path / "folder"
    link.symlink_to(target)
    os.mkfifo(fifo)  # stands in for /dev/stdout: not a regular file
    folder.mkdir()
    for path, kind in ((link, "a symbolic link"), (fifo, "not a regular file"), (folder, "a folder")):
        assert main(["code", run_id, "--notebook", str(path)]) == 2
        err = capsys.readouterr().err
        assert err == f"error: {path} is {kind}: give --notebook a new path or a regular file to replace\n"
    assert link.is_symlink() and target.read_text() == "mine\n" and fifo.is_fifo() and folder.is_dir()
    for fresh in (tmp_path / "new.ipynb", target):  # a new path, and a regular file replaced
        assert main(["code", run_id, "--notebook", str(fresh)]) == 0
        assert json.loads(fresh.read_text())["cells"]

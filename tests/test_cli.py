"""The command line: bad arguments exit 2 with usage; a real run on a small subset; compare on stored runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.cli import main
from fmnist_lab.store.groups import GroupStore, new_group_id
from fmnist_lab.training.data import Dataset
from tests.conftest import final_metrics, finished_run

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
        (["train", "--early-stopping", "3", "--holdout", "none"], "--early-stopping: Early stopping watches the"),
        (["sweep", "--early-stopping", "3", "--holdout", "none"], "--early-stopping: Early stopping watches the"),
        (["train", "--stop-accuracy", "1.5"], "--stop-accuracy: Accuracy goal must be above 0 and at most 1"),
        (["train", "--stop-accuracy", "0"], "Accuracy goal must be above 0"),
        (["train", "--class-share", "Hat=0.1"], "--class-share: Class shares: there is no class 'Hat'; use one of"),
        (["train", "--class-share", "Shirt=1.5"], "Class shares of Shirt must be at least 0 and at most 1"),
        (["train", "--label-noise", "Shirt"], "write a class and its fraction, like Shirt:0.1"),
        (["train", "--balance", "smote"], "invalid choice: 'smote'"),
        (
            ["train", "--optimizer", "sgd", "--momentum", "1"],
            "--momentum: Momentum must be at least 0 and at most 0.99",
        ),
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


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["--early-stopping", "3", "--holdout", "none"],
            "--early-stopping: Early stopping watches the held-out loss: score something after each epoch "
            "(holdout test or split), or turn early stopping off.",
        ),
        (
            ["--momentum", "0.9", "--optimizer", "adam"],
            "--momentum: Momentum applies only when optimizer is sgd: choose sgd, or leave momentum at 0.0.",
        ),
        (
            ["--momentum", "0.9"],
            "--momentum: Momentum applies only when optimizer is sgd: choose sgd, or leave momentum at 0.0.",
        ),
        (
            [f"--class-share={c}=0" for c in range(10)],
            "--class-share: Class shares of 0 for every class leave nothing to train on; keep some of one class.",
        ),
    ],
)
def test_a_broken_rule_is_one_line_naming_the_flag(
    argv: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["train", *argv])
    assert caught.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("usage:") and err[-1] == f"python -m fmnist_lab train: error: {line}"
    assert [row for row in err if "error" in row] == [err[-1]]


def test_momentum_with_sgd_reaches_the_config_and_the_help_says_sgd_only(capsys: pytest.CaptureFixture[str]) -> None:
    from fmnist_lab.cli import build_parser, config_from_args

    args = build_parser().parse_args(["train", "--optimizer", "sgd", "--momentum", "0.9"])
    assert config_from_args(args) == TrainConfig(optimizer="sgd", momentum=0.9)
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "Only with --optimizer sgd. (momentum 0)" in " ".join(capsys.readouterr().out.split())


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


NARROW = {0: 0.8695, 1: 0.8729, 2: 0.8756, 3: 0.8744, 4: 0.8760}  # the issue's table: seed → test accuracy
WIDE = {0: 0.8781, 1: 0.8715, 2: 0.8814, 3: 0.8713, 4: 0.8843}


def stored_group(units: int, accuracies: dict[int, float]) -> str:
    """A group of finished runs (no training): ``units`` hidden units, one run per seed."""
    store = RunStore()
    configs = {seed: TrainConfig(hidden_units=(units,), seed=seed) for seed in accuracies}
    runs = [finished_run(store, configs[seed], accuracy) for seed, accuracy in accuracies.items()]
    return GroupStore(store).create([run.id for run in runs]).id


def compare_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1
    return json.loads(out[0])


def test_compare_two_groups_prints_one_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    narrow, wide = stored_group(128, NARROW), stored_group(1024, WIDE)
    line = compare_line(["compare", narrow, wide], capsys)
    assert line["difference"] == pytest.approx(0.364) and line["test"] == "paired t-test"
    assert line["interval"] == pytest.approx([-0.3212, 1.0492], abs=1e-4)
    assert line["verdict"] == (
        "1024 units beat 128 units by 0.36 points on average over 5 seeds, but the seeds disagree (−0.31 to +0.86): "
        "this could be luck. More seeds, or more epochs, would tell."
    )
    assert line["a"]["id"] == narrow and line["a"]["kind"] == "group" and line["a"]["finished"] == 5
    assert line["b"]["test_accuracy"]["n"] == 5 and line["b"]["seeds"] == [0, 1, 2, 3, 4]


def test_compare_two_runs_says_one_run_each(capsys: pytest.CaptureFixture[str]) -> None:
    store = RunStore()
    a = finished_run(store, TrainConfig(hidden_units=(128,)), 0.87)
    b = finished_run(store, TrainConfig(hidden_units=(1024,)), 0.88)
    line = compare_line(["compare", a.id, b.id], capsys)
    assert line["difference"] == pytest.approx(1.0) and line["interval"] is None and line["test"] is None
    assert line["verdict"] == "One run each: no way to know how much of this is luck — repeat over seeds."
    assert line["a"]["test_accuracy"] == {"mean": 0.87, "sd": None, "min": 0.87, "max": 0.87, "n": 1}


def test_compare_recomputes_from_the_members_own_files(isolated_lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    narrow, wide = stored_group(128, NARROW), stored_group(1024, {1: 0.8715, 2: 0.8814, 3: 0.8713, 0: 0.8781})
    line = compare_line(["compare", wide, narrow], capsys)
    runs = isolated_lab / "runs"

    def by_seed(group_id: str) -> dict[int, float]:  # read the files themselves, not through the store
        group = json.loads((runs / ".groups" / f"{group_id}.json").read_text())
        scores = [json.loads((runs / i / "metrics.json").read_text())["test_accuracy"] for i in group["run_ids"]]
        return dict(zip(group["seeds"], scores, strict=True))

    a, b = by_seed(wide), by_seed(narrow)
    assert set(a) == {0, 1, 2, 3} and set(b) == {0, 1, 2, 3, 4}  # not the same seeds: Welch's t-test
    expected = stats.ttest_ind([100 * v for v in b.values()], [100 * v for v in a.values()], equal_var=False)
    assert line["test"] == "Welch's t-test" and line["p_value"] == pytest.approx(expected.pvalue)
    assert line["interval"] == pytest.approx(list(expected.confidence_interval(0.95)))
    assert line["difference"] == pytest.approx(100 * (sum(b.values()) / 5 - sum(a.values()) / 4))
    for side, scores in (("a", a), ("b", b)):
        summary = line[side]["test_accuracy"]
        assert summary["mean"] == pytest.approx(sum(scores.values()) / len(scores))
        assert summary["sd"] == pytest.approx(stats.tstd(list(scores.values())))
        assert (summary["min"], summary["max"], summary["n"]) == (
            min(scores.values()),
            max(scores.values()),
            len(scores),
        )


def test_compare_with_a_damaged_unknown_or_hostile_id_exits_2(
    isolated_lab: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = stored_group(128, {0: 0.87, 1: 0.88})
    damaged = stored_group(1024, {0: 0.88, 1: 0.89})
    (isolated_lab / "runs" / ".groups" / f"{damaged}.json").write_text('{"id": "')
    unknown_run = "20260101-000000-000000"
    cases = {
        damaged: f"Group {damaged}'s file is damaged: {damaged}.json: not valid JSON",
        new_group_id(): "was not found",
        unknown_run: f"Run {unknown_run} was not found",
        "../../etc/passwd": "is neither a run id nor a group id",
    }
    for bad, message in cases.items():
        assert main(["compare", good, bad]) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.count("\n") == 1
        assert captured.err.startswith("error: ") and message in captured.err and "Traceback" not in captured.err


def test_compare_with_nothing_finished_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    queued = RunStore().create(TrainConfig())
    good = stored_group(128, {0: 0.87})
    assert main(["compare", good, queued.id]) == 1
    assert f"Run {queued.id} has no finished run to compare yet." in capsys.readouterr().err


def test_train_repeats_trains_a_group_and_its_summary_recomputes_from_the_members(
    real_dataset: object, isolated_lab: Path
) -> None:
    """The issue's command: three run lines, then the group's line, every figure from the members' files."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "fmnist_lab", "train", "--hidden-units", "16", "--epochs", "1"]
    argv += ["--train-samples", "2000", "--repeats", "3", "--seed", "7"]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    *runs, group = [json.loads(line) for line in done.stdout.strip().splitlines()]
    assert len(runs) == 3 and group["runs"] == [run["run_id"] for run in runs] and group["finished"] == 3
    store = RunStore(isolated_lab / "runs")
    members = [store.load(run_id) for run_id in group["runs"]]
    assert [run.config.seed for run in members] == [7, 8, 9]  # one setup, three seeds
    accuracies = np.array([run.metrics["test_accuracy"] for run in members])  # each member's own metrics.json
    expected = {"mean": accuracies.mean(), "sd": accuracies.std(ddof=1), "min": accuracies.min()}
    expected |= {"max": accuracies.max(), "n": 3}
    assert group["test_accuracy"] == pytest.approx(expected)
    assert GroupStore(store).load(group["group_id"]).run_ids == tuple(group["runs"])


def test_the_issues_group_trains_as_one_computation_and_each_member_equals_its_single_run(
    real_dataset: Dataset, isolated_lab: Path
) -> None:
    """``train --hidden-units 128 --epochs 1 --repeats 4 --train-samples 4000``: vectorised, and each
    member within test_replicas' tolerance of its seed trained alone."""
    from tests.training.test_replicas import assert_same_as_single_runs

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "fmnist_lab", "train", "--hidden-units", "128", "--epochs", "1"]
    argv += ["--repeats", "4", "--train-samples", "4000"]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stderr
    *runs, group = [json.loads(line) for line in done.stdout.strip().splitlines()]
    assert group["engine"] == "vectorised" and "reason" not in group
    assert group["runs"] == [run["run_id"] for run in runs] and group["finished"] == 4
    store = RunStore(isolated_lab / "runs")
    assert [store.load(run_id).config.seed for run_id in group["runs"]] == [0, 1, 2, 3]
    assert_same_as_single_runs(store, group["runs"], real_dataset)


def test_a_setup_the_engine_cannot_vectorise_trains_one_by_one_and_says_why(
    real_dataset: Dataset, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["train", "--hidden-units", "8", "--epochs", "1", "--dropout", "0.2", "--repeats", "2"]
    assert main([*argv, "--train-samples", "64", "--test-samples", "32"]) == 0
    *runs, group = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert group["engine"] == "sequential" and "dropout" in group["reason"] and group["finished"] == 2


@pytest.mark.parametrize("repeats", ["0", "11", "two"])
def test_repeats_out_of_range_is_a_usage_error(repeats: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["train", "--repeats", repeats])
    assert exited.value.code == 2 and "--repeats" in capsys.readouterr().err


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

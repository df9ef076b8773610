"""HParams in the runs' TensorBoard logs, read back with TensorBoard's own event reader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.training.hparams import hparam_values, write_hparams


def read_logs(logdir: Path) -> tuple[str, dict[str, Any], dict[str, float]]:
    """(trial id, settings, final scores) as TensorBoard reads them from ``logdir``."""
    events = EventAccumulator(str(logdir), size_guidance={"tensors": 0})
    events.Reload()
    (content,) = [c for tag, c in events.PluginTagToContent("hparams").items() if "session_start" in tag]
    start = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
    settings = {name: value.WhichOneof("kind") and getattr(value, value.WhichOneof("kind"))
                for name, value in start.hparams.items()}  # fmt: skip
    scores = {
        tag: float(tf.make_ndarray(events.Tensors(tag)[-1].tensor_proto))
        for tag in events.Tags()["tensors"]
        if not tag.startswith("_hparams_")
    }
    return start.group_name, settings, scores


def test_settings_learner_and_scores_read_back(tmp_path: Path) -> None:
    config = TrainConfig(hidden_units=(256, 64), epochs=3, normalize=False, dropout=0.2, class_shares=((6, 0.1),))
    assert write_hparams(tmp_path, "20261206-100000-abcdef", config, {"test_accuracy": 0.875, "test_loss": 0.41,
                         "epochs_run": 3}, learner="<Ana>")  # fmt: skip
    trial, settings, scores = read_logs(tmp_path)
    assert trial == "20261206-100000-abcdef"
    assert settings["hidden_units"] == "256,64" and settings["class_shares"] == "Shirt:0.1"
    assert settings["epochs"] == 3 and settings["normalize"] is False and settings["dropout"] == pytest.approx(0.2)
    assert settings["learner"] == "<Ana>" and "stop_loss" not in settings  # unset: left out
    assert scores == pytest.approx({"test_accuracy": 0.875, "test_loss": 0.41})


def test_every_setting_is_a_value_tensorboard_takes() -> None:
    values = hparam_values(TrainConfig())
    assert all(isinstance(value, bool | int | float | str) for value in values.values())
    assert values["hidden_units"] == "128" and "learner" not in values


def test_a_trained_run_writes_them(trained_runs_dir: Path) -> None:
    """The session's two real tiny trainings: each run's logs hold its settings and its test accuracy."""
    store = RunStore(trained_runs_dir)
    runs = store.list()
    assert len(runs) == 2
    for run in runs:
        trial, settings, scores = read_logs(store.logs_path(run.id))
        assert trial == run.id and settings["hidden_units"] == str(run.config.hidden_units[0])
        assert settings["epochs"] == 1 and settings["train_samples"] == 1000
        assert scores["test_accuracy"] == pytest.approx(run.test_accuracy, abs=1e-6)

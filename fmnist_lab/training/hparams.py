"""HParams summaries in a run's TensorBoard logs, so ``tensorboard --logdir $FMNIST_LAB_HOME/runs``
shows the whole class in its HParams dashboard (table and parallel coordinates).

Each finished or stopped run writes, beside the Keras callback's ``train/`` and ``validation/`` logs,
one event file in ``logs/``: the run's settings (``hp.hparams``, the run id as the trial id, the
learner's display name when it has one) and its final ``test_accuracy`` and ``test_loss`` as scalars.
Settings that are numbers or booleans stay so (parallel coordinates can place them); layers, class
shares and choices are text as a link spells them; an unset optional setting is left out.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import tensorflow as tf
from tensorboard.plugins.hparams import api as hp  # type: ignore[import-untyped]

from fmnist_lab.config import SETTINGS, TrainConfig

log = logging.getLogger(__name__)

METRICS = ("test_accuracy", "test_loss")  # the scores the dashboard shows per run
HParamValue = bool | int | float | str


def hparam_values(config: TrainConfig, learner: str | None = None) -> dict[str, HParamValue]:
    """The run's settings as HParams values (and ``learner`` when there is one)."""
    values: dict[str, HParamValue] = {}
    for name, setting in SETTINGS.items():
        value = getattr(config, name)
        if value is None:
            continue
        values[name] = value if isinstance(value, bool | int | float | str) else setting.format(value)
    if learner:
        values["learner"] = learner
    return values


def write_hparams(
    logdir: Path, run_id: str, config: TrainConfig, scores: Mapping[str, float | None], learner: str | None = None
) -> bool:
    """Write the run's HParams summary and final scores into ``logdir``; False (logged) if it could not."""
    try:
        writer = tf.summary.create_file_writer(str(logdir))
        with writer.as_default():
            hp.hparams(hparam_values(config, learner), trial_id=run_id)
            for name in METRICS:
                if scores.get(name) is not None:
                    tf.summary.scalar(name, float(scores[name]), step=int(scores.get("epochs_run") or 0))  # type: ignore[arg-type]
        writer.close()
    except (OSError, tf.errors.OpError) as exc:
        log.warning("run %s: no HParams summary written (%s)", run_id, exc)
        return False
    return True

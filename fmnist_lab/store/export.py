"""Every run as one row of a table: who, every setting, the scores and the times (``export --csv``).

A column per ``TrainConfig`` field (``hidden_units``, ``epochs``, …): numbers and booleans as they are,
layers, class shares and choices as a link spells them (``128,64``), an unset optional setting empty.
Then the scores (``test_accuracy``, …) and the times. ``learner`` is the display name the run carries,
empty for runs started from the command line or by learners without a name; the owner key is never
exported. The file is written atomically, and only to a regular file or a new path: ``check_target``
refuses a link, a device, a folder or a pipe, so an export cannot write through a link.
"""

from __future__ import annotations

import csv
import io
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fmnist_lab.config import SETTINGS
from fmnist_lab.store import atomic
from fmnist_lab.store.runs import Run

RUN_COLUMNS = ("run_id", "name", "learner", "state")
SCORE_COLUMNS = (
    "test_accuracy", "test_loss", "train_accuracy", "train_loss", "val_accuracy", "val_loss",
    "epochs_run", "parameters", "stop_reason",
)  # fmt: skip
TIME_COLUMNS = ("created", "started", "ended", "train_seconds", "seconds_per_epoch")
COLUMNS = (*RUN_COLUMNS, *SETTINGS, *SCORE_COLUMNS, *TIME_COLUMNS)
ENDS = ("finished", "stopped", "failed")


class UnsafeTarget(ValueError):
    """A place an export will not write to; the message says why, in one line."""


def run_row(run: Run) -> dict[str, Any]:
    """One run's row: every column of ``COLUMNS``, None where there is nothing."""
    row: dict[str, Any] = {"run_id": run.id, "name": run.name, "learner": run.learner, "state": run.state}
    for name, setting in SETTINGS.items():
        value = getattr(run.config, name)
        plain = value is None or isinstance(value, bool | int | float | str)
        row[name] = value if plain else setting.format(value)
    row |= {key: run.metrics.get(key) for key in SCORE_COLUMNS}
    ended = next((run.status[state] for state in ENDS if state in run.status), None)
    row |= {"created": run.created, "started": run.status.get("running"), "ended": ended}
    row |= {key: run.metrics.get(key) for key in ("train_seconds", "seconds_per_epoch")}
    return row


def csv_text(runs: Iterable[Run]) -> str:
    """The runs as CSV with a header, oldest first."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for run in sorted(runs, key=lambda r: (r.created_ns, r.id)):
        writer.writerow({key: "" if value is None else value for key, value in run_row(run).items()})
    return buffer.getvalue()


def check_target(path: Path) -> Path:
    """``path`` if it is a regular file or does not exist yet (its folder does); UnsafeTarget otherwise.
    ``os.lstat`` looks at the path itself, so a link is refused, never followed."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        if not path.parent.is_dir():
            raise UnsafeTarget(f"{path}: its folder {path.parent} does not exist.") from None
        return path
    except OSError as exc:
        raise UnsafeTarget(f"{path}: cannot be checked ({exc.strerror or exc}).") from None
    if stat.S_ISLNK(mode):
        raise UnsafeTarget(f"{path} is a symbolic link: give a regular file or a new path.")
    if not stat.S_ISREG(mode):
        raise UnsafeTarget(
            f"{path} is not a regular file (a folder, device or pipe): give a regular file or a new path."
        )
    return path


def write_csv(runs: Iterable[Run], path: Path) -> int:
    """Write every run to ``path`` (checked first, then replaced atomically); returns the number of rows."""
    runs = list(runs)
    atomic.write_text(check_target(path), csv_text(runs))
    return len(runs)

"""Where the lab keeps its files: one home folder, overridable by ``FMNIST_LAB_HOME``.

Default: ``~/.fmnist-lab``, holding ``runs/`` (one folder per training run) and
``cache/`` (the parsed data set, for fast loads).
"""

from __future__ import annotations

from pathlib import Path

from fmnist_lab.environment import VARIABLES, environment

HOME_ENV = VARIABLES["lab_home"].name


def lab_home() -> Path:
    """The lab's folder; created on first write, not here."""
    return environment().home()


def runs_dir() -> Path:
    return lab_home() / "runs"


def cache_dir() -> Path:
    return lab_home() / "cache"

"""Where the lab keeps its files: one home folder, overridable by ``FMNIST_LAB_HOME``.

Default: ``~/.fmnist-lab``, holding ``runs/`` (one folder per training run) and
``cache/`` (the parsed data set, for fast loads).
"""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "FMNIST_LAB_HOME"


def lab_home() -> Path:
    """The lab's folder; created on first write, not here."""
    configured = os.environ.get(HOME_ENV, "").strip()
    return Path(configured).expanduser() if configured else Path.home() / ".fmnist-lab"


def runs_dir() -> Path:
    return lab_home() / "runs"


def cache_dir() -> Path:
    return lab_home() / "cache"

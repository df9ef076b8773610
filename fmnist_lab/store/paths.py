"""Where the lab keeps its files: one home folder, overridable by ``FMNIST_LAB_HOME``.

Default: ``~/.fmnist-lab``, holding ``runs/`` (one folder per training run) and
``cache/`` (the parsed data set, for fast loads). ``FMNIST_CACHE_DIR`` moves the cache
elsewhere, so that several homes can share one parsed data set (the tests give every
test its own home but parse the data once per session); its entries are named by the
source files' fingerprint, so a shared cache never serves stale arrays.
"""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "FMNIST_LAB_HOME"
CACHE_ENV = "FMNIST_CACHE_DIR"


def lab_home() -> Path:
    """The lab's folder; created on first write, not here."""
    configured = os.environ.get(HOME_ENV, "").strip()
    return Path(configured).expanduser() if configured else Path.home() / ".fmnist-lab"


def runs_dir() -> Path:
    return lab_home() / "runs"


def cache_dir() -> Path:
    """``$FMNIST_CACHE_DIR``, else the home's ``cache/``."""
    configured = os.environ.get(CACHE_ENV, "").strip()
    return Path(configured).expanduser() if configured else lab_home() / "cache"

"""Where the lab keeps its files: one home folder, overridable by ``FMNIST_LAB_HOME``.

Default: ``~/.fmnist-lab``, holding ``runs/`` (one folder per training run) and
``cache/`` (the parsed data set, for fast loads). ``FMNIST_CACHE_DIR`` moves the cache
elsewhere, so that several homes can share one parsed data set (the tests give every
test its own home but parse the data once per session); its entries are named by the
source files' fingerprint, so a shared cache never serves stale arrays.
"""

from __future__ import annotations

from pathlib import Path

from fmnist_lab.environment import VARIABLES, environment

HOME_ENV = VARIABLES["lab_home"].name
CACHE_ENV = VARIABLES["cache_dir"].name


def lab_home() -> Path:
    """The lab's folder; created on first write, not here."""
    return environment().home()


def runs_dir() -> Path:
    return lab_home() / "runs"


def cache_dir() -> Path:
    """``$FMNIST_CACHE_DIR``, else the home's ``cache/``."""
    configured = environment().cache_dir
    return Path(configured).expanduser() if configured else lab_home() / "cache"

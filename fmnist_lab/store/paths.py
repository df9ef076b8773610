"""Where the lab keeps its files: one home folder, overridable by ``FMNIST_LAB_HOME``.

Default: ``~/.fmnist-lab``, holding ``runs/`` (one folder per training run) and
``cache/`` (the parsed data set, for fast loads). ``FMNIST_CACHE_DIR`` moves the cache
elsewhere, so that several homes can share one parsed data set (the tests give every
test its own home but parse the data once per session); its entries are named by the
source files' fingerprint, so a shared cache never serves stale arrays.

A home the lab cannot use (``~nouser/x``, a symbolic-link loop, a plain file) raises
``LabHomeError`` with one line that says which and what to set instead.
"""

from __future__ import annotations

from pathlib import Path

from fmnist_lab.environment import VARIABLES, environment

HOME_ENV = VARIABLES["lab_home"].name
CACHE_ENV = VARIABLES["cache_dir"].name


class LabHomeError(ValueError):
    """The lab's home (or a folder in it) cannot be used; the message names it, for a person."""


def lab_home() -> Path:
    """The lab's folder; created on first write, not here."""
    configured = environment().lab_home
    try:
        home = environment().home()
    except RuntimeError:  # "~nouser/x", or no home directory at all
        shown = f"{HOME_ENV}={configured}" if configured else "the home directory"
        raise LabHomeError(f"{shown}: no such user's home; set {HOME_ENV} to a folder path") from None
    return usable_folder(home)


def usable_folder(folder: Path) -> Path:
    """``folder`` if it is a folder or does not exist yet; LabHomeError for a link loop or a plain file."""
    try:
        folder.resolve()  # Python 3.11 raises RuntimeError on a symbolic-link loop, later versions OSError
        is_file = folder.exists() and not folder.is_dir()
    except (RuntimeError, OSError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "a loop of symbolic links"
        raise LabHomeError(f"{folder} cannot be used ({why}): set {HOME_ENV} to a folder") from None
    if is_file:
        raise LabHomeError(f"{folder} is not a folder: set {HOME_ENV} to a folder")
    return folder


def runs_dir() -> Path:
    return usable_folder(lab_home() / "runs")


def cache_dir() -> Path:
    """``$FMNIST_CACHE_DIR``, else the home's ``cache/``."""
    configured = environment().cache_dir
    return usable_folder(Path(configured).expanduser() if configured else lab_home() / "cache")

"""Where the lab keeps its files: one home folder, overridable by ``FMNIST_LAB_HOME``.

Default: ``~/.fmnist-lab``, holding ``runs/`` (one folder per training run) and
``cache/`` (the parsed data set, for fast loads).

A home the lab cannot use (``~nouser/x``, a symbolic-link loop, a plain file) raises
``LabHomeError`` with one line that says which and what to set instead.
"""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "FMNIST_LAB_HOME"


class LabHomeError(ValueError):
    """The lab's home (or a folder in it) cannot be used; the message names it, for a person."""


def lab_home() -> Path:
    """The lab's folder; created on first write, not here."""
    configured = os.environ.get(HOME_ENV, "").strip()
    try:
        home = Path(configured).expanduser() if configured else Path.home() / ".fmnist-lab"
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
    return usable_folder(lab_home() / "cache")

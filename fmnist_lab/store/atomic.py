"""Crash-safe file writes: write a temporary file beside the target, then rename.

``os.replace`` is atomic on POSIX, so a reader sees the old file or the new one,
never half of either, even if the writer is killed mid-write.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

TMP_MARK = ".tmp-"  # temporary names start with "." and contain this; readers skip them


@contextlib.contextmanager
def atomic_path(target: Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path to fill; on success it replaces ``target``."""
    target = Path(target)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}{TMP_MARK}", suffix=suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        tmp.chmod(0o644)  # mkstemp makes 0600; runs are meant to be readable like any file
        _fsync(tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(target: Path, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_text(target: Path, text: str) -> None:
    write_bytes(target, text.encode("utf-8"))


def write_json(target: Path, obj: Any) -> None:
    """Write strict JSON; NaN and infinity (a diverged loss) become ``null``."""
    write_text(target, json.dumps(_finite(obj), indent=1, allow_nan=False) + "\n")


def write_with(target: Path, writer: Callable[[Path], None], suffix: str = "") -> None:
    """Let ``writer`` create the file at a temporary path (e.g. ``np.savez``, ``model.save``)."""
    with atomic_path(target, suffix=suffix) as tmp:
        writer(tmp)


def is_temporary(path: Path) -> bool:
    return path.name.startswith(".") and TMP_MARK in path.name


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {key: _finite(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(value) for value in obj]
    return obj


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())

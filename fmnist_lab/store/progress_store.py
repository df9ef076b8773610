"""Lesson progress kept on the server under each learner's owner id: ``runs/.lessons.json``.

A learner's step and the steps they answered right survive a reload, a new tab, or another device
with the same owner cookie. The file maps owner ids (the digests runs carry, ``ownership.owner_id``)
to ``{"step": 4, "done": [1, 2, 3]}``; it never holds a key. It is written atomically under a lock
(two learners answering at once both keep their progress) and read back through one validating
loader: a damaged file reads as no progress, with a log line, never an exception on a page.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fmnist_lab.store import atomic, stored
from fmnist_lab.store.learners import OWNER_PATTERN

log = logging.getLogger(__name__)

FILE = ".lessons.json"  # in the run store's folder; the listing skips names starting with a dot
LOCK = ".lessons.lock"
MAX_STEP = 100  # far more steps than the path has; a larger number is damage


@dataclass(frozen=True)
class Progress:
    """Where a learner is on the path: the step last shown and the steps answered right."""

    step: int = 1
    done: frozenset[int] = frozenset()

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "done": sorted(self.done)}


class ProgressStore:
    """Owner id → lesson progress, beside the runs in ``root``."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.path = self.root / FILE

    def everyone(self) -> dict[str, Progress]:
        """Every learner's progress by owner id; {} when none is stored or the file is damaged."""
        try:
            return checked(stored.read_json(self.path))
        except FileNotFoundError:
            return {}
        except stored.Damage as exc:
            log.warning("ignoring the lessons' progress: %s", exc)
            return {}

    def get(self, owner: str) -> Progress | None:
        return self.everyone().get(owner)

    def save(self, owner: str, progress: Progress) -> None:
        """Keep ``progress`` for ``owner``; ValueError for an owner id or step this store could not have made."""
        _owner(owner)
        entry = progress_info(progress.to_dict())
        with self._locked():
            everyone = self.everyone() | {owner: entry}
            atomic.write_json(self.path, {key: value.to_dict() for key, value in everyone.items()})

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / LOCK, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
            yield


def checked(data: Any) -> dict[str, Progress]:
    """The progress file: an object of owner id → progress; entries that are not both are dropped."""
    if not isinstance(data, dict):
        raise stored.Damage(f"{FILE}: must be a JSON object, not {type(data).__name__}")
    everyone = {}
    for owner, entry in data.items():
        try:
            everyone[_owner(owner)] = progress_info(entry)
        except ValueError as exc:
            log.warning("%s: skipping an entry (%s)", FILE, exc)
    return everyone


def progress_info(entry: Any) -> Progress:
    """One learner's entry, checked: ``step`` a whole number 1–MAX_STEP, ``done`` a list of such numbers."""
    if not isinstance(entry, dict):
        raise ValueError("an entry must be a JSON object")
    step, done = entry.get("step"), entry.get("done")
    if not isinstance(step, int) or not _is_step(step) or not isinstance(done, list) or not all(map(_is_step, done)):
        raise ValueError(f"step and done must be whole numbers from 1 to {MAX_STEP}")
    return Progress(step, frozenset(done))


def _is_step(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_STEP


def _owner(owner: object) -> str:
    if not isinstance(owner, str) or not OWNER_PATTERN.fullmatch(owner):
        raise ValueError(f"{str(owner)[:30]!r} is not an owner id.")
    return owner

"""Lesson progress kept on the server under each learner's owner id: ``runs/.lessons.json``.

A learner's step and the steps they answered right survive a reload, a new tab, or another device
with the same owner cookie. The file maps owner ids (the digests runs carry, ``ownership.owner_id``)
to ``{"step": 4, "done": [1, 2, 3]}``; it never holds a key. It is written atomically under a lock
(two learners answering at once both keep their progress) and read back through one validating
loader: a damaged file reads as no progress, with a log line, never an exception on a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fmnist_lab.store.owner_table import OwnerTable

FILE = ".lessons.json"  # in the run store's folder; the listing skips names starting with a dot
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
        self.table = OwnerTable(root, FILE, "the lessons' progress", progress_info, Progress.to_dict)
        self.root, self.path = self.table.root, self.table.path

    def everyone(self) -> dict[str, Progress]:
        """Every learner's progress by owner id; {} when none is stored or the file is damaged."""
        return self.table.entries()

    def get(self, owner: str) -> Progress | None:
        return self.table.get(owner)

    def save(self, owner: str, progress: Progress) -> None:
        """Keep ``progress`` for ``owner``; ValueError for an owner id or step this store could not have made."""
        self.table.put(owner, progress)


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

"""Learners' display names, kept with their owner keys: ``runs/.learners.json``.

A learner may give a name (at most 40 characters, printable, one line) so the instructor sees who is
who. The file maps owner ids (the digests runs already carry, ``execution.ownership.owner_id``) to
names; it never holds a key. ``RunStore.create`` copies the name of the run's owner into ``run.json``,
so a run carries the display name and the digest, never the key. The file is written atomically under
a lock (two learners naming themselves at once both keep their names) and read back through one
validating loader: a damaged file reads as no names, with a warning, never an exception on a page.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fmnist_lab.store import atomic, stored
from fmnist_lab.store.stored import MAX_LEARNER_LENGTH, BadLearnerName, learner_name

__all__ = ["FILE", "MAX_LEARNER_LENGTH", "BadLearnerName", "LearnerStore", "learner_name"]

log = logging.getLogger(__name__)

FILE = ".learners.json"  # in the run store's folder; the listing skips names starting with a dot
LOCK = ".learners.lock"
OWNER_PATTERN = re.compile(r"[0-9a-f]{24}")  # ownership.owner_id's digest


class LearnerStore:
    """Owner id → display name, beside the runs in ``root``."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.path = self.root / FILE

    def names(self) -> dict[str, str]:
        """Every learner's name by owner id; {} when none is stored or the file is damaged."""
        try:
            return checked(stored.read_json(self.path))
        except FileNotFoundError:
            return {}
        except stored.Damage as exc:
            log.warning("ignoring the learners' names: %s", exc)
            return {}

    def name(self, owner: str | None) -> str | None:
        return None if owner is None else self.names().get(owner)

    def set(self, owner: str, name: str) -> str:
        """Keep ``name`` (checked: BadLearnerName says why not) for ``owner``; returns it as kept."""
        owner, name = _owner(owner), learner_name(name)
        with self._locked():
            atomic.write_json(self.path, self.names() | {owner: name})
        return name

    def clear(self, owner: str) -> None:
        with self._locked():
            names = self.names()
            if names.pop(_owner(owner), None) is not None:
                atomic.write_json(self.path, names)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / LOCK, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
            yield


def checked(data: Any) -> dict[str, str]:
    """The learners file: an object of owner id → name; entries that are not both are dropped."""
    if not isinstance(data, dict):
        raise stored.Damage(f"{FILE}: must be a JSON object, not {type(data).__name__}")
    names = {}
    for owner, name in data.items():
        try:
            names[_owner(owner)] = learner_name(name)
        except BadLearnerName as exc:
            log.warning("%s: skipping an entry (%s)", FILE, exc)
    return names


def _owner(owner: object) -> str:
    if not isinstance(owner, str) or not OWNER_PATTERN.fullmatch(owner):
        raise BadLearnerName(f"{str(owner)[:30]!r} is not an owner id.")
    return owner

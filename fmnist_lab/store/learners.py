"""Learners' display names, kept with their owner keys: ``runs/.learners.json``.

A learner may give a name (at most 40 characters, printable, one line) so the instructor sees who is
who. The table (``owner_table.OwnerTable``) maps owner ids to names; it never holds a key.
``RunStore.create`` copies the name of the run's owner into ``run.json``, so a run carries the display
name and the digest, never the key. A damaged file reads as no names, with a warning.
"""

from __future__ import annotations

from pathlib import Path

from fmnist_lab.store.owner_table import OwnerTable, owner_id
from fmnist_lab.store.stored import MAX_LEARNER_LENGTH, BadLearnerName, learner_name

__all__ = ["FILE", "MAX_LEARNER_LENGTH", "BadLearnerName", "LearnerStore", "learner_name"]

FILE = ".learners.json"  # in the run store's folder; the listing skips names starting with a dot


class LearnerStore:
    """Owner id → display name, beside the runs in ``root``."""

    def __init__(self, root: Path | str) -> None:
        self.table = OwnerTable(root, FILE, "the learners' names", learner_name)
        self.root, self.path = self.table.root, self.table.path

    def names(self) -> dict[str, str]:
        """Every learner's name by owner id; {} when none is stored or the file is damaged."""
        return self.table.entries()

    def name(self, owner: str | None) -> str | None:
        return self.table.get(owner)

    def set(self, owner: str, name: str) -> str:
        """Keep ``name`` (checked: BadLearnerName says why not) for ``owner``; returns it as kept."""
        try:
            owner = owner_id(owner)
        except ValueError as exc:
            raise BadLearnerName(str(exc)) from None
        name = learner_name(name)
        self.table.put(owner, name)
        return name

    def clear(self, owner: str) -> None:
        self.table.remove(owner)

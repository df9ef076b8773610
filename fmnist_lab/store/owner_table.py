"""One small JSON table keyed by owner id, beside the runs: the shape of learners' names and lesson progress.

The file maps owner ids (the digests runs carry, ``execution.ownership.owner_id``) to one entry each; it
never holds a key. It is written atomically under an flock (two learners writing at once both keep
their entries) and read back through one validating loader: a damaged file reads as empty, with a
warning, and a bad entry is dropped with a warning, never an exception on a page.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Generic, TypeVar

from fmnist_lab.store import atomic, stored

__all__ = ["OWNER_PATTERN", "OwnerTable", "owner_id"]

log = logging.getLogger(__name__)

OWNER_PATTERN = re.compile(r"[0-9a-f]{24}")  # ownership.owner_id's digest

T = TypeVar("T")


def owner_id(owner: object) -> str:
    """``owner`` if it is an owner id this lab could have made; ValueError otherwise."""
    if not isinstance(owner, str) or not OWNER_PATTERN.fullmatch(owner):
        raise ValueError(f"{str(owner)[:30]!r} is not an owner id.")
    return owner


class OwnerTable(Generic[T]):
    """Owner id → entry, in ``root / file``; ``what`` names the table in warnings.

    ``decode`` turns a stored JSON value into an entry, raising ValueError (the message says why) for one
    this table could not have written; ``encode`` is its inverse.
    """

    def __init__(
        self,
        root: Path | str,
        file: str,
        what: str,
        decode: Callable[[Any], T],
        encode: Callable[[T], Any] = lambda entry: entry,
    ) -> None:
        if not file.startswith("."):
            raise ValueError("an owner table's file name starts with a dot, so the run listing skips it")
        self.root = Path(root)
        self.file = file
        self.what = what  # for the log: "the learners' names"
        self.path = self.root / file
        self.decode = decode
        self.encode = encode

    def entries(self) -> dict[str, T]:
        """Every owner's entry; {} when nothing is stored or the file is damaged (with a warning)."""
        try:
            data = stored.read_json(self.path)
        except FileNotFoundError:
            return {}
        except stored.Damage as exc:
            log.warning("ignoring %s: %s", self.what, exc)
            return {}
        if not isinstance(data, dict):
            log.warning("ignoring %s: %s must be a JSON object, not %s", self.what, self.file, type(data).__name__)
            return {}
        entries = {}
        for owner, value in data.items():
            try:
                entries[owner_id(owner)] = self.decode(value)
            except ValueError as exc:
                log.warning("%s: skipping an entry (%s)", self.file, exc)
        return entries

    def get(self, owner: str | None) -> T | None:
        return None if owner is None else self.entries().get(owner)

    def put(self, owner: str, entry: T) -> None:
        """Keep ``entry`` for ``owner``; ValueError for an owner id or entry this table could not read back."""
        owner = owner_id(owner)
        value = self.encode(entry)
        self.decode(value)  # what is written must read back
        with self._locked():
            self._write(self.entries() | {owner: entry})

    def remove(self, owner: str) -> None:
        with self._locked():
            entries = self.entries()
            if entries.pop(owner_id(owner), None) is not None:
                self._write(entries)

    def _write(self, entries: dict[str, T]) -> None:
        atomic.write_json(self.path, {owner: self.encode(entry) for owner, entry in entries.items()})

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / (self.file.removesuffix(".json") + ".lock"), "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
            yield

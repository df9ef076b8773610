"""The local queue: at most N trainings at once on this machine, the others waiting their turn.

A slot is an ``flock`` on ``runs/.slots/<k>``. A waiting run leaves a marker in ``runs/.queue/``,
touched every ``QUEUE_POLL`` seconds; the oldest run goes first. A marker not touched for
``QUEUE_STALE`` seconds (its process is stopped or hung) loses its turn until it moves again, so a
hung run never blocks free slots for longer than that. Markers of runs whose alive lock nobody
holds are removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from fmnist_lab.execution.contract import CANCELLED_IN_QUEUE
from fmnist_lab.execution.lifecycle import position
from fmnist_lab.execution.processes import lock_held
from fmnist_lab.store.runs import RUN_ID_PATTERN, RunStore, check_run_id

QUEUE_POLL = 0.25  # seconds between a waiting run's looks at the queue (and touches of its marker)
QUEUE_STALE = 15.0  # seconds without a touch after which a waiting run loses its turn until it moves again


class SlotQueue:
    """``size`` training slots for ``store``'s runs, and the line of runs waiting for one."""

    def __init__(self, store: RunStore, size: int, clock: Callable[[], float] = time.time) -> None:
        self.store, self.size, self.clock = store, size, clock

    def enter(self, run_id: str) -> None:
        """Put the run in line (its place: when it was created)."""
        self._marker(run_id).write_text(str(self.store.load(run_id).created_ns))

    def position(self, run_id: str) -> int | None:
        return position(self.waiting(), run_id)

    def waiting(self) -> list[str]:
        """Runs waiting for a slot and moving, oldest first; markers of dead runs are removed."""
        line = []
        for marker in self._folder().iterdir():
            if not RUN_ID_PATTERN.fullmatch(marker.name):
                continue  # not ours: a stray file never takes a place in line
            try:
                created_ns, touched = int(marker.read_text()), marker.stat().st_mtime
            except (OSError, ValueError):
                continue  # being written or removed right now
            if not lock_held(self.store.path(marker.name)):
                marker.unlink(missing_ok=True)
            elif self.clock() - touched <= QUEUE_STALE:
                line.append((created_ns, marker.name))
        return [run_id for _, run_id in sorted(line)]

    @contextlib.contextmanager
    def slot(self, run_id: str) -> Iterator[bool]:
        """Wait in line for a slot; yields True holding it, or False (the run recorded as stopped)
        if it was cancelled while waiting."""
        self.enter(run_id)
        marker = self._marker(run_id)
        try:
            fd = self._wait(run_id, marker)
        finally:
            marker.unlink(missing_ok=True)
        if fd is None:
            self.store.set_status(run_id, "stopped", stop_reason=CANCELLED_IN_QUEUE)
            yield False
            return
        try:
            yield True
        finally:
            os.close(fd)  # releases the flock

    def _wait(self, run_id: str, marker: Path) -> int | None:
        slots = self.store.root / ".slots"
        slots.mkdir(exist_ok=True)
        while not self.store.cancel_requested(run_id):
            os.utime(marker)  # still here, still moving
            if self.position(run_id) == 1 and (fd := self._free_slot(slots)) is not None:
                return fd
            time.sleep(QUEUE_POLL)
        return None

    def _free_slot(self, slots: Path) -> int | None:
        for k in range(self.size):
            fd = os.open(slots / str(k), os.O_CREAT | os.O_RDWR, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                os.close(fd)
        return None

    def _marker(self, run_id: str) -> Path:
        return self._folder() / check_run_id(run_id)

    def _folder(self) -> Path:
        folder = self.store.root / ".queue"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

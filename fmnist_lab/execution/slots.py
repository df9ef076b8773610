"""The local queue: at most N trainings at once on this machine, the others waiting their turn.

A slot is an ``flock`` on ``runs/.slots/<k>``, whose file names the learner training in it. A
waiting run has a marker in ``runs/.queue/`` holding its creation time and learner, touched every
``QUEUE_POLL`` seconds by whoever vouches for it (the server while it waits, then its worker); the
line is in ``policy.fair_order``. A marker not touched for ``QUEUE_STALE`` seconds (its process is
stopped or hung) loses its turn until it moves again, so a hung run never blocks free slots for
longer than that. Markers of runs whose alive lock nobody holds are removed.

A group (K seeds of one setup trained as one computation, ``training.replicas``) waits as one unit:
one marker, its first run's, naming every member on a second line. Each member's place in line is
the unit's, the unit ranks as one run in the fair order, and it takes one slot.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from fmnist_lab.execution.contract import CANCELLED_IN_QUEUE
from fmnist_lab.execution.lifecycle import position
from fmnist_lab.execution.policy import CLI, KEPT_STARTS, Start, Waiting, fair_order
from fmnist_lab.execution.processes import flock_held, lock_held
from fmnist_lab.store.runs import RUN_ID_PATTERN, RunStore, check_run_id

QUEUE_POLL = 0.25  # seconds between a waiting run's looks at the queue (and touches of its marker)
STARTS = "starts"  # in .slots/: "<ns> <learner>" as a run takes a slot, "end <its start ns> <ns>" as it leaves
QUEUE_STALE = 15.0  # seconds without a touch after which a waiting run loses its turn until it moves again


class SlotQueue:
    """``size`` training slots for ``store``'s runs, and the line of runs waiting for one."""

    def __init__(self, store: RunStore, size: int, clock: Callable[[], float] = time.time) -> None:
        self.store, self.size, self.clock = store, size, clock

    def enter(self, run_id: str, members: Sequence[str] = ()) -> str:
        """Put the run in line (its place: when it was created, and its learner's turn); its learner.
        ``members``: the run leads a group of these runs (itself first), which waits as one unit."""
        run = self.store.load(run_id)
        owner = run.owner or CLI
        group = "\n" + " ".join(map(check_run_id, members)) if len(members) > 1 else ""
        self.marker(run_id).write_text(f"{run.created_ns} {owner}{group}")
        return owner

    def touch(self, run_id: str) -> None:
        """Still waiting, still moving."""
        with contextlib.suppress(FileNotFoundError):
            os.utime(self.marker(run_id))

    def position(self, run_id: str) -> int | None:
        """The place in line of the run, or of the group it belongs to."""
        line, groups = self._line()
        leader = next((first for first, members in groups.items() if run_id in members), run_id)
        return position(line, leader)

    def waiting(self) -> list[str]:
        """Runs (a group: its first run) waiting for a slot and moving, in the order they will start;
        markers of dead runs are removed."""
        return self._line()[0]

    def _line(self) -> tuple[list[str], dict[str, list[str]]]:
        """``waiting()``, and each waiting group's members by its first run."""
        line, groups = [], {}
        for marker in self._folder().iterdir():
            if not RUN_ID_PATTERN.fullmatch(marker.name):
                continue  # not ours: a stray file never takes a place in line
            try:
                head, _, members = marker.read_text().partition("\n")
                created, _, owner = head.partition(" ")
                entry, touched = Waiting(marker.name, owner, int(created)), marker.stat().st_mtime
            except (OSError, ValueError):
                continue  # being written or removed right now
            if not lock_held(self.store.path(marker.name)):
                marker.unlink(missing_ok=True)
            elif self.clock() - touched <= QUEUE_STALE:
                line.append(entry)
                groups[marker.name] = members.split()
        return fair_order(line, self.training(), self.started()), groups

    def started(self) -> list[Start]:
        """The runs that took a slot lately, with when they gave it back if they have (each learner's turns,
        for the fair order), oldest first."""
        try:
            lines = (self._slots() / STARTS).read_text().splitlines()
        except FileNotFoundError:
            return []
        ends = dict(end for text in lines if (end := _end(text)))
        return [
            Start(start.owner, start.started_ns, ends.get(start.started_ns))
            for text in lines
            if (start := _start(text))
        ]

    def _record(self, line: str) -> None:
        """Append to the log of starts and ends, which keeps the newest ``KEPT_STARTS`` of each (under a lock)."""
        with open(self._slots() / STARTS, "a+") as log:
            fcntl.flock(log, fcntl.LOCK_EX)  # released when the file closes
            log.write(f"{line}\n")
            log.flush()
            if log.tell() > KEPT_STARTS * 2 * 40:  # ~40 bytes a line, a start and an end a run
                log.seek(0)
                newest = log.read().splitlines()[-KEPT_STARTS * 2 :]
                log.truncate(0)
                log.write("".join(f"{line}\n" for line in newest))

    def training(self) -> Counter[str]:
        """Each learner's runs holding a slot now."""
        held: Counter[str] = Counter()
        for k in range(self.size):
            path = self._slots() / str(k)
            with contextlib.suppress(FileNotFoundError):
                if flock_held(path):
                    held[path.read_text()] += 1
        return held

    def free(self) -> int:
        """Slots nobody holds right now."""
        return sum(not flock_held(self._slots() / str(k)) for k in range(self.size))

    @contextlib.contextmanager
    def slot(self, run_id: str, members: Sequence[str] = ()) -> Iterator[bool]:
        """Wait in line for a slot; yields True holding it, or False (the run recorded as stopped)
        if it was cancelled while waiting. ``members``: a group led by ``run_id`` waits as one unit for
        one slot, and a cancel request on any member stops them all."""
        owner = self.enter(run_id, members)
        runs = list(members) or [run_id]
        try:
            taken = self._wait(runs, owner)
        finally:
            self.marker(run_id).unlink(missing_ok=True)
        if taken is None:
            for member in runs:
                self.store.set_status(member, "stopped", stop_reason=CANCELLED_IN_QUEUE)
            yield False
            return
        fd, started_ns = taken
        try:
            yield True
        finally:
            try:  # logged while the slot is still held: the next run's order already counts this turn
                self._record(f"end {started_ns} {self._now_ns()}")
            finally:
                os.close(fd)  # releases the flock

    def _wait(self, runs: list[str], owner: str) -> tuple[int, int] | None:
        run_id = runs[0]
        while not any(map(self.store.cancel_requested, runs)):
            self.touch(run_id)
            if self.position(run_id) == 1 and (taken := self._take(owner)) is not None:
                return taken
            time.sleep(QUEUE_POLL)
        return None

    def _take(self, owner: str) -> tuple[int, int] | None:
        """A free slot's fd, locked and naming ``owner``, and the start's time as logged; None when all are
        taken."""
        for k in range(self.size):
            fd = os.open(self._slots() / str(k), os.O_CREAT | os.O_RDWR, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.pwrite(fd, owner.encode(), 0)
            started_ns = self._now_ns()
            self._record(f"{started_ns} {owner}")
            return fd, started_ns
        return None

    def _now_ns(self) -> int:
        return int(self.clock() * 1e9)

    def marker(self, run_id: str) -> Path:
        return self._folder() / check_run_id(run_id)

    def _folder(self) -> Path:
        folder = self.store.root / ".queue"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _slots(self) -> Path:
        folder = self.store.root / ".slots"
        folder.mkdir(parents=True, exist_ok=True)
        return folder


def _start(line: str) -> Start | None:
    """A start line of the log; None for another line or a damaged one (it only loses a learner a turn)."""
    started, _, owner = line.partition(" ")
    return Start(owner, int(started)) if started.isdigit() else None


def _end(line: str) -> tuple[int, int] | None:
    """An end line of the log, as (its start's time, its own); None for another line or a damaged one."""
    word, started, ended = (line.split(" ") + ["", ""])[:3]
    return (int(started), int(ended)) if word == "end" and started.isdigit() and ended.isdigit() else None

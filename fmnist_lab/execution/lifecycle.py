"""What every executor does the same way: places in line, and recording runs that nothing works on any more.

A run is "lost" when the process or actor working on it ended without writing its final status:
killed, out of memory, its node gone. Local workers, warm workers and Ray trainers all report such
a run through ``mark_lost``, and every executor's ``refresh`` is ``refresh_runs`` with its own idea
of who is alive.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Sequence

from fmnist_lab.execution.contract import GONE
from fmnist_lab.store.runs import RunNotFound, RunStore, RunStoreError


def position(line: Sequence[str], run_id: str) -> int | None:
    """1 for the first run in ``line``, 2 for the next…; None when the run is not in it."""
    return line.index(run_id) + 1 if run_id in line else None


def mark_lost(store: RunStore, run_id: str, reason: str) -> bool:
    """Record the run failed with ``reason`` if it still looks active (its history is kept); True if it did."""
    try:
        run = store.load(run_id)
    except RunNotFound:
        return False  # deleted meanwhile
    if not run.is_active:
        return False  # it ended, and said how
    store.record_end(run_id, "failed", error=reason)  # kept in memory if the store is full or read-only
    return True


def exit_reason(code: int | None) -> str:
    """Why a worker process that ended with ``code`` left its run unfinished, in a learner's words."""
    if code is not None and code < 0:
        return f"the training process was killed ({signal.Signals(-code).name})"
    return f"the training process ended unexpectedly (exit code {code}); see worker.log in the run folder"


def refresh_runs(store: RunStore, alive: Callable[[str], bool]) -> list[str]:
    """What every executor's ``refresh`` does: active runs that ``alive`` disowns become failed."""
    store.remove_leftovers()
    failed = []
    for run in store.list():
        if run.is_active and not alive(run.id) and _still_active(store, run.id):  # re-read: it may just have ended
            store.record_end(run.id, "failed", error=GONE)
            failed.append(run.id)
    return failed


def _still_active(store: RunStore, run_id: str) -> bool:
    try:
        return store.load(run_id).is_active
    except RunStoreError:
        return False  # deleted or damaged meanwhile: nothing to mark

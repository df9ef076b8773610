"""The one seam through which pages and the CLI run trainings: submit, cancel, watch, and who is alive.

``executor()`` picks the implementation: local worker processes (``fmnist_lab.execution.local``, warm ones
from ``fmnist_lab.execution.warm`` in the server), or a Ray cluster (``fmnist_lab.execution.ray_executor``) when
``$FMNIST_RAY_ADDRESS`` is set. Pages and the
CLI never ask a process id, a lock or an actor anything themselves: whether a run is still
being worked on is the executor's word, and ``refresh`` turns a run nobody works on any more
into a failed one.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from fmnist_lab.config import TrainConfig
from fmnist_lab.store.runs import Run, RunStore, RunStoreError

if TYPE_CHECKING:
    from fmnist_lab.training.train import TrainResult

RAY_ADDRESS_ENV = "FMNIST_RAY_ADDRESS"  # host:6379 or ray://host:10001; unset: local worker processes
CANCELLED_IN_QUEUE = "stopped by request before it started"
GONE = "its training process ended without recording why (killed, out of memory, or the machine restarted)"
ProgressHook = Callable[[dict[str, Any]], None]


class SubmitRefused(RunStoreError):
    """The executor will not take this run (over the host's caps, or it cannot be started); says why."""


class Executor(Protocol):
    """Where and how trainings run; every method takes run ids from ``store``."""

    store: RunStore

    def submit(self, config: TrainConfig, name: str | None = None, owner: str | None = None) -> Run:
        """Create a run and start it in the background; returns at once (it may queue)."""
        ...

    def run(
        self,
        config: TrainConfig,
        name: str | None = None,
        on_progress: ProgressHook | None = None,
        on_epoch: ProgressHook | None = None,
        on_created: Callable[[Run], None] | None = None,
    ) -> TrainResult | None:
        """Create a run and train it to the end, reporting as it goes; None if it was cancelled in the queue."""
        ...

    def cancel(self, run_id: str) -> None:
        """Ask a run to stop; a training one ends within about a second and keeps what it learnt."""
        ...

    def alive(self, run_id: str) -> bool:
        """Whether something still works on the run (waits for a slot or trains)."""
        ...

    def queue_position(self, run_id: str) -> int | None:
        """1 for the next run to start, 2 behind it…; None when not waiting."""
        ...

    def capacity(self) -> int:
        """How many runs may train at once."""
        ...

    def refresh(self) -> list[str]:
        """Mark failed every queued or running run that nothing works on any more; returns their ids."""
        ...


def executor(store: RunStore | None = None, warm: bool = False) -> Executor:
    """The executor this lab is configured for: the Ray cluster at ``$FMNIST_RAY_ADDRESS`` if set
    (Ray is imported only then), else local worker processes; ``warm``: keep warm local workers
    waiting for runs (a long-lived server's choice, which owns them; the CLI trains in its own process)."""
    store = store or RunStore()
    if address := os.environ.get(RAY_ADDRESS_ENV, "").strip():
        from fmnist_lab.execution.ray_executor import RayExecutor

        return RayExecutor(store, address)
    from fmnist_lab.execution.local import LocalExecutor, max_trainings
    from fmnist_lab.execution.warm import WarmPool, pool_size

    size = pool_size(max_trainings()) if warm else 0
    return LocalExecutor(store, pool=WarmPool(store, size) if size else None)


def refresh_runs(store: RunStore, alive: Callable[[str], bool]) -> list[str]:
    """What every executor's ``refresh`` does: active runs that ``alive`` disowns become failed."""
    store.remove_leftovers()
    failed = []
    for run in store.list():
        if run.is_active and not alive(run.id) and _still_active(store, run.id):  # re-read: it may just have ended
            store.record_end(run.id, "failed", error=GONE)  # kept in memory if the store is full or read-only
            failed.append(run.id)
    return failed


def _still_active(store: RunStore, run_id: str) -> bool:
    try:
        return store.load(run_id).is_active
    except RunStoreError:
        return False  # deleted or damaged meanwhile: nothing to mark

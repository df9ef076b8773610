"""The one contract through which pages and the CLI run trainings: submit, cancel, watch, and who is alive.

This module names the contract only; it imports no implementation. ``factory.executor()`` builds the
lab's executor from the environment (local worker processes, or a Ray cluster) and wraps it in the
rules every executor obeys (the host's caps, refusals as ``SubmitRefused``). Pages and the CLI never
ask a process id, a lock or an actor anything themselves: whether a run is still being worked on is
the executor's word, and ``refresh`` turns a run nobody works on any more into a failed one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from fmnist_lab.config import TrainConfig
from fmnist_lab.store.runs import Run, RunStore, RunStoreError

if TYPE_CHECKING:
    from fmnist_lab.training.result import TrainResult

CANCELLED_IN_QUEUE = "stopped by request before it started"
GONE = "its training process ended without recording why (killed, out of memory, or the machine restarted)"
ProgressHook = Callable[[dict[str, Any]], None]


class SubmitRefused(RunStoreError):
    """The executor will not take this run (over the host's caps, or it cannot be started); says why."""


class Executor(Protocol):
    """Where and how trainings run; every method takes run ids from ``store``."""

    store: RunStore

    def submit(self, config: TrainConfig, name: str | None = None, owner: str | None = None) -> Run:
        """Create a run and start it in the background; returns at once (it may queue).
        Raises ``SubmitRefused`` (and keeps no half-made run active) when it cannot."""
        ...

    def submit_group(
        self, configs: Sequence[TrainConfig], names: Sequence[str | None], owner: str | None = None
    ) -> list[Run]:
        """Create the runs of one group (one vectorisable setup over distinct seeds,
        ``training.grouping.check_group``) and start them in the background, where the implementation
        can as one unit that trains as one computation; each is still an ordinary run, and a stop
        request on any member stops them all. Raises ``SubmitRefused`` (keeping none active) when it cannot."""
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

    def close(self) -> None:
        """The server is stopping: let go of what this executor holds (runs already training go on)."""
        ...

"""The local executor: each run trains in a worker process beside the app, never in a page's thread.

A Streamlit widget click reruns the page script and would kill a ``fit`` running in it half-way, so
``submit`` starts ``python -m fmnist_lab worker <run id>`` instead. That process imports nothing of
the app's pages, writes progress into the run folder, and keeps going when the tab reloads. With a
``warm.WarmPool`` (the server's), ``submit`` first hands the run to an idle warm worker, which trains
it the same way without the start-up cost. ``run`` trains in the calling process (the CLI).

Liveness is each run's alive lock (``processes``); at most ``FMNIST_MAX_TRAININGS`` runs train at
once, the others wait in line for a slot (``slots``, in ``policy.fair_order``). A waiting run is a
record, not a process: the executor holds its lock and touches its place in line, and a dispatcher
thread hands it to a warm worker, or starts a worker for it, only once its turn has come and a slot
is free. If the server stops meanwhile, the lock goes with it and the run is reported failed.

``submit_group`` queues K seeds of one vectorisable setup as one unit (``slots``): one place in line,
each member's own lock held by the executor, then all handed to one worker (warm, else cold), which
takes ONE slot and trains them as one computation (``worker.work_group``). Each member stays an
ordinary run with its own status, progress and curve; a stop request on any member stops the group.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from fmnist_lab.config import TrainConfig
from fmnist_lab.environment import environment
from fmnist_lab.execution.contract import CANCELLED_IN_QUEUE, ProgressHook, SubmitRefused
from fmnist_lab.execution.lifecycle import exit_reason, mark_lost, refresh_runs
from fmnist_lab.execution.processes import hold_lock, lock_held, spawn
from fmnist_lab.execution.slots import QUEUE_POLL, SlotQueue
from fmnist_lab.execution.worker import work
from fmnist_lab.store.runs import Run, RunStore, RunStoreError

if TYPE_CHECKING:
    from fmnist_lab.execution.warm import WarmPool
    from fmnist_lab.training.result import TrainResult


class LocalExecutor:
    """Trainings in processes on this machine, queued through lock files in the run store."""

    def __init__(
        self,
        store: RunStore,
        clock: Callable[[], float] = time.time,
        pool: WarmPool | None = None,
        trainings: int | None = None,
    ) -> None:
        self.store, self.pool = store, pool
        self.slots = SlotQueue(store, trainings or environment().trainings(), clock)
        self._held: dict[str, dict[str, int]] = {}  # waiting units this executor vouches for: first run id →
        # each member's id → its alive-lock fd (one member for a single run)
        self._starting: set[str] = set()  # units (by first run) handed over, not yet holding a slot
        self._guard = threading.Lock()
        self._wake = threading.Event()
        self._dispatcher: threading.Thread | None = None

    def submit(self, config: TrainConfig, name: str | None = None, owner: str | None = None) -> Run:
        (run,) = self._queue([config], [name], owner)
        return run

    def submit_group(
        self, configs: Sequence[TrainConfig], names: Sequence[str | None], owner: str | None = None
    ) -> list[Run]:
        """Queue one setup's seeds (``training.grouping.check_group``) as one unit that trains as one."""
        return self._queue(configs, names, owner)

    def _queue(self, configs: Sequence[TrainConfig], names: Sequence[str | None], owner: str | None) -> list[Run]:
        """Create the runs, holding each one's lock, and put them in line as one unit."""
        fds: list[int] = []
        runs: list[Run] = []
        try:
            for config, name in zip(configs, names, strict=True):
                runs.append(self.store.create(config, name, owner, on_staged=lambda f: fds.append(hold_lock(f))))
            locks = {run.id: fd for run, fd in zip(runs, fds, strict=True)}
            self.slots.enter(runs[0].id, list(locks))  # in line from now
        except (OSError, RunStoreError) as exc:
            for fd in fds:
                os.close(fd)  # the runs show as failed: nobody vouches for them
            why = f"{exc.strerror or exc}" if isinstance(exc, OSError) else str(exc)
            for run in runs:
                mark_lost(self.store, run.id, f"it could not be queued ({why})")
            raise SubmitRefused(f"The run could not be queued ({why}).") from None
        with self._guard:
            self._held[runs[0].id] = locks
            if self._dispatcher is None:
                self._dispatcher = threading.Thread(target=self._dispatch_forever, daemon=True, name="dispatch")
                self._dispatcher.start()
        self._wake.set()
        return runs

    def run(
        self,
        config: TrainConfig,
        name: str | None = None,
        on_progress: ProgressHook | None = None,
        on_epoch: ProgressHook | None = None,
        on_created: Callable[[Run], None] | None = None,
    ) -> TrainResult | None:
        locks: list[int] = []
        run = self.store.create(config, name, on_staged=lambda folder: locks.append(hold_lock(folder)))
        if on_created:
            on_created(run)
        return work(self.slots, run.id, locks[0], on_progress=on_progress, on_epoch=on_epoch)

    def cancel(self, run_id: str) -> None:
        self.store.request_cancel(run_id)

    def alive(self, run_id: str) -> bool:
        return lock_held(self.store.path(run_id))

    def queue_position(self, run_id: str) -> int | None:
        return self.slots.position(run_id)

    def capacity(self) -> int:
        return self.slots.size

    def refresh(self) -> list[str]:
        return refresh_runs(self.store, self.alive)

    # -- the dispatcher: waiting runs are records until their turn --------------------
    def _dispatch_forever(self) -> None:
        """Hand runs over as their turn comes; the thread ends once nothing waits or starts (a submit
        starts another)."""
        while True:
            self._wake.wait(QUEUE_POLL)
            self._wake.clear()
            with contextlib.suppress(Exception):  # a store that vanished or filled up: try again next time
                self.dispatch()
            with self._guard:
                if not self._held and not self._starting:
                    self._dispatcher = None
                    return

    def dispatch(self) -> list[str]:
        """Hand over the units whose turn has come while slots are free; returns their first runs' ids."""
        with self._guard:
            held = {leader: dict(locks) for leader, locks in self._held.items()}
        if not held and not self._starting:
            return []
        for leader, locks in held.items():
            self.slots.touch(leader)  # still vouched for
            if any(map(self.store.cancel_requested, locks)):  # a stop on one member stops its group
                for run_id in locks:
                    self.store.set_status(run_id, "stopped", stop_reason=CANCELLED_IN_QUEUE)
                self._release(leader)
        self._starting = {leader for leader in self._starting if self._still_starting(leader)}
        room = self.slots.free() - len(self._starting)
        due = [leader for leader in self.slots.waiting()[: max(room, 0)] if leader in held]
        for leader in due:
            self._hand_over(leader, held[leader])
        return due

    def _hand_over(self, leader: str, locks: dict[str, int]) -> None:
        """Give the unit to an idle warm worker, else start a cold one; either way it holds the locks now."""
        try:
            if self.pool is None or not self.pool.hand(list(locks), list(locks.values())):
                self._launch(list(locks), list(locks.values()))
            self._starting.add(leader)
        except OSError as exc:
            for run_id in locks:
                mark_lost(self.store, run_id, f"its worker could not be started ({exc.strerror or exc})")
        self._release(leader)

    def _release(self, leader: str) -> None:
        with self._guard:
            locks = self._held.pop(leader, {})
        for fd in locks.values():
            os.close(fd)

    def _still_starting(self, run_id: str) -> bool:
        """Handed over, still queued, and its worker alive: it will take a slot any moment."""
        with contextlib.suppress(Exception):
            return self.store.load(run_id).state == "queued" and self.alive(run_id)
        return False

    def close(self) -> None:
        """Let go of the runs still waiting (the server is stopping): they are reported failed."""
        with self._guard:
            waiting = {leader: list(locks) for leader, locks in self._held.items()}
        for leader, run_ids in waiting.items():
            for run_id in run_ids:
                mark_lost(self.store, run_id, "the lab's server stopped before its turn came; train it again")
            self._release(leader)

    def _launch(self, run_ids: list[str], locks: list[int]) -> subprocess.Popen[bytes]:
        """Start the worker process for a new run (or group), handing it the locks, and watch it from a thread."""
        fds = [arg for lock in locks for arg in ("--lock-fd", str(lock))]
        args = ["worker", "--runs-dir", str(self.store.root), *fds, *run_ids]
        process = spawn(args, self.store.path(run_ids[0]) / "worker.log", *locks)
        name = f"watch-{run_ids[0]}"
        threading.Thread(target=self._watch, args=(run_ids, process), daemon=True, name=name).start()
        return process

    def _watch(self, run_ids: list[str], process: subprocess.Popen[bytes]) -> None:
        code = process.wait()  # also reaps the process, so no zombie is left
        for run_id in run_ids:
            mark_lost(self.store, run_id, exit_reason(code))

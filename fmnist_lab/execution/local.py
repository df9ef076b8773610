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
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from fmnist_lab.config import TrainConfig
from fmnist_lab.environment import environment
from fmnist_lab.execution.contract import CANCELLED_IN_QUEUE, ProgressHook, SubmitRefused
from fmnist_lab.execution.lifecycle import exit_reason, mark_lost, refresh_runs
from fmnist_lab.execution.processes import hold_lock, lock_held, spawn
from fmnist_lab.execution.slots import QUEUE_POLL, SlotQueue
from fmnist_lab.execution.worker import work
from fmnist_lab.store.runs import Run, RunStore

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
        self._held: dict[str, int] = {}  # waiting runs this executor vouches for: run id → alive-lock fd
        self._starting: set[str] = set()  # handed over, not yet holding a slot
        self._guard = threading.Lock()
        self._wake = threading.Event()
        self._dispatcher: threading.Thread | None = None

    def submit(self, config: TrainConfig, name: str | None = None, owner: str | None = None) -> Run:
        locks: list[int] = []
        run = self.store.create(config, name, owner, on_staged=lambda folder: locks.append(hold_lock(folder)))
        try:
            self.slots.enter(run.id)  # in line from now
        except OSError as exc:
            os.close(locks[0])  # the run shows as failed: nobody vouches for it
            mark_lost(self.store, run.id, f"it could not be queued ({exc.strerror or exc})")
            raise SubmitRefused(f"The run could not be queued ({exc.strerror or exc}).") from None
        with self._guard:
            self._held[run.id] = locks[0]
            if self._dispatcher is None:
                self._dispatcher = threading.Thread(target=self._dispatch_forever, daemon=True, name="dispatch")
                self._dispatcher.start()
        self._wake.set()
        return run

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
        """Hand over the runs whose turn has come while slots are free; returns their ids."""
        with self._guard:
            held = dict(self._held)
        if not held and not self._starting:
            return []
        for run_id in held:
            self.slots.touch(run_id)  # still vouched for
            if self.store.cancel_requested(run_id):
                self.store.set_status(run_id, "stopped", stop_reason=CANCELLED_IN_QUEUE)
                self._release(run_id)
        self._starting = {run_id for run_id in self._starting if self._still_starting(run_id)}
        room = self.slots.free() - len(self._starting)
        due = [run_id for run_id in self.slots.waiting()[: max(room, 0)] if run_id in held]
        for run_id in due:
            self._hand_over(run_id, held[run_id])
        return due

    def _hand_over(self, run_id: str, lock: int) -> None:
        """Give the run to an idle warm worker, else start a cold one; either way it holds the lock now."""
        try:
            if self.pool is None or not self.pool.hand(run_id, lock):
                self._launch(run_id, lock)
            self._starting.add(run_id)
        except OSError as exc:
            mark_lost(self.store, run_id, f"its worker could not be started ({exc.strerror or exc})")
        self._release(run_id)

    def _release(self, run_id: str) -> None:
        with self._guard:
            fd = self._held.pop(run_id, None)
        if fd is not None:
            os.close(fd)

    def _still_starting(self, run_id: str) -> bool:
        """Handed over, still queued, and its worker alive: it will take a slot any moment."""
        with contextlib.suppress(Exception):
            return self.store.load(run_id).state == "queued" and self.alive(run_id)
        return False

    def close(self) -> None:
        """Let go of the runs still waiting (the server is stopping): they are reported failed."""
        with self._guard:
            waiting = list(self._held)
        for run_id in waiting:
            mark_lost(self.store, run_id, "the lab's server stopped before its turn came; train it again")
            self._release(run_id)

    def _launch(self, run_id: str, lock: int) -> subprocess.Popen[bytes]:
        """Start the worker process for a new run, handing it the run's lock, and watch it from a thread."""
        args = ["worker", "--runs-dir", str(self.store.root), "--lock-fd", str(lock), run_id]
        process = spawn(args, self.store.path(run_id) / "worker.log", lock)
        threading.Thread(target=self._watch, args=(run_id, process), daemon=True, name=f"watch-{run_id}").start()
        return process

    def _watch(self, run_id: str, process: subprocess.Popen[bytes]) -> None:
        code = process.wait()  # also reaps the process, so no zombie is left
        mark_lost(self.store, run_id, exit_reason(code))

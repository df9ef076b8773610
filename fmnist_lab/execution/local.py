"""The local executor: each run trains in a worker process beside the app, never in a page's thread.

A Streamlit widget click reruns the page script and would kill a ``fit`` running in it half-way, so
``submit`` starts ``python -m fmnist_lab worker <run id>`` instead. That process imports nothing of
the app's pages, writes progress into the run folder, and keeps going when the tab reloads. With a
``warm.WarmPool`` (the server's), ``submit`` first hands the run to an idle warm worker, which trains
it the same way without the start-up cost. ``run`` trains in the calling process (the CLI).

Liveness is each run's alive lock (``processes``); at most ``FMNIST_MAX_TRAININGS`` runs train at
once, the others wait in line for a slot (``slots``).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from fmnist_lab.config import TrainConfig
from fmnist_lab.environment import environment
from fmnist_lab.execution.contract import ProgressHook, SubmitRefused
from fmnist_lab.execution.lifecycle import exit_reason, mark_lost, refresh_runs
from fmnist_lab.execution.processes import hold_lock, lock_held, spawn
from fmnist_lab.execution.slots import SlotQueue
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

    def submit(self, config: TrainConfig, name: str | None = None, owner: str | None = None) -> Run:
        locks: list[int] = []
        run = self.store.create(config, name, owner, on_staged=lambda folder: locks.append(hold_lock(folder)))
        try:
            self.slots.enter(run.id)  # in line from now
            if self.pool is None or not self.pool.hand(run.id, locks[0]):
                self._launch(run.id, locks[0])  # no warm worker idle: a cold one
        except OSError as exc:  # its lock goes with the fd below, so the run shows as failed
            mark_lost(self.store, run.id, f"it could not be started ({exc.strerror or exc})")
            raise SubmitRefused(f"The run could not be started ({exc.strerror or exc}).") from None
        finally:
            os.close(locks[0])  # the worker holds its own copy of the lock now
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

    def _launch(self, run_id: str, lock: int) -> subprocess.Popen[bytes]:
        """Start the worker process for a new run, handing it the run's lock, and watch it from a thread."""
        args = ["worker", "--runs-dir", str(self.store.root), "--lock-fd", str(lock), run_id]
        process = spawn(args, self.store.path(run_id) / "worker.log", lock)
        threading.Thread(target=self._watch, args=(run_id, process), daemon=True, name=f"watch-{run_id}").start()
        return process

    def _watch(self, run_id: str, process: subprocess.Popen[bytes]) -> None:
        code = process.wait()  # also reaps the process, so no zombie is left
        mark_lost(self.store, run_id, exit_reason(code))

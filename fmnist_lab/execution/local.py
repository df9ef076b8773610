"""The local executor: each run trains in a worker process beside the app, never in a page's thread.

A Streamlit widget click reruns the page script and would kill a ``fit`` running in it
half-way, so ``submit`` starts ``python -m fmnist_lab worker <run id>`` instead. That
process imports nothing of the app's pages, writes progress into the run folder, and
keeps going when the tab reloads. With a ``pool.WarmPool`` (the server's), ``submit`` first
hands the run to an idle warm worker, which trains it the same way without the start-up
cost. ``run`` trains in the calling process (the CLI).

Liveness is a lock, never a process id: the process that works on a run holds an
``flock`` on ``<run>/alive.lock`` from before the run folder appears until after its
final status is written. The kernel frees it however the process ends (SIGKILL, out of
memory), and nobody else can hold it, so a reused pid cannot keep a dead run alive.

At most ``FMNIST_MAX_TRAININGS`` runs train at once (default: the number of CPU cores).
A run first waits, without importing TensorFlow, for a free slot: a slot is an ``flock``
on ``runs/.slots/<k>``. Waiting runs leave a marker in ``runs/.queue/``, touched every
``QUEUE_POLL`` seconds; the oldest run goes first. A marker not touched for
``QUEUE_STALE`` seconds (its process is stopped or hung) loses its turn until it moves
again, so a hung run never blocks free slots for longer than that.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from fmnist_lab.config import TrainConfig
from fmnist_lab.execution.contract import CANCELLED_IN_QUEUE, ProgressHook, SubmitRefused, refresh_runs
from fmnist_lab.execution.limits import host_limits
from fmnist_lab.store.runs import ACTIVE_STATES, RUN_ID_PATTERN, Run, RunNotFound, RunStore, check_run_id

if TYPE_CHECKING:
    from fmnist_lab.execution.warm import WarmPool
    from fmnist_lab.training.data import Dataset
    from fmnist_lab.training.model import ModelCache
    from fmnist_lab.training.train import TrainResult

PACKAGE_PARENT = Path(__file__).resolve().parents[2]  # the folder holding fmnist_lab
MAX_ENV = "FMNIST_MAX_TRAININGS"
QUEUE_POLL = 0.25  # seconds between a waiting run's looks at the queue (and touches of its marker)
QUEUE_STALE = 15.0  # seconds without a touch after which a waiting run loses its turn until it moves again
LOWEST_PRIORITY = 19  # nice value of training workers
LOCK_NAME = "alive.lock"


def max_trainings() -> int:
    """Simultaneous trainings allowed: ``$FMNIST_MAX_TRAININGS``, else the CPU count."""
    try:
        return max(1, int(os.environ.get(MAX_ENV, "")))
    except ValueError:
        return os.cpu_count() or 1


class LocalExecutor:
    """Trainings in processes on this machine, queued through lock files in the run store."""

    def __init__(self, store: RunStore, clock: Callable[[], float] = time.time, pool: WarmPool | None = None) -> None:
        self.store, self.clock, self.pool = store, clock, pool

    def submit(self, config: TrainConfig, name: str | None = None, owner: str | None = None) -> Run:
        if why := host_limits().exceeded(config):
            raise SubmitRefused(why)
        locks: list[int] = []
        run = self.store.create(config, name, owner, on_staged=lambda folder: locks.append(hold_lock(folder)))
        try:
            self._marker(run.id).write_text(str(run.created_ns))  # in line from now
            if self.pool is None or not self.pool.hand(run.id, locks[0]):
                self._launch(run.id, locks[0])  # no warm worker idle: a cold one
        except OSError as exc:  # its lock goes with the fd below, so the run shows as failed
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
        return self.work(run.id, locks[0], on_progress, on_epoch)

    def work(
        self,
        run_id: str,
        lock: int,
        on_progress: ProgressHook | None = None,
        on_epoch: ProgressHook | None = None,
        dataset: Dataset | None = None,
        models: ModelCache | None = None,
    ) -> TrainResult | None:
        """Wait for a slot and train, holding ``lock`` (an fd on the run's alive.lock) throughout;
        ``dataset`` and ``models``: a warm worker's data set and compiled models (else loaded and built)."""
        try:
            with self.training_slot(run_id) as granted:
                if not granted:
                    return None
                from fmnist_lab.training.train import train_run

                return train_run(
                    self.store, run_id, dataset=dataset, on_progress=on_progress, on_epoch=on_epoch, models=models
                )
        except BaseException as exc:  # train_run records its own failures; this is for the wait in line
            if self.store.load(run_id).state == "queued":
                why = "interrupted" if isinstance(exc, KeyboardInterrupt) else f"{type(exc).__name__}: {exc}"
                self.store.set_status(run_id, "failed", error=f"{why} while waiting in the queue")
            raise
        finally:
            os.close(lock)  # after the final status: from here the run is over for every reader

    def cancel(self, run_id: str) -> None:
        self.store.request_cancel(run_id)

    def alive(self, run_id: str) -> bool:
        try:
            fd = os.open(self.store.path(run_id) / LOCK_NAME, os.O_RDONLY)
        except OSError:
            return False  # no lock file: the run folder is gone, or an older lab made it
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True  # someone holds it: the run's process is alive
        finally:
            os.close(fd)  # also drops the shared lock if we got it
        return False

    def queue_position(self, run_id: str) -> int | None:
        line = self.waiting()
        return line.index(run_id) + 1 if run_id in line else None

    def capacity(self) -> int:
        return max_trainings()

    def refresh(self) -> list[str]:
        return refresh_runs(self.store, self.alive)

    # -- the queue ------------------------------------------------------------
    @contextlib.contextmanager
    def training_slot(self, run_id: str) -> Iterator[bool]:
        """Wait in line for a slot; yields True holding it, or False (the run recorded as stopped)
        if it was cancelled while waiting."""
        marker = self._marker(run_id)
        marker.write_text(str(self.store.load(run_id).created_ns))
        try:
            slot = self._wait_for_slot(run_id, marker)
        finally:
            marker.unlink(missing_ok=True)
        if slot is None:
            self.store.set_status(run_id, "stopped", stop_reason=CANCELLED_IN_QUEUE)
            yield False
            return
        try:
            yield True
        finally:
            os.close(slot)  # releases the flock

    def waiting(self) -> list[str]:
        """Runs waiting for a slot and moving, oldest first; markers of dead runs are removed."""
        line = []
        for marker in self._queue_dir().iterdir():
            if not RUN_ID_PATTERN.fullmatch(marker.name):
                continue  # not ours: a stray file never takes a place in line
            try:
                created_ns, touched = int(marker.read_text()), marker.stat().st_mtime
            except (OSError, ValueError):
                continue  # being written or removed right now
            if not self.alive(marker.name):
                marker.unlink(missing_ok=True)
            elif self.clock() - touched <= QUEUE_STALE:
                line.append((created_ns, marker.name))
        return [run_id for _, run_id in sorted(line)]

    def _wait_for_slot(self, run_id: str, marker: Path) -> int | None:
        slots = self.store.root / ".slots"
        slots.mkdir(exist_ok=True)
        while not self.store.cancel_requested(run_id):
            os.utime(marker)  # still here, still moving
            if self.queue_position(run_id) == 1:
                for k in range(max_trainings()):
                    fd = os.open(slots / str(k), os.O_CREAT | os.O_RDWR, 0o644)
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        return fd
                    except BlockingIOError:
                        os.close(fd)
            time.sleep(QUEUE_POLL)
        return None

    def _marker(self, run_id: str) -> Path:
        return self._queue_dir() / check_run_id(run_id)

    def _queue_dir(self) -> Path:
        folder = self.store.root / ".queue"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    # -- worker processes -------------------------------------------------------
    def _launch(self, run_id: str, lock: int) -> subprocess.Popen[bytes]:
        """Start the worker process for a new run, handing it the run's lock, and watch it from a thread."""
        args = ["worker", "--runs-dir", str(self.store.root), "--lock-fd", str(lock), run_id]
        process = spawn(args, self.store.path(run_id) / "worker.log", lock)
        threading.Thread(target=self._watch, args=(run_id, process), daemon=True, name=f"watch-{run_id}").start()
        return process

    def _watch(self, run_id: str, process: subprocess.Popen[bytes]) -> None:
        code = process.wait()  # also reaps the process, so no zombie is left
        mark_dead_worker(self.store, run_id, code)


def worker_processes(store: RunStore) -> dict[str, int]:
    """Run id → process id of each worker process (cold or warm) of ``store`` training it: the one
    with the run's alive.lock open (read from /proc; for tools and tests, never for liveness)."""
    found: dict[str, int] = {}
    for proc in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            argv = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
            if argv[1:3] == ["-m", "fmnist_lab"] and argv[3:4] in (["worker"], ["warm"]) and str(store.root) in argv:
                found |= {run_id: int(proc.name) for run_id in _locks_open(proc, store.root)}
    return found


def _locks_open(proc: Path, root: Path) -> list[str]:
    """Ids of the runs under ``root`` whose alive.lock the process ``proc`` has open."""
    held = []
    for fd in (proc / "fd").iterdir():
        with contextlib.suppress(OSError):
            target = Path(os.readlink(fd))
            if target.name == LOCK_NAME and target.parent.parent == root:
                held.append(target.parent.name)
    return held


def spawn(args: list[str], log: Path, fd: int) -> subprocess.Popen[bytes]:
    """Start ``python -m fmnist_lab <args>`` in a session of its own (its own CPU group, at the lowest
    priority once it lowers it), output appended to ``log``, handing it ``fd``."""
    path = os.pathsep.join(filter(None, [str(PACKAGE_PARENT), os.environ.get("PYTHONPATH")]))
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "fmnist_lab", *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": path},
            start_new_session=True,
            pass_fds=(fd,),
        )


def hold_lock(folder: Path) -> int:
    """Create and lock ``folder``'s alive.lock; the returned fd keeps the run alive until closed."""
    fd = os.open(folder / LOCK_NAME, os.O_CREAT | os.O_RDWR, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a brand-new file: nobody else can hold it
    return fd


def lower_priority() -> None:
    """Give this process (and its session) the lowest CPU priority.

    ``os.nice`` alone does not do it on Linux with autogroup scheduling (``sched_autogroup``,
    on by default in most distributions): niceness then only ranks processes inside one
    session's group, CPU time is shared fairly between groups, and a worker starts its own
    session. So the group's nice value is set too, where the kernel offers it, but only when
    this process leads its session: the group may otherwise be a user's terminal.
    """
    os.nice(LOWEST_PRIORITY - os.nice(0))
    if os.getsid(0) != os.getpid():
        return  # not a session of its own (run by hand from a shell): leave the shell's group alone
    with contextlib.suppress(OSError):  # no /proc, or no autogroups
        Path("/proc/self/autogroup").write_text(f"{LOWEST_PRIORITY}\n")


def mark_dead_worker(store: RunStore, run_id: str, code: int | None) -> None:
    """If the worker ended while its run still looked active, record why; history is kept."""
    try:
        run = store.load(run_id)
    except RunNotFound:
        return  # deleted meanwhile
    if run.state not in ACTIVE_STATES:
        return
    if code is not None and code < 0:
        reason = f"the training process was killed ({signal.Signals(-code).name})"
    else:
        reason = f"the training process ended unexpectedly (exit code {code}); see worker.log in the run folder"
    store.set_status(run_id, "failed", error=reason)

"""Training beside the app: each run trains in its own process, never in a page's thread.

A Streamlit widget click reruns the page script and would kill a ``fit`` running in
it half-way, so the app starts ``python -m fmnist_lab worker <run id>`` instead. That
process imports nothing of the app's pages (no ``multiprocessing`` re-import of the
main script), writes progress into the run folder, and keeps going when the tab
reloads. A watcher thread reaps it and marks the run ``failed`` if it dies without
saying why (a kill, an out-of-memory).

At most ``FMNIST_MAX_TRAININGS`` runs train at once (default: the number of CPU
cores). A worker first waits, without importing TensorFlow, for a free slot: a slot
is an ``flock`` on ``runs/.slots/<k>``, which the kernel releases when the process
ends however it ends, so a killed worker never blocks the queue. Waiting workers
leave a marker in ``runs/.queue/``; the oldest run goes first.
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
from collections.abc import Iterator
from pathlib import Path

from .config import TrainConfig
from .runs import ACTIVE_STATES, Run, RunNotFound, RunStore, check_run_id

PACKAGE_PARENT = Path(__file__).resolve().parents[1]
MAX_ENV = "FMNIST_MAX_TRAININGS"
QUEUE_POLL = 0.25  # seconds between a waiting worker's looks at the queue
CANCELLED_IN_QUEUE = "stopped by request before it started"
LOWEST_PRIORITY = 19  # nice value of training workers


def max_trainings() -> int:
    """Simultaneous trainings allowed: ``$FMNIST_MAX_TRAININGS``, else the CPU count."""
    try:
        return max(1, int(os.environ.get(MAX_ENV, "")))
    except ValueError:
        return os.cpu_count() or 1


def start(store: RunStore, config: TrainConfig, name: str | None = None, owner: str | None = None) -> Run:
    """Create a run and start its worker process; returns at once (the run may queue)."""
    run = store.create(config, name, owner)
    launch(store, run.id)
    return run


def launch(store: RunStore, run_id: str) -> subprocess.Popen[bytes]:
    """Start the worker process for an existing run and watch it from a thread."""
    folder = store.path(run_id)
    argv = [sys.executable, "-m", "fmnist_lab", "worker", "--runs-dir", str(store.root), run_id]
    path = os.pathsep.join(filter(None, [str(PACKAGE_PARENT), os.environ.get("PYTHONPATH")]))
    with open(folder / "worker.log", "ab") as log:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": path},
            start_new_session=True,
        )
    store.set_status(run_id, "queued", pid=process.pid)
    enqueue(store, run_id, process.pid)  # in line from now, not from when the worker has started up
    threading.Thread(target=_watch, args=(store, run_id, process), daemon=True, name=f"watch-{run_id}").start()
    return process


def stop(store: RunStore, run_id: str) -> None:
    """Ask a run to stop; a training one ends within about a second and keeps what it learnt."""
    store.request_cancel(run_id)


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


# -- the queue ----------------------------------------------------------------


@contextlib.contextmanager
def training_slot(store: RunStore, run_id: str, limit: int | None = None) -> Iterator[bool]:
    """Wait in line for a slot; yields True holding it, or False (the run recorded as stopped)
    if it was cancelled while waiting."""
    marker = _marker(store, run_id)
    if not marker.exists():
        enqueue(store, run_id, os.getpid())
    try:
        slot = _wait_for_slot(store, run_id, limit or max_trainings())
    finally:
        marker.unlink(missing_ok=True)
    if slot is None:
        store.set_status(run_id, "stopped", stop_reason=CANCELLED_IN_QUEUE)
        yield False
        return
    try:
        yield True
    finally:
        os.close(slot)  # releases the flock


def enqueue(store: RunStore, run_id: str, pid: int) -> None:
    """Put a run in line for a slot; ``pid`` is the process that will wait for it."""
    _marker(store, run_id).write_text(f"{store.load(run_id).created_ns} {pid}")


def _wait_for_slot(store: RunStore, run_id: str, limit: int) -> int | None:
    slots = store.root / ".slots"
    slots.mkdir(exist_ok=True)
    while not store.cancel_requested(run_id):
        if queue_position(store, run_id) == 1:
            for k in range(limit):
                fd = os.open(slots / str(k), os.O_CREAT | os.O_RDWR, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return fd
                except BlockingIOError:
                    os.close(fd)
        time.sleep(QUEUE_POLL)
    return None


def waiting(store: RunStore) -> list[str]:
    """Ids of runs whose live worker waits for a slot, oldest first (stale markers are removed)."""
    alive = []
    for marker in _queue_dir(store).iterdir():
        try:
            created_ns, pid = map(int, marker.read_text().split())
        except (OSError, ValueError):
            continue  # being written or removed right now
        if pid_alive(pid):
            alive.append((created_ns, marker.name))
        else:
            marker.unlink(missing_ok=True)
    return [run_id for _, run_id in sorted(alive)]


def queue_position(store: RunStore, run_id: str) -> int | None:
    """1 for the next run to start, 2 behind it…; None when not waiting."""
    line = waiting(store)
    return line.index(run_id) + 1 if run_id in line else None


def _marker(store: RunStore, run_id: str) -> Path:
    return _queue_dir(store) / check_run_id(run_id)


def _queue_dir(store: RunStore) -> Path:
    folder = store.root / ".queue"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# -- faults -------------------------------------------------------------------


def _watch(store: RunStore, run_id: str, process: subprocess.Popen[bytes]) -> None:
    code = process.wait()  # also reaps the process, so no zombie is left
    mark_dead_worker(store, run_id, code)


def mark_dead_worker(store: RunStore, run_id: str, code: int | None, reason: str | None = None) -> None:
    """If the worker ended while its run still looked active, record why; history is kept."""
    try:
        run = store.load(run_id)
    except RunNotFound:
        return  # deleted meanwhile
    if run.state not in ACTIVE_STATES:
        return
    if reason is None and code is not None and code < 0:
        reason = f"the training process was killed ({signal.Signals(-code).name})"
    elif reason is None:
        reason = f"the training process ended unexpectedly (exit code {code}); see worker.log in the run folder"
    store.set_status(run_id, "failed", error=reason)


def reconcile(store: RunStore) -> list[str]:
    """Mark failed every queued or running run whose worker is gone (e.g. after a server restart)."""
    failed = []
    for run in store.list():
        pid = run.status.get("pid")
        if run.is_active and not (isinstance(pid, int) and pid_alive(pid)):
            why = "its training process was gone when the lab checked (the server or machine restarted)"
            mark_dead_worker(store, run.id, None, why)
            failed.append(run.id)
    return failed


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (zombies count as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True  # no /proc (macOS): trust kill(0)

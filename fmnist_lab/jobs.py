"""Training beside the app: each run trains in its own process, never in a page's thread.

A Streamlit widget click reruns the page script and would kill a ``fit`` running in
it half-way, so the app starts ``python -m fmnist_lab worker <run id>`` instead. That
process imports nothing of the app's pages (no ``multiprocessing`` re-import of the
main script), writes progress into the run folder, and keeps going when the tab
reloads. A watcher thread reaps it and marks the run ``failed`` if it dies without
saying why (a kill, an out-of-memory).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from .config import TrainConfig
from .runs import ACTIVE_STATES, Run, RunNotFound, RunStore

PACKAGE_PARENT = Path(__file__).resolve().parents[1]


def start(store: RunStore, config: TrainConfig, name: str | None = None) -> Run:
    """Create a run and start training it in a new process; returns at once."""
    run = store.create(config, name)
    launch(store, run.id)
    return run


def launch(store: RunStore, run_id: str) -> subprocess.Popen[bytes]:
    """Start the worker process for an existing run and watch it from a thread."""
    folder = store.path(run_id)
    argv = [sys.executable, "-m", "fmnist_lab", "worker", "--runs-dir", str(store.root), run_id]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_PARENT), os.environ.get("PYTHONPATH")])),
    }
    with open(folder / "worker.log", "ab") as log:
        process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    store.set_status(run_id, "queued", pid=process.pid)
    threading.Thread(target=_watch, args=(store, run_id, process), daemon=True, name=f"watch-{run_id}").start()
    return process


def stop(store: RunStore, run_id: str) -> None:
    """Ask a run to stop; the worker ends within about a second and keeps it as ``stopped``."""
    store.request_cancel(run_id)


def _watch(store: RunStore, run_id: str, process: subprocess.Popen[bytes]) -> None:
    code = process.wait()  # also reaps the process, so no zombie is left
    mark_dead_worker(store, run_id, code)


def mark_dead_worker(store: RunStore, run_id: str, code: int | None) -> None:
    """If the worker ended while its run still looked active, record why."""
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


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

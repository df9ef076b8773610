"""Worker processes on this machine: starting them, their alive locks, and their CPU priority.

Liveness is a lock, never a process id: the process that works on a run holds an ``flock`` on
``<run>/alive.lock`` from before the run folder appears until after its final status is written.
The kernel frees it however the process ends (SIGKILL, out of memory), and nobody else can hold
it, so a reused pid cannot keep a dead run alive.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import sys
from pathlib import Path

from fmnist_lab.store.runs import RunStore

PACKAGE_PARENT = Path(__file__).resolve().parents[2]  # the folder holding fmnist_lab
LOWEST_PRIORITY = 19  # nice value of training workers
LOCK_NAME = "alive.lock"


def hold_lock(folder: Path) -> int:
    """Create and lock ``folder``'s alive.lock; the returned fd keeps the run alive until closed."""
    fd = os.open(folder / LOCK_NAME, os.O_CREAT | os.O_RDWR, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a brand-new file: nobody else can hold it
    return fd


def lock_held(folder: Path) -> bool:
    """Whether some process holds ``folder``'s alive.lock (works on the run, or vouches for it in line)."""
    return flock_held(folder / LOCK_NAME)


def flock_held(path: Path) -> bool:
    """Whether some process holds an flock on ``path``; False when there is no such file."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False  # no lock file: the run folder is gone, or an older lab made it
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True  # someone holds it
    finally:
        os.close(fd)  # also drops the shared lock if we got it
    return False


def spawn(args: list[str], log: Path, *fds: int) -> subprocess.Popen[bytes]:
    """Start ``python -m fmnist_lab <args>`` in a session of its own (its own CPU group, at the lowest
    priority once it lowers it), output appended to ``log``, handing it ``fds``."""
    path = os.pathsep.join(filter(None, [str(PACKAGE_PARENT), os.environ.get("PYTHONPATH")]))
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "fmnist_lab", *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": path},
            start_new_session=True,
            pass_fds=fds,
        )


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

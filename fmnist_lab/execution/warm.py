"""Warm workers: long-lived training processes that have imported TensorFlow and loaded the data.

A cold worker spends seconds on starting Python, importing TensorFlow and reading the data
set before its first step. A ``WarmPool`` keeps ``$FMNIST_WARM_WORKERS`` processes (default:
as many as trainings may run at once) that have done all that and wait for a run. They start
one after another (the next once the last is ready), so on a small machine the first one, which
a learner's first run may already be waiting for, warms up without competing for the CPU.

The pool and each worker share a Unix ``SOCK_SEQPACKET`` pair. The pool sends a run id
with the fd of the run's ``alive.lock`` attached (``socket.send_fds``): the worker receives
a descriptor of the same open file, so the ``flock`` taken when the run folder was created
never lapses on its way over (a descriptor in flight holds the file too) and ``refresh``
cannot mistake a handed-over run for a dead one. A worker warms up by training two tiny
throwaway runs, 128 and 1024 units, whose compiled models it keeps (``model.ModelCache``): a
later run of either shape starts its first step at once instead of compiling for a second. A
run may go to a worker still warming up: it reads the run once it has the data and the
throwaway run under way has ended (skipping the rest), sooner than a cold process would. The
worker trains as a cold one does (queue marker, slot, ``train_run``) with the data and models
it holds, closes the lock, and answers ``done <id>``. A group (K seeds of one setup) comes as one
message naming its K runs with their K lock fds, and trains as one computation (``worker.work_group``,
with the worker's data); after ``$FMNIST_WORKER_RUNS`` runs it answers
``last <id>`` and exits, so memory stays bounded.

Each run still has a process of its own: killing it ends that run only; the pool records
the run as failed and starts a replacement. Workers leave with the server: an idle worker
looks at its parent every ``PARENT_POLL`` seconds (a training one finishes its run first).
``PR_SET_PDEATHSIG`` is not used: it fires when the *thread* that started the worker ends,
and Streamlit starts resources from short-lived script threads.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from fmnist_lab.execution.lifecycle import exit_reason, mark_lost
from fmnist_lab.execution.processes import lower_priority, spawn
from fmnist_lab.execution.slots import SlotQueue
from fmnist_lab.execution.trainer import WarmTrainer
from fmnist_lab.execution.worker import work, work_group
from fmnist_lab.store.runs import RunStore
from fmnist_lab.training.grouping import MAX_GROUP

PARENT_POLL = 1.0  # seconds between an idle worker's looks at whether the server is still there
MESSAGE = 1024  # bytes: the longest message either side sends (a group's ids: 23 bytes each)


@dataclass(eq=False)
class Worker:
    """The pool's side of one warm process."""

    process: subprocess.Popen[bytes]
    channel: socket.socket
    state: str = "warming"  # then "idle" or "busy"; "leaving" after its last run
    run_ids: tuple[str, ...] = ()  # the run (or group) it was handed and has not finished


class WarmPool:
    """Keeps ``size`` warm workers for ``store``'s runs and hands each new run to an idle one."""

    def __init__(self, store: RunStore, size: int) -> None:
        self.store, self.size = store, size
        self._lock = threading.Lock()
        self._workers: list[Worker] = []
        self._closed = False
        self._growing = threading.Lock()  # one check-and-start at a time
        if size:  # one at a time: the next starts once this one is ready, so the first warms up
            self._start()  # with the CPU to itself (a first run may be waiting for it)

    def hand(self, run_ids: Sequence[str], locks: Sequence[int]) -> bool:
        """Give the run (or a group's runs, to train as one) and copies of their lock fds to an idle
        worker, else to one still warming up (it reads them once ready; the fds in the socket keep the
        locks held meanwhile); False when every worker is busy."""
        with self._lock:
            free = [w for w in self._workers if w.state in ("idle", "warming")]
            worker = min(free, key=lambda w: w.state != "idle", default=None)
            if worker is None:
                return False
            worker.state, worker.run_ids = "busy", tuple(run_ids)
        try:
            socket.send_fds(worker.channel, [" ".join(run_ids).encode()], list(locks))
        except OSError:  # it just died: its watcher replaces it
            with self._lock:
                worker.state, worker.run_ids = "leaving", ()
            return False
        return True

    def idle(self) -> int:
        """Warm workers waiting for a run now."""
        with self._lock:
            return sum(w.state == "idle" for w in self._workers)

    def pids(self) -> dict[int, str | None]:
        """Process id → run id it trains (None: idle or warming); for tools and tests, never liveness."""
        with self._lock:
            return {w.process.pid: (w.run_ids[0] if w.run_ids else None) for w in self._workers}

    def close(self) -> None:
        """Stop replacing workers and let idle ones go (closing the channel tells them)."""
        with self._lock:
            self._closed = True
            workers = list(self._workers)
        for worker in workers:
            with contextlib.suppress(OSError):
                worker.channel.shutdown(socket.SHUT_RDWR)

    def _start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.store.root.mkdir(parents=True, exist_ok=True)
        args = ["warm", "--runs-dir", str(self.store.root), "--channel-fd", str(theirs.fileno())]
        process = spawn(args, self.store.root / ".warm.log", theirs.fileno())
        theirs.close()
        worker = Worker(process, ours)
        with self._lock:
            self._workers.append(worker)
        threading.Thread(target=self._watch, args=(worker,), daemon=True, name=f"warm-{process.pid}").start()

    def _watch(self, worker: Worker) -> None:
        """Follow one worker's answers until it ends; then record its run, if any, and replace it."""
        while message := _receive(worker.channel):
            what, _, _ = message.partition(" ")
            with self._lock:
                if what == "ready" and worker.state == "warming":
                    worker.state = "idle"
                elif what in ("done", "last"):
                    worker.state, worker.run_ids = ("idle" if what == "done" else "leaving"), ()
            if what == "ready":
                self._top_up()
        code = worker.process.wait()  # also reaps it
        worker.channel.close()
        with self._lock:
            self._workers.remove(worker)
        for run_id in worker.run_ids:
            mark_lost(self.store, run_id, exit_reason(code))
        self._top_up()  # its replacement

    def _top_up(self) -> None:
        """Start a worker if the pool has fewer than ``size`` and is open; never one too many."""
        with self._growing:
            with self._lock:
                short = len(self._workers) < self.size and not self._closed
            if short:
                self._start()


def _receive(channel: socket.socket) -> str:
    with contextlib.suppress(OSError):
        return channel.recv(MESSAGE).decode()
    return ""


# -- the worker's side ------------------------------------------------------------
def serve(slots: SlotQueue, channel: socket.socket, runs: int) -> int:
    """Warm up, then train the runs the pool hands over, ``runs`` at most; returns an exit code."""
    lower_priority()  # training is background work: the web server answering learners comes first
    parent = os.getppid()
    trainer = WarmTrainer.start(waiting=lambda: bool(select.select([channel], [], [], 0)[0]))  # a waiting run first
    if not _send(channel, "ready"):
        return 0  # the server left while this worker warmed up
    for count in range(1, runs + 1):
        job = _next_job(channel, parent)
        if job is None:
            return 0  # the server is gone or closed the pool
        run_ids, locks = job
        with _output_to(slots.store.path(run_ids[0]) / "worker.log"):
            try:
                if len(run_ids) == 1:
                    work(slots, run_ids[0], locks[0], trainer)
                else:
                    work_group(slots, run_ids, locks, trainer)
            except Exception as exc:  # already recorded in the runs' status
                print(f"error: training failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        if not _send(channel, f"{'last' if count == runs else 'done'} {run_ids[0]}"):
            return 0
    return 0


def _send(channel: socket.socket, message: str) -> bool:
    """Tell the pool; False when it has gone (the server stopped): the worker then leaves."""
    try:
        channel.sendall(message.encode())
    except OSError:
        return False
    return True


def _next_job(channel: socket.socket, parent: int) -> tuple[list[str], list[int]] | None:
    """The next run ids (one, or a group's) and their lock fds; None once the pool's end closes or the
    server has gone."""
    channel.settimeout(PARENT_POLL)
    while os.getppid() == parent:
        try:
            message, fds, _, _ = socket.recv_fds(channel, MESSAGE, MAX_GROUP)
        except TimeoutError:
            continue
        run_ids = message.decode().split()
        if not run_ids or len(fds) != len(run_ids):
            return None
        return run_ids, fds
    return None


@contextlib.contextmanager
def _output_to(log: Path) -> Iterator[None]:
    """Send this process's stdout and stderr to ``log`` for a while (a run's worker.log)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        with open(log, "ab") as file:
            os.dup2(file.fileno(), 1)
            os.dup2(file.fileno(), 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, saved_fd in zip((1, 2), saved, strict=True):
            os.dup2(saved_fd, fd)
            os.close(saved_fd)

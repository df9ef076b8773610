"""Warm workers: a run goes to a process that is already warm, a killed one is replaced, workers recycle and leave."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.execution.local import LocalExecutor
from fmnist_lab.execution.processes import worker_processes
from fmnist_lab.execution.warm import WarmPool
from tests.execution.test_local import LONG, QUICK, wait_for


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"


LIFE_RUNS = 3  # $FMNIST_WORKER_RUNS in the life below: the worker leaves after its third run (the group)


@pytest.fixture
def pool(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WarmPool]:
    """A server's pool of one warm worker, just started: still warming up."""
    monkeypatch.setenv("FMNIST_WORKER_RUNS", str(LIFE_RUNS))
    warm = WarmPool(RunStore(), 1)
    yield warm
    for run in warm.store.list():  # a busy worker leaves only after its run
        if run.is_active:
            warm.store.request_cancel(run.id)
    pids = list(warm.pids())
    warm.close()
    wait_for(lambda: all(gone(pid) for pid in pids), 60)


def finish(executor: LocalExecutor, config: TrainConfig = QUICK) -> tuple[str, int]:
    """Submit, note the process that trains the run, wait for the end; (final state, pid)."""
    run = executor.submit(config)
    assert executor.alive(run.id)  # the lock never lapses on its way to the worker
    wait_for(lambda: run.id in worker_processes(executor.store))
    pid = worker_processes(executor.store)[run.id]
    wait_for(lambda: not executor.store.load(run.id).is_active)
    return executor.store.load(run.id).state, pid


def test_a_warm_workers_life(pool: WarmPool) -> None:
    """One pool of one warm worker, as a server keeps it, through a worker's life and its successors':
    - a run handed over while the worker still warms up waits for it, its lock held on the way;
    - the next run goes to the same warm process;
    - a group's three seeds train in it all at once, each with its own live progress, and a stop on the
      middle member ends all three early, each keeping what it learnt;
    - that was its third run ($FMNIST_WORKER_RUNS): it leaves, and a new worker takes its place;
    - SIGKILLed mid-run, the new worker fails that run only and is replaced, while a run with no idle
      warm worker trains in a cold one."""
    from fmnist_lab.execution.factory import Ruled
    from fmnist_lab.execution.limits import Limits
    from fmnist_lab.store.groups import seed_series

    executor = LocalExecutor(pool.store, pool=pool)
    store = pool.store
    first, first_pid = finish(executor)  # handed over at once, before the worker is ready
    assert first == "finished" and first_pid in pool.pids()
    wait_for(lambda: pool.idle() == 1)
    second, second_pid = finish(executor)
    assert second == "finished" and second_pid == first_pid
    assert (store.path(store.list()[0].id) / "worker.log").exists()

    wait_for(lambda: pool.idle() == 1)
    lab = Ruled(executor, Limits(), vectorise=True)
    members = [run.id for run in lab.submit_all(seed_series(LONG, 3))]
    wait_for(lambda: all(store.progress(run_id) for run_id in members), 600)  # each member's own live view
    trained_by = {worker_processes(store).get(run_id) for run_id in members}
    assert trained_by == {first_pid}  # one warm process holds all three locks
    assert [store.load(run_id).state for run_id in members] == ["running"] * 3
    lab.cancel(members[1])
    wait_for(lambda: not any(store.load(run_id).is_active for run_id in members), 60)
    for run_id in members:
        run = store.load(run_id)
        assert run.state == "stopped" and run.metrics["epochs_run"] < LONG.epochs, run.status
        assert store.model_path(run_id).exists()

    wait_for(lambda: pool.idle() == 1 and first_pid not in pool.pids(), 300)  # recycled after its 3 runs
    assert gone(first_pid)
    (successor,) = pool.pids()
    run = executor.submit(LONG)
    wait_for(lambda: len(store.history(run.id)) >= 1, 600)  # generous: CI machines are shared
    other = executor.submit(QUICK)  # no idle warm worker: a cold one
    assert worker_processes(store)[run.id] == successor
    os.kill(successor, signal.SIGKILL)
    wait_for(lambda: not store.load(run.id).is_active)
    failed = store.load(run.id)
    assert failed.state == "failed" and "SIGKILL" in failed.status["error"]
    wait_for(lambda: len(pool.pids()) == 1 and successor not in pool.pids())  # replaced
    wait_for(lambda: not store.load(other.id).is_active)
    assert store.load(other.id).state == "finished"
    assert not executor.alive(run.id) and executor.refresh() == []


SERVER = """
import os, sys, time
from fmnist_lab import RunStore
from fmnist_lab.execution.warm import WarmPool
pool = WarmPool(RunStore(), 1)
while not pool.idle():
    time.sleep(0.1)
print(*pool.pids(), flush=True)
os._exit(0)  # no clean-up: as if the server were killed
"""


def test_warm_workers_leave_with_the_server(app_env: Path) -> None:
    server = subprocess.run([sys.executable, "-c", SERVER], capture_output=True, text=True, check=True, timeout=300)
    pid = int(server.stdout.split()[0])
    wait_for(lambda: gone(pid), 60)

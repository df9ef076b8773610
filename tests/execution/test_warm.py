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


@pytest.fixture
def pool(app_env: Path) -> Iterator[WarmPool]:
    warm = WarmPool(RunStore(), 1)
    wait_for(lambda: warm.idle() == 1)
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


def test_one_warm_worker_trains_runs_one_after_another_then_a_group_and_a_killed_one_is_replaced(
    pool: WarmPool,
) -> None:
    """One warm process, three lives (one pool, as a server keeps it):
    - two runs in turn go to the same warm worker;
    - a group's three seeds train in it all at once, each with its own live progress, and a stop on the
      middle member ends all three early, each keeping what it learnt;
    - SIGKILLed mid-run, it fails that run only and is replaced, while a run with no idle warm worker
      trains in a cold one."""
    from fmnist_lab.execution.factory import Ruled
    from fmnist_lab.execution.limits import Limits
    from fmnist_lab.store.groups import seed_series

    executor = LocalExecutor(pool.store, pool=pool)
    store, warm = pool.store, set(pool.pids())
    first, first_pid = finish(executor)
    wait_for(lambda: pool.idle() == 1)
    second, second_pid = finish(executor)
    assert (first, second) == ("finished", "finished")
    assert first_pid == second_pid and first_pid in warm
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

    wait_for(lambda: pool.idle() == 1)  # and the worker takes the next run
    run = executor.submit(LONG)
    wait_for(lambda: len(store.history(run.id)) >= 1, 600)  # generous: CI machines are shared
    other = executor.submit(QUICK)  # no idle warm worker: a cold one
    victim = worker_processes(store)[run.id]
    assert victim == first_pid
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: not store.load(run.id).is_active)
    failed = store.load(run.id)
    assert failed.state == "failed" and "SIGKILL" in failed.status["error"]
    wait_for(lambda: pool.idle() == 1)
    assert victim not in pool.pids()
    wait_for(lambda: not store.load(other.id).is_active)
    assert store.load(other.id).state == "finished"
    assert not executor.alive(run.id) and executor.refresh() == []


def test_a_run_waits_for_a_worker_still_warming_up_holding_its_lock(app_env: Path) -> None:
    pool = WarmPool(RunStore(), 1)
    try:
        executor = LocalExecutor(pool.store, pool=pool)
        state, pid = finish(executor)  # handed over at once, before the worker is ready
        assert state == "finished" and pid in pool.pids()
    finally:
        pids = list(pool.pids())
        pool.close()
        wait_for(lambda: all(gone(pid) for pid in pids), 60)


def test_a_worker_recycles_after_its_runs(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FMNIST_WORKER_RUNS", "1")
    pool = WarmPool(RunStore(), 1)
    try:
        wait_for(lambda: pool.idle() == 1)
        executor = LocalExecutor(pool.store, pool=pool)
        _, first = finish(executor)
        wait_for(lambda: pool.idle() == 1 and first not in pool.pids())
        _, second = finish(executor)
        assert first != second and gone(first)
    finally:
        pids = list(pool.pids())
        pool.close()
        wait_for(lambda: all(gone(pid) for pid in pids), 60)


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

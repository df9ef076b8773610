"""Training in a separate process: it trains, it stops on request, and a dead worker is recorded."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.environment import Environment
from fmnist_lab.execution.factory import Ruled
from fmnist_lab.execution.factory import executor as build
from fmnist_lab.execution.local import LocalExecutor
from fmnist_lab.execution.processes import hold_lock, worker_processes
from fmnist_lab.execution.slots import QUEUE_STALE

QUICK = TrainConfig(hidden_units=(16,), epochs=2, train_samples=2000, test_samples=500)
LONG = TrainConfig(hidden_units=(16,), epochs=100, train_samples=3000, test_samples=500)


def wait_for(predicate, timeout: float = 120.0, step: float = 0.1) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(step)


def local(store: RunStore | None = None) -> LocalExecutor:
    return LocalExecutor(store or RunStore())


def pid_of(executor: LocalExecutor, run_id: str) -> int:
    wait_for(lambda: run_id in worker_processes(executor.store))
    return worker_processes(executor.store)[run_id]


def test_a_worker_process_trains_the_run(app_env: Path) -> None:
    executor = local()
    run = executor.submit(QUICK)
    assert pid_of(executor, run.id) != os.getpid() and executor.alive(run.id)
    wait_for(lambda: not executor.store.load(run.id).is_active)
    finished = executor.store.load(run.id)
    assert finished.state == "finished", finished.status
    assert finished.metrics["epochs_run"] == 2 and finished.metrics["test_samples"] == 500
    assert finished.metrics["test_accuracy"] > 0.5  # the synthetic bands are easy
    wait_for(lambda: not executor.alive(run.id), 10)  # the lock goes right after the final status
    assert "pid" not in finished.status


def test_a_worker_with_damaged_data_fails_and_says_which_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    folder = tmp_path / "damaged"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(b"this is not gzip")
    monkeypatch.setenv("FMNIST_DATA_DIR", str(folder))
    executor = local()
    run = executor.submit(QUICK)
    wait_for(lambda: executor.store.load(run.id).state == "failed", 60)
    error = executor.store.load(run.id).status["error"]
    assert "DataError" in error and "train-images-idx3-ubyte.gz" in error and "damaged" in error


def worker_priority(pid: int | None) -> tuple[int, int | None] | None:
    """(nice, its session group's nice or None without autogroups) of a worker that has lowered
    its priority; None before that or once it is gone."""
    try:
        nice = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])
    except (OSError, IndexError):
        return None
    try:
        group: int | None = int(Path(f"/proc/{pid}/autogroup").read_text().split()[-1])
    except OSError:
        group = None
    return (nice, group) if nice == 19 else None


def test_a_stop_ends_a_queued_run_a_queued_group_whole_and_a_running_worker_early(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One slot, one worker: a long run trains while a single run and a group (3 seeds) wait. A stop on
    the single run takes it out of the line before it starts; a stop on one member takes the whole group
    out, each member's own lock held until then; a stop on the running worker ends it early, keeping its
    model."""
    from fmnist_lab.execution.contract import CANCELLED_IN_QUEUE
    from fmnist_lab.store.groups import seed_series

    monkeypatch.setenv("FMNIST_MAX_TRAININGS", "1")
    lab = one_slot_lab()
    store = lab.store
    first = lab.submit(LONG)
    single = lab.submit(QUICK)
    members = [run.id for run in lab.submit_all(seed_series(QUICK, 3))]
    wait_for(lambda: store.load(first.id).state == "running" and len(store.history(first.id)) >= 1)
    assert lab.queue_position(single.id) == 1
    assert [lab.queue_position(run_id) for run_id in members] == [2, 2, 2]  # the group's one place in line
    assert all(lab.alive(run_id) for run_id in [single.id, *members])  # each waiting run's lock is held

    lab.cancel(single.id)
    wait_for(lambda: not store.load(single.id).is_active, 10)
    assert store.load(single.id).status["stop_reason"] == CANCELLED_IN_QUEUE and store.history(single.id) == []
    lab.cancel(members[2])
    wait_for(lambda: not any(store.load(run_id).is_active for run_id in members), 10)
    for run_id in members:
        assert store.load(run_id).status["stop_reason"] == CANCELLED_IN_QUEUE and store.history(run_id) == []

    lab.cancel(first.id)
    wait_for(lambda: not store.load(first.id).is_active, 60)
    stopped = store.load(first.id)
    assert stopped.state == "stopped" and stopped.metrics["epochs_run"] < LONG.epochs
    assert len(store.history(first.id)) < LONG.epochs  # ended on request, long before its 100 epochs
    assert store.model_path(first.id).exists()


def test_a_killed_worker_marks_its_run_failed_and_frees_its_slot(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FMNIST_MAX_TRAININGS", "1")
    executor = local()
    store = executor.store
    first = executor.submit(LONG)
    second = executor.submit(QUICK)
    wait_for(lambda: store.load(first.id).state == "running" and store.progress(first.id))
    assert store.load(second.id).state == "queued"
    os.kill(pid_of(executor, first.id), signal.SIGKILL)
    wait_for(lambda: store.load(first.id).state == "failed", 10)
    assert store.load(first.id).status["error"] == "the training process was killed (SIGKILL)"
    assert store.progress(first.id)  # what it had recorded is kept
    wait_for(lambda: store.load(second.id).state == "finished")


def test_refresh_fails_active_runs_nobody_holds(tmp_path: Path) -> None:
    executor = local(RunStore(tmp_path / "runs"))
    store = executor.store
    locks: list[int] = []
    held = store.create(QUICK, on_staged=lambda folder: locks.append(hold_lock(folder)))
    orphan, never_locked, done = store.create(QUICK, on_staged=hold_and_drop), store.create(QUICK), store.create(QUICK)
    store.set_status(orphan.id, "running", pid=os.getpid())  # a pid that is alive (ours) keeps nothing alive
    store.set_status(done.id, "finished")
    try:
        assert sorted(executor.refresh()) == sorted([orphan.id, never_locked.id])
        assert store.load(held.id).state == "queued" and executor.alive(held.id)
    finally:
        os.close(locks[0])
    assert (
        store.load(orphan.id).state == "failed"
        and "ended without recording why" in store.load(orphan.id).status["error"]
    )
    assert store.load(done.id).state == "finished"
    assert executor.refresh() == [held.id]  # its lock was let go with the run still queued


def hold_and_drop(folder: Path) -> None:
    os.close(hold_lock(folder))


def test_a_stalled_run_at_the_head_of_the_queue_loses_its_turn(tmp_path: Path) -> None:
    now = [1_000_000.0]
    executor = LocalExecutor(RunStore(tmp_path / "runs"), clock=lambda: now[0])
    locks: list[int] = []
    first, second = (executor.store.create(QUICK, on_staged=lambda f: locks.append(hold_lock(f))) for _ in range(2))
    for run in (first, second):
        marker = executor.slots.marker(run.id)
        marker.write_text(str(run.created_ns))
        os.utime(marker, (now[0], now[0]))
    assert executor.slots.waiting() == [first.id, second.id]
    os.utime(executor.slots.marker(first.id), (now[0] - QUEUE_STALE - 1,) * 2)  # first stopped touching its marker
    assert executor.slots.waiting() == [second.id] and executor.queue_position(second.id) == 1
    os.utime(executor.slots.marker(first.id), (now[0], now[0]))  # and moves again: back at the head
    assert executor.slots.waiting() == [first.id, second.id]
    os.close(locks[0])  # first dies: its marker goes
    assert executor.slots.waiting() == [second.id] and not executor.slots.marker(first.id).exists()
    (executor.slots._folder() / "not-a-run").write_text("1")  # a stray file is no place in line, nor a crash
    assert executor.slots.waiting() == [second.id]
    os.close(locks[1])


def cli(*argv: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    return subprocess.Popen([sys.executable, "-m", "fmnist_lab", *argv], env=env, stdout=subprocess.DEVNULL, text=True)


def runs_json() -> list[dict]:
    done = subprocess.run([sys.executable, "-m", "fmnist_lab", "runs", "--json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.mark.parametrize("where", ["queued", "running"])
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_a_killed_cli_training_is_not_shown_active(
    app_env: Path, monkeypatch: pytest.MonkeyPatch, where: str, how: signal.Signals
) -> None:
    monkeypatch.setenv("FMNIST_MAX_TRAININGS", "1")
    store = RunStore()
    slot = None
    if where == "queued":  # somebody else trains: hold the only slot
        (store.root / ".slots").mkdir(parents=True)
        slot = os.open(store.root / ".slots" / "0", os.O_CREAT | os.O_RDWR)
        fcntl.flock(slot, fcntl.LOCK_EX)
    process = cli("train", "--hidden-units", "16", "--epochs", "100", "--train-samples", "3000")
    try:
        wait_for(lambda: [run.state for run in store.list()] == [where] and (where == "queued" or progressed()))
        assert [row["status"] for row in runs_json()] == [where]  # and the CLI's own listing says so
        process.send_signal(how)
        code = process.wait(60)
    finally:
        if slot is not None:
            os.close(slot)
    (row,) = runs_json()
    if how == signal.SIGKILL:  # no last word: the next look at the store records it failed
        assert row["status"] == "failed", row
    else:  # Ctrl-C and kill stop it as the app's Stop does, with what it learnt (cli.StopOnSignal)
        assert row["status"] == "stopped" and code == 130, (row, code)


def progressed() -> bool:
    return any(RunStore().progress(run.id) for run in RunStore().list())


def test_an_unusable_home_is_a_clear_message_and_leaves_nothing(tmp_path: Path) -> None:
    from fmnist_lab.store.runs import StoreUnwritable

    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    with pytest.raises(StoreUnwritable, match="Cannot save a new run in .*FMNIST_LAB_HOME"):
        RunStore(not_a_folder / "runs").create(QUICK)


def test_a_full_disk_leaves_no_half_written_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from fmnist_lab.store import atomic
    from fmnist_lab.store.runs import StoreUnwritable

    store = RunStore(tmp_path / "runs")
    real = atomic.write_bytes
    calls = []

    def fill_up(target: Path, data: bytes) -> None:
        calls.append(target.name)
        if len(calls) == 2:  # run.json written, status.json hits a full disk
            raise OSError(errno.ENOSPC, "No space left on device")
        real(target, data)

    monkeypatch.setattr(atomic, "write_bytes", fill_up)
    with pytest.raises(StoreUnwritable, match="No space left on device"):
        store.create(QUICK)
    assert list(store.root.iterdir()) == [] and store.list() == []


@pytest.mark.skipif(not Path("/proc/self/autogroup").exists(), reason="no autogroup scheduling on this kernel")
def test_lower_priority_sets_its_own_sessions_group_and_leaves_a_shells_alone() -> None:
    """In a fresh session: a child (not the session leader, like a worker run from a shell) must
    leave the group's nice alone; the leader (like a worker the app starts) lowers it."""
    code = (
        "import subprocess, sys\nfrom pathlib import Path\nfrom fmnist_lab.execution import processes\n"
        "group = lambda: Path('/proc/self/autogroup').read_text().split()[-1]\n"
        "subprocess.run([sys.executable, '-c', 'from fmnist_lab.execution import processes as p; p.lower_priority()'],"
        " check=True)\nprint(group())\nprocesses.lower_priority()\nimport os\nprint(group(), os.nice(0))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, start_new_session=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "19", "19"]


def test_a_flood_is_capped_refused_whole_and_waits_without_processes(app_env: Path) -> None:
    """A 1-slot server: learner A's six runs queue, a seventh click is refused whole, learner B's one
    run is next in line, and only the training run has a process: waiting runs are records."""
    from fmnist_lab.execution.contract import SubmitRefused

    lab = build(RunStore(), settings=Environment(max_trainings=1, max_queued_per_learner=6, warm_workers=0))
    store, a, b = lab.store, "a" * 24, "b" * 24
    flood = lab.submit_all([LONG] * 6, owner=a)
    with pytest.raises(SubmitRefused, match="at most 6 runs per learner"):
        lab.submit_all([LONG] * 2, owner=a)  # one more would fit the line, two do not: neither is queued
    wait_for(lambda: store.load(flood[0].id).state == "running", 300)
    assert len(store.list()) == 6
    mine = lab.submit(QUICK, owner=b)
    assert lab.queue_position(mine.id) == 1  # one learner (A) ahead, and A is training already
    assert set(worker_processes(store)) == {flood[0].id}  # five waiting runs of A's and B's hold no process
    assert all(lab.alive(run.id) for run in [*flood, mine])  # yet all are vouched for
    for run in [*flood, mine]:
        lab.cancel(run.id)
    wait_for(lambda: not any(run.is_active for run in store.list()), 60)
    states = [store.load(run.id).state for run in [*flood[1:], mine]]
    assert states == ["stopped"] * 6  # taken out of the line by the dispatcher, never started


# -- groups: K seeds of one setup queued as one unit, trained as one computation in one slot ---------
GROUP = TrainConfig(hidden_units=(16,), epochs=1, train_samples=2000, test_samples=500)


def one_slot_lab() -> Ruled:
    """The lab's executor as the app builds it (the real rules, groups on), one training at a time, cold workers."""
    return build(RunStore(), settings=Environment(max_trainings=1, warm_workers=0))


def test_a_group_trains_in_one_slot_and_each_member_as_it_would_alone(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One slot: learner A's 3 seeds all train at once, and learner B's run queued after them waits for
    the whole group (one by one, fair order would start B's run after A's first). Each member's stored
    history, weights and test scores equal its config trained alone (tolerance: tests/training/test_replicas.py)."""
    from fmnist_lab.store.groups import seed_series
    from fmnist_lab.training.data import load_dataset
    from tests.training.test_replicas import assert_same_as_single_runs

    monkeypatch.setenv("FMNIST_MAX_TRAININGS", "1")  # the workers' slot queue
    lab = one_slot_lab()
    store = lab.store
    members = [run.id for run in lab.submit_all(seed_series(GROUP, 3), owner="a" * 24)]
    later = lab.submit(GROUP, owner="b" * 24).id
    most_running, overtaken, positions = 0, False, set()
    while store.load(later).is_active:
        later_started = store.load(later).state != "queued"  # read first: the group ends before it starts
        states = [store.load(run_id).state for run_id in members]
        most_running = max(most_running, states.count("running"))
        overtaken |= later_started and any(state in ("queued", "running") for state in states)
        positions.add(tuple(lab.queue_position(run_id) for run_id in members))
        time.sleep(0.05)
    assert most_running == 3  # three runs training at once on a one-slot server: the group took one slot
    assert not overtaken
    assert (1, 1, 1) in positions  # every member's place in line is the group's
    assert [store.load(run_id).state for run_id in [*members, later]] == ["finished"] * 4
    assert_same_as_single_runs(store, members, load_dataset())


def test_a_group_that_fails_marks_every_member_failed_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from fmnist_lab.store.groups import seed_series

    folder = tmp_path / "damaged"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(b"this is not gzip")
    monkeypatch.setenv("FMNIST_DATA_DIR", str(folder))
    lab = one_slot_lab()
    members = [run.id for run in lab.submit_all(seed_series(QUICK, 3))]
    wait_for(lambda: not any(lab.store.load(run_id).is_active for run_id in members), 60)
    for run_id in members:
        run = lab.store.load(run_id)
        assert run.state == "failed" and "DataError" in run.status["error"], run.status
        assert "train-images-idx3-ubyte.gz" in run.status["error"]


def test_the_queue_limits_simultaneous_trainings(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One slot: two seeds of a setup the vectorised engine cannot train (dropout) go one by one, each
    in its own place in line, first come first served, each worker at the lowest CPU priority (a place
    further back: ``test_a_stop_ends_a_queued_run_a_queued_group_whole_and_a_running_worker_early``)."""
    from fmnist_lab.store.groups import seed_series

    monkeypatch.setenv("FMNIST_MAX_TRAININGS", "1")
    lab = one_slot_lab()
    store = lab.store
    started = [run.id for run in lab.submit_all(seed_series(replace(QUICK, dropout=0.2), 2))]
    most_running, positions_seen, priorities = 0, set(), {}
    while any(store.load(run_id).is_active for run_id in started):
        states = [store.load(run_id).state for run_id in started]
        most_running = max(most_running, states.count("running"))
        positions_seen |= {lab.queue_position(run_id) for run_id in started}
        workers = worker_processes(store)
        seen = {run_id: worker_priority(workers.get(run_id)) for run_id in started}
        priorities |= {run_id: p for run_id, p in seen.items() if p is not None}  # kept once its worker ends
        time.sleep(0.05)
    assert most_running == 1  # single runs
    assert priorities and all(group in (19, None) for _, group in priorities.values())  # niceness and group's
    assert {1} <= positions_seen  # a learner can be told their place in the line
    finished = [store.load(run_id) for run_id in started]
    assert [run.state for run in finished] == ["finished"] * 2
    starts = [run.status["running"] for run in finished]
    assert starts == sorted(starts)  # first come, first served

"""The local queue's record of turns: each start logged, read back, kept short, and used by the fair order."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.execution import slots
from fmnist_lab.execution.policy import Start
from fmnist_lab.execution.processes import hold_lock
from fmnist_lab.execution.slots import SlotQueue


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def queued(store: RunStore, owner: str, locks: list[int]) -> str:
    run = store.create(TrainConfig(epochs=1), None, owner, on_staged=lambda folder: locks.append(hold_lock(folder)))
    return run.id


def test_each_slot_taken_is_logged_with_its_learner_and_time(tmp_path: Path) -> None:
    clock = Clock()
    queue = SlotQueue(RunStore(tmp_path), 2, clock)
    first = queue._take("a" * 24)
    clock.now += 5
    second = queue._take("")
    assert queue._take("b" * 24) is None  # both slots held: no start
    assert queue.started() == [Start("a" * 24, 1_000 * 10**9), Start("", 1_005 * 10**9)]
    assert first is not None and first[1] == 1_000 * 10**9  # the start's time, for its end line
    for taken in (first, second):
        assert taken is not None
        os.close(taken[0])


def test_a_run_leaving_its_slot_logs_its_end_before_the_slot_is_free(tmp_path: Path) -> None:
    clock, store, locks = Clock(), RunStore(tmp_path), []
    queue = SlotQueue(store, 1, clock)
    run_id = queued(store, "a" * 24, locks)
    with queue.slot(run_id) as held:
        assert held and queue.free() == 0
        assert queue.started() == [Start("a" * 24, 1_000 * 10**9)]
        clock.now += 7
    assert queue.started() == [Start("a" * 24, 1_000 * 10**9, 1_007 * 10**9)]
    assert queue.free() == 1
    for lock in locks:
        os.close(lock)


def test_the_log_keeps_its_newest_lines_and_skips_a_damaged_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(slots, "KEPT_STARTS", 3)
    clock = Clock()
    queue = SlotQueue(RunStore(tmp_path), 1, clock)
    for k in range(10):
        clock.now = 2_000.0 + k
        taken = queue._take(f"{k:024x}")
        assert taken is not None
        os.close(taken[0])
    assert [s.owner for s in queue.started()] == [f"{k:024x}" for k in range(10)][-len(queue.started()) :]
    assert len(queue.started()) <= 2 * 3 + 1  # pruned to the newest six lines once past the size, then one more
    with open(tmp_path / ".slots" / slots.STARTS, "a") as log:
        log.write("not a start\nend 12 x\nend\n")
    assert queue.started()[-1] == Start(f"{9:024x}", 2_009 * 10**9)


def test_a_learner_whose_run_took_a_slot_waits_behind_those_who_have_had_none(tmp_path: Path) -> None:
    store, locks = RunStore(tmp_path), []
    queue = SlotQueue(store, 1)
    ana, ben = "a" * 24, "b" * 24
    ana_runs = [queued(store, ana, locks) for _ in range(3)]
    ben_run = queued(store, ben, locks)
    for run_id in [*ana_runs, ben_run]:
        queue.enter(run_id)
    assert queue.waiting() == [ana_runs[0], ben_run, ana_runs[1], ana_runs[2]]
    queue.marker(ana_runs[0]).unlink()  # ana's first run takes the slot, trains and ends
    taken = queue._take(ana)
    assert taken is not None
    os.close(taken[0])
    assert queue.waiting() == [ben_run, ana_runs[1], ana_runs[2]]  # not ana's second, though older
    for lock in locks:
        os.close(lock)

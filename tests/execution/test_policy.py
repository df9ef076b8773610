"""The queue's rules: round robin between learners, and the caps on waiting runs."""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter

import pytest

from fmnist_lab.execution.policy import CLI, QueueCaps, Start, Waiting, fair_order


def line(*owners: str) -> list[Waiting]:
    """Runs created one nanosecond apart, by these learners, named owner + index."""
    return [Waiting(f"{owner}{i}", owner, i) for i, owner in enumerate(owners)]


def test_one_learner_alone_is_first_come_first_served() -> None:
    assert fair_order(line("a", "a", "a")) == ["a0", "a1", "a2"]


def test_a_later_learner_waits_behind_one_run_of_each_other_learner_not_their_whole_batch() -> None:
    # a queued six runs, then b one: b's run is second, not seventh
    assert fair_order(line("a", "a", "a", "a", "a", "a", "b")) == ["a0", "b6", "a1", "a2", "a3", "a4", "a5"]


def test_round_robin_over_three_learners_by_their_own_order() -> None:
    assert fair_order(line("a", "a", "b", "a", "c", "b")) == ["a0", "b2", "c4", "a1", "b5", "a3"]


def test_a_learner_with_a_run_training_goes_after_those_with_none() -> None:
    assert fair_order(line("a", "b"), Counter({"a": 1})) == ["b1", "a0"]
    assert fair_order(line("a", "b", "a"), Counter({"a": 1, "b": 1})) == ["a0", "b1", "a2"]


def test_a_learner_whose_run_just_ended_does_not_jump_back_to_the_head_of_the_line() -> None:
    # a queued three runs, then b and c one each; a0 took a slot after the line's oldest run joined and ended
    waiting = line("x", "a", "a", "b", "c")[1:]
    assert fair_order(waiting) == ["a1", "b3", "c4", "a2"]  # no turns counted: a's older run goes first
    assert fair_order(waiting, Counter(), [Start("a", 2)]) == ["b3", "c4", "a1", "a2"]
    assert fair_order(waiting, Counter(), [Start("a", 0)]) == ["a1", "b3", "c4", "a2"]  # before the round


def test_turns_are_the_larger_of_runs_training_and_runs_started_this_round() -> None:
    waiting = line("a", "b", "c")
    assert fair_order(waiting, Counter({"a": 2}), [Start("a", 1), Start("b", 1)]) == ["c2", "b1", "a0"]


def simulate(hogs: int, hog_runs: int, learners: int, slots: int) -> list[int]:
    """Equal runs on ``slots`` slots: the hogs queue their runs first, then each learner one. Returns the
    round (in run times) in which each learner's run starts, with the queue's order as the only rule."""
    created = iter(range(10**6))
    waiting = [Waiting(f"h{h}-{k}", f"h{h}", next(created)) for h in range(hogs) for k in range(hog_runs)]
    waiting += [Waiting(f"l{n}", f"l{n}", next(created)) for n in range(learners)]
    started: list[Start] = []
    begins: dict[str, int] = {}
    for round_ in range(10**3):
        if not waiting:
            break
        for run_id in fair_order(waiting, Counter(), started)[:slots]:  # every run of a round ends together
            run = next(w for w in waiting if w.run_id == run_id)
            waiting.remove(run)
            started.append(Start(run.owner, next(created)))
            begins[run_id] = round_
    return [begins[f"l{n}"] for n in range(learners)]


def test_two_learners_queuing_six_runs_each_delay_the_other_eighteen_by_at_most_one_run_time() -> None:
    alone, with_hogs = simulate(0, 0, 18, 2), simulate(2, 6, 18, 2)
    assert max(alone) == 8  # 18 runs on 2 slots: rounds 0 to 8
    assert max(with_hogs) <= max(alone) + 1  # the hogs' first runs take round 0; then every learner's
    assert sorted(with_hogs) == [r + 1 for r in sorted(alone)]


def workshop(hogs: int, hog_runs: int, learners: int, slots: int) -> list[int]:
    """As clicks really come: the hogs click first, taking turns, and a run takes a free slot the moment it
    is queued; then each learner clicks once. Equal runs, which all end together at the end of a round; the
    executors' log of starts and ends is the only memory. Returns the round each learner's run starts in."""
    clock = itertools.count()
    waiting: list[Waiting] = []
    training: dict[str, Start] = {}
    ended: list[Start] = []
    begins: dict[str, int] = {}

    def fill(round_: int) -> None:
        now = Counter(start.owner for start in training.values())
        for run_id in fair_order(waiting, now, [*ended, *training.values()])[: slots - len(training)]:
            run = next(w for w in waiting if w.run_id == run_id)
            waiting.remove(run)
            training[run_id], begins[run_id] = Start(run.owner, next(clock)), round_

    clicks = [(f"h{h}-{k}", f"h{h}") for k in range(hog_runs) for h in range(hogs)]
    for run_id, owner in [*clicks, *((f"l{n}", f"l{n}") for n in range(learners))]:
        waiting.append(Waiting(run_id, owner, next(clock)))
        fill(0)
    for round_ in range(1, 10**3):
        if not waiting:
            break
        end = next(clock)
        ended += [dataclasses.replace(start, ended_ns=end) for start in training.values()]
        training.clear()
        fill(round_)
    return [begins[f"l{n}"] for n in range(learners)]


def test_hogs_whose_first_runs_took_free_slots_at_once_still_delay_the_others_by_one_run_time() -> None:
    # The hogs' first runs start before their second ones are queued, so before the line's oldest run
    # joined: only their end, logged, shows they held a slot this round. Counting starts alone gave +2.
    alone, with_hogs = workshop(0, 0, 18, 2), workshop(2, 6, 18, 2)
    assert max(alone) == 8
    assert sorted(with_hogs) == [r + 1 for r in sorted(alone)]


def test_a_run_that_started_before_the_line_formed_counts_as_a_turn_once_it_ends_after() -> None:
    waiting = line("x", "a", "b")[1:]  # created at 1 and 2
    assert fair_order(waiting, Counter(), [Start("a", 0, 5)]) == ["b2", "a1"]  # held a slot while b waited
    assert fair_order(waiting, Counter(), [Start("a", 0, 0)]) == ["a1", "b2"]  # ended before: another round
    assert fair_order(waiting, Counter(), [Start("a", 0)]) == ["a1", "b2"]  # its end unrecorded (killed)


def test_the_command_line_is_one_learner_among_the_others() -> None:
    assert fair_order(line(CLI, CLI, "b")) == ["0", "b2", "1"]


def test_a_place_is_never_behind_more_runs_than_there_are_learners_ahead() -> None:
    flood = line(*"a" * 6, *"b" * 6, "c")
    assert fair_order(flood).index("c12") + 1 <= 3


@pytest.mark.parametrize(
    ("caps", "adding", "mine", "everyone", "refused", "slots"),
    [
        (QueueCaps(6, 100), 6, 0, 50, None, 1),
        (QueueCaps(6, 100), 8, 0, 0, "at most 6 runs per learner", 1),  # 8 runs on a 1-slot server: 7 would wait
        (QueueCaps(6, 100), 7, 0, 0, None, 2),  # a 7-run sweep on a 2-slot server: 5 wait, taken
        (QueueCaps(6, 100), 2, 5, 5, "you have 5 waiting", 0),
        (QueueCaps(6, 10), 1, 0, 10, "The queue is full", 0),
        (QueueCaps(None, None), 500, 500, 500, None, 0),
    ],
)
def test_caps_on_waiting_runs(
    caps: QueueCaps, adding: int, mine: int, everyone: int, refused: str | None, slots: int
) -> None:
    why = caps.refusal(adding, mine, everyone, slots)
    assert (why is None) if refused is None else (why is not None and refused in why)

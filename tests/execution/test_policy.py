"""The queue's rules: round robin between learners, and the caps on waiting runs."""

from __future__ import annotations

from collections import Counter

import pytest

from fmnist_lab.execution.policy import CLI, QueueCaps, Waiting, fair_order


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

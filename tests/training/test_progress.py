"""Epochs trained and time left, on crafted progress sequences of runs with a known timeline."""

from __future__ import annotations

import math
from typing import Any

import pytest

from fmnist_lab.training import progress

STEPS = 100


def timeline(compile_s: float, epoch_s: float, scoring_s: float, epochs: int):  # noqa: ANN201
    """What progress.json and history.json hold at time ``t`` of a run that compiles for ``compile_s``
    before its first batch, trains each epoch in ``epoch_s`` and scores the held-out set in ``scoring_s``."""
    per_epoch = epoch_s + scoring_s
    total = compile_s + epochs * per_epoch

    def at(t: float) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        trained = max(t - compile_s, 0.0)
        done = min(int(trained // per_epoch), epochs)
        within = trained - done * per_epoch
        epoch, batch = (done + 1, min(int(within / epoch_s * STEPS), STEPS)) if done < epochs else (epochs, STEPS)
        history = [
            {"epoch": e + 1, "fraction": 1.0, "seconds": per_epoch + (compile_s if e == 0 else 0)} for e in range(done)
        ]
        began = 0.0 if done == 0 else compile_s + done * per_epoch  # the current epoch's start
        state = {"epoch": epoch, "epochs": epochs, "batch": batch, "steps": STEPS, "elapsed": t}
        state["epoch_seconds"] = t - began
        return state, history

    return at, total


@pytest.mark.parametrize(
    ("compile_s", "epoch_s", "scoring_s", "epochs", "joined"),
    [
        (5.0, 1.0, 0.2, 5, 0.0),  # compilation as long as five epochs: the "3× too high"
        (3.0, 2.0, 0.5, 10, 0.0),
        (1.0, 10.0, 2.0, 3, 0.0),
        (5.0, 1.0, 0.2, 20, 9.0),  # a viewer who opened the page mid-run
        (8.0, 0.5, 0.1, 50, 0.0),
    ],
)
def test_time_left_is_within_30_percent_after_the_first_tenth(
    compile_s: float, epoch_s: float, scoring_s: float, epochs: int, joined: float
) -> None:
    at, total = timeline(compile_s, epoch_s, scoring_s, epochs)
    first = None
    checked = 0
    for tick in range(int(total / 0.25)):
        t = joined + tick * 0.25  # the live view polls; a viewer keeps the first sample it saw after a batch
        if t >= total:
            break
        state, history = at(t)
        first = first or progress.sample(state)
        estimate = progress.seconds_left(state, first, history)
        if progress.fraction_done(state) < 0.1 or estimate is None:
            continue
        truth = total - t
        assert abs(estimate - truth) <= max(0.3 * truth, 1.0), (t, estimate, truth)
        checked += 1
    assert checked > 10


def test_the_old_estimate_from_the_start_fails_the_same_check() -> None:
    """The crafted run does tell estimates apart: elapsed × (1 − done) / done counts compilation in."""
    at, total = timeline(5.0, 1.0, 0.2, 5)
    t = 5.0 + 0.7  # 10 % of the batches trained
    state, _ = at(t)
    done = progress.fraction_done(state)
    naive = t * (1 - done) / done
    assert abs(naive - (total - t)) > 0.3 * (total - t)


def test_no_estimate_before_a_pace_can_be_measured() -> None:
    at, _ = timeline(5.0, 1.0, 0.2, 5)
    before, _ = at(2.0)
    assert progress.sample(before) is None and progress.seconds_left(before, None) is None
    state, _ = at(5.5)
    assert progress.seconds_left(state, progress.sample(state)) is None  # one moment is no pace


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ({}, 0.0),
        ({"epoch": 1, "epochs": 5, "batch": 0, "steps": 100}, 0.0),
        ({"epoch": 2, "epochs": 5, "batch": 80, "steps": 100}, 1.8),
        ({"epoch": 5, "epochs": 5, "batch": 100, "steps": 100}, 5.0),
    ],
)
def test_position_counts_finished_batches(state: dict[str, Any], expected: float) -> None:
    assert math.isclose(progress.position(state), expected)


@pytest.mark.parametrize(
    ("fractions", "text"),
    [([1.0, 1.0], "2"), ([1.0, 0.8], "1.8"), ([0.25], "0.2"), ([], "0")],
)
def test_a_stop_mid_epoch_counts_the_part_trained(fractions: list[float], text: str) -> None:
    history = [{"epoch": i + 1, "fraction": f} for i, f in enumerate(fractions)]
    assert progress.epochs_text(progress.epochs_trained(history)) == text

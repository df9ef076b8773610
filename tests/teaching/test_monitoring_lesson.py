"""The monitoring lesson's check: right on the learner's own stream, and a wrong answer gets a hint, not the day."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.analysis.monitoring import DayScore
from fmnist_lab.teaching import monitoring_lesson as lesson
from fmnist_lab.training.data import Dataset
from tests.conftest import final_metrics
from tests.pages.test_monitor_page import band_reader

BASELINE = [0.80, 0.82, 0.84, 0.82, 0.80, 0.81, 0.83]  # mean 0.8171, sd 0.0150: band 0.772 to 0.862


def days(accuracies: list[float]) -> list[DayScore]:
    return [
        DayScore(day, 300, accuracy, 0.9, np.full(10, accuracy), np.zeros(10, int))
        for day, accuracy in enumerate(accuracies, start=1)
    ]


LATE = days(BASELINE + [0.82] * 9 + [0.75, 0.82, 0.74] + [0.70] * 9)  # day 17 first leaves the band, day 19 too
EARLY = days(BASELINE + [0.82, 0.76] + [0.82] * 19)  # day 9: before the drift (day 15), a false alarm
STEADY = days(BASELINE + [0.81] * 21)


def test_the_first_day_outside_the_band_is_right() -> None:
    verdict = lesson.check(LATE, "day 17")
    assert verdict.right and "day 17 accuracy was 75.0%" in verdict.why and "2 days later" in verdict.why


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        ("day 19", "an earlier day was too"),
        ("day 10", "Look at later days"),
        ("day 22", "an earlier day was too"),
        (lesson.NO_ALERT, "red mark"),
        ("day 99", "Answer with a day from 8 to 28"),
    ],
)
def test_a_wrong_answer_gets_a_hint_not_the_day(answer: str, hint: str) -> None:
    verdict = lesson.check(LATE, answer)
    assert not verdict.right and hint in verdict.why
    assert "17" not in verdict.why


def test_a_false_alarm_before_the_drift_is_still_the_answer_and_is_called_one() -> None:
    verdict = lesson.check(EARLY, "day 9")
    assert verdict.right and "false alarm" in verdict.why
    assert not lesson.check(EARLY, "day 16").right


def test_a_steady_stream_has_no_alert() -> None:
    assert lesson.check(STEADY, lesson.NO_ALERT).right
    wrong = lesson.check(STEADY, "day 12")
    assert not wrong.right and "inside the band" in wrong.why


def test_the_options_cover_every_day_after_the_baseline() -> None:
    assert lesson.options() == [f"day {d}" for d in range(8, 29)] + [lesson.NO_ALERT]


def test_the_check_passes_against_the_learners_own_run(tiny_dataset: Dataset, isolated_lab: Path) -> None:
    store = RunStore()
    run = store.create(TrainConfig(hidden_units=(16,)))
    store.write_weights(run.id, band_reader(8.0))
    store.write_metrics(run.id, final_metrics())
    store.set_status(run.id, "finished")
    scores = lesson.lesson_scores(store, run.id, tiny_dataset.x_test, tiny_dataset.y_test)
    accuracy = np.array([score.accuracy for score in scores])
    mean, sd = accuracy[:7].mean(), accuracy[:7].std(ddof=1)  # the band, computed here on its own
    outside = [day for day in range(8, 29) if abs(accuracy[day - 1] - mean) > 3 * sd]
    answer = f"day {outside[0]}" if outside else lesson.NO_ALERT
    assert lesson.check(scores, answer).right
    assert not lesson.check(scores, lesson.NO_ALERT if outside else "day 8").right

"""The monitoring lesson: deploy your run, let a new kind of shoe creep in, and say when the alert fired.

The step's text and question, and a check that reads the learner's own run's stream (its stored
weights serving ``STREAM`` on the real test set, as the Monitor page shows it with these settings).
A wrong answer gets a hint from that stream, never the day itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fmnist_lab.analysis import monitoring
from fmnist_lab.analysis.monitoring import DayScore, Drift, Stream
from fmnist_lab.store.runs import RunStore
from fmnist_lab.teaching.verdict import Verdict

STREAM = Stream(days=28, per_day=300, baseline=7, drift=Drift("new shoe", start=15, strength=0.3))  # the page's
FIGURE = "accuracy"
NO_ALERT = "no alert fired"
TITLE = "Monitoring a deployed model"
TEXT = (
    "A model that passed its test keeps working after training, on images nobody has labelled yet, and the "
    "world drifts. On the **Monitor** page your run serves 300 test images a day for four weeks. The first "
    "week sets the **band** a figure should stay in (mean ± 3 sd); an **alert** fires on a day outside it. "
    "Choose *A new kind of shoe*, starting on day 15, with the high tops' share at 0.30 on the last day: "
    "sneakers stretched upward and mirrored, a shoe your model never saw."
)
QUESTION = "On which day did the accuracy alert first fire?"


def options(scores: Sequence[DayScore] = ()) -> list[str]:
    """Every day after the baseline week, then ``NO_ALERT``."""
    return [f"day {day}" for day in range(STREAM.baseline + 1, STREAM.days + 1)] + [NO_ALERT]


def lesson_scores(store: RunStore, run_id: str, x_test: np.ndarray, y_test: np.ndarray) -> list[DayScore]:
    """The learner's run deployed on ``STREAM``; RunStoreError if the run or its weights are missing."""
    config = store.load(run_id).config
    weights = store.weights(run_id)
    return monitoring.watch(weights, config.activation, config.normalize, x_test, y_test, STREAM)


def check(scores: Sequence[DayScore], answer: str, stream: Stream = STREAM) -> Verdict:
    """Right if ``answer`` names the first day accuracy left its band (or ``NO_ALERT`` if none did)."""
    values = [score.figure(FIGURE) for score in scores]
    band = monitoring.band(values[: stream.baseline])
    fired = monitoring.alerts(values, stream.baseline)
    expected = f"day {fired[0]}" if fired else NO_ALERT
    inside = f"the band {band.low:.1%} to {band.high:.1%}"
    if answer == expected:
        return Verdict(True, _explained(values, fired, inside, stream))
    if answer == NO_ALERT:
        return Verdict(False, "Look again at the accuracy chart: at least one day has a red mark outside the band.")
    day = _day(answer, len(values))
    if day is None:
        return Verdict(False, f"Answer with a day from {stream.baseline + 1} to {stream.days}, or '{NO_ALERT}'.")
    if day in fired:
        return Verdict(False, f"Day {day} is outside {inside}, but an earlier day was too: look before it.")
    if not fired:
        where = " Check each day against the band: did any leave it?"
    else:
        where = " Look at earlier days." if fired[0] < day else " Look at later days."
    return Verdict(False, f"On day {day} accuracy was {values[day - 1]:.1%}, inside {inside}.{where}")


def _explained(values: Sequence[float], fired: Sequence[int], inside: str, stream: Stream) -> str:
    """Why the right answer is right, in this stream's numbers."""
    if not fired:
        return f"Right: accuracy stayed inside {inside} every day. This run took the high tops in its stride."
    first = fired[0]
    why = f"Right: on day {first} accuracy was {values[first - 1]:.1%}, outside {inside}."
    if first < stream.drift.start:
        why += (
            f" The shoes only changed from day {stream.drift.start}: this was a false alarm. A band of ±3 sd "
            "learnt from seven days still lets chance through now and then."
        )
    else:
        lag = first - stream.drift.start
        when = "the same day" if lag == 0 else f"{lag} day{'s' if lag > 1 else ''} later"
        why += f" The high tops arrived on day {stream.drift.start}; the alert fired {when}."
    return why


def _day(answer: str, days: int) -> int | None:
    text = answer.strip().lower().removeprefix("day").strip()
    return int(text) if text.isdigit() and 1 <= int(text) <= days else None

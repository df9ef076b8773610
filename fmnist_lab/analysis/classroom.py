"""A class seen whole: who is training and waiting, what failed, who has nothing yet, and what the class found.

Pure functions of runs already read from the store (and of callables for what only the executor or a
run's progress file knows), so the instructor's page and its tests share them:

- ``active_table``: every queued and running run with its learner, setup, state, epoch, place in line
  and time waiting;
- ``recent_failures``: the failed runs, newest first, with their errors;
- ``learners_without_result``: learners (by owner id, the command line as one) with no finished run;
- ``class_experiment``: the class's pooled runs of the classic setups (hidden units × epochs × ÷255,
  every other setting at its default; the seed may differ), one point per run, the mean and its 95 %
  interval per setup, what was left out and why, and 128 vs 1024 compared at the same epochs and ÷255
  (``statistics.compare``, in percentage points).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from scipy import stats

from fmnist_lab.analysis import statistics
from fmnist_lab.analysis.statistics import Comparison, Summary
from fmnist_lab.config import SETTINGS, TrainConfig
from fmnist_lab.store.runs import Run

CLASSIC_UNITS = (128, 1024)  # the pair the verdict compares
VARYING = ("hidden_units", "epochs", "normalize", "seed")  # what may differ between pooled runs
COMMAND_LINE = "command line"  # the learner of runs with no owner
UNNAMED = "learner without a name"
MAX_FAILURES = 10


@dataclass(frozen=True)
class ActiveRow:
    """One queued or running run as the instructor's table shows it."""

    run_id: str
    learner: str
    setup: str
    state: str
    epoch: str  # "3/5" while training, "" before
    position: int | None  # 1 = next to start; None once training
    waiting_seconds: float | None  # queued: so far; running: how long it waited; None if unknown


@dataclass(frozen=True)
class Failure:
    run_id: str
    learner: str
    setup: str
    when: str  # the time it failed (ISO), as stored
    error: str


@dataclass(frozen=True)
class Setup:
    """A classic setup: one hidden layer of ``units``, ``epochs`` epochs, pixels ÷255 or not."""

    units: int
    epochs: int
    normalize: bool

    @property
    def label(self) -> str:
        return f"{self.units} units · {self.epochs} epochs" + ("" if self.normalize else " · no ÷255")


@dataclass(frozen=True)
class Point:
    """One finished run in the class's experiment; accuracy in percent."""

    setup: Setup
    run_id: str
    learner: str
    accuracy: float
    seed: int


@dataclass(frozen=True)
class SetupResult:
    """A setup's pooled runs: summary in percent, and the 95 % interval of its mean (None for one run)."""

    setup: Setup
    summary: Summary
    interval: tuple[float, float] | None


@dataclass(frozen=True)
class ClassExperiment:
    points: tuple[Point, ...]
    setups: tuple[SetupResult, ...]  # by units, epochs, then ÷255 first
    left_out: dict[str, int]  # why a finished run was not pooled → how many runs
    verdicts: tuple[Comparison, ...]  # 128 vs 1024 at each epochs × ÷255 both were run at


def learner_label(run: Run) -> str:
    """Who a run belongs to, as the instructor reads it: the learner's name, or what is known."""
    if run.learner:
        return run.learner
    return COMMAND_LINE if run.owner is None else UNNAMED


def active_table(
    runs: Iterable[Run],
    position: Callable[[str], int | None],
    epoch: Callable[[str], tuple[int, int] | None],
    now: datetime,
) -> list[ActiveRow]:
    """Queued and running runs: training ones first, then the queue in order. ``position`` is the
    executor's place in line, ``epoch`` a run's (epoch, epochs) from its progress, ``now`` aware."""
    rows = [_active_row(run, position, epoch, now) for run in runs if run.is_active]
    return sorted(rows, key=lambda row: (row.state != "running", row.position or 0, row.run_id))


def _active_row(
    run: Run, position: Callable[[str], int | None], epoch: Callable[[str], tuple[int, int] | None], now: datetime
) -> ActiveRow:
    queued = _time(run.status.get("queued") or run.created)
    if run.state == "running":
        started, where = _time(run.status.get("running")), epoch(run.id)
        waited = None if queued is None or started is None else max(0.0, (started - queued).total_seconds())
        shown = f"{where[0]}/{where[1]}" if where else ""
        return ActiveRow(run.id, learner_label(run), run.config.summary(), run.state, shown, None, waited)
    waited = None if queued is None else max(0.0, (now - queued).total_seconds())
    return ActiveRow(run.id, learner_label(run), run.config.summary(), run.state, "", position(run.id), waited)


def recent_failures(runs: Iterable[Run], limit: int = MAX_FAILURES) -> list[Failure]:
    """The last ``limit`` failed runs, newest first, each with its error."""
    failed = sorted((run for run in runs if run.state == "failed"), key=lambda r: (r.created_ns, r.id), reverse=True)
    return [
        Failure(
            run.id,
            learner_label(run),
            run.config.summary(),
            str(run.status.get("failed", "")),
            str(run.status.get("error") or "no error was recorded"),
        )
        for run in failed[:limit]
    ]


def learners_without_result(runs: Iterable[Run], names: Mapping[str, str]) -> list[str]:
    """Learners with no finished run yet, by name: everyone who named themselves or ran something
    (the command line counts as one learner). Alphabetical; unnamed ones as 'learner without a name'."""
    runs = list(runs)
    owners = set(names) | {run.owner for run in runs}
    done = {run.owner for run in runs if run.state == "finished"}
    label = {run.owner: learner_label(run) for run in sorted(runs, key=lambda r: r.created_ns)}  # newest name wins
    shown = [names.get(owner) or label.get(owner, UNNAMED) for owner in owners - done]  # type: ignore[arg-type]
    return sorted(shown, key=str.casefold)


def classic_setup(config: TrainConfig) -> Setup | None:
    """The classic setup ``config`` is, or None when it changes anything but units, epochs, ÷255, seed."""
    if len(config.hidden_units) != 1 or left_out_by(config):
        return None
    return Setup(config.hidden_units[0], config.epochs, config.normalize)


def left_out_by(config: TrainConfig) -> list[str]:
    """The settings that keep a run out of the class's experiment (their labels)."""
    reasons = [SETTINGS[name].label for name, _, _ in config.differences() if name not in VARYING]
    if len(config.hidden_units) != 1:
        reasons.insert(0, "more than one hidden layer")
    return reasons


def class_experiment(runs: Iterable[Run]) -> ClassExperiment:
    """Pool the class's finished runs of the classic setups; see the module's docstring."""
    points, left_out = [], Counter[str]()
    for run in runs:
        if run.state != "finished" or run.test_accuracy is None:
            continue
        if (setup := classic_setup(run.config)) is None:
            left_out.update(left_out_by(run.config))
            continue
        points.append(Point(setup, run.id, learner_label(run), 100 * run.test_accuracy, run.config.seed))
    points.sort(key=lambda p: (_order(p.setup), p.run_id))
    by_setup: dict[Setup, list[Point]] = {}
    for point in points:
        by_setup.setdefault(point.setup, []).append(point)
    setups = tuple(setup_result(setup, [p.accuracy for p in group]) for setup, group in by_setup.items())
    return ClassExperiment(tuple(points), setups, dict(left_out.most_common()), tuple(_verdicts(by_setup)))


def setup_result(setup: Setup, accuracies: Sequence[float]) -> SetupResult:
    """Mean, spread and the t interval of the mean: mean ± t(0.975, n−1) · sd / √n."""
    summary = statistics.summarize(accuracies)
    if summary.sd is None:
        return SetupResult(setup, summary, None)
    half = stats.t.ppf(0.5 + statistics.CONFIDENCE / 2, summary.n - 1) * summary.sd / np.sqrt(summary.n)
    return SetupResult(setup, summary, (summary.mean - float(half), summary.mean + float(half)))


def _verdicts(by_setup: Mapping[Setup, list[Point]]) -> Iterable[Comparison]:
    small, large = CLASSIC_UNITS
    for setup in sorted(by_setup, key=_order):
        if setup.units != small or (other := Setup(large, setup.epochs, setup.normalize)) not in by_setup:
            continue
        a, b = by_setup[setup], by_setup[other]
        yield statistics.compare(
            [p.accuracy for p in a],
            [p.accuracy for p in b],
            setup.label,
            other.label,
            [p.seed for p in a],
            [p.seed for p in b],
        )


def _order(setup: Setup) -> tuple[int, int, bool]:
    return setup.units, setup.epochs, not setup.normalize


def _time(text: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        return None

"""Two sides compared with their spread over seeds: a side is a group (its finished members) or one run.

Everything here is computed from the runs' own stored files (``metrics.json``, ``history.json``,
``predictions.npz``): each side's test accuracy as mean ± sd, the mean curve per epoch with a band of
±1 sd (the data says which band), per-class accuracy and the confusion matrix's cells as mean ± sd,
the table, and the verdict of
``statistics.compare``. Accuracies are fractions 0–1 in summaries, as in ``metrics.json``; the
difference of two sides and its interval are in percentage points (B − A).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fmnist_lab.analysis import metrics, statistics
from fmnist_lab.analysis.statistics import Comparison
from fmnist_lab.config import CLASS_NAMES, TrainConfig
from fmnist_lab.store.groups import GROUP_ID_PATTERN, Group, GroupStore, finished
from fmnist_lab.store.runs import ACTIVE_STATES, RUN_ID_PATTERN, InvalidRunId, Run, RunStore, RunStoreError

BAND = "±1 sd"  # what the band around a mean curve is
CURVE_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")


class NothingToCompare(RunStoreError):
    """A side has no finished run with a test accuracy yet."""


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a group's finished members, or a single run."""

    id: str
    kind: str  # "group" or "run"
    config: TrainConfig  # the setup (a group's with its first seed)
    runs: tuple[Run, ...]  # the finished runs with a test accuracy, in the group's order
    counts: Mapping[str, int]  # members: finished, failed, stopped, active, unreadable
    name: str | None = None

    @property
    def seeds(self) -> list[int]:
        return [run.config.seed for run in self.runs]

    @property
    def accuracies(self) -> list[float]:
        """Test accuracies of the finished runs, fractions 0–1."""
        return [float(run.test_accuracy) for run in self.runs if run.test_accuracy is not None]


@dataclass(frozen=True)
class Curve:
    """A mean curve over runs: at each epoch, the mean of the runs that reached it and a band."""

    metric: str
    epochs: list[int]
    mean: list[float]
    sd: list[float | None]  # None where one run reached the epoch
    low: list[float]  # mean − sd (the mean itself without an sd)
    high: list[float]
    n: list[int]
    band: str = BAND


def load_side(groups: GroupStore, side_id: str) -> Side:
    """The group or run with id ``side_id``; the stores' errors say what is wrong with it."""
    if isinstance(side_id, str) and GROUP_ID_PATTERN.fullmatch(side_id):
        return group_side(groups, groups.load(side_id))
    if not isinstance(side_id, str) or not RUN_ID_PATTERN.fullmatch(side_id):
        shown = repr(side_id)[:40]
        raise InvalidRunId(
            f"{shown} is neither a run id nor a group id "
            "(they look like 20261121-093015-a3f09c and g-20261121-093015-a3f09c)."
        )
    run = groups.runs.load(side_id)
    state = "active" if run.state in ACTIVE_STATES else run.state
    counts = {"members": 1, "finished": 0, "failed": 0, "stopped": 0, "active": 0, "unreadable": 0} | {state: 1}
    done = (run,) if run.state == "finished" and run.test_accuracy is not None else ()
    return Side(run.id, "run", run.config, done, counts, run.name)


def group_side(groups: GroupStore, group: Group) -> Side:
    members = finished(groups.members(group))
    runs = tuple(m.run for m in members if m.run is not None and m.run.test_accuracy is not None)
    return Side(group.id, "group", group.config(), runs, groups.counts(group), group.name)


def group_summary(groups: GroupStore, group: Group) -> dict[str, Any]:
    """The group's id, runs, member counts and the finished members' test accuracy ``{mean, sd, min, max, n}``."""
    side = group_side(groups, group)
    accuracy = statistics.summarize(side.accuracies).to_dict() if side.accuracies else None
    return {"group_id": group.id, "runs": list(group.run_ids), **side.counts, "test_accuracy": accuracy}


def side_summary(side: Side, label: str) -> dict[str, Any]:
    """What one side is, for a table or a JSON line: its runs, seeds, counts and test accuracy summary."""
    accuracy = statistics.summarize(side.accuracies).to_dict() if side.accuracies else None
    out = {"id": side.id, "kind": side.kind, "label": label, "setup": side.config.summary()}
    return out | {"runs": [run.id for run in side.runs], "seeds": side.seeds, **side.counts, "test_accuracy": accuracy}


def side_labels(a: Side, b: Side) -> tuple[str, str]:
    """Names for the two sides: the settings in which their setups differ (``128 units`` and ``1024 units``),
    else their names, else their ids."""
    differing = [(name, s) for name, s, _ in a.config.differences(b.config) if name != "seed"]
    if differing:
        described = [" · ".join(s.describe(getattr(side.config, n)) for n, s in differing) for side in (a, b)]
        return described[0], described[1]
    if a.name and b.name and a.name != b.name:
        return a.name, b.name
    return a.id, b.id


def compare_sides(a: Side, b: Side, label_a: str | None = None, label_b: str | None = None) -> Comparison:
    """B against A on test accuracy (in points), paired by seed where both sides ran the same seeds."""
    for side in (a, b):
        if not side.accuracies:
            raise NothingToCompare(f"{side.kind.capitalize()} {side.id} has no finished run to compare yet.")
    default_a, default_b = side_labels(a, b)
    percent = lambda side: [100 * value for value in side.accuracies]  # noqa: E731
    return statistics.compare(percent(a), percent(b), label_a or default_a, label_b or default_b, a.seeds, b.seeds)


def report(groups: GroupStore, id_a: str, id_b: str) -> dict[str, Any]:
    """The comparison of two ids (groups or runs) as one JSON-ready object: what ``compare`` prints."""
    a, b = load_side(groups, id_a), load_side(groups, id_b)
    result = compare_sides(a, b)
    out: dict[str, Any] = {
        "difference": result.difference,
        "interval": None if result.interval is None else list(result.interval),
    }
    out |= {"test": result.test, "p_value": result.p_value, "verdict": result.verdict}
    out |= {"seed_differences": list(result.seed_differences)}
    return out | {"a": side_summary(a, result.label_a), "b": side_summary(b, result.label_b)}


def table(result: Comparison) -> list[dict[str, Any]]:
    """One row per side (test accuracy mean ± sd, in percent), then the difference with its interval and test."""
    rows = []
    for label, summary in ((result.label_a, result.a), (result.label_b, result.b)):
        sd = "" if summary.sd is None else f" ± {summary.sd:.2f}"
        shown = f"{summary.mean:.2f} %{sd}"
        rows.append({"": label, "runs": summary.n, "test accuracy": shown, "mean": summary.mean, "sd": summary.sd})
    interval = "no test with one run" if result.interval is None else _interval_text(result.interval)
    difference = f"{result.difference:+.2f} points ({interval})".replace("-", "−")
    rows.append({"": f"{result.label_b} − {result.label_a}", "runs": None, "test accuracy": difference})
    rows[-1] |= {"mean": result.difference, "sd": None, "test": result.test or "none", "p": result.p_value}
    return rows


def mean_curve(histories: Sequence[Sequence[Mapping[str, Any]]], metric: str = "val_accuracy") -> Curve:
    """At each epoch, the mean and sd of ``metric`` over the histories that recorded it there."""
    if metric not in CURVE_KEYS:
        raise ValueError(f"a curve of {metric!r}: choose one of {', '.join(CURVE_KEYS)}")
    by_epoch: dict[int, list[float]] = {}
    for history in histories:
        for record in history:
            if record.get(metric) is not None:
                by_epoch.setdefault(int(record["epoch"]), []).append(float(record[metric]))
    summaries = [(epoch, statistics.summarize(values)) for epoch, values in sorted(by_epoch.items())]
    sd = [s.sd for _, s in summaries]
    mean = [s.mean for _, s in summaries]
    low = [m - (d or 0.0) for m, d in zip(mean, sd, strict=True)]
    high = [m + (d or 0.0) for m, d in zip(mean, sd, strict=True)]
    return Curve(metric, [e for e, _ in summaries], mean, sd, low, high, [s.n for _, s in summaries])


def side_curve(store: RunStore, side: Side, metric: str = "val_accuracy") -> Curve:
    """The side's mean curve from its finished runs' ``history.json``."""
    return mean_curve([store.history(run.id) for run in side.runs], metric)


def class_accuracy(labels: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Each class's share of its test images classified right, (10,) fractions (0 for a class with none)."""
    cm = metrics.confusion_matrix(labels, metrics.predicted(probabilities))
    return np.diag(metrics.row_normalised(cm)) / 100


def class_spread(per_run: Sequence[np.ndarray]) -> dict[str, Any]:
    """Per-class accuracy over runs: class names, mean and sd (None with one run) per class, and n."""
    stacked = np.asarray(per_run, dtype=np.float64).reshape(len(per_run), len(CLASS_NAMES))  # (runs, 10)
    if len(stacked) == 0:
        raise ValueError("per-class accuracy needs at least one run")
    sd = list(stacked.std(axis=0, ddof=1)) if len(stacked) > 1 else [None] * len(CLASS_NAMES)
    return {"class": list(CLASS_NAMES), "mean": list(stacked.mean(axis=0)), "sd": sd, "n": len(stacked), "band": BAND}


def side_class_spread(store: RunStore, side: Side) -> dict[str, Any]:
    """The side's per-class accuracy mean ± sd from its finished runs' ``predictions.npz``."""
    per_run = []
    for run in side.runs:
        probabilities, labels = store.predictions(run.id)
        per_run.append(class_accuracy(labels, probabilities))
    return class_spread(per_run)


def confusion_spread(per_run: Sequence[np.ndarray]) -> dict[str, Any]:
    """Row-normalised confusion matrices over runs: each cell's mean and sd (None with one run), in percent."""
    rows = np.asarray([metrics.row_normalised(cm) for cm in per_run], dtype=np.float64)  # (runs, 10, 10)
    if len(rows) == 0:
        raise ValueError("a confusion spread needs at least one run")
    sd = rows.std(axis=0, ddof=1) if len(rows) > 1 else None
    return {"mean": rows.mean(axis=0), "sd": sd, "n": len(rows), "band": BAND}


def side_confusion(store: RunStore, side: Side) -> dict[str, Any]:
    """The side's mean confusion matrix (rows in percent of each true class) with each cell's sd."""
    per_run = []
    for run in side.runs:
        probabilities, labels = store.predictions(run.id)
        per_run.append(metrics.confusion_matrix(labels, metrics.predicted(probabilities)))
    return confusion_spread(per_run)


def _interval_text(interval: tuple[float, float]) -> str:
    low, high = interval
    return f"95 % interval {low:+.2f} to {high:+.2f}"

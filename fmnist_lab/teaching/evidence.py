"""What a lesson's check reads, gathered from the store: the learner's run and, as the step needs them,
its pair, its group over seeds, its first neuron, one of its mistakes and its deployed days.

``evidence(store, run_id)`` reads one run's files (history, metrics, test predictions).
``gather(store, run_id, needs, test)`` adds what a step's ``Needs`` names:

* ``pair``: the settings that tell the step's two runs apart (``normalize``; ``hidden_units``). The
  partner is the newest finished run that has every other setting of the run (the seed aside) and a
  different value of those, the learner's own first; the comparison is the two sides' test accuracy
  over seeds, each side the group the run belongs to, else the run alone (``analysis.spread``).
* ``seeds``: the finished members of the run's group (test accuracies and histories).
* ``neuron``: first-layer neuron 0's mean activation per true class on the test images.
* ``mistake``: the run's first misclassified test image and, per class, template × image
  (``analysis.explain``'s exact decomposition, relu runs only).
* ``days``: the run deployed on the monitoring lesson's stream.

"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from fmnist_lab.analysis import explain, forward, spread
from fmnist_lab.analysis.metrics import confusion_matrix, predicted
from fmnist_lab.analysis.monitoring import DayScore
from fmnist_lab.analysis.statistics import Comparison
from fmnist_lab.config import TrainConfig
from fmnist_lab.store.groups import Group, GroupStore, finished, setup_of
from fmnist_lab.store.runs import Run, RunStore, RunStoreError
from fmnist_lab.teaching import monitoring_lesson

NEURON = 0  # the neuron the picture question names (the Inside page counts from 0)
ANALYSABLE = ("finished", "stopped")


@dataclass(frozen=True)
class Needs:
    """What a step's check reads beyond the run itself."""

    pair: frozenset[str] = frozenset()  # the settings in which the step's two runs differ
    seeds: bool = False
    neuron: bool = False
    mistake: bool = False
    days: bool = False


@dataclass(frozen=True)
class Seeds:
    """The finished members of the run's group, in the group's order."""

    accuracies: tuple[float, ...]  # test accuracy, fractions 0–1
    histories: tuple[list[dict], ...]


@dataclass(frozen=True, eq=False)
class Mistake:
    """A test image the run got wrong, and how well each class's effective template matched it."""

    index: int
    true: int
    predicted: int
    matches: np.ndarray  # (10,) template · image per class (the logits without the bias terms)


@dataclass(frozen=True, eq=False)
class Evidence:
    """What a finished run left behind, as the checks read it, and what the step gathered around it."""

    config: TrainConfig
    history: list[dict]  # one record per epoch: loss, accuracy, val_loss, val_accuracy, fraction
    metrics: dict  # metrics.json: test_accuracy, train_accuracy, parameters, stopped_by, epochs_run, …
    confusion: np.ndarray  # (10, 10) test images: row true class, column predicted
    first_probabilities: np.ndarray  # (10,) the softmax vector of the first test image
    run_id: str = ""
    partner: Evidence | None = None  # the learner's other run of the step's pair
    comparison: Comparison | None = None  # this run's side (B) against the partner's (A), in points
    seeds: Seeds | None = None  # the run's group; None when it belongs to none
    neuron_means: np.ndarray | None = None  # (10,) neuron NEURON's mean activation per true class
    mistake: Mistake | None = None  # None: no stored weights, not relu, or no mistake at all
    days: tuple[DayScore, ...] = ()  # the run deployed on the monitoring lesson's stream


def evidence(store: RunStore, run_id: str) -> Evidence:
    """The stored data of ``run_id``; RunStoreError if it is missing or damaged."""
    run = store.load(run_id)
    probabilities, labels = store.predictions(run_id)  # (n, 10), (n,)
    cm = confusion_matrix(labels, predicted(probabilities))
    return Evidence(run.config, store.history(run_id), run.metrics, cm, probabilities[0], run_id)


def gather(store: RunStore, run_id: str, needs: Needs, test: tuple[np.ndarray, np.ndarray] | None = None) -> Evidence:
    """``evidence`` plus what ``needs`` names; ``test`` is the test set (images (n, 28, 28) uint8, labels)."""
    ev = evidence(store, run_id)
    run, groups = store.load(run_id), GroupStore(store)
    if needs.pair and (partner := partner_of(store, run, needs.pair)) is not None:
        ev = replace(ev, partner=evidence(store, partner.id), comparison=pair_comparison(groups, run, partner))
    if needs.seeds and (group := group_of(groups, run_id)) is not None:
        ev = replace(ev, seeds=seeds_of(store, groups, group))
    if test is not None and (needs.neuron or needs.mistake or needs.days):
        ev = _from_weights(store, run, ev, needs, test)
    return ev


def partner_of(store: RunStore, run: Run, names: frozenset[str]) -> Run | None:
    """The newest finished run with ``run``'s settings except ``names`` (and the seed), which differ."""
    kept = _without(run.config, names)
    found = [
        other
        for other in store.list()
        if other.id != run.id and other.state in ANALYSABLE and other.metrics
        if _without(other.config, names) == kept and any(_differs(run, other, name) for name in names)
    ]
    found.sort(key=lambda other: other.owner != run.owner)  # stable: the learner's own newest first
    return found[0] if found else None


def pair_comparison(groups: GroupStore, run: Run, partner: Run) -> Comparison | None:
    """The run's side (B) against the partner's (A); None when either side has no finished run."""
    try:
        return spread.compare_sides(_side(groups, partner), _side(groups, run))
    except RunStoreError:  # NothingToCompare: a stopped run, or a group with nothing finished
        return None


def group_of(groups: GroupStore, run_id: str) -> Group | None:
    return next((group for group in groups.list() if run_id in group.run_ids), None)


def seeds_of(store: RunStore, groups: GroupStore, group: Group) -> Seeds:
    runs = [m.run for m in finished(groups.members(group)) if m.run is not None and m.run.test_accuracy is not None]
    accuracies = tuple(float(run.test_accuracy) for run in runs if run.test_accuracy is not None)
    return Seeds(accuracies, tuple(store.history(run.id) for run in runs))


def neuron_means(
    weights: Sequence[np.ndarray], config: TrainConfig, images: np.ndarray, labels: np.ndarray
) -> np.ndarray:
    """(10,) neuron NEURON's mean activation over each true class's test images (NaN for a class with none)."""
    x = explain.network_input(images, config.normalize)  # (n, 784)
    kernel, bias = np.asarray(weights[0], np.float64), np.asarray(weights[1], np.float64)
    fired = forward.ACTIVATIONS[config.activation](x @ kernel[:, NEURON] + bias[NEURON])  # (n,)
    return np.array([fired[labels == c].mean() if np.any(labels == c) else np.nan for c in range(10)])


def first_mistake(
    weights: Sequence[np.ndarray],
    config: TrainConfig,
    images: np.ndarray,
    probabilities: np.ndarray,
    labels: np.ndarray,
) -> Mistake | None:
    """The lowest-index test image the run got wrong, with each class's template · image; None if none or not relu."""
    wrong = np.flatnonzero(predicted(probabilities) != labels)
    if len(wrong) == 0 or config.activation != "relu":
        return None
    index = int(wrong[0])
    parts = explain.decompose(explain.widened(weights), "relu", explain.network_input(images[index], config.normalize))
    return Mistake(index, int(labels[index]), int(predicted(probabilities)[index]), parts.contributions.sum(axis=0))


def _from_weights(
    store: RunStore, run: Run, ev: Evidence, needs: Needs, test: tuple[np.ndarray, np.ndarray]
) -> Evidence:
    try:
        weights = store.weights(run.id)
    except RunStoreError:  # no stored weights (an old or stopped run): the checks say so
        return ev
    images, test_labels = test
    probabilities, labels = store.predictions(run.id)
    shown = images[: len(labels)]  # predictions cover the first n test images
    if needs.neuron:
        ev = replace(ev, neuron_means=neuron_means(weights, run.config, shown, labels))
    if needs.mistake:
        ev = replace(ev, mistake=first_mistake(weights, run.config, shown, probabilities, labels))
    if needs.days:
        ev = replace(ev, days=tuple(monitoring_lesson.lesson_scores(store, run.id, images, test_labels)))
    return ev


def _side(groups: GroupStore, run: Run) -> spread.Side:
    group = group_of(groups, run.id)
    return spread.group_side(groups, group) if group is not None else spread.load_side(groups, run.id)


def _without(config: TrainConfig, names: frozenset[str]) -> dict:
    return {key: value for key, value in setup_of(config).items() if key not in names}


def _differs(run: Run, other: Run, name: str) -> bool:
    return getattr(run.config, name) != getattr(other.config, name)

"""Lessons: every check on crafted histories, metrics and confusions; setups become valid links."""

from __future__ import annotations

import numpy as np
import pytest

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.config import CLASS_NAMES
from fmnist_lab.teaching import lessons
from fmnist_lab.teaching.lessons import LESSONS, Evidence
from fmnist_lab.teaching.share import parse_setup
from tests.conftest import final_metrics


def epochs(losses: list[float], val_losses: list[float] | None = None) -> list[dict]:
    val = val_losses or [None] * len(losses)
    return [
        {"epoch": i + 1, "loss": loss, "accuracy": 0.8, "val_loss": v, "val_accuracy": 0.8, "fraction": 1.0}
        for i, (loss, v) in enumerate(zip(losses, val, strict=True))
    ]


def evidence(
    config: TrainConfig | None = None,
    history: list[dict] | None = None,
    confusion: np.ndarray | None = None,
    probabilities: np.ndarray | None = None,
    **metrics: object,
) -> Evidence:
    cm = confusion if confusion is not None else np.eye(10, dtype=int) * 100
    vector = probabilities if probabilities is not None else np.full(10, 0.1)
    return Evidence(config or TrainConfig(), history or epochs([0.5, 0.4]), final_metrics(**metrics), cm, vector)


def test_the_path_covers_the_course_in_order() -> None:
    titles = [lesson.title for lesson in LESSONS]
    assert titles[0] == "The data set" and titles[-1] == "Bias and its fixes" and len(titles) == 9


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.title)
def test_each_setup_link_gives_back_its_config_and_locks(lesson: lessons.Lesson) -> None:
    setup = parse_setup(lesson.params())
    assert setup.config == lesson.setup and setup.locked == lesson.locked and not setup.notes


@pytest.mark.parametrize(
    ("units", "parameters", "right"),
    [((128,), 101_770, "784"), ((32, 16), 784 * 32 + 32 + 32 * 16 + 16 + 16 * 10 + 10, "784")],
)
def test_inputs_per_image_reads_the_first_layer(units: tuple[int, ...], parameters: int, right: str) -> None:
    ev = evidence(TrainConfig(hidden_units=units), parameters=parameters)
    assert lessons.inputs_per_image(ev, right).right
    wrong = lessons.inputs_per_image(ev, "28")
    assert not wrong.right and f"784 × {units[0]}" in wrong.why


def test_loss_always_fell_names_the_epoch_it_rose() -> None:
    rising = evidence(history=epochs([2.0, 1.1, 1.3, 0.9]))
    assert lessons.loss_always_fell(rising, "No").right
    verdict = lessons.loss_always_fell(rising, "Yes")
    assert not verdict.right and "rose at epoch 3" in verdict.why
    assert lessons.loss_always_fell(evidence(history=epochs([2.0, 1.0, 0.5])), "Yes").right


@pytest.mark.parametrize(("parameters", "right"), [(814_090, "8×"), (203_530, "2×"), (1_627_402, "16×")])
def test_parameter_ratio_picks_the_nearest(parameters: int, right: str) -> None:
    ev = evidence(parameters=parameters)
    assert lessons.parameter_ratio(ev, right).right
    assert not lessons.parameter_ratio(ev, "4×").right


def test_lowest_held_out_epoch_reads_the_history() -> None:
    ev = evidence(history=epochs([0.6, 0.5, 0.4, 0.3, 0.2], [0.55, 0.45, 0.42, 0.44, 0.5]))
    assert lessons.epoch_options(ev) == ["1", "2", "3", "4", "5"]
    verdict = lessons.lowest_held_out_epoch(ev, "5")
    assert not verdict.right and "lowest at epoch 3" in verdict.why
    assert lessons.lowest_held_out_epoch(ev, "3").right


def test_lowest_held_out_epoch_without_a_held_out_set_is_never_right() -> None:
    verdict = lessons.lowest_held_out_epoch(evidence(history=epochs([0.6, 0.5])), "2")
    assert not verdict.right and "held-out" in verdict.why


def test_a_partial_last_epoch_does_not_count() -> None:
    history = epochs([0.6, 0.5, 0.4], [0.5, 0.45, 0.3])
    history[-1]["fraction"] = 0.4  # stopped mid-epoch
    assert lessons.lowest_held_out_epoch(evidence(history=history), "2").right


def test_goal_epoch_from_the_metrics() -> None:
    stopped = evidence(stopped_by="loss goal", epochs_run=4)
    assert lessons.goal_epoch(stopped, "4").right
    assert not lessons.goal_epoch(stopped, lessons.ALL_EPOCHS).right
    ran = evidence(stopped_by=None, epochs_run=30)
    assert lessons.goal_epoch(ran, lessons.ALL_EPOCHS).right and "all 30 epochs" in lessons.goal_epoch(ran, "3").why


def test_softmax_sum_quotes_the_first_vector() -> None:
    vector = np.array([0.01, 0.0, 0.02, 0.0, 0.0, 0.05, 0.0, 0.02, 0.0, 0.9])
    verdict = lessons.softmax_sum(evidence(probabilities=vector), "1")
    assert verdict.right and "1.000" in verdict.why and "Ankle boot" in verdict.why
    assert not lessons.softmax_sum(evidence(probabilities=vector), "10").right


@pytest.mark.parametrize(("train", "test", "right"), [(0.91, 0.87, "Yes"), (0.85, 0.86, "No")])
def test_train_above_test(train: float, test: float, right: str) -> None:
    ev = evidence(train_accuracy=train, test_accuracy=test)
    assert lessons.train_above_test(ev, right).right
    assert not lessons.train_above_test(ev, "No" if right == "Yes" else "Yes").right


def test_worst_class_from_the_confusion() -> None:
    cm = np.eye(10, dtype=int) * 90 + 1  # every class: 90 right of 99
    cm[6] = [10, 0, 5, 0, 3, 0, 12, 0, 0, 0]  # Shirt: 12 of 30 found
    cm[2, 2] = 40  # Pullover: 40 of 49
    verdict = lessons.worst_class(evidence(confusion=cm), "Shirt")
    assert verdict.right and "40%" in verdict.why
    assert not lessons.worst_class(evidence(confusion=cm), "Pullover").right


def test_worst_class_skips_classes_with_no_test_images() -> None:
    cm = np.eye(10, dtype=int) * 50
    cm[3] = 0  # no Dress in the test subset
    cm[8, 8], cm[8, 0] = 30, 20
    assert lessons.worst_class(evidence(confusion=cm), CLASS_NAMES[8]).right


def test_evidence_is_read_from_a_stored_run() -> None:
    store = RunStore()
    run = store.create(TrainConfig(epochs=2))
    probabilities = np.full((4, 10), 0.02)
    probabilities[np.arange(4), [0, 1, 1, 3]] = 0.82  # predicted 0, 1, 1, 3
    store.write_predictions(run.id, probabilities.astype(np.float32), np.array([0, 1, 2, 3]))
    store.write_history(run.id, epochs([0.5, 0.4], [0.45, 0.41]))
    store.write_metrics(run.id, final_metrics(epochs_run=2))
    ev = lessons.evidence(store, run.id)
    assert ev.confusion[2, 1] == 1 and ev.confusion[1, 1] == 1 and ev.confusion.sum() == 4
    assert ev.first_probabilities.argmax() == 0 and [r["loss"] for r in ev.history] == [0.5, 0.4]

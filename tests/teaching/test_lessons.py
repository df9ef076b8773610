"""Lessons: every check on crafted histories, metrics, pairs, groups and weights; a right answer says why in
the run's numbers, a wrong one gets a hint that does not contain the answer; setups become valid links."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.analysis import statistics
from fmnist_lab.analysis.monitoring import DayScore
from fmnist_lab.config import CLASS_NAMES
from fmnist_lab.teaching import lessons, monitoring_lesson
from fmnist_lab.teaching.evidence import Mistake, Seeds
from fmnist_lab.teaching.lessons import LESSONS, Evidence
from fmnist_lab.teaching.share import parse_setup
from fmnist_lab.ui.groups_ui import REPEATS_PARAM
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


LESSONS_BY_CHECK = {lesson.check: lesson for lesson in LESSONS}


def test_the_path_covers_the_course_in_order() -> None:
    """The first nine keep their numbers (old links such as ?lesson=9 still open Bias); new steps come after."""
    titles = [lesson.title for lesson in LESSONS]
    assert titles[0] == "The data set" and titles[8] == "Bias and its fixes"
    assert titles[9:] == ["Is it luck?", "Why did it say that?", monitoring_lesson.TITLE]


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.title)
def test_each_setup_link_gives_back_its_config_and_locks(lesson: lessons.Lesson) -> None:
    setup = parse_setup(lesson.params())
    assert setup.config == lesson.setup and setup.locked == lesson.locked and not setup.notes
    if lesson.pair is not None:
        other = parse_setup(lesson.pair_params() or {})
        assert other.config == lesson.pair and other.locked == lesson.locked and not other.notes


def test_the_group_steps_ask_the_train_page_for_five_seeds() -> None:
    asked = {lesson.title: lesson.params().get(REPEATS_PARAM) for lesson in LESSONS}
    assert lessons.REPEATS_PARAM == REPEATS_PARAM
    assert {title for title, repeats in asked.items() if repeats == "5"} == {
        "128 vs 1024 units",
        "Epochs and overfitting",
        "Is it luck?",
    }
    assert LESSONS[2].pair_params() == {"units": "128", "lock": "units", REPEATS_PARAM: "5"}


def wrong_gets_a_hint(check: lessons.Callable[[Evidence, str], lessons.Verdict], ev: Evidence, right: str) -> str:
    """Every wrong option's verdict: not right, the same hint, and the right answer nowhere in it."""
    hints = set()
    for option in LESSONS_BY_CHECK[check].options(ev):
        if option != right:
            verdict = check(ev, option)
            assert not verdict.right and right not in verdict.why, (option, verdict.why)
            hints.add(verdict.why)
    assert len(hints) == 1
    return hints.pop()


@pytest.mark.parametrize(
    ("units", "parameters", "right"),
    [((128,), 101_770, "784"), ((32, 16), 784 * 32 + 32 + 32 * 16 + 16 + 16 * 10 + 10, "784")],
)
def test_inputs_per_image_reads_the_first_layer(units: tuple[int, ...], parameters: int, right: str) -> None:
    ev = evidence(TrainConfig(hidden_units=units), parameters=parameters)
    assert lessons.inputs_per_image(ev, right).right
    assert f"784 × {units[0]}" in lessons.inputs_per_image(ev, right).why
    assert "pixels" in wrong_gets_a_hint(lessons.inputs_per_image, ev, right)


def pair(first_loss: float, partner_first_loss: float, normalize: bool = False) -> Evidence:
    """A run without ÷255 (or with it) and its partner, as the first epoch's training losses."""
    run = evidence(TrainConfig(normalize=normalize), history=epochs([first_loss, 0.5]))
    partner = evidence(TrainConfig(normalize=not normalize), history=epochs([partner_first_loss, 0.45]))
    return replace(run, partner=partner)


@pytest.mark.parametrize(
    ("raw", "scaled", "right"),
    [(2.91, 0.52, 0), (0.9, 0.6, 1), (0.62, 0.6, 2), (0.4, 0.6, 3)],
)
def test_scaling_compares_the_first_epoch_of_the_pair(raw: float, scaled: float, right: int) -> None:
    for ev in (pair(raw, scaled), pair(scaled, raw, normalize=True)):  # whichever of the two the learner picked
        verdict = lessons.scaling_changed_the_loss(ev, lessons.SCALING[right])
        assert verdict.right and f"{raw:.3f} without ÷255 and {scaled:.3f} with it ({raw / scaled:.1f}×)" in verdict.why
        hint = wrong_gets_a_hint(lessons.scaling_changed_the_loss, ev, lessons.SCALING[right])
        assert "epoch 1" in hint and f"{raw:.3f}" not in hint


def test_scaling_without_the_other_run_asks_for_it() -> None:
    verdict = lessons.scaling_changed_the_loss(evidence(TrainConfig(normalize=False)), lessons.SCALING[0])
    assert not verdict.right and verdict.why == lessons.NO_PAIR


def sized(units: int, accuracy: float, seconds: float) -> Evidence:
    config = TrainConfig(hidden_units=(units,))
    return evidence(config, test_accuracy=accuracy, seconds_per_epoch=seconds, parameters=config.parameter_count)


def bigger_pair(big: list[float], small: list[float], seconds: tuple[float, float], picked: str = "big") -> Evidence:
    """A 1024- and a 128-unit side (test accuracies in percent, seeds 0…); the learner picked ``picked``."""
    runs = {"big": sized(1024, big[0] / 100, seconds[0]), "small": sized(128, small[0] / 100, seconds[1])}
    other = "small" if picked == "big" else "big"
    a, b = (small, big) if picked == "big" else (big, small)  # A: the partner's side, B: the picked run's
    seeds = list(range(len(a)))
    comparison = statistics.compare(a, b, f"{other}", f"{picked}", seeds, seeds)
    return replace(runs[picked], partner=runs[other], comparison=comparison)


ISSUE_128 = [86.95, 87.29, 87.56, 87.44, 87.60]  # issue 25's five seeds
ISSUE_1024 = [87.81, 87.15, 88.14, 87.13, 88.43]


@pytest.mark.parametrize(
    ("big", "small", "seconds", "right", "said"),
    [
        ([87.8], [87.0], (4.0, 1.3), 3, statistics.ONE_RUN_EACH),
        ([88.6], [87.0], (2.0, 1.3), 0, statistics.ONE_RUN_EACH),
        (ISSUE_1024, ISSUE_128, (4.0, 1.3), 3, "this could be luck"),
        ([89.0, 89.2, 88.9], [87.0, 87.1, 87.3], (3.0, 1.3), 1, "more than the seeds' spread"),
    ],
)
def test_the_bigger_model_gain_and_time_from_the_learners_pair(
    big: list[float], small: list[float], seconds: tuple[float, float], right: int, said: str
) -> None:
    gain = np.mean(big) - np.mean(small)
    for picked in ("big", "small"):
        ev = bigger_pair(big, small, seconds, picked)
        verdict = lessons.bigger_model_buys(ev, lessons.BUYS[right])
        assert verdict.right and f"{gain:+.2f} points" in verdict.why and said in verdict.why
        assert f"{seconds[0] / seconds[1]:.1f}× the seconds per epoch" in verdict.why
        hint = wrong_gets_a_hint(lessons.bigger_model_buys, ev, lessons.BUYS[right])
        assert "seconds per epoch" in hint and f"{gain:+.2f}" not in hint


def test_the_bigger_model_without_a_pair_asks_for_it() -> None:
    assert lessons.bigger_model_buys(sized(1024, 0.88, 4.0), lessons.BUYS[0]).why == lessons.NO_PAIR


def test_lowest_held_out_epoch_reads_the_history() -> None:
    ev = evidence(history=epochs([0.6, 0.5, 0.4, 0.3, 0.2], [0.55, 0.45, 0.42, 0.44, 0.5]))
    assert lessons.epoch_options(ev) == ["1", "2", "3", "4", "5"]
    verdict = lessons.lowest_held_out_epoch(ev, "3")
    assert verdict.right and "lowest at epoch 3 (0.420) of 5" in verdict.why
    assert "held-out loss curve" in wrong_gets_a_hint(lessons.lowest_held_out_epoch, ev, "3")


def test_lowest_held_out_epoch_of_a_group_is_the_mean_curves() -> None:
    own = epochs([0.6, 0.5, 0.4, 0.3], [0.50, 0.40, 0.45, 0.60])  # lowest at 2
    other = epochs([0.6, 0.5, 0.4, 0.3], [0.50, 0.46, 0.30, 0.50])  # lowest at 3; the mean's lowest: 3 (0.375)
    ev = replace(evidence(history=own), seeds=Seeds((0.85, 0.86), (own, other)))
    verdict = lessons.lowest_held_out_epoch(ev, "3")
    assert verdict.right and "Averaged over your 2 seeds" in verdict.why and "(0.375)" in verdict.why
    assert "single seeds: epoch 2 to 3" in verdict.why
    assert not lessons.lowest_held_out_epoch(ev, "2").right


def test_lowest_held_out_epoch_without_a_held_out_set_is_never_right() -> None:
    for answer in ("1", "2"):
        verdict = lessons.lowest_held_out_epoch(evidence(history=epochs([0.6, 0.5])), answer)
        assert not verdict.right and "held-out set" in verdict.why


def test_a_partial_last_epoch_does_not_count() -> None:
    history = epochs([0.6, 0.5, 0.4], [0.5, 0.45, 0.3])
    history[-1]["fraction"] = 0.4  # stopped mid-epoch
    assert lessons.lowest_held_out_epoch(evidence(history=history), "2").right


def test_goal_epoch_from_the_metrics() -> None:
    stopped = evidence(stopped_by="loss goal", epochs_run=4)
    assert lessons.goal_epoch(stopped, "4").right
    assert not lessons.goal_epoch(stopped, lessons.ALL_EPOCHS).right
    ran = evidence(stopped_by=None, epochs_run=30)
    assert (
        lessons.goal_epoch(ran, lessons.ALL_EPOCHS).right
        and "all 30 epochs" in lessons.goal_epoch(ran, lessons.ALL_EPOCHS).why
    )
    assert "why training ended" in lessons.goal_epoch(ran, "3").why and "30" not in lessons.goal_epoch(ran, "3").why


def test_softmax_sum_quotes_the_first_vector() -> None:
    vector = np.array([0.01, 0.0, 0.02, 0.0, 0.0, 0.05, 0.0, 0.02, 0.0, 0.9])
    verdict = lessons.softmax_sum(evidence(probabilities=vector), "1")
    assert verdict.right and "1.000" in verdict.why and "Ankle boot" in verdict.why
    assert "add up" in wrong_gets_a_hint(lessons.softmax_sum, evidence(probabilities=vector), "1")


@pytest.mark.parametrize(("train", "test", "right"), [(0.91, 0.87, "Yes"), (0.85, 0.86, "No")])
def test_train_above_test(train: float, test: float, right: str) -> None:
    ev = evidence(train_accuracy=train, test_accuracy=test)
    assert lessons.train_above_test(ev, right).right
    assert f"{test:.1%}" in lessons.train_above_test(ev, right).why
    hint = wrong_gets_a_hint(lessons.train_above_test, ev, right)
    assert f"{test:.1%}" not in hint and f"{train:.1%}" not in hint


def test_worst_class_from_the_confusion() -> None:
    cm = np.eye(10, dtype=int) * 90 + 1  # every class: 90 right of 99
    cm[6] = [10, 0, 5, 0, 3, 0, 12, 0, 0, 0]  # Shirt: 12 of 30 found
    cm[2, 2] = 40  # Pullover: 40 of 49
    verdict = lessons.worst_class(evidence(confusion=cm), "Shirt")
    assert verdict.right and "40%" in verdict.why
    assert "Confusion page" in wrong_gets_a_hint(lessons.worst_class, evidence(confusion=cm), "Shirt")


def test_neuron_favourite_reads_the_class_means() -> None:
    means = np.array([0.1, 0.0, 0.3, 0.2, 0.25, 1.4, 0.05, 2.2, 0.9, 0.6])  # Sneaker highest, Trouser lowest
    ev = replace(evidence(), neuron_means=means)
    verdict = lessons.neuron_favourite(ev, "Sneaker")
    assert verdict.right and "most for Sneaker (2.20" in verdict.why and "least for Trouser (0.00)" in verdict.why
    assert "neuron 0" in wrong_gets_a_hint(lessons.neuron_favourite, ev, "Sneaker")


def test_neuron_favourite_skips_classes_with_no_images_and_needs_weights() -> None:
    means = np.array([0.1, np.nan, 0.3, 0.2, 0.25, 1.4, 0.05, 0.2, 0.9, 0.6])
    assert lessons.neuron_favourite(replace(evidence(), neuron_means=means), "Sandal").right
    verdict = lessons.neuron_favourite(evidence(), "Sandal")
    assert not verdict.right and "weights are not stored" in verdict.why


@pytest.mark.parametrize(
    ("accuracies", "right"),
    [((0.8695, 0.8729, 0.8756, 0.8744, 0.8760), 1), ((0.87, 0.8705, 0.871), 0), ((0.85, 0.87, 0.861), 2)],
)
def test_seed_spread_reads_the_learners_group(accuracies: tuple[float, ...], right: int) -> None:
    ev = replace(evidence(), seeds=Seeds(accuracies, ()))
    points = [100 * a for a in accuracies]
    verdict = lessons.seed_spread(ev, lessons.SPREADS[right])
    assert verdict.right and f"{max(points) - min(points):.2f} points apart" in verdict.why
    assert f"{min(points):.2f} %" in verdict.why
    assert "lowest test accuracy" in wrong_gets_a_hint(lessons.seed_spread, ev, lessons.SPREADS[right])


@pytest.mark.parametrize("seeds", [None, Seeds((0.87,), ())])
def test_seed_spread_needs_a_group_of_two(seeds: Seeds | None) -> None:
    verdict = lessons.seed_spread(replace(evidence(), seeds=seeds), lessons.SPREADS[1])
    assert not verdict.right and verdict.why == lessons.NO_GROUP


def test_template_match_names_the_best_template() -> None:
    matches = np.array([4.1, -2.0, 1.0, 0.5, 0.2, -3.0, 5.2, -1.0, 0.0, -4.0])  # Shirt best, then T-shirt/top
    ev = replace(evidence(), mistake=Mistake(12, 0, 6, matches))
    assert lessons.mistake_about(ev) == "Test image #12 is a T-shirt/top your run called Shirt."
    verdict = lessons.template_match(ev, "Shirt")
    assert verdict.right and "Shirt 5.20, T-shirt/top 4.10, Pullover 1.00" in verdict.why
    hint = wrong_gets_a_hint(lessons.template_match, ev, "Shirt")
    assert "#12" in hint and "5.20" not in hint


def test_template_match_without_a_mistake_says_why() -> None:
    verdict = lessons.template_match(evidence(), "Shirt")
    assert not verdict.right and "relu" in verdict.why


def test_the_monitoring_step_checks_the_deployed_days() -> None:
    accuracies = [0.80, 0.82, 0.84, 0.82, 0.80, 0.81, 0.83] + [0.82] * 9 + [0.75] + [0.70] * 11  # day 17 leaves
    days = tuple(
        DayScore(day, 300, a, 0.9, np.full(10, a), np.zeros(10, int)) for day, a in enumerate(accuracies, start=1)
    )
    ev = replace(evidence(), days=days)
    lesson = LESSONS[-1]
    assert "day 17" in lesson.options(ev) and lesson.check(ev, "day 17").right
    wrong = lesson.check(ev, "day 20")
    assert not wrong.right and "day 17" not in wrong.why.lower()
    assert "cannot be deployed" in lesson.check(evidence(), "day 17").why


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

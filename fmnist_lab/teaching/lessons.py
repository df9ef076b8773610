"""A guided path through the course's ideas: one step per idea, each checked against the learner's own run.

A ``Lesson`` has a title, two or three sentences, a setup (a config and the controls it locks, which
``share.setup_params`` turns into a Train-page link), and a question. The learner answers from what
they saw; ``check(evidence, answer)`` decides from the run's stored data (history, metrics, the test
predictions) and returns a ``Verdict`` that says why, in numbers from that run. Every check is pure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from fmnist_lab.analysis.metrics import confusion_matrix, predicted
from fmnist_lab.config import CLASS_NAMES, INPUT_PIXELS, TrainConfig
from fmnist_lab.store.runs import RunStore
from fmnist_lab.teaching.share import setup_params


@dataclass(frozen=True)
class Evidence:
    """What a finished run left behind, as the checks read it."""

    config: TrainConfig
    history: list[dict]  # one record per epoch: loss, accuracy, val_loss, val_accuracy, fraction
    metrics: dict  # metrics.json: test_accuracy, train_accuracy, parameters, stopped_by, epochs_run, …
    confusion: np.ndarray  # (10, 10) test images: row true class, column predicted
    first_probabilities: np.ndarray  # (10,) the softmax vector of the first test image


@dataclass(frozen=True)
class Verdict:
    right: bool
    why: str  # one sentence from the learner's run


@dataclass(frozen=True)
class Lesson:
    title: str
    text: str
    setup: TrainConfig
    question: str
    options: Callable[[Evidence], list[str]]
    check: Callable[[Evidence, str], Verdict]
    locked: frozenset[str] = field(default_factory=frozenset)

    def params(self) -> dict[str, str]:
        """The Train page's URL parameters for this step's setup."""
        return setup_params(self.setup, self.locked)


def evidence(store: RunStore, run_id: str) -> Evidence:
    """The stored data of ``run_id``; RunStoreError if it is missing or damaged."""
    run = store.load(run_id)
    probabilities, labels = store.predictions(run_id)  # (n, 10), (n,)
    cm = confusion_matrix(labels, predicted(probabilities))
    return Evidence(run.config, store.history(run_id), run.metrics, cm, probabilities[0])


def _verdict(answer: str, expected: str, why: str) -> Verdict:
    return Verdict(answer == expected, why)


def _complete(history: list[dict]) -> list[dict]:
    return [record for record in history if record.get("fraction", 1) >= 1]


# -- the checks --------------------------------------------------------------------------------------------------
def inputs_per_image(ev: Evidence, answer: str) -> Verdict:
    units = ev.config.hidden_units[0]
    rest = TrainConfig(hidden_units=ev.config.hidden_units).parameter_count - (INPUT_PIXELS + 1) * units
    inputs = (ev.metrics["parameters"] - rest - units) // units  # first layer: inputs × units weights + units biases
    why = f"Your first Dense layer has {inputs} × {units} weights: it reads {inputs} numbers, one per pixel of 28×28."
    return _verdict(answer, str(inputs), why)


def loss_always_fell(ev: Evidence, answer: str) -> Verdict:
    losses = [record["loss"] for record in _complete(ev.history)]
    rises = [i + 2 for i, (a, b) in enumerate(zip(losses, losses[1:], strict=False)) if b >= a]
    shown = " → ".join(f"{loss:.2f}" for loss in losses)
    why = f"Your training loss went {shown}" + (
        f"; it rose at epoch {rises[0]}." if rises else ", falling every epoch."
    )
    return _verdict(answer, "No" if rises else "Yes", why)


def parameter_ratio(ev: Evidence, answer: str) -> Verdict:
    ratio = ev.metrics["parameters"] / TrainConfig().parameter_count
    nearest = min(RATIOS, key=lambda option: abs(int(option.rstrip("×")) - ratio))
    why = (
        f"Your model learns {ev.metrics['parameters']:,} parameters, {ratio:.1f}× the 128-unit model's 101,770, "
        f"for a test accuracy of {ev.metrics['test_accuracy']:.1%}: many more weights, a point or so more accuracy."
    )
    return _verdict(answer, nearest, why)


RATIOS = ["2×", "4×", "8×", "16×"]


def lowest_held_out_epoch(ev: Evidence, answer: str) -> Verdict:
    losses = [record.get("val_loss") for record in _complete(ev.history)]
    if not losses or any(loss is None for loss in losses):
        return Verdict(False, "This run scored nothing after each epoch: train it with a held-out set.")
    best = int(np.argmin(np.array(losses, dtype=float))) + 1
    why = f"Your held-out loss was lowest at epoch {best} ({losses[best - 1]:.3f}) of {len(losses)}"
    return _verdict(
        answer,
        str(best),
        why + ("; after it, the model learnt its training images by heart." if best < len(losses) else "."),
    )


def epoch_options(ev: Evidence) -> list[str]:
    return [str(epoch) for epoch in range(1, len(_complete(ev.history)) + 1)]


ALL_EPOCHS = "It ran every epoch"


def goal_epoch(ev: Evidence, answer: str) -> Verdict:
    run = ev.metrics.get("epochs_run", len(_complete(ev.history)))
    if ev.metrics.get("stopped_by") in ("loss goal", "accuracy goal"):
        return _verdict(answer, str(run), f"Your {ev.metrics['stopped_by']} ended training after epoch {run}.")
    return _verdict(answer, ALL_EPOCHS, f"No goal was reached: your run went through all {run} epochs.")


def softmax_sum(ev: Evidence, answer: str) -> Verdict:
    vector, total = ev.first_probabilities, float(np.sum(ev.first_probabilities))
    top = int(np.argmax(vector))
    why = f"Your first test image's 10 numbers add up to {total:.3f}; "
    why += f"the largest, {vector[top]:.2f}, says {CLASS_NAMES[top]}."
    return _verdict(answer, "1", why)


def train_above_test(ev: Evidence, answer: str) -> Verdict:
    train, test = ev.metrics["train_accuracy"], ev.metrics["test_accuracy"]
    why = f"Training accuracy {train:.1%}, test accuracy {test:.1%}: the model scores "
    why += "better on images it has seen." if train > test else "no better on images it has seen."
    return _verdict(answer, "Yes" if train > test else "No", why)


def weights_per_neuron(ev: Evidence, answer: str) -> Verdict:
    return inputs_per_image(ev, answer)


def worst_class(ev: Evidence, answer: str) -> Verdict:
    totals = ev.confusion.sum(axis=1)
    recall = np.where(totals > 0, np.diag(ev.confusion) / np.maximum(totals, 1), np.inf)  # (10,) found per class
    worst = int(np.argmin(recall))
    why = f"Your model found {recall[worst]:.0%} of the test {CLASS_NAMES[worst]} images, its lowest; "
    why += "a balance setting (class weights, oversampling) can lift it."
    return _verdict(answer, CLASS_NAMES[worst], why)


def _fixed(*options: str) -> Callable[[Evidence], list[str]]:
    return lambda ev: list(options)


LESSONS: tuple[Lesson, ...] = (
    Lesson(
        "The data set",
        "Fashion-MNIST has 70,000 greyscale pictures of clothes, 28×28 bytes each, in 10 classes. It replaced "
        "handwritten digits (MNIST) because digits are too easy: nearly any model gets 98% right.",
        TrainConfig(epochs=1),
        "How many numbers does your model read for each image?",
        _fixed("10", "28", "784", "60000"),
        inputs_per_image,
    ),
    Lesson(
        "Normalisation",
        "Pixels are 0–255. Dividing by 255 puts them in 0–1, so the first weight updates are small and sensible. "
        "Train once without ÷255 and watch the loss.",
        TrainConfig(normalize=False),
        "Without ÷255, did your training loss fall every epoch?",
        _fixed("Yes", "No"),
        loss_always_fell,
        frozenset({"norm"}),
    ),
    Lesson(
        "128 vs 1024 units",
        "More neurons can learn finer patterns, but each one costs 795 weights. Compare a 1024-unit run with a "
        "128-unit one: the gain is small for the price (diminishing returns).",
        TrainConfig(hidden_units=(1024,)),
        "About how many times the 128-unit model's parameters does your model learn?",
        _fixed(*RATIOS),
        parameter_ratio,
        frozenset({"units"}),
    ),
    Lesson(
        "Epochs and overfitting",
        "Each epoch shows the model every training image once more. Training loss keeps falling, but after some "
        "epochs the held-out loss turns up: the model memorises. Try 5, 15 and 30 epochs.",
        TrainConfig(epochs=30),
        "At which epoch was your held-out loss lowest?",
        epoch_options,
        lowest_held_out_epoch,
    ),
    Lesson(
        "Stopping at a goal",
        "The course's myCallback ends training once the loss is low enough. The lab's loss and accuracy goals "
        "do the same after each epoch.",
        TrainConfig(epochs=30, stop_loss=0.4),
        "After which epoch did your goal stop training?",
        lambda ev: [*epoch_options(ev), ALL_EPOCHS],
        goal_epoch,
    ),
    Lesson(
        "Softmax and model.predict",
        "The last layer's softmax turns 10 scores into 10 chances. model.predict gives one such vector per image; "
        "the largest entry is the answer. See them on the Predictions page.",
        TrainConfig(),
        "What do the 10 numbers of one prediction add up to?",
        _fixed("0", "1", "10", "784"),
        softmax_sum,
    ),
    Lesson(
        "Training vs test accuracy",
        "The model is scored on the images it trained on and on 10,000 it never saw. The gap shows how well it "
        "generalises.",
        TrainConfig(epochs=15),
        "Was your training accuracy higher than your test accuracy?",
        _fixed("Yes", "No"),
        train_above_test,
    ),
    Lesson(
        "What a neuron looks for",
        "Each first-layer neuron weighs every pixel: bright weights where it wants light, dark where it wants none. "
        "The Inside page draws these weights as 28×28 pictures.",
        TrainConfig(),
        "How many weights (besides its bias) does one first-layer neuron have?",
        _fixed("10", "128", "784", "101770"),
        weights_per_neuron,
    ),
    Lesson(
        "Bias and its fixes",
        "Keep only 10% of the Shirts and the model meets few of them: it serves that class badly. Class weights, "
        "oversampling or augmented copies make up for it; try them on the Bias lab page.",
        TrainConfig(class_shares=((6, 0.1),)),
        "Which class did your model serve worst (the lowest share of its test images found)?",
        _fixed(*CLASS_NAMES),
        worst_class,
        frozenset({"bias"}),
    ),
)

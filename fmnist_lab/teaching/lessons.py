"""A guided path through the course's ideas: one step per idea, each checked against the learner's own run.

A ``Lesson`` has a title, two or three sentences, a setup (a config, the controls it locks and how many
seeds to train it over, which ``share.setup_params`` turns into a Train-page link; a pair step has a
second setup), and a question. The learner answers from what they saw; ``check(evidence, answer)``
decides from the run's stored data (and, as the step's ``Needs`` say, its pair, its group over seeds,
its weights) and returns a ``Verdict``: right, with why in numbers from that run; wrong, with a hint
that leads to the answer without giving it. Every check is pure.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from fmnist_lab.config import CLASS_NAMES, INPUT_PIXELS, SETTINGS, TrainConfig
from fmnist_lab.teaching import monitoring_lesson
from fmnist_lab.teaching.evidence import Evidence, Needs, evidence, gather
from fmnist_lab.teaching.share import format_value, setup_params
from fmnist_lab.teaching.verdict import Verdict, verdict

__all__ = ["LESSONS", "Evidence", "Lesson", "Needs", "Verdict", "evidence", "gather"]

REPEATS_PARAM = "repeats"  # the Train page's "Repeat over seeds" in a link (ui.groups_ui.REPEATS_PARAM)


@dataclass(frozen=True)
class Lesson:
    title: str
    text: str
    setup: TrainConfig
    question: str
    options: Callable[[Evidence], list[str]]
    check: Callable[[Evidence, str], Verdict]
    locked: frozenset[str] = field(default_factory=frozenset)
    pair: TrainConfig | None = None  # the other run of a pair step: the setup with the step's setting changed
    repeats: int = 1  # seeds the link asks the Train page to train the setup over
    seeds: bool = False  # the check reads the run's group
    weights: frozenset[str] = frozenset()  # what the check reads from the weights: "neuron", "mistake", "days"
    about: Callable[[Evidence], str] | None = None  # the question's subject in this run's terms

    def params(self) -> dict[str, str]:
        """The Train page's URL parameters for this step's setup."""
        return self._params(self.setup)

    def pair_params(self) -> dict[str, str] | None:
        """The Train page's URL parameters for the pair's other run, if the step has a pair: the settings
        that tell the two apart are spelt out even at their defaults (``norm=1``, ``units=128``)."""
        if self.pair is None:
            return None
        named = {SETTINGS[name].param: format_value(name, getattr(self.pair, name)) for name in self.needs.pair}
        return self._params(self.pair) | named

    @property
    def needs(self) -> Needs:
        pair = frozenset(name for name, _, _ in self.pair.differences(self.setup)) if self.pair else frozenset()
        return Needs(pair, self.seeds, "neuron" in self.weights, "mistake" in self.weights, "days" in self.weights)

    def _params(self, config: TrainConfig) -> dict[str, str]:
        repeats = {REPEATS_PARAM: str(self.repeats)} if self.repeats > 1 else {}
        return setup_params(config, self.locked) | repeats


def _complete(history: list[dict]) -> list[dict]:
    return [record for record in history if record.get("fraction", 1) >= 1]


# -- the checks --------------------------------------------------------------------------------------------------
def inputs_per_image(ev: Evidence, answer: str) -> Verdict:
    units = ev.config.hidden_units[0]
    rest = TrainConfig(hidden_units=ev.config.hidden_units).parameter_count - (INPUT_PIXELS + 1) * units
    inputs = (ev.metrics["parameters"] - rest - units) // units  # first layer: inputs × units weights + units biases
    why = f"Your first Dense layer has {inputs} × {units} weights: it reads {inputs} numbers, one per pixel of 28×28."
    hint = "Flatten lays the picture out as one long row of numbers, one per pixel: how many pixels has an image?"
    return verdict(answer, str(inputs), why, hint)


NO_PAIR = "This step compares two of your runs: train the other one too (its link is above), then check again."
SCALING = [
    "Higher without ÷255: more than twice as high",
    "Higher without ÷255, but less than twice as high",
    "About the same (within 10 %)",
    "Lower without ÷255",
]


def _first_loss(ev: Evidence) -> float | None:
    epochs = _complete(ev.history)
    return None if not epochs or epochs[0].get("loss") is None else float(epochs[0]["loss"])


def scaling_changed_the_loss(ev: Evidence, answer: str) -> Verdict:
    """Lesson 2: the first epoch's training loss of the learner's pair, without ÷255 against with it."""
    if ev.partner is None:
        return Verdict(False, NO_PAIR)
    raw, scaled = (ev, ev.partner) if not ev.config.normalize else (ev.partner, ev)
    loss_raw, loss_scaled = _first_loss(raw), _first_loss(scaled)
    if loss_raw is None or loss_scaled is None or loss_scaled <= 0 or not math.isfinite(loss_raw):
        return Verdict(False, "One of your two runs has no finite first-epoch loss: train it again.")
    ratio = loss_raw / loss_scaled
    expected = SCALING[0 if ratio >= 2 else 1 if ratio >= 1.1 else 2 if ratio > 1 / 1.1 else 3]
    why = (
        f"Your first epoch's training loss was {loss_raw:.3f} without ÷255 and {loss_scaled:.3f} with it "
        f"({ratio:.1f}×). Pixels of 0–255 make every neuron's sum hundreds of times larger, so the first "
        "updates overshoot; ÷255 keeps them small and sensible."
    )
    hint = (
        "Open both runs on the Compare page (or each on the Train page) and read the training loss at epoch 1; "
        "divide the one without ÷255 by the one with it."
    )
    return verdict(answer, expected, why, hint)


BUYS = [
    "A point or more of accuracy, for at most twice the time per epoch",
    "A point or more of accuracy, for more than twice the time per epoch",
    "Less than a point (or none), for at most twice the time per epoch",
    "Less than a point (or none), for more than twice the time per epoch",
]


def bigger_model_buys(ev: Evidence, answer: str) -> Verdict:
    """Lesson 3: the bigger model's gain (points; group means where both sides are groups) and time ratio."""
    if ev.partner is None or ev.comparison is None:
        return Verdict(False, NO_PAIR)
    big, small = (ev, ev.partner) if ev.config.hidden_units > ev.partner.config.hidden_units else (ev.partner, ev)
    gain = ev.comparison.difference * (1 if big is ev else -1)  # B − A is this run's side minus the partner's
    seconds = big.metrics.get("seconds_per_epoch"), small.metrics.get("seconds_per_epoch")
    if not all(isinstance(s, int | float) and s > 0 for s in seconds):
        return Verdict(False, "One of your two runs did not record its seconds per epoch: train it again.")
    ratio = float(seconds[0]) / float(seconds[1])  # type: ignore[arg-type]
    expected = BUYS[2 * (gain < 1.0) + (ratio > 2)]
    sizes = [" × ".join(map(str, side.config.hidden_units)) for side in (big, small)]
    runs = "on average over seeds" if min(ev.comparison.a.n, ev.comparison.b.n) > 1 else "in one run each"
    why = (
        f"Your {sizes[0]}-unit model scored {gain:+.2f} points against the {sizes[1]}-unit one {runs}, for "
        f"{ratio:.1f}× the seconds per epoch and {big.metrics['parameters'] / small.metrics['parameters']:.0f}× "
        f"the parameters. {ev.comparison.verdict}"
    ).replace("+-", "−")
    hint = (
        "Read both runs' test accuracy and seconds per epoch (Compare page, or each run's summary on the Train "
        "page): the gain is bigger − smaller, in points; the time is bigger ÷ smaller."
    )
    return verdict(answer, expected, why, hint)


def _held_out_losses(history: list[dict]) -> list[float] | None:
    losses = [record.get("val_loss") for record in _complete(history)]
    if not losses or any(loss is None for loss in losses):
        return None
    return [float(loss) for loss in losses if loss is not None]


def lowest_held_out_epoch(ev: Evidence, answer: str) -> Verdict:
    """Lesson 4: the epoch of the lowest held-out loss; over the group's seeds (their mean) when it has several."""
    members = [h for h in (ev.seeds.histories if ev.seeds else ()) if _held_out_losses(h)]
    curves = [_held_out_losses(h) for h in members] if len(members) > 1 else [_held_out_losses(ev.history)]
    if any(curve is None for curve in curves):
        return Verdict(False, "This run scored nothing after each epoch: train it with a held-out set.")
    length = min(len(curve) for curve in curves if curve)
    mean = np.mean([curve[:length] for curve in curves if curve], axis=0)  # (epochs,)
    best = int(np.argmin(mean)) + 1
    why = f"Your held-out loss was lowest at epoch {best} ({mean[best - 1]:.3f}) of {length}"
    if len(curves) > 1:
        each = sorted(int(np.argmin(curve[:length])) + 1 for curve in curves if curve)
        why = f"Averaged over your {len(curves)} seeds, " + why[0].lower() + why[1:]
        why += f" (single seeds: epoch {each[0]} to {each[-1]})"
    why += "; after it, the model learnt its training images by heart." if best < length else "."
    hint = "Find the lowest point of the solid held-out loss curve on the Train page (Compare for a group's mean)."
    return verdict(answer, str(best), why, hint)


def epoch_options(ev: Evidence) -> list[str]:
    return [str(epoch) for epoch in range(1, len(_complete(ev.history)) + 1)]


ALL_EPOCHS = "It ran every epoch"


def goal_epoch(ev: Evidence, answer: str) -> Verdict:
    run = ev.metrics.get("epochs_run", len(_complete(ev.history)))
    hint = "The run's summary on the Train page says why training ended, and after how many epochs."
    if ev.metrics.get("stopped_by") in ("loss goal", "accuracy goal"):
        return verdict(answer, str(run), f"Your {ev.metrics['stopped_by']} ended training after epoch {run}.", hint)
    return verdict(answer, ALL_EPOCHS, f"No goal was reached: your run went through all {run} epochs.", hint)


def softmax_sum(ev: Evidence, answer: str) -> Verdict:
    vector, total = ev.first_probabilities, float(np.sum(ev.first_probabilities))
    top = int(np.argmax(vector))
    why = f"Your first test image's 10 numbers add up to {total:.3f}; "
    why += f"the largest, {vector[top]:.2f}, says {CLASS_NAMES[top]}."
    hint = "On the Predictions page, add up the ten numbers under one image's bars."
    return verdict(answer, "1", why, hint)


def train_above_test(ev: Evidence, answer: str) -> Verdict:
    train, test = ev.metrics["train_accuracy"], ev.metrics["test_accuracy"]
    why = f"Training accuracy {train:.1%}, test accuracy {test:.1%}: the model scores "
    why += "better on images it has seen." if train > test else "no better on images it has seen."
    hint = "The run's summary on the Train page gives both: its training accuracy and its test accuracy."
    return verdict(answer, "Yes" if train > test else "No", why, hint)


def neuron_favourite(ev: Evidence, answer: str) -> Verdict:
    """Lesson 8: the class whose test images make neuron 0 fire most on average."""
    if ev.neuron_means is None or not np.isfinite(ev.neuron_means).any():
        return Verdict(False, "This run's weights are not stored, so its neurons cannot be read: train it again.")
    means = np.where(np.isfinite(ev.neuron_means), ev.neuron_means, -np.inf)
    top, low = int(np.argmax(means)), int(np.argmin(np.where(np.isfinite(ev.neuron_means), means, np.inf)))
    why = (
        f"Neuron 0 fired most for {CLASS_NAMES[top]} ({means[top]:.2f} on average) and least for "
        f"{CLASS_NAMES[low]} ({means[low]:.2f}): its picture's bright weights sit where {CLASS_NAMES[top]} "
        "images have ink."
    )
    hint = "On the Inside page, choose neuron 0: the bars of its mean activation per class show which class it likes."
    return verdict(answer, CLASS_NAMES[top], why, hint)


def worst_class(ev: Evidence, answer: str) -> Verdict:
    totals = ev.confusion.sum(axis=1)
    recall = np.where(totals > 0, np.diag(ev.confusion) / np.maximum(totals, 1), np.inf)  # (10,) found per class
    worst = int(np.argmin(recall))
    why = f"Your model found {recall[worst]:.0%} of the test {CLASS_NAMES[worst]} images, its lowest; "
    why += "a balance setting (class weights, oversampling) can lift it."
    hint = "On the Confusion page, find the diagonal cell with the lowest share of its row."
    return verdict(answer, CLASS_NAMES[worst], why, hint)


SPREADS = ["Less than 0.2 points", "0.2 to 1 point", "More than 1 point"]
NO_GROUP = (
    "This step reads a group: train the setup over 5 seeds (the link asks for 5), wait for two or more to "
    "finish, then pick one of its runs."
)


def seed_spread(ev: Evidence, answer: str) -> Verdict:
    """Is it luck? The spread (highest − lowest test accuracy, points) of the run's group over seeds."""
    if ev.seeds is None or len(ev.seeds.accuracies) < 2:
        return Verdict(False, NO_GROUP)
    points = [100 * a for a in ev.seeds.accuracies]
    spread = max(points) - min(points)
    expected = SPREADS[0 if spread < 0.2 else 1 if spread <= 1 else 2]
    why = (
        f"Your {len(points)} seeds scored {min(points):.2f} % to {max(points):.2f} %: {spread:.2f} points apart, "
        f"with nothing changed but the seed. A difference between two single runs smaller than that could be "
        "luck: compare groups, and read the verdict on the Compare page."
    )
    hint = (
        "Open the group on the Compare page (or each of its runs): subtract the lowest test accuracy from the highest."
    )
    return verdict(answer, expected, why, hint)


def mistake_about(ev: Evidence) -> str:
    if (m := ev.mistake) is None:
        return "Your run needs stored weights, relu neurons and at least one mistake for this step."
    return f"Test image #{m.index} is a {CLASS_NAMES[m.true]} your run called {CLASS_NAMES[m.predicted]}."


def template_match(ev: Evidence, answer: str) -> Verdict:
    """Why did it say that? The class whose effective template, dotted with the image, is largest."""
    if (m := ev.mistake) is None:
        return Verdict(False, mistake_about(ev))
    best = int(np.argmax(m.matches))
    order = np.argsort(-m.matches)[:3]
    shown = ", ".join(f"{CLASS_NAMES[c]} {m.matches[c]:.2f}" for c in order)
    why = (
        f"Template × image for test image #{m.index}: {shown}. {CLASS_NAMES[best]}'s template matched best; "
        f"with each class's bias terms added these sums are the logits, and your run answered "
        f"{CLASS_NAMES[m.predicted]}."
    )
    hint = (
        f"Open test image #{m.index} on the Predictions page (browse by index): under *Why this answer?*, "
        "compare the classes' template × image sums."
    )
    return verdict(answer, CLASS_NAMES[best], why, hint)


def monitoring_alert(ev: Evidence, answer: str) -> Verdict:
    """The monitoring step: the first day the accuracy alert fired on the learner's deployed run."""
    if not ev.days:
        return Verdict(False, "This run's weights are not stored, so it cannot be deployed: train it again.")
    return monitoring_lesson.check(ev.days, answer)


def _pair_about(ev: Evidence) -> str:
    if ev.partner is None:
        return "No other run of this pair yet: train the second setup too."
    return f"Your pair: this run and run {ev.partner.run_id} ({ev.partner.config.summary()})."


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
        "Train twice: once without ÷255 (*Set it up*), once with it (the second link), and compare the loss of "
        "the first epoch.",
        TrainConfig(normalize=False),
        "How did ÷255 change your first epoch's training loss?",
        _fixed(*SCALING),
        scaling_changed_the_loss,
        frozenset({"norm"}),
        pair=TrainConfig(normalize=True),
        about=_pair_about,
    ),
    Lesson(
        "128 vs 1024 units",
        "More neurons can learn finer patterns, but each one costs 795 weights. Train each 5 times (the links ask "
        "for 5 seeds), 1024 units and 128: is the gain worth the time, and is it more than luck?",
        TrainConfig(hidden_units=(1024,)),
        "What did your bigger model buy over the smaller one?",
        _fixed(*BUYS),
        bigger_model_buys,
        frozenset({"units"}),
        pair=TrainConfig(),
        repeats=5,
        about=_pair_about,
    ),
    Lesson(
        "Epochs and overfitting",
        "Each epoch shows the model every training image once more. Training loss keeps falling, but after some "
        "epochs the held-out loss turns up: the model memorises. Train 30 epochs over 5 seeds: one seed's lowest "
        "point can wander, their mean's less.",
        TrainConfig(epochs=30),
        "At which epoch was your held-out loss lowest (on average over your seeds, if you trained several)?",
        epoch_options,
        lowest_held_out_epoch,
        repeats=5,
        seeds=True,
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
        "The Inside page draws these weights as 28×28 pictures, and beside each the classes that make it fire.",
        TrainConfig(),
        "Choose neuron 0 on the Inside page. Which class's test images make it fire most, on average?",
        _fixed(*CLASS_NAMES),
        neuron_favourite,
        weights=frozenset({"neuron"}),
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
    Lesson(
        "Is it luck?",
        "Train one setup over 5 seeds: only the random start and the order of the images change, yet the test "
        "accuracies differ. That spread is luck, and a difference between two setups smaller than it says "
        "nothing. Then compare two groups (say 128 vs 1024 units, 5 seeds each) on the Compare page and read "
        "its verdict.",
        TrainConfig(),
        "How far apart were the highest and the lowest test accuracy of your seeds?",
        _fixed(*SPREADS),
        seed_spread,
        repeats=5,
        seeds=True,
    ),
    Lesson(
        "Why did it say that?",
        "For a relu network an answer comes apart exactly: once an image fixes which neurons fire, each class's "
        "score is a template (a 28×28 picture of weights) dotted with the image, plus bias terms. The Predictions "
        "page shows them under *Why this answer?*.",
        TrainConfig(),
        "Which class's template matched this image best (the largest template × image sum)?",
        _fixed(*CLASS_NAMES),
        template_match,
        weights=frozenset({"mistake"}),
        about=mistake_about,
    ),
    Lesson(
        monitoring_lesson.TITLE,
        monitoring_lesson.TEXT,
        TrainConfig(),
        monitoring_lesson.QUESTION,
        lambda ev: monitoring_lesson.options(ev.days),
        monitoring_alert,
        weights=frozenset({"days"}),
    ),
)

"""One frozen ``TrainConfig``: every choice a learner can make about a training run.

Each field describes itself once (``settings.Setting`` in its metadata): label, help, range or
choices, URL parameter, CLI flag, control group, and how it reads in a summary. The rules between
fields are declared here too (``RULES``: the explicit ones, and one per setting with ``applies_when``).
Widgets, links and the CLI all build a ``TrainConfig`` from those descriptions; the library takes it. Frozen
makes it hashable, so it can key a cache, and ``to_dict``/``from_dict`` give the JSON stored
beside each run.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from fmnist_lab.settings import ConfigError, Rule, RuleError, Setting, applies_rule

ACTIVATIONS = ("relu", "sigmoid", "tanh")
OPTIMIZERS = ("adam", "sgd", "rmsprop")
CLASS_NAMES = (  # Fashion-MNIST's labels 0–9
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
HOLDOUTS = ("test", "split", "none")
BALANCES = ("none", "class-weights", "oversample", "augment")
DEFAULT_LEARNING_RATES = {"adam": 0.001, "sgd": 0.01, "rmsprop": 0.001}  # Keras' defaults

MAX_UNITS = 4096
MAX_LAYERS = 4
MAX_EPOCHS = 100
MAX_BATCH = 4096
MAX_SEED = 2**31 - 1
MAX_DROPOUT = 0.9
MAX_PENALTY = 0.1  # an L1 or L2 factor above this drowns the data's loss
TRAIN_SIZE = 60_000
TEST_SIZE = 10_000
INPUT_PIXELS = 28 * 28
NUM_CLASSES = 10

__all__ = ["ConfigError", "Rule", "RuleError", "Setting", "TrainConfig", "SETTINGS", "RULES", "setting_of"]


def _setting(default: Any, **description: Any) -> Any:
    """A dataclass field whose metadata holds its ``Setting``."""
    return field(default=default, metadata={"setting": Setting(**description)})


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines one training run of the course model."""

    hidden_units: tuple[int, ...] = _setting(
        (128,),  # one Dense layer per entry
        label="Hidden units",
        help="Neurons in each hidden layer. More units learn finer patterns but take longer; 128 vs 1024 is the "
        "classic comparison: 1024 gains about a point of accuracy for eight times the parameters.",
        kind="layers",
        param="units",
        flag="--hidden-units",
        meaning="a layer needs at least one neuron",
        low=1,
        high=MAX_UNITS,
        short="{} units",
        widget={"layers": (1, MAX_LAYERS), "presets": (32, 64, 128, 256, 512, 1024)},
    )
    epochs: int = _setting(
        5,
        label="Epochs",
        help="Passes over all training images. Watch the held-out curve: after ~10 epochs it flattens while "
        "training keeps improving — overfitting (try 5 vs 30).",
        kind="int",
        param="epochs",
        flag="--epochs",
        meaning="one epoch is one pass over the training images",
        low=1,
        high=MAX_EPOCHS,
        short="{} epochs",
        widget={"slider": (1, MAX_EPOCHS)},  # as far as links and the CLI go
    )
    stop_loss: float | None = _setting(
        None,  # stop after the first epoch whose training loss falls below
        label="Loss goal",
        help="A Keras callback checks the training loss after each epoch and ends training once it is below "
        "this goal (try 0.25).",
        kind="float",
        param="stop",
        flag="--stop-loss",
        low=0,
        above=True,
        optional="no loss goal",
        short="stop<{:g}",
        widget={"range": (0.01, 5.0), "step": 0.01, "format": "%.2f", "start": 0.25},
    )
    normalize: bool = _setting(
        True,  # divide pixels by 255.0 so inputs lie in [0, 1]
        label="Normalise pixels ÷255",
        help="Scale pixels from 0–255 to 0–1. Without it the first updates are huge and the loss starts far higher.",
        kind="bool",
        param="norm",
        flag="--normalize",
        short="÷255|no ÷255",
        column="÷255",
    )
    dropout: float = _setting(
        0.0,  # Keras Dropout after each hidden layer; off at inference
        label="Dropout",
        help="While training, each hidden neuron's output is zeroed with this probability, so no neuron can "
        "rely on another: a classic cure for overfitting (try 0.2 at 1024 units for 30 epochs).",
        kind="float",
        param="dropout",
        flag="--dropout",
        meaning="the share of hidden outputs zeroed at each step",
        low=0.0,
        high=MAX_DROPOUT,
        short="dropout {:g}",
        widget={"range": (0.0, 0.8), "step": 0.05, "section": "Overfitting"},
    )
    l2: float = _setting(
        0.0,  # Keras L1L2 kernel penalty on every Dense layer (hidden and output): l2 · Σ w²
        label="L2 penalty",
        help="Adds this factor times the sum of all squared weights to the loss, so large weights cost more and "
        "the model prefers smooth, simple answers (try 0.0001 at 1024 units for 30 epochs; 0.01 is strong).",
        kind="float",
        param="l2",
        flag="--l2",
        meaning="the factor on the sum of squared weights",
        low=0.0,
        high=MAX_PENALTY,
        short="L2 {:g}",
        widget={"range": (0.0, MAX_PENALTY), "step": 0.0001, "section": "Overfitting"},
    )
    l1: float = _setting(
        0.0,  # Keras L1L2 kernel penalty on every Dense layer (hidden and output): l1 · Σ |w|
        label="L1 penalty",
        help="Adds this factor times the sum of the weights' sizes to the loss, pushing unneeded weights to "
        "exactly zero (try 0.0001; much more and the model stops learning).",
        kind="float",
        param="l1",
        flag="--l1",
        meaning="the factor on the sum of absolute weights",
        low=0.0,
        high=MAX_PENALTY,
        short="L1 {:g}",
        widget={"range": (0.0, MAX_PENALTY), "step": 0.0001, "section": "Overfitting"},
    )
    early_stopping: int | None = _setting(
        None,  # patience in epochs; Keras EarlyStopping on the held-out loss, restoring the best weights
        label="Early stopping",
        help="Stop once the held-out loss has not improved for this many epochs, and keep the weights of the "
        "best epoch. Needs something scored after each epoch (try 30 epochs with and without patience 3).",
        kind="int",
        param="patience",
        flag="--early-stopping",
        meaning="epochs to wait for a better held-out loss",
        low=1,
        high=MAX_EPOCHS,
        optional="no early stopping",
        short="patience {}",
        widget={"presets": (None, 2, 3, 5, 10), "section": "Overfitting"},
    )
    stop_accuracy: float | None = _setting(
        None,  # stop after the first epoch whose training accuracy reaches this
        label="Accuracy goal",
        help="A Keras callback ends training after the first epoch whose training accuracy is at or above this "
        "goal: when 95% is enough, why train longer? (try 0.9).",
        kind="float",
        param="acc",
        flag="--stop-accuracy",
        meaning="a share of the training images right",
        low=0,
        high=1,
        above=True,
        optional="no accuracy goal",
        short="stop≥{:g}",
        widget={"range": (0.5, 1.0), "step": 0.01, "format": "%.2f", "start": 0.9, "section": "Overfitting"},
    )
    activation: str = _setting(
        "relu",
        label="Activation",
        help="The hidden layers' function; relu (the course's) throws away negative values.",
        kind="choice",
        param="act",
        flag="--activation",
        choices=ACTIVATIONS,
        group="advanced",
    )
    optimizer: str = _setting(
        "adam",
        label="Optimizer",
        help="How the weights move each step; Adam adapts each weight's step.",
        kind="choice",
        param="opt",
        flag="--optimizer",
        choices=OPTIMIZERS,
        group="advanced",
    )
    learning_rate: float | None = _setting(
        None,  # None: the optimizer's Keras default
        label="Learning rate",
        help="Step size. Too high and the loss jumps about; too low and it crawls.",
        kind="float",
        param="lr",
        flag="--learning-rate",
        meaning="Keras' defaults: adam 0.001, sgd 0.01, rmsprop 0.001",
        low=0,
        high=10,
        above=True,
        optional="the optimizer's default",
        short="lr {:g}",
        group="advanced",
        widget={"range": (0.00001, 1.0), "format": "%.5f"},
        default_by=("optimizer", DEFAULT_LEARNING_RATES),  # the Train page keeps one rate per optimizer
    )
    momentum: float = _setting(
        0.0,  # SGD's momentum: each step adds this share of the previous one
        label="Momentum",
        help="SGD only: each step adds this share of the previous step, so the weights roll past small bumps and "
        "speed up along steady slopes (try 0.9 with sgd).",
        kind="float",
        param="momentum",
        flag="--momentum",
        meaning="the share of the previous step kept",
        low=0.0,
        high=0.99,
        short="momentum {:g}",
        group="advanced",
        applies_when=("optimizer", "sgd"),
    )
    batch_size: int = _setting(
        32,  # Keras' default, as in the course notebook
        label="Batch size",
        help="Images per weight update (Keras: 32).",
        kind="int",
        param="batch",
        flag="--batch-size",
        meaning="images per weight update",
        low=1,
        high=MAX_BATCH,
        short="batch {}",
        group="advanced",
        widget={"presets": (8, 16, 32, 64, 128, 256, 512)},
    )
    seed: int = _setting(
        0,
        label="Seed",
        help="Same seed and settings, same curves.",
        kind="int",
        param="seed",
        flag="--seed",
        meaning="any whole number picks a repeatable start",
        low=0,
        high=MAX_SEED,
        short="seed {}",
        group="advanced",
    )
    train_samples: int | None = _setting(
        None,  # first N training images; None = all 60,000
        label="Training images",
        help="Train on the first N images only. Fewer images train faster.",
        kind="int",
        param="train",
        flag="--train-samples",
        meaning="images used for training",
        low=10,
        high=TRAIN_SIZE,
        optional="all 60,000",
        short="{:,} images",
        column="training images",
        group="advanced",
        widget={"presets": (None, 30_000, 10_000, 3_000), "labels": {3_000: "3,000 (quick try)"}},
    )
    holdout: str = _setting(
        "test",
        label="Scored after each epoch",
        help="Data the model never trains on, to show how it does on unseen images.",
        kind="choice",
        param="holdout",
        flag="--holdout",
        choices=HOLDOUTS,
        short="held-out: {}",
        column="held-out",
        group="advanced",
        widget={"labels": {"test": "the 10,000 test images", "split": "10% of the training images", "none": "nothing"}},
    )
    class_shares: tuple[tuple[int, float], ...] = _setting(
        (),  # (class, share kept) pairs; () keeps every image
        label="Class shares",
        help="Keep only this share of a class's training images (e.g. Shirt at 0.1), chosen at random from the "
        "seed: the same setting keeps the same images. 0 removes the class from training altogether. "
        "The test set stays balanced and untouched.",
        kind="class_fractions",
        param="shares",
        flag="--class-share",
        meaning="the share of the class's training images kept",
        low=0.0,
        high=1.0,
        choices=CLASS_NAMES,
        short="{} kept",
        group="bias",
        widget={"section": "Bias", "start": 0.1},
    )
    label_noise: tuple[tuple[int, float], ...] = _setting(
        (),  # (class, share of its labels changed) pairs
        label="Label noise",
        help="Give this share of a class's training images a wrong label, each one a class drawn uniformly "
        "from the nine others, as careless labelling would. The test labels stay right.",
        kind="class_fractions",
        param="noise",
        flag="--label-noise",
        meaning="the share of the class's training labels changed",
        low=0.0,
        high=1.0,
        choices=CLASS_NAMES,
        short="{} mislabelled",
        group="bias",
        widget={"section": "Bias", "start": 0.3},
    )
    balance: str = _setting(
        "none",
        label="Mitigation",
        help="How training makes up for starved classes: class-weights weighs each image inversely to its "
        "class's count in the loss; oversample repeats the starved classes' images; augment adds shifted and "
        "mirrored copies of them. Both bring a starved class up to the other classes' mean count.",
        kind="choice",
        param="balance",
        flag="--balance",
        choices=BALANCES,
        short="balance: {}",
        group="bias",
        widget={"section": "Bias"},
    )
    holdout_fraction: float = _setting(
        0.1,  # share of training images held out when holdout="split"
        label="Held-out share",
        help="The share of training images held out when scoring on a split.",
        kind="float",
        param="split",
        flag="--holdout-fraction",
        meaning="of the training images",
        low=0.01,
        high=0.5,
        short="{:.0%} held out",
        column="held-out share",
        group="advanced",
        widget={"none": True},  # no control: links and the CLI only
    )
    test_samples: int | None = _setting(
        None,  # first N test images; None = all 10,000
        label="Test images",
        help="Score on the first N test images only.",
        kind="int",
        param="test",
        flag="--test-samples",
        meaning="images used for testing",
        low=10,
        high=TEST_SIZE,
        optional="all 10,000",
        short="{:,} test images",
        column="test images",
        group="advanced",
        widget={"none": True},
    )

    def __post_init__(self) -> None:
        for name, setting in SETTINGS.items():
            object.__setattr__(self, name, setting.check(getattr(self, name)))
        values = self.values()
        if broken := next((rule for rule in RULES if not rule.holds(values)), None):
            raise RuleError(broken)

    def values(self) -> dict[str, Any]:
        """Every field's value by name (unlike ``to_dict``, as the fields hold them)."""
        return {name: getattr(self, name) for name in SETTINGS}

    def effective(self, name: str) -> Any:
        """The value of ``name`` in effect: a None with ``default_by`` is the default for the other field."""
        return SETTINGS[name].effective(getattr(self, name), self.values())

    @property
    def effective_learning_rate(self) -> float:
        return float(self.effective("learning_rate"))

    @property
    def parameter_count(self) -> int:
        """Weights plus biases: 128 units gives 101,770; 1024 gives 814,090."""
        sizes = (INPUT_PIXELS, *self.hidden_units, NUM_CLASSES)
        return sum(n_in * n_out + n_out for n_in, n_out in zip(sizes, sizes[1:], strict=False))

    def differences(self, other: TrainConfig | None = None) -> Iterator[tuple[str, Setting, Any]]:
        """(field, setting, value) for each setting whose value differs from ``other`` (default: the defaults)."""
        base = other or DEFAULT
        for name, setting in SETTINGS.items():
            if getattr(self, name) != getattr(base, name):
                yield name, setting, getattr(self, name)

    def summary(self) -> str:
        """Units and epochs, then each setting that is not the default: ``128 units · 5 epochs · no ÷255``."""
        parts = [SETTINGS["hidden_units"].describe(self.hidden_units), _epochs(self.epochs)]
        parts += [s.describe(value) for name, s, value in self.differences() if name not in ("hidden_units", "epochs")]
        return " · ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["hidden_units"] = list(self.hidden_units)
        for name, setting in SETTINGS.items():
            if setting.kind == "class_fractions":  # {"Shirt": 0.1}: readable, and from_dict takes it back
                data[name] = {setting.choices[c]: fraction for c, fraction in getattr(self, name)}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        """Build from stored JSON; unknown keys are a mistake, missing ones take defaults."""
        if not isinstance(data, Mapping):
            raise ConfigError("A training configuration must be a JSON object.")
        unknown = sorted(set(data) - set(SETTINGS))
        if unknown:
            raise ConfigError(f"Unknown setting(s): {', '.join(map(str, unknown))[:200]}.")
        return cls(**data)


def _epochs(epochs: int) -> str:
    return f"{epochs} epochs" if epochs != 1 else "1 epoch"


SETTINGS: dict[str, Setting] = {f.name: f.metadata["setting"] for f in fields(TrainConfig)}  # field → Setting
DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(TrainConfig)}
RULES: tuple[Rule, ...] = (
    Rule(
        ("early_stopping", "holdout"),
        lambda v: v["early_stopping"] is None or v["holdout"] != "none",
        "Early stopping watches the held-out loss: score something after each epoch (holdout test or split), "
        "or turn early stopping off.",
        reset="early_stopping",
    ),
    Rule(
        ("class_shares",),
        lambda v: len(v["class_shares"]) < NUM_CLASSES or any(share for _, share in v["class_shares"]),
        "Class shares of 0 for every class leave nothing to train on; keep some of one class.",
        reset="class_shares",
    ),
    *(
        applies_rule(name, s, DEFAULTS[name], SETTINGS[s.applies_when[0]])
        for name, s in SETTINGS.items()
        if s.applies_when is not None
    ),
)
DEFAULT = TrainConfig()


def apply_rules(values: Mapping[str, Any]) -> tuple[dict[str, Any], tuple[Rule, ...]]:
    """``values`` (checked; missing ones at their defaults) with each broken rule's ``reset`` field set back to
    its default, and the rules that were broken: what a link keeps of a setup that breaks a rule."""
    settled, broken = DEFAULTS | dict(values), []
    for rule in RULES:
        if not rule.holds(settled):
            settled[rule.reset] = DEFAULTS[rule.reset]
            broken.append(rule)
    return settled, tuple(broken)


def setting_of(param: str) -> tuple[str, Setting]:
    """The field and setting with URL parameter ``param``; KeyError if none."""
    return next((name, s) for name, s in SETTINGS.items() if s.param == param)

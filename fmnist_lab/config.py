"""One frozen ``TrainConfig``: every choice a learner can make about a training run.

Widgets, URL parameters and the CLI all build one; the library takes it. Frozen
makes it hashable, so it can key a cache, and ``to_dict``/``from_dict`` give the
JSON stored beside each run.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

ACTIVATIONS = ("relu", "sigmoid", "tanh")
OPTIMIZERS = ("adam", "sgd", "rmsprop")
HOLDOUTS = ("test", "split", "none")
DEFAULT_LEARNING_RATES = {"adam": 0.001, "sgd": 0.01, "rmsprop": 0.001}  # Keras' defaults

MAX_UNITS = 4096
MAX_LAYERS = 4
MAX_EPOCHS = 100
MAX_BATCH = 4096
MAX_SEED = 2**31 - 1
TRAIN_SIZE = 60_000
TEST_SIZE = 10_000
INPUT_PIXELS = 28 * 28
NUM_CLASSES = 10


class ConfigError(ValueError):
    """A setting is out of range; the message is meant for a learner."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines one training run of the course model."""

    hidden_units: tuple[int, ...] = (128,)  # one Dense layer per entry
    activation: str = "relu"
    epochs: int = 5
    batch_size: int = 32  # Keras' default, as in the course notebook
    optimizer: str = "adam"
    learning_rate: float | None = None  # None: the optimizer's Keras default
    normalize: bool = True  # divide pixels by 255.0 so inputs lie in [0, 1]
    stop_loss: float | None = None  # stop when an epoch's training loss falls below
    seed: int = 0
    holdout: str = "test"  # data scored each epoch: "test", "split" or "none"
    holdout_fraction: float = 0.1  # share of training images held out when holdout="split"
    train_samples: int | None = None  # first N training images; None = all 60,000
    test_samples: int | None = None  # first N test images; None = all 10,000

    def __post_init__(self) -> None:
        units = self.hidden_units
        if isinstance(units, int | str) or not isinstance(units, Iterable):
            units = (units,)
        object.__setattr__(self, "hidden_units", tuple(_as_int("hidden units", u) for u in units))
        for name in ("epochs", "batch_size", "seed"):
            object.__setattr__(self, name, _as_int(name.replace("_", " "), getattr(self, name)))
        for name in ("train_samples", "test_samples"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, _as_int(name.replace("_", " "), getattr(self, name)))
        for name in ("learning_rate", "stop_loss"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, _as_float(name.replace("_", " "), getattr(self, name)))
        object.__setattr__(self, "holdout_fraction", _as_float("holdout fraction", self.holdout_fraction))
        if not isinstance(self.normalize, bool):
            raise ConfigError("normalize must be true or false.")
        self._validate()

    def _validate(self) -> None:
        if not 1 <= len(self.hidden_units) <= MAX_LAYERS:
            raise ConfigError(f"Use between 1 and {MAX_LAYERS} hidden layers.")
        for units in self.hidden_units:
            _check_range("Hidden units", units, 1, MAX_UNITS, "a layer needs at least one neuron")
        _check_choice("activation", self.activation, ACTIVATIONS)
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_choice("holdout", self.holdout, HOLDOUTS)
        _check_range("Epochs", self.epochs, 1, MAX_EPOCHS, "one epoch is one pass over the training images")
        _check_range("Batch size", self.batch_size, 1, MAX_BATCH, "images per weight update")
        _check_range("Seed", self.seed, 0, MAX_SEED, "any whole number picks a repeatable start")
        if self.learning_rate is not None and not 0 < self.learning_rate <= 10:
            default = DEFAULT_LEARNING_RATES[self.optimizer] if self.optimizer in OPTIMIZERS else 0.001
            raise ConfigError(
                f"Learning rate must be above 0 and at most 10 ({self.optimizer}'s default is {default:g})."
            )
        if self.stop_loss is not None and not self.stop_loss > 0:
            raise ConfigError("The stop-loss threshold must be above 0 (for example 0.25), or off.")
        if not 0.01 <= self.holdout_fraction <= 0.5:
            raise ConfigError("The held-out share of training images must be between 0.01 and 0.5.")
        if self.train_samples is not None:
            _check_range("Training samples", self.train_samples, 10, TRAIN_SIZE, "images used for training")
        if self.test_samples is not None:
            _check_range("Test samples", self.test_samples, 10, TEST_SIZE, "images used for testing")

    @property
    def effective_learning_rate(self) -> float:
        return self.learning_rate or DEFAULT_LEARNING_RATES[self.optimizer]

    @property
    def parameter_count(self) -> int:
        """Weights plus biases: 128 units gives 101,770; 1024 gives 814,090."""
        sizes = (INPUT_PIXELS, *self.hidden_units, NUM_CLASSES)
        return sum(n_in * n_out + n_out for n_in, n_out in zip(sizes, sizes[1:], strict=False))

    def summary(self) -> str:
        """A one-line description, e.g. ``128 relu · 5 epochs · adam · ÷255``."""
        epochs = f"{self.epochs} epochs" if self.epochs > 1 else "1 epoch"
        parts = ["-".join(map(str, self.hidden_units)) + f" {self.activation}", epochs]
        parts.append(self.optimizer if self.learning_rate is None else f"{self.optimizer} lr={self.learning_rate:g}")
        parts.append("÷255" if self.normalize else "raw pixels")
        if self.stop_loss is not None:
            parts.append(f"stop<{self.stop_loss:g}")
        if self.batch_size != 32:
            parts.append(f"batch {self.batch_size}")
        return " · ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["hidden_units"] = list(self.hidden_units)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        """Build from stored JSON; unknown keys are a mistake, missing ones take defaults."""
        if not isinstance(data, Mapping):
            raise ConfigError("A training configuration must be a JSON object.")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"Unknown setting(s): {', '.join(unknown)}.")
        return cls(**data)


def _as_int(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise ConfigError(f"{name.capitalize()} must be a whole number, not {value!r}.")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    try:
        return int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        raise ConfigError(f"{name.capitalize()} must be a whole number, not {value!r}.") from None


def _as_float(name: str, value: Any) -> float:
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise ConfigError(f"{name.capitalize()} must be a number, not {value!r}.")
    return number


def _check_range(label: str, value: int, low: int, high: int, meaning: str) -> None:
    if not low <= value <= high:
        raise ConfigError(f"{label} must be between {low:,} and {high:,} ({meaning}); got {value:,}.")


def _check_choice(label: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"The {label} must be one of {', '.join(choices)}; got {value!r}.")

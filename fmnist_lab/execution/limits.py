"""What a host lets one learner queue: caps on a training's size and on its work, from the environment.

A shared server is a commons: one link asking for 4 × 4096 units and 100 epochs would hold a
slot for an hour. ``FMNIST_MAX_PARAMETERS`` and ``FMNIST_MAX_EPOCHS`` cap the size;
``FMNIST_MAX_RUN_SECONDS`` caps the work, estimated from the number of weight updates and the
model's size (batch 1 makes 60,000 small steps an epoch, 24 times the work of batch 32) and
scaled by this server's own measured speed. Links get a visible note, the Train button explains,
and the executor refuses (``factory.Ruled``) on every path; unset, the settings' own ranges are
the only limit.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, replace

from fmnist_lab.config import TRAIN_SIZE, TrainConfig
from fmnist_lab.environment import Environment, environment
from fmnist_lab.store.runs import RunStore

STEP_SECONDS = 0.0005  # a weight update's fixed cost here (Keras' step, small matrices): batch 1 ≈ 30 s/epoch
SAMPLE_PARAMETER_SECONDS = 6e-11  # and its arithmetic, per image per parameter: 1024 units ≈ 3 s/epoch


@dataclass(frozen=True)
class Speed:
    """How fast this server trains, as a factor on the estimate (1: as the developers' 2-core machine)."""

    factor: float = 1.0

    def seconds(self, config: TrainConfig) -> float:
        """The estimated training time of ``config``, in seconds."""
        images = config.train_samples or TRAIN_SIZE
        if config.holdout == "split":
            images = math.ceil(images * (1 - config.holdout_fraction))
        steps = math.ceil(images / config.batch_size)
        step = STEP_SECONDS + SAMPLE_PARAMETER_SECONDS * config.batch_size * config.parameter_count
        return self.factor * config.epochs * steps * step

    @classmethod
    def measured(cls, finished: Iterable[tuple[TrainConfig, float]]) -> Speed:
        """From finished runs' (config, measured seconds per epoch): the median ratio to the estimate."""
        ratios = [spent / (cls().seconds(config) / config.epochs) for config, spent in finished if spent > 0]
        return cls(statistics.median(ratios)) if ratios else cls()


@dataclass(frozen=True)
class Limits:
    """The host's caps; None: no cap beyond the setting's own range."""

    parameters: int | None = None
    epochs: int | None = None
    seconds: float | None = None  # estimated training time, at ``speed``
    speed: Speed = Speed()

    def problems(self, config: TrainConfig) -> dict[str, str]:
        """The setting (field) behind each cap ``config`` goes over, with why, in a learner's words."""
        found = {}
        if self.parameters is not None and config.parameter_count > self.parameters:
            found["hidden_units"] = (
                f"This server trains models of at most {self.parameters:,} parameters; these settings have "
                f"{config.parameter_count:,}. Use fewer hidden units or layers."
            )
        if self.epochs is not None and config.epochs > self.epochs:
            found["epochs"] = (
                f"This server trains at most {self.epochs} epochs per run; these settings ask for {config.epochs}."
            )
        if self.seconds is not None and (needed := self.speed.seconds(config)) > self.seconds:
            field = "batch_size" if config.batch_size < TrainConfig().batch_size else "epochs"
            found.setdefault(field, self._too_long(needed))
        return found

    def fitted(self, config: TrainConfig) -> TrainConfig:
        """``config`` within the caps: each setting behind a cap goes to its default if that fits, else to
        the nearest value that does (epochs down to the cap, one layer of fewer units); others are kept."""
        default = TrainConfig()
        for name in ("hidden_units", "batch_size", "epochs"):
            if name in self.problems(config):
                config = replace(config, **{name: getattr(default, name)})
        while "epochs" in self.problems(config) and config.epochs > 1:
            config = replace(config, epochs=config.epochs - 1)
        while "hidden_units" in self.problems(config) and config.hidden_units[0] > 1:
            config = replace(config, hidden_units=(max(1, config.hidden_units[0] // 2),))
        return config

    def describe(self) -> str:
        """The caps in a learner's words (``at most 3 epochs per run, …``); empty without caps."""
        parts = [f"models of at most {self.parameters:,} parameters"] if self.parameters is not None else []
        parts += [f"at most {self.epochs} epochs per run"] if self.epochs is not None else []
        parts += [f"runs of at most {_duration(self.seconds)}"] if self.seconds is not None else []
        return ", ".join(parts)

    def _too_long(self, needed: float) -> str:
        return (
            f"This server trains runs of at most {_duration(self.seconds or 0)}; these settings need about "
            f"{_duration(needed)} here. Use fewer epochs, fewer hidden units, or a larger batch."
        )

    @classmethod
    def of(cls, settings: Environment, speed: Speed | None = None) -> Limits:
        return cls(settings.max_parameters, settings.max_epochs, settings.max_run_seconds, speed or Speed())

    def exceeded(self, config: TrainConfig) -> str | None:
        """Why this server will not train ``config``; None if it will."""
        return next(iter(self.problems(config).values()), None)


def host_limits(store: RunStore | None = None) -> Limits:
    """The caps set in this process's environment, the work cap at the speed ``store``'s runs measured."""
    settings = environment()
    if settings.max_run_seconds is None:
        return Limits.of(settings)
    return Limits.of(settings, measured_speed(store or RunStore()))


def measured_speed(store: RunStore) -> Speed:
    """This server's speed, from the seconds per epoch its finished runs took."""
    finished = []
    for run in store.list():
        spent = (run.metrics or {}).get("seconds_per_epoch") if run.state == "finished" else None
        if isinstance(spent, int | float):
            finished.append((run.config, float(spent)))
    return Speed.measured(finished)


def _duration(seconds: float) -> str:
    return f"{seconds:,.0f} s" if seconds < 120 else f"{seconds / 60:,.0f} minutes"

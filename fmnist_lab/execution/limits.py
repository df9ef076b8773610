"""What a host lets one learner queue: caps on a training's size, from the environment.

A shared server is a commons: one link asking for 4 × 4096 units and 100 epochs would hold a
slot for an hour. ``FMNIST_MAX_PARAMETERS`` and ``FMNIST_MAX_EPOCHS`` cap what the app
accepts (links get a visible note, the Train button explains, ``submit`` refuses); unset,
the settings' own ranges are the only limit. The command line, run by the host, is not capped.
"""

from __future__ import annotations

from dataclasses import dataclass

from fmnist_lab.config import TrainConfig
from fmnist_lab.environment import Environment, environment


@dataclass(frozen=True)
class Limits:
    """The host's caps; None: no cap beyond the setting's own range."""

    parameters: int | None = None
    epochs: int | None = None

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
        return found

    @classmethod
    def of(cls, settings: Environment) -> Limits:
        return cls(settings.max_parameters, settings.max_epochs)

    def exceeded(self, config: TrainConfig) -> str | None:
        """Why this server will not train ``config``; None if it will."""
        return next(iter(self.problems(config).values()), None)


def host_limits() -> Limits:
    """The caps set in this process's environment (``FMNIST_MAX_PARAMETERS``, ``FMNIST_MAX_EPOCHS``)."""
    return Limits.of(environment())

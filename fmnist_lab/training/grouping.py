"""Which runs may train together as one vectorised computation (``replicas``), without importing TensorFlow.

A group is one plain setup over distinct seeds: ``vectorisable`` says why a setup is not plain (its
replicas would differ in more than numbers), ``check_group`` refuses runs that are not one group, and
``units`` cuts the runs of one click into the groups and single runs an executor queues. The server
asks these before any worker has imported TensorFlow, so this module stays NumPy-free too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from fmnist_lab.config import TrainConfig

MAX_GROUP = 10  # runs in one group: a repeat's most seeds (memory grows with K; more form further groups)


def vectorisable(config: TrainConfig) -> str | None:
    """Why ``config``'s seeds cannot train as one stacked computation; None when they can."""
    checks = (
        (bool(config.dropout), "dropout"),
        (bool(config.l1 or config.l2), "L1/L2 penalties"),
        (config.early_stopping is not None, "early stopping"),
        (config.stop_loss is not None or config.stop_accuracy is not None, "a loss or accuracy goal"),
        (bool(config.class_shares), "class shares"),
        (bool(config.label_noise), "label noise"),
        (config.balance != "none", f"balance {config.balance}"),
    )
    reasons = [name for hit, name in checks if hit]
    return f"{', '.join(reasons)} not supported by the vectorised engine" if reasons else None


def check_group(configs: Sequence[TrainConfig]) -> None:
    """Raise ValueError unless ``configs`` are one vectorisable setup over distinct seeds."""
    if not configs:
        raise ValueError("a group needs at least one run")
    if why := vectorisable(configs[0]):
        raise ValueError(why)
    if len({replace(c, seed=0) for c in configs}) > 1:
        raise ValueError("the runs of a vectorised group must differ in their seed only")
    if len({c.seed for c in configs}) < len(configs):
        raise ValueError("the runs of a vectorised group need distinct seeds")


def units(configs: Sequence[TrainConfig]) -> list[list[int]]:
    """The runs of one click as units to queue, by index, in the order of each unit's first run: the
    runs of one vectorisable setup over distinct seeds form one unit (two to ``MAX_GROUP``; more make
    further units), every other run is a unit of its own."""
    setups: dict[TrainConfig, list[int]] = {}
    for index, config in enumerate(configs):
        setups.setdefault(replace(config, seed=0), []).append(index)
    found: list[list[int]] = []
    for members in setups.values():
        if len(members) > 1 and _is_group([configs[i] for i in members]):
            found.extend(members[k : k + MAX_GROUP] for k in range(0, len(members), MAX_GROUP))
        else:
            found.extend([i] for i in members)
    return sorted(found, key=lambda unit: unit[0])


def _is_group(configs: Sequence[TrainConfig]) -> bool:
    try:
        check_group(configs)
    except ValueError:
        return False
    return True

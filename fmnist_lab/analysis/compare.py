"""Side-by-side runs: the default pair to compare, the bias exercise's runs, and the comparison table."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Sequence

import pandas as pd

from fmnist_lab.config import SETTINGS, TrainConfig
from fmnist_lab.store.runs import Run

CLASSIC_PAIR = ((128,), (1024,))  # the course's comparison
PAIR_MAY_DIFFER = ("hidden_units", "seed")  # a clean pair differs in these only
MITIGATIONS = ("class-weights", "oversample", "augment")  # the bias exercise's fixes, one run each
EXERCISE_L2 = 0.0005  # the exercise's L2 run: the notes list the penalty among bias's remedies; see what it does
UNITS = SETTINGS["hidden_units"].heading  # always shown: the comparison the lab is built around
TABLE_FORMAT = {
    "train accuracy": "{:.2%}",
    "test accuracy": "{:.2%}",
    "train − test": "{:+.2%}",
    "s / epoch": "{:.2f}",
    "test loss": "{:.3f}",
    "parameters": "{:,}",
}


def default_selection(runs: Sequence[Run], readable: Callable[[Run], bool] = lambda run: True) -> list[str]:
    """The newest clean 128 vs 1024 pair (``classic_pair``); else the newest of each; else the newest two.

    A pair is clean when the two runs differ in nothing but hidden units (and the seed): only then is
    the gap the units' doing. ``runs`` is newest first; among clean pairs, the one whose older run is newest.
    Runs whose files do not load (``readable``, asked only of the runs a choice needs) are passed over, so
    one damaged run does not block the view.
    """
    usable = functools.cache(lambda index: readable(runs[index]))  # index → readable, asked once per run
    position = {run.id: index for index, run in enumerate(runs)}
    small, large = ([position[r.id] for r in runs if r.config.hidden_units == units] for units in CLASSIC_PAIR)
    clean = [(a, b) for a in small for b in large if not other_differences(runs[a].config, runs[b].config)]
    for a, b in sorted(clean, key=lambda pair: sorted(pair)[::-1]):
        if usable(a) and usable(b):
            return [runs[a].id, runs[b].id]
    a, b = (next((i for i in side if usable(i)), -1) for side in (small, large))
    if a >= 0 and b >= 0:
        return [runs[a].id, runs[b].id]
    return [runs[i].id for i in itertools.islice((i for i in range(len(runs)) if usable(i)), 2)]


def other_differences(a: TrainConfig, b: TrainConfig) -> list[str]:
    """The settings, besides hidden units and the seed, in which ``a`` and ``b`` differ, as
    ``L2: off vs 0.0005``; empty when the two differ only in what the classic comparison varies."""
    return [
        f"{s.label}: {s.describe(getattr(a, name))} vs {s.describe(value)}"
        for name, s, value in b.differences(a)
        if name not in PAIR_MAY_DIFFER
    ]


def pair_note(a: Run, b: Run) -> str | None:
    """A warning when two runs compared differ in more than units and seed, naming each difference."""
    if a.config.hidden_units == b.config.hidden_units:
        return None
    others = other_differences(a.config, b.config)
    if not others:
        return None
    return (
        f"These runs differ in more than hidden units ({'; '.join(others)}), so the gap between them is not "
        "the units' alone. Train the classic pair above for a clean comparison."
    )


def summary_table(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per run: its settings where the runs differ, then how it did, with the train–test gap."""
    rows = []
    for run in runs:
        m = run.metrics
        train, test = m.get("train_accuracy"), m.get("test_accuracy")
        rows.append(
            {"run": run.name}
            | setting_columns(run.config)
            | {
                "parameters": run.config.parameter_count,
                "epochs run": m.get("epochs_run"),
                "s / epoch": m.get("seconds_per_epoch"),
                "train accuracy": train,
                "test accuracy": test,
                "train − test": None if train is None or test is None else train - test,
                "test loss": m.get("test_loss"),
            }
        )
    table = pd.DataFrame(rows)
    alike = [s.heading for s in SETTINGS.values() if s.heading != UNITS and table[s.heading].nunique() <= 1]
    return table.drop(columns=alike if len(table) > 1 else [])


def gallery_table(runs: Sequence[Run]) -> pd.DataFrame:
    """The summary table with what a ranking needs up front: name, test accuracy, training images, settings."""
    table = summary_table(runs)
    images = SETTINGS["train_samples"].heading
    front = {"test accuracy": table.pop("test accuracy")}
    front[images] = table.pop(images) if images in table else [_images(run.config) for run in runs]
    front["settings"] = [run.config.summary() for run in runs]
    for position, (column, values) in enumerate(front.items(), start=1):
        table.insert(position, column, values)
    return table


def data_group(config: TrainConfig) -> str:
    """Which runs may be ranked together: those trained and tested on as many images."""
    train, test = SETTINGS["train_samples"], SETTINGS["test_samples"]
    trained = train.describe(config.train_samples).removesuffix(" images")
    return f"{trained} training images, {test.describe(config.test_samples).removesuffix(' images')} test images"


def data_groups(runs: Sequence[Run]) -> dict[str, list[Run]]:
    """Runs by ``data_group``, the group with the most training images first; order kept within a group."""
    groups: dict[str, list[Run]] = {}
    for run in sorted(runs, key=lambda run: -(run.config.train_samples or 10**9)):
        groups.setdefault(data_group(run.config), []).append(run)
    return groups


def setting_columns(config: TrainConfig) -> dict[str, str]:
    """Every setting of ``config`` as the compare table shows it, under its heading."""
    return {s.heading: s.describe(getattr(config, name)) for name, s in SETTINGS.items()}


def classic_pair(epochs: int, base: TrainConfig | None = None) -> tuple[TrainConfig, TrainConfig]:
    """128 and 1024 units with every other setting, the seed included, equal."""
    settings = (base or TrainConfig()).to_dict() | {"epochs": epochs}
    return tuple(TrainConfig(**settings | {"hidden_units": units}) for units in CLASSIC_PAIR)  # type: ignore[return-value]


def bias_exercise(starved: int, share: float, epochs: int, base: TrainConfig | None = None) -> list[TrainConfig]:
    """Baseline (balanced), biased (``starved`` at ``share``), then one run per mitigation; all else equal."""
    settings = (base or TrainConfig()).to_dict() | {"epochs": epochs, "label_noise": {}, "balance": "none"}
    baseline = TrainConfig(**settings | {"class_shares": {}})
    biased = [
        TrainConfig(**settings | {"class_shares": [(starved, share)], "balance": b}) for b in ("none", *MITIGATIONS)
    ]
    penalised = TrainConfig(**settings | {"class_shares": [(starved, share)], "l2": EXERCISE_L2})
    return [baseline, *biased, penalised]


def exercise_role(config: TrainConfig) -> str:
    """What a run is in the bias exercise: ``baseline``, ``biased`` or its mitigation."""
    if config.balance != "none":
        return config.balance
    if config.l2 and (config.class_shares or config.label_noise):
        return "L2 penalty"
    return "biased" if config.class_shares or config.label_noise else "baseline"


def starved_class(configs: Sequence[TrainConfig]) -> int | None:
    """The class with the smallest kept share in any of ``configs``, or None if none starves one."""
    shares = [(share, c) for config in configs for c, share in config.class_shares]
    return min(shares)[1] if shares else None


def _images(config: TrainConfig) -> str:
    return SETTINGS["train_samples"].describe(config.train_samples)

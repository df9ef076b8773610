"""The diminishing-returns sweep: a series of runs with everything equal but one setting (or a cross of two).

A ``Sweep`` is one named object, stored as ``runs/.sweeps/<id>.json`` (written atomically, read back
through one validating loader): the swept settings and their values, the base config, the ids of
its runs, and with ``repeats`` K > 1 the id of each point's group (the point's K seeds, stored as a
group). ``plan`` and ``cross`` make the configs; the runs themselves are ordinary runs in the store.
``point_rows`` summarises each point's finished runs (mean and sd), for the curve and its band.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fmnist_lab.config import SETTINGS, ConfigError, TrainConfig
from fmnist_lab.store import atomic
from fmnist_lab.store.groups import GROUP_ID_PATTERN, MAX_MEMBERS, seed_series
from fmnist_lab.store.runs import RUN_ID_PATTERN, RunStore, RunStoreError, new_run_id, now_iso

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_SETTING = "hidden_units"
DEFAULT_VALUES: tuple[Any, ...] = tuple((units,) for units in (16, 32, 64, 128, 256, 512, 1024))  # one layer each
MAX_SETTINGS = 2  # one setting, or a cross of two (a heatmap)
MAX_RUNS = 49  # 7 × 7 at most: each run is a full training
ENDED = ("finished", "stopped", "failed")  # status times that end a run's training
FOLDER = ".sweeps"  # inside the run store's folder; run listings skip it (not a run id)
SPREAD_KEYS = ("held-out accuracy", "test accuracy", "CPU s / epoch", "s / epoch")  # averaged over a point's seeds


class SweepError(RunStoreError):
    """A sweep file is missing or damaged, or a sweep asks for too much."""


@dataclass(frozen=True)
class Sweep:
    """The swept settings (field names), their values, the base config and the runs made so far."""

    id: str
    settings: tuple[str, ...]
    values: tuple[tuple[Any, ...], ...]  # one tuple of values per swept setting
    base: TrainConfig
    run_ids: tuple[str, ...] = ()
    created: str = ""
    repeats: int = 1  # seeds per point: the base's seed and the next ones
    group_ids: tuple[str, ...] = ()  # with repeats > 1, one group per point as its runs are made

    def axis(self, index: int) -> list[Any]:
        """The values of the ``index``-th swept setting, as the table shows them."""
        return [plain_value(value) for value in self.values[index]]

    @property
    def name(self) -> str:
        """``hidden units 16, 32, 64 · 7 epochs``: the swept values, then the base's other non-defaults."""
        swept = " × ".join(
            f"{SETTINGS[s].label.lower()} {_spelled(s, v)}" for s, v in zip(self.settings, self.values, strict=True)
        )
        rest = [_described(name, v) for name, _, v in self.base.differences() if name not in self.settings]
        seeds = [f"{self.repeats} seeds each"] if self.repeats > 1 else []
        return " · ".join([swept, *rest, *seeds])

    def configs(self) -> list[TrainConfig]:
        """One config per point (with the base's seed)."""
        return cross(self.base, dict(zip(self.settings, self.values, strict=True)))

    def point_configs(self) -> list[list[TrainConfig]]:
        """Each point's configs over ``repeats`` seeds."""
        return [seed_series(config, self.repeats) for config in self.configs()]

    def to_dict(self) -> dict[str, Any]:
        values = [[SETTINGS[s].format(v) for v in vs] for s, vs in zip(self.settings, self.values, strict=True)]
        info: dict[str, Any] = {"id": self.id, "created": self.created, "settings": list(self.settings)}
        info |= {"values": values, "repeats": self.repeats, "group_ids": list(self.group_ids)}
        return info | {"base": self.base.to_dict(), "run_ids": list(self.run_ids)}


def plan(base: TrainConfig, setting: str, values: Sequence[Any]) -> list[TrainConfig]:
    """One config per value of ``setting``; every other setting (the seed too) as in ``base``."""
    return cross(base, {setting: values})


def cross(base: TrainConfig, axes: Mapping[str, Sequence[Any]]) -> list[TrainConfig]:
    """One config per combination of the swept settings' values, the first setting varying slowest."""
    if not 1 <= len(axes) <= MAX_SETTINGS or any(name not in SETTINGS for name in axes):
        raise ConfigError(f"A sweep varies one or two settings; got {', '.join(axes) or 'none'}.")
    combos = list(itertools.product(*axes.values()))
    if not 2 <= len(combos) <= MAX_RUNS:
        raise ConfigError(f"A sweep trains between 2 and {MAX_RUNS} runs; this one would train {len(combos)}.")
    return [replace(base, **dict(zip(axes, combo, strict=True))) for combo in combos]  # replace re-checks


def new_sweep(base: TrainConfig, axes: Mapping[str, Sequence[Any]], repeats: int = 1) -> Sweep:
    """A sweep, checked (every config valid, 1 to 10 seeds per point), with no runs yet."""
    checked = cross(base, axes)  # raises ConfigError on any bad value or combination
    _check_repeats(repeats, len(checked))
    values = tuple(tuple(dict.fromkeys(getattr(c, name) for c in checked)) for name in axes)
    return Sweep(new_run_id(), tuple(axes), values, base, (), now_iso(), repeats)


def _check_repeats(repeats: Any, points: int) -> None:
    if isinstance(repeats, bool) or not isinstance(repeats, int) or not 1 <= repeats <= MAX_MEMBERS:
        raise ConfigError(f"A sweep repeats each point over 1 to {MAX_MEMBERS} seeds, not {str(repeats)[:20]}.")
    if points * repeats > MAX_RUNS:
        raise ConfigError(f"A sweep trains at most {MAX_RUNS} runs; {points} points × {repeats} seeds is more.")


class SweepStore:
    """Sweeps on disk beside the runs, one JSON file each."""

    def __init__(self, runs: RunStore) -> None:
        self.runs = runs
        self.root = Path(runs.root) / FOLDER

    def save(self, sweep: Sweep) -> Sweep:
        self.root.mkdir(parents=True, exist_ok=True)
        atomic.write_json(self._path(sweep.id), sweep.to_dict())
        return sweep

    def add_run(self, sweep: Sweep, run_id: str) -> Sweep:
        return self.save(replace(sweep, run_ids=(*sweep.run_ids, run_id)))

    def add_group(self, sweep: Sweep, group_id: str) -> Sweep:
        return self.save(replace(sweep, group_ids=(*sweep.group_ids, group_id)))

    def load(self, sweep_id: str) -> Sweep:
        try:
            return from_dict(json.loads(self._path(sweep_id).read_text()))
        except FileNotFoundError:
            raise SweepError(f"Sweep {sweep_id} was not found.") from None
        except (ValueError, TypeError, KeyError, AttributeError) as exc:  # ConfigError is a ValueError
            raise SweepError(f"Sweep {sweep_id} cannot be read ({exc}).") from None

    def list(self) -> list[Sweep]:
        """Every readable sweep, newest first; damaged files are skipped."""
        found = []
        for path in sorted(self.root.glob("*.json"), reverse=True) if self.root.is_dir() else []:
            if RUN_ID_PATTERN.fullmatch(path.stem):
                try:
                    found.append(self.load(path.stem))
                except SweepError:
                    continue
        return found

    def _path(self, sweep_id: str) -> Path:
        if not isinstance(sweep_id, str) or not RUN_ID_PATTERN.fullmatch(sweep_id):
            raise SweepError(f"{str(sweep_id)[:40]!r} is not a sweep id.")
        return self.root / f"{sweep_id}.json"


def from_dict(data: Mapping[str, Any]) -> Sweep:
    """The sweep stored as ``data``; ValueError (ConfigError) or KeyError says what is wrong."""
    settings = tuple(data["settings"])
    if not 1 <= len(settings) <= MAX_SETTINGS or any(s not in SETTINGS for s in settings):
        raise ConfigError(f"unknown swept settings {settings!r}")
    values = tuple(tuple(SETTINGS[s].parse(str(v)) for v in vs) for s, vs in zip(settings, data["values"], strict=True))
    run_ids = tuple(str(i) for i in data["run_ids"])
    if not all(RUN_ID_PATTERN.fullmatch(i) for i in run_ids) or not RUN_ID_PATTERN.fullmatch(str(data["id"])):
        raise ConfigError("a run id has the wrong shape")
    repeats, group_ids = data.get("repeats", 1), tuple(str(i) for i in data.get("group_ids", []))  # older files: 1
    _check_repeats(repeats, 1)
    if not all(GROUP_ID_PATTERN.fullmatch(i) for i in group_ids):
        raise ConfigError("a group id has the wrong shape")
    base = TrainConfig.from_dict(data["base"])
    return Sweep(str(data["id"]), settings, values, base, run_ids, str(data["created"]), repeats, group_ids)


def picker_labels(sweeps: Sequence[Sweep]) -> dict[str, str]:
    """Sweep id → ``2026-12-06T03:29 · hidden units 16, 32``, with ``#<id tail>`` where two would read alike."""
    labels = {sweep.id: f"{sweep.created[:16]} · {sweep.name}" for sweep in sweeps}
    counts = Counter(labels.values())
    return {i: f"{text} · #{i[-6:]}" if counts[text] > 1 else text for i, text in labels.items()}


def table(sweep: Sweep, runs: RunStore) -> pd.DataFrame:
    """``table_rows`` as a DataFrame, for the page and the chart."""
    import pandas as pd  # not at import time: the CLI does without it

    return pd.DataFrame(table_rows(sweep, runs))


def table_rows(sweep: Sweep, runs: RunStore) -> list[dict[str, Any]]:
    """One row per run of the sweep: the swept values, its state and how it did (None until it ends)."""
    rows = []
    for run_id in sweep.run_ids:
        try:
            run = runs.load(run_id)
        except RunStoreError:
            continue  # deleted: the sweep shows the rest
        m = run.metrics
        rows.append(
            {"run_id": run.id}
            | {SETTINGS[s].label: plain_value(getattr(run.config, s)) for s in sweep.settings}
            | {
                "seed": run.config.seed,
                "state": run.state,
                "parameters": run.config.parameter_count,
                "held-out accuracy": m.get("val_accuracy"),
                "test accuracy": m.get("test_accuracy"),
                "CPU s / epoch": m.get("cpu_seconds_per_epoch"),  # the run's own work: fair under load
                "s / epoch": m.get("seconds_per_epoch"),  # wall clock: longer when others share the cores
                "epochs run": m.get("epochs_run"),
            }
        )
    return rows


def point_rows(rows: Sequence[Mapping[str, Any]], settings: Sequence[str]) -> list[dict[str, Any]]:
    """One row per point (the values of the ``settings`` columns) over its finished runs: each of
    SPREAD_KEYS as the mean, with ``<key> sd`` (None with one run); ``runs`` counts them, ``parameters`` kept."""
    from fmnist_lab.analysis import statistics  # not at import time: the CLI starts without SciPy

    points: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    for row in rows:
        if row.get("test accuracy") is not None:
            points.setdefault(tuple(row[s] for s in settings), []).append(row)
    out = []
    for point, members in points.items():
        summary: dict[str, Any] = dict(zip(settings, point, strict=True))
        summary |= {"runs": len(members), "parameters": members[0]["parameters"]}
        for key in SPREAD_KEYS:
            values = [row[key] for row in members if row.get(key) is not None]
            described = statistics.summarize(values) if values else None
            summary[key] = None if described is None else described.mean
            summary[f"{key} sd"] = None if described is None else described.sd
        out.append(summary)
    return out


def running_interval(status: Mapping[str, Any], now: datetime) -> tuple[datetime, datetime] | None:
    """When a run trained, from its status times (start, end; ``now`` if it still runs); None if it never ran."""
    start = _time(status.get("running"))
    if start is None:
        return None
    end = next((t for state in ENDED if (t := _time(status.get(state))) is not None), None)
    return start, max(end or now, start)


def shared_training(sweep: Sweep, runs: RunStore, now: datetime | None = None) -> dict[str, list[str]]:
    """Each member of ``sweep`` that trained while another run in the store did → those runs' names.

    Their wall-clock seconds then count waiting for the cores, not just their own work."""
    now = now or datetime.now(UTC)
    intervals = {}
    for run in runs.list():
        if (interval := running_interval(run.status, now)) is not None:
            intervals[run.id] = (run.name, interval)
    shared = {}
    for run_id in sweep.run_ids:
        if run_id not in intervals:
            continue
        (start, end) = intervals[run_id][1]
        others = [name for i, (name, (s, e)) in intervals.items() if i != run_id and s < end and start < e]
        if others:
            shared[run_id] = others
    return shared


def _time(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None


def plain_value(value: Any) -> Any:
    """A single-layer size as its number, so it plots on a numeric axis; deeper layouts as text."""
    if isinstance(value, tuple):
        return value[0] if len(value) == 1 else "-".join(map(str, value))
    return value


def _described(setting: str, value: Any) -> str:
    """A base setting in the sweep's name: ``1 epoch`` (not ``1 epochs``), else the setting's own words."""
    if setting == "epochs":
        return f"{value} epoch" if value == 1 else f"{value} epochs"
    return SETTINGS[setting].describe(value)


def _spelled(setting: str, values: Sequence[Any]) -> str:
    return ", ".join(SETTINGS[setting].format(v) for v in values)

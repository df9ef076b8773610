"""Groups: one setup trained over several seeds, stored beside the runs as ``runs/.groups/<id>.json``.

A group file holds the group's id, the setup (a ``TrainConfig`` dict without its seed), the seeds,
the member run ids (one per seed, same order), the creation time and an optional name and owner.
The members are ordinary runs; the group only names them. A member that fails, is stopped or is
deleted leaves the others usable, and ``counts`` says how many finished (``analysis.spread`` summarises
the finished members' accuracies: the store cannot import the statistics above it).

The run store's listing skips the ``.groups`` folder (its name starts with a dot). Files are written
atomically and read back through ``group_info``, so a damaged file is one damaged group with a
clear message.
"""

from __future__ import annotations

import builtins
import logging
import re
import secrets
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fmnist_lab.config import MAX_SEED, TrainConfig
from fmnist_lab.store import atomic, stored
from fmnist_lab.store.runs import (
    ACTIVE_STATES,
    RUN_ID_PATTERN,
    DamagedRun,
    Run,
    RunNotFound,
    RunStore,
    RunStoreError,
    StoreUnwritable,
    check_run_id,
    clean_name,
    now_iso,
)

log = logging.getLogger(__name__)

FOLDER = ".groups"  # inside the run store's folder
GROUP_ID_PATTERN = re.compile(r"g-[0-9]{8}-[0-9]{6}-[0-9a-f]{6}")  # e.g. g-20261121-093015-a3f09c
MAX_MEMBERS = 10  # a repeat is 1 to 10 seeds
MISSING, DAMAGED = "missing", "damaged"  # a member's state when its run cannot be read


class GroupError(RunStoreError):
    """Base class for group problems."""


class InvalidGroupId(GroupError, ValueError):
    """An id that could not have come from this store."""


class GroupNotFound(GroupError, LookupError):
    """No group with that id."""


class DamagedGroup(GroupNotFound):
    """The group's file is damaged; the message says how. Other groups are not affected."""


class BadGroup(GroupError, ValueError):
    """Runs that cannot form a group (different setups, repeated seeds, too many)."""


def new_group_id() -> str:
    return datetime.now(UTC).strftime("g-%Y%m%d-%H%M%S-") + secrets.token_hex(3)


def check_group_id(group_id: object) -> str:
    """Return ``group_id`` if it has the store's shape; raise ``InvalidGroupId`` otherwise."""
    if not isinstance(group_id, str) or not GROUP_ID_PATTERN.fullmatch(group_id):
        shown = repr(group_id)[:40]
        raise InvalidGroupId(f"{shown} is not a group id (they look like g-20261121-093015-a3f09c).")
    return group_id


def seed_series(config: TrainConfig, repeats: int) -> list[TrainConfig]:
    """The setup over ``repeats`` consecutive seeds, starting at its own (wrapping past the largest)."""
    return [replace(config, seed=(config.seed + k) % (MAX_SEED + 1)) for k in range(repeats)]


def setup_of(config: TrainConfig) -> dict[str, Any]:
    """The config as a dict without its seed: what every member of a group shares."""
    return {key: value for key, value in config.to_dict().items() if key != "seed"}


@dataclass(frozen=True)
class Group:
    """One setup over seeds: ``run_ids[i]`` trained with ``seeds[i]``."""

    id: str
    setup: dict[str, Any]  # TrainConfig.to_dict() without "seed"
    seeds: tuple[int, ...]
    run_ids: tuple[str, ...]
    created: str
    name: str | None = None
    owner: str | None = None

    def config(self, seed: int | None = None) -> TrainConfig:
        """The members' config with ``seed`` (default: the first member's)."""
        return TrainConfig.from_dict(self.setup | {"seed": self.seeds[0] if seed is None else seed})

    def label(self) -> str:
        """``name`` or the setup's summary, with the number of seeds."""
        return f"{self.name or self.config().summary()} · {len(self.seeds)} seeds"

    def to_dict(self) -> dict[str, Any]:
        info = {"id": self.id, "created": self.created, "name": self.name, "owner": self.owner}
        return info | {"setup": self.setup, "seeds": list(self.seeds), "run_ids": list(self.run_ids)}


@dataclass(frozen=True)
class Member:
    """One member as the store has it now: its run, or why it cannot be read."""

    run_id: str
    seed: int
    state: str  # a run state, or MISSING / DAMAGED
    run: Run | None = None
    problem: str | None = None


def group_info(data: Any, group_id: str) -> Group:
    """A group file's content, checked; ``stored.Damage`` names what is wrong."""
    where = f"{group_id}.json"
    if not isinstance(data, dict):
        raise stored.Damage(f"{where}: must be a JSON object, not {type(data).__name__}")
    if data.get("id") != group_id:
        raise stored.Damage(f"{where}: its id does not match the file's name")
    seeds, run_ids = data.get("seeds"), data.get("run_ids")
    if not isinstance(seeds, list) or not isinstance(run_ids, list) or len(seeds) != len(run_ids):
        raise stored.Damage(f"{where}: seeds and run_ids must be lists of equal length")
    _check_members(where, seeds, run_ids)
    setup = data.get("setup")
    if not isinstance(setup, dict) or "seed" in setup:
        raise stored.Damage(f"{where}: setup must be a JSON object of settings without the seed")
    try:
        TrainConfig.from_dict(setup | {"seed": seeds[0]})
    except (ValueError, TypeError) as exc:  # ConfigError is a ValueError
        raise stored.Damage(f"{where}: the settings are not valid ({str(exc)[:200]})") from None
    texts = {key: _optional_text(where, key, data.get(key)) for key in ("created", "name", "owner")}
    return Group(group_id, setup, tuple(seeds), tuple(run_ids), texts["created"] or "", texts["name"], texts["owner"])


class GroupStore:
    """Groups on disk beside the runs, one JSON file each; every method validates its id first."""

    def __init__(self, runs: RunStore) -> None:
        self.runs = runs
        self.root = Path(runs.root) / FOLDER

    def path(self, group_id: str) -> Path:
        return self.root / f"{check_group_id(group_id)}.json"

    def create(self, run_ids: builtins.list[str], name: str | None = None, owner: str | None = None) -> Group:
        """The group of ``run_ids`` (already in the store): one setup, one distinct seed each."""
        runs = [self.runs.load(check_run_id(run_id)) for run_id in run_ids]
        setup, seeds = _common_setup(runs)
        label = None if name is None else clean_name(name)
        group = Group(new_group_id(), setup, seeds, tuple(run_ids), now_iso(), label, owner)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            while self.path(group.id).exists():  # two groups in the same second with the same 3 random bytes
                group = replace(group, id=new_group_id())
            atomic.write_json(self.path(group.id), group.to_dict())
        except OSError as exc:
            raise StoreUnwritable(f"Cannot save a new group in {self.root} ({exc.strerror or exc}).") from None
        return group

    def load(self, group_id: str) -> Group:
        """The group; GroupNotFound, or DamagedGroup saying what is wrong with its file."""
        path = self.path(group_id)
        try:
            return group_info(stored.read_json(path), group_id)
        except FileNotFoundError:
            raise GroupNotFound(f"Group {group_id} was not found.") from None
        except stored.Damage as exc:
            raise DamagedGroup(f"Group {group_id}'s file is damaged: {exc}. Other groups are not affected.") from None

    def list(self) -> builtins.list[Group]:
        """Every readable group, newest first; damaged or foreign files are skipped with a warning."""
        groups = []
        for path in sorted(self.root.glob("*.json"), reverse=True) if self.root.is_dir() else []:
            if not GROUP_ID_PATTERN.fullmatch(path.stem) or path.is_symlink():
                continue
            try:
                groups.append(self.load(path.stem))
            except GroupError as exc:
                log.warning("skipping %s: %s", path, exc)
        return groups

    def members(self, group: Group) -> builtins.list[Member]:
        """Each member's run as it is now; a deleted or damaged run is a member that says so."""
        return [self._member(run_id, seed) for run_id, seed in zip(group.run_ids, group.seeds, strict=True)]

    def counts(self, group: Group) -> dict[str, int]:
        """How many members finished, failed, were stopped, are queued or running, or cannot be read."""
        states = Counter(member.state for member in self.members(group))
        counts = {state: states[state] for state in ("finished", "failed", "stopped")}
        active, unreadable = sum(states[s] for s in ACTIVE_STATES), states[MISSING] + states[DAMAGED]
        return {"members": len(group.run_ids), **counts, "active": active, "unreadable": unreadable}

    def _member(self, run_id: str, seed: int) -> Member:
        try:
            run = self.runs.load(run_id)
        except RunNotFound as exc:  # DamagedRun is one
            return Member(run_id, seed, DAMAGED if isinstance(exc, DamagedRun) else MISSING, problem=str(exc))
        return Member(run_id, seed, run.state, run)


def finished(members: builtins.list[Member]) -> builtins.list[Member]:
    """The members that finished, in the group's order."""
    return [member for member in members if member.state == "finished" and member.run is not None]


def _common_setup(runs: builtins.list[Run]) -> tuple[dict[str, Any], tuple[int, ...]]:
    """The setup every run shares and their seeds; BadGroup says why the runs cannot form a group."""
    if not 1 <= len(runs) <= MAX_MEMBERS:
        raise BadGroup(f"A group has 1 to {MAX_MEMBERS} runs, not {len(runs)}.")
    setups = [setup_of(run.config) for run in runs]
    if any(setup != setups[0] for setup in setups):
        raise BadGroup("The runs of a group must share every setting but the seed.")
    seeds = tuple(run.config.seed for run in runs)
    if len(set(seeds)) != len(seeds) or len({run.id for run in runs}) != len(runs):
        raise BadGroup("Each run of a group needs its own seed.")
    return setups[0], seeds


def _check_members(where: str, seeds: builtins.list[Any], run_ids: builtins.list[Any]) -> None:
    if not 1 <= len(seeds) <= MAX_MEMBERS:
        raise stored.Damage(f"{where}: a group has 1 to {MAX_MEMBERS} runs")
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            raise stored.Damage(f"{where}: each seed must be a whole number from 0 to {MAX_SEED}")
    if not all(isinstance(i, str) and RUN_ID_PATTERN.fullmatch(i) for i in run_ids):
        raise stored.Damage(f"{where}: run_ids must be run ids")
    if len(set(seeds)) != len(seeds) or len(set(run_ids)) != len(run_ids):
        raise stored.Damage(f"{where}: seeds and run ids must not repeat")


def _optional_text(where: str, key: str, value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise stored.Damage(f"{where}: {key} must be text")
    return None if value is None else value[: stored.MAX_TEXT]

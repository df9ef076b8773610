"""The host's settings: every ``FMNIST_*`` environment variable, described once and parsed in one place.

Each ``Variable`` names itself, its default, how its text is read and what it does; ``Environment.read``
turns a process's environment into one frozen object, and the README's tables are checked against
``VARIABLES``. A value that cannot be read (``FMNIST_MAX_TRAININGS=lots``) falls back to the default,
as a host expects of a server that must start; ``problems`` lists such values so a page or the CLI
can say so.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OFF_WORDS = ("0", "false", "no", "off")


@dataclass(frozen=True)
class Variable:
    """One environment variable: its name, what its text becomes, and what it does (for the README)."""

    name: str
    parse: Callable[[str], Any]  # raises ValueError on a value it cannot read
    default: str  # the README's words for the default
    doc: str


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(text)
    return value


def _cpus(text: str) -> float:
    value = float(text)
    if not 0 <= value < float("inf"):
        raise ValueError(text)
    return value


def _switch(text: str) -> bool:
    return text.lower() not in OFF_WORDS


def _text(text: str) -> str:
    return text


@dataclass(frozen=True)
class Environment:
    """What the host set; None: unset (each reader's documented default applies)."""

    lab_home: str | None = None
    data_dir: str | None = None
    cache_dir: str | None = None
    download: bool = True
    max_trainings: int | None = None
    warm_workers: int | None = None
    worker_runs: int = 20
    vectorise_groups: bool = True
    max_parameters: int | None = None
    max_epochs: int | None = None
    max_run_seconds: int | None = None
    max_queued_per_learner: int = 10  # the classic pair over 5 seeds is 10 runs
    max_queued: int = 100
    instructor_key: str | None = None
    ray_address: str | None = None
    ray_cpus: float = 1.0
    ray_trainings: int | None = None
    problems: tuple[str, ...] = ()  # values that could not be read, each with the default used instead

    @classmethod
    def read(cls, environ: Mapping[str, str] | None = None) -> Environment:
        """Parse every variable in ``environ`` (default: this process's environment)."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        problems = []
        for field, variable in VARIABLES.items():
            text = environ.get(variable.name, "").strip()
            if not text:
                continue
            try:
                values[field] = variable.parse(text)
            except (ValueError, OverflowError):
                problems.append(f"{variable.name}={text[:40]!r} is not valid; using the default ({variable.default}).")
        return cls(**values, problems=tuple(problems))

    def trainings(self) -> int:
        """Simultaneous local trainings: ``FMNIST_MAX_TRAININGS``, else the CPU count."""
        return self.max_trainings or os.cpu_count() or 1

    def pool_size(self) -> int:
        """Warm workers a server keeps: ``FMNIST_WARM_WORKERS``, else one per training slot; 0: none."""
        return self.trainings() if self.warm_workers is None else self.warm_workers

    def home(self) -> Path:
        """The lab's folder (created on first write, not here)."""
        return Path(self.lab_home).expanduser() if self.lab_home else Path.home() / ".fmnist-lab"


VARIABLES: dict[str, Variable] = {  # Environment field → its variable
    "lab_home": Variable(
        "FMNIST_LAB_HOME",
        _text,
        "`~/.fmnist-lab`",
        "where runs (`runs/<id>/`) and the parsed-data cache (`cache/`) live",
    ),
    "data_dir": Variable("FMNIST_DATA_DIR", _text, "unset", "a folder holding the four IDX files; searched first"),
    "cache_dir": Variable(
        "FMNIST_CACHE_DIR",
        _text,
        "`$FMNIST_LAB_HOME/cache`",
        "where the parsed data set is cached; several lab homes may share one",
    ),
    "download": Variable("FMNIST_DOWNLOAD", _switch, "`1`", "`0` forbids the Keras download fallback"),
    "max_trainings": Variable(
        "FMNIST_MAX_TRAININGS",
        _positive,
        "the number of CPU cores",
        "trainings at once; further runs wait in a queue",
    ),
    "warm_workers": Variable(
        "FMNIST_WARM_WORKERS",
        _count,
        "`FMNIST_MAX_TRAININGS`",
        "warm worker processes the server keeps (1–1.5 GB of memory each); `0`: a fresh process per run",
    ),
    "worker_runs": Variable(
        "FMNIST_WORKER_RUNS",
        _positive,
        "`20`",
        "runs a warm worker trains before it is replaced (keeps memory bounded)",
    ),
    "vectorise_groups": Variable(
        "FMNIST_VECTORISE_GROUPS",
        _switch,
        "`1`",
        "a click's seeds of one plain setup train as one vectorised computation in one slot; `0`: one by one",
    ),
    "max_parameters": Variable(
        "FMNIST_MAX_PARAMETERS",
        _positive,
        "unset",
        "the largest model (weights + biases) a learner may queue from the app; a link asking for more gets a note",
    ),
    "max_epochs": Variable("FMNIST_MAX_EPOCHS", _positive, "unset", "the most epochs a learner may queue from the app"),
    "max_run_seconds": Variable(
        "FMNIST_MAX_RUN_SECONDS",
        _positive,
        "unset",
        "the longest training a learner may queue, estimated from its steps and size at this server's measured speed",
    ),
    "max_queued_per_learner": Variable(
        "FMNIST_MAX_QUEUED_PER_LEARNER",
        _positive,
        "`10`",
        "runs one learner may have waiting; a click that would queue more is refused whole",
    ),
    "max_queued": Variable("FMNIST_MAX_QUEUED", _positive, "`100`", "runs waiting on the whole server"),
    "instructor_key": Variable(
        "FMNIST_INSTRUCTOR_KEY",
        _text,
        "unset",
        "the instructor's secret: whoever enters it may stop any run",
    ),
    "ray_address": Variable("FMNIST_RAY_ADDRESS", _text, "unset", "the cluster to train on"),
    "ray_cpus": Variable("FMNIST_RAY_CPUS", _cpus, "`1`", "CPUs each training reserves on its node"),
    "ray_trainings": Variable(
        "FMNIST_RAY_TRAININGS",
        _positive,
        "the cluster's CPUs / `FMNIST_RAY_CPUS`",
        "trainings at once (one warm trainer actor each)",
    ),
}


def environment() -> Environment:
    """This process's settings, as the environment holds them now."""
    return Environment.read()

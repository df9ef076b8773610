"""How long learners wait in line in the load test (``bench/load_test.py --hogs``), in run times.

Each learner's wait is from their click on *Train* to the start of their run, as the run's
``status.json`` records it. The store stamps states to the second (``store.runs.now_iso``
truncates), so a run stamped ``10:00:07`` started within [07, 08): its start is taken as 07.5,
± 0.5 s. One run time is the median time a run held a training slot, its finished stamp less
its running stamp (both truncated alike, so no bias; ± 1 s each). Each test's waits are counted in
its own run time, so a machine that got busier or quieter between the two tests (runs slower or
faster) moves neither's count: what is left is the learners' place in line.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

GOAL_RUN_TIMES = 1.0  # the learners' first runs start at most one run time later with the hogs than without
STAMP_RESOLUTION = 1.0  # seconds: status.json's times are whole seconds


def stamp_seconds(stamp: str) -> float:
    """An ISO time with its zone (``2026-12-06T06:14:20+00:00``) as seconds since the epoch."""
    return datetime.fromisoformat(stamp).timestamp()


def started_at(status: Mapping[str, Any]) -> float | None:
    """When the run started training, mid-second of its stamp; None if it never did."""
    running = status.get("running")
    return stamp_seconds(running) + STAMP_RESOLUTION / 2 if running else None


def slot_seconds(status: Mapping[str, Any]) -> float | None:
    """Seconds a finished run held its training slot; None if it did not both start and finish."""
    running, finished = status.get("running"), status.get("finished")
    return stamp_seconds(finished) - stamp_seconds(running) if running and finished else None


@dataclass(frozen=True)
class Waits:
    """Learners' waits (seconds, in click order) from click to their run's start, and one run's time."""

    waits: tuple[float, ...]
    run_time: float  # seconds: the median run's time in its training slot
    unstarted: int = 0  # learners whose run never started

    @property
    def median(self) -> float:
        return statistics.median(self.waits)

    @property
    def longest(self) -> float:
        return max(self.waits)


def waits(clicks: Sequence[tuple[float, Mapping[str, Any]]], statuses: Iterable[Mapping[str, Any]]) -> Waits:
    """``clicks``: each learner's click time (epoch seconds) and their run's status, in click order;
    ``statuses``: every run's status, for the run time."""
    starts = [(clicked, started_at(status)) for clicked, status in clicks]
    held = [seconds for status in statuses if (seconds := slot_seconds(status)) is not None]
    if not held:
        raise ValueError("no run finished: there is no run time to count in")
    found = tuple(start - clicked for clicked, start in starts if start is not None)
    if not found:
        raise ValueError("no learner's run started")
    return Waits(found, statistics.median(held), len(starts) - len(found))


@dataclass(frozen=True)
class Later:
    """How much later the learners' runs start with the hogs than without, in run times (each test's own)."""

    median: float
    longest: float
    goal: float = GOAL_RUN_TIMES
    unstarted: int = 0  # learners whose run never started, in either test: a failure whatever the times

    @property
    def passed(self) -> bool:
        return self.median <= self.goal and self.longest <= self.goal and not self.unstarted


def later(without: Waits, with_hogs: Waits, goal: float = GOAL_RUN_TIMES) -> Later:
    """The median and the longest wait with the hogs less those without, each in its own test's run times."""
    alone, hogged = without.run_time, with_hogs.run_time
    median = with_hogs.median / hogged - without.median / alone
    longest = with_hogs.longest / hogged - without.longest / alone
    return Later(median, longest, goal, without.unstarted + with_hogs.unstarted)


def describe(waits: Waits) -> str:
    """One line: the waits' median and longest, in seconds and in run times."""
    unit = waits.run_time
    text = (
        f"click → run starts, {len(waits.waits)} learners: median {waits.median:.1f} s "
        f"({waits.median / unit:.2f} run times), longest {waits.longest:.1f} s ({waits.longest / unit:.2f} run times); "
        f"one run time {unit:.1f} s (median); start times ± 0.5 s"
    )
    return text + (f"; {waits.unstarted} runs never started" if waits.unstarted else "")

"""Who goes next, and how much one learner may queue: the queue's rules, the same for every executor.

Fair order is round robin between learners: a learner's k-th waiting run, counting the runs they
already have training, ranks k; runs of equal rank go oldest first. One learner's seven-run sweep
then takes every other learner's turn only once, and a learner's place in line is at most the
number of learners ahead of them. The command line (no owner) counts as one learner.
Caps are on waiting runs: at most ``per_learner`` for one learner and ``total`` for the server,
beyond the runs the server can start at once (so a 7-run sweep on a 2-slot server leaves 5
waiting), and a click that queues several runs is taken whole or refused whole.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

CLI = ""  # the owner key of runs started from the command line: one learner among the others


@dataclass(frozen=True)
class Waiting:
    """One run in line: its id, its learner, and when it was created (its place among that learner's)."""

    run_id: str
    owner: str
    created_ns: int


def fair_order(waiting: Iterable[Waiting], training: Counter[str] | None = None) -> list[str]:
    """Run ids in the order they should start; ``training``: each learner's runs training now."""
    training = training or Counter()
    rank: Counter[str] = Counter()
    keyed = []
    for run in sorted(waiting, key=lambda run: (run.created_ns, run.run_id)):
        keyed.append((training[run.owner] + rank[run.owner], run.created_ns, run.run_id))
        rank[run.owner] += 1
    return [run_id for *_, run_id in sorted(keyed)]


@dataclass(frozen=True)
class QueueCaps:
    """At most ``per_learner`` waiting runs for one learner, ``total`` for everyone; None: no cap."""

    per_learner: int | None = None
    total: int | None = None

    def refusal(self, adding: int, mine: int, everyone: int, slots: int = 0) -> str | None:
        """Why ``adding`` more runs cannot join a line where this learner has ``mine`` and all have
        ``everyone``, on a server that trains ``slots`` at once; None if they can."""
        if self.per_learner is not None and mine + adding - slots > self.per_learner:
            have = f"you have {mine} waiting" if mine else "you have none waiting"
            return (
                f"This server keeps at most {self.per_learner} runs per learner waiting ({have}; this asks for "
                f"{adding}, and {slots} can train at once). "
                "Wait for some to start, or stop one of yours."
            )
        if self.total is not None and everyone + adding - slots > self.total:
            return f"The queue is full ({everyone} runs waiting, at most {self.total}). Try again in a few minutes."
        return None

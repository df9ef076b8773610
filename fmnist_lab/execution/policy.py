"""Who goes next, and how much one learner may queue: the queue's rules, the same for every executor.

Fair order is round robin between learners: a learner's k-th waiting run ranks k plus the turns
they have had this round, and runs of equal rank go oldest first. A learner's turns this round are
the larger of their runs training now and their runs that held a slot at some moment since the
line's oldest waiting run joined it (``turns``): started since then, or started before and ended
since. So a learner whose run just ended does not jump back to the head of the line with their next
one, even when that run took a free slot the moment they clicked: one learner's seven-run sweep takes
every other learner's turn only once, and a learner's place in line is at most the number of
learners ahead of them.
The command line (no owner) counts as one learner.
Caps are on waiting runs: at most ``per_learner`` for one learner and ``total`` for the server,
beyond the runs the server can start at once (so a 7-run sweep on a 2-slot server leaves 5
waiting), and a click that queues several runs is taken whole or refused whole.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

KEPT_STARTS = 1000  # starts an executor remembers for the turns: far more than a workshop's line holds
CLI = ""  # the owner key of runs started from the command line: one learner among the others


@dataclass(frozen=True)
class Waiting:
    """One run in line: its id, its learner, and when it was created (its place among that learner's)."""

    run_id: str
    owner: str
    created_ns: int


def fair_order(
    waiting: Iterable[Waiting], training: Counter[str] | None = None, started: Iterable[Start] = ()
) -> list[str]:
    """Run ids in the order they should start; ``training``: each learner's runs training now;
    ``started``: runs that took a slot (training or ended), for ``turns``."""
    waiting = sorted(waiting, key=lambda run: (run.created_ns, run.run_id))
    served = turns(waiting, training or Counter(), started)
    rank: Counter[str] = Counter()
    keyed = []
    for run in waiting:
        keyed.append((served[run.owner] + rank[run.owner], run.created_ns, run.run_id))
        rank[run.owner] += 1
    return [run_id for *_, run_id in sorted(keyed)]


@dataclass(frozen=True)
class Start:
    """A run that took a slot: its learner, when, and when it gave the slot back (None: it still
    trains, or its end went unrecorded because its process was killed)."""

    owner: str
    started_ns: int
    ended_ns: int | None = None

    def held_since(self, since_ns: int) -> bool:
        """Whether the run held its slot at some moment since ``since_ns``."""
        return self.started_ns >= since_ns or (self.ended_ns is not None and self.ended_ns >= since_ns)


def turns(waiting: Sequence[Waiting], training: Counter[str], started: Iterable[Start]) -> Counter[str]:
    """Each learner's turns this round: the larger of their runs training now and their runs that held a
    slot at some moment since the oldest of ``waiting`` joined the line."""
    if not waiting:
        return Counter()
    since = min(run.created_ns for run in waiting)
    recent = Counter(start.owner for start in started if start.held_since(since))
    return Counter({owner: max(training[owner], recent[owner]) for owner in training.keys() | recent.keys()})


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

"""A lesson check's answer to the learner: right, with why in their run's numbers; or wrong, with a hint."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    right: bool
    why: str  # right: why, in the run's numbers; wrong: a hint that leads to the answer without giving it


def verdict(answer: str, expected: str, explanation: str, hint: str) -> Verdict:
    """Right with ``explanation`` if ``answer`` is ``expected``; else wrong with ``hint``, never the answer."""
    return Verdict(True, explanation) if answer == expected else Verdict(False, hint)

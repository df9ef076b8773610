"""Where a training run is: epochs trained (a fraction when stopped mid-epoch) and the time left.

The time left is measured from two moments of the run (the first one a viewer saw after the
first batch, and now), not from the start: the first batch also pays for TensorFlow's graph
compilation, which does not repeat, so an estimate from the start runs several times too high.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Sample = tuple[float, float]  # (seconds since training began, epochs trained by then)


def position(progress: Mapping[str, Any]) -> float:
    """Epochs trained so far, e.g. 1.8 during the second epoch; 0 before the first batch."""
    if not progress:
        return 0.0
    steps = max(int(progress["steps"]), 1)
    return max(progress["epoch"] - 1, 0) + min(progress["batch"], steps) / steps


def fraction_done(progress: Mapping[str, Any]) -> float:
    if not progress:
        return 0.0
    return min(max(position(progress) / max(progress["epochs"], 1), 0.0), 1.0)


def sample(progress: Mapping[str, Any]) -> Sample | None:
    """This moment of the run, once a batch has trained (before that the clock holds compile time)."""
    at = position(progress)
    return (float(progress["elapsed"]), at) if at > 0 else None


def seconds_left(
    progress: Mapping[str, Any], first: Sample | None, history: Sequence[Mapping[str, Any]] = ()
) -> float | None:
    """Seconds until the last epoch ends, or None while there is nothing to measure a pace from.

    Once an epoch after the first has finished, its time (training plus held-out scoring) is the
    pace; before that, the slope between ``first`` and now.
    """
    now = sample(progress)
    if now is None:
        return None
    later = [float(record["seconds"]) for record in history[1:] if record.get("fraction", 1) >= 1]
    if later and "epoch_seconds" in progress:
        per_epoch = sum(later) / len(later)
        left = (progress["epochs"] - progress["epoch"] + 1) * per_epoch - float(progress["epoch_seconds"])
        return max(left, 0.0)
    if first is None or now[1] - first[1] <= 0:
        return None
    return max((progress["epochs"] - now[1]) * (now[0] - first[0]) / (now[1] - first[1]), 0.0)


def epochs_trained(history: Sequence[Mapping[str, Any]]) -> float:
    """Whole epochs plus the part of a stopped one: 1.8 when stopped 80 % into the second epoch."""
    return round(sum(float(record.get("fraction", 1)) for record in history), 2)


def epochs_text(trained: float) -> str:
    return f"{trained:.1f}".removesuffix(".0")

"""Workshop drain: how long a class's "128 vs 1024 over 3 seeds" clicks take to train, groups vectorised or not.

    .venv/bin/python bench/workshop_drain.py [--learners 20] [--epochs 5] [--seeds 3] [--train-samples N]
        [--max-trainings N]

Each of N learners queues the Compare page's classic pair (128 and 1024 units) over 3 seeds, 6 runs a
click (120 runs for 20 learners), through the app's own executor (``factory.executor(warm=True)``: the
real rules, warm workers, the local queue) on a fresh lab home with the real data set. The clock starts
once the warm workers are ready (the same cost either way) and stops when every run has ended. It runs
twice in one invocation, ``FMNIST_VECTORISE_GROUPS=1`` (each learner's 3 seeds of a setup trained as one
computation in one slot) and ``0`` (one by one), and prints both times, their ratio and each side's mean
test accuracy (the two should agree within the seeds' spread). Issue #26's goal: vectorised ≤ 40 % of
one by one. ``FMNIST_MAX_QUEUED`` is raised for the run (120 waiting runs exceed the default 100).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from fmnist_lab import RunStore, TrainConfig  # noqa: E402
from fmnist_lab.analysis.compare import classic_pair  # noqa: E402
from fmnist_lab.environment import Environment  # noqa: E402
from fmnist_lab.execution.factory import Ruled, executor  # noqa: E402
from fmnist_lab.store.groups import seed_series  # noqa: E402

REAL_DATA = Path("/usr/share/datasets/fashion-mnist")
POLL = 0.5  # seconds between looks at whether the queue has drained
GOAL = 0.40  # vectorised drain time / one-by-one drain time, at most (issue #26)


def click(epochs: int, seeds: int, train_samples: int | None) -> list[TrainConfig]:
    """One learner's click on Compare: the classic pair over ``seeds`` seeds, as ``groups_ui`` builds it."""
    pair = [replace(config, train_samples=train_samples) for config in classic_pair(epochs)]
    return [config for side in pair for config in seed_series(side, seeds)]


def drain(args: argparse.Namespace, vectorise: bool) -> dict[str, float]:
    """Queue every learner's click on a fresh lab home and time until every run has ended."""
    with tempfile.TemporaryDirectory(prefix="drain-") as home:
        os.environ |= {"FMNIST_LAB_HOME": home, "FMNIST_VECTORISE_GROUPS": "1" if vectorise else "0"}
        lab = executor(RunStore(Path(home) / "runs"), warm=True, settings=Environment.read())
        wait_until_warm(lab)
        started = time.monotonic()
        ids = [run.id for k in range(args.learners) for run in lab.submit_all(click(*shape(args)), owner=f"{k:024x}")]
        while any(lab.store.load(run_id).is_active for run_id in ids):
            time.sleep(POLL)
        seconds = time.monotonic() - started
        result = summary(lab.store, ids, seconds)
        close(lab)
    return result


def shape(args: argparse.Namespace) -> tuple[int, int, int | None]:
    return args.epochs, args.seeds, args.train_samples


def wait_until_warm(lab: Ruled) -> None:
    pool = getattr(lab.inner, "pool", None)
    while pool is not None and pool.idle() < pool.size:
        time.sleep(POLL)


def summary(store: RunStore, ids: list[str], seconds: float) -> dict[str, float]:
    runs = [store.load(run_id) for run_id in ids]
    accuracies = [run.metrics["test_accuracy"] for run in runs if run.state == "finished" and run.metrics]
    failed = [run for run in runs if run.state != "finished"]
    for run in failed[:3]:
        print(f"  not finished: {run.id} {run.state} {run.status.get('error') or run.status.get('stop_reason')}")
    return {
        "seconds": seconds,
        "finished": len(accuracies),
        "runs": len(runs),
        "accuracy": statistics.fmean(accuracies) if accuracies else float("nan"),
    }


def close(lab: Ruled) -> None:
    """Let the warm workers go and wait until they have (the next side starts on a quiet machine)."""
    lab.close()
    pool = getattr(lab.inner, "pool", None)
    if pool is None:
        return
    pids = list(pool.pids())
    pool.close()
    while any(_running(pid) for pid in pids):  # the pool's watchers reap them as they leave
        time.sleep(POLL)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def prepare(args: argparse.Namespace, cache: Path) -> None:
    """The environment both sides share: the real data, one parsed-data cache, room in the queue."""
    os.environ.setdefault("FMNIST_DATA_DIR", str(REAL_DATA))
    os.environ |= {"FMNIST_CACHE_DIR": str(cache), "FMNIST_MAX_QUEUED": "100000", "FMNIST_DOWNLOAD": "0"}
    if args.max_trainings:
        os.environ["FMNIST_MAX_TRAININGS"] = str(args.max_trainings)
    from fmnist_lab.training.data import load_dataset

    load_dataset()  # parsed into the shared cache once, before either clock starts


def report(sides: dict[str, dict[str, float]]) -> None:
    for label, side in sides.items():
        print(
            f"{label:>12}: {side['seconds']:8.1f} s  {side['finished']:.0f}/{side['runs']:.0f} finished  "
            f"mean test accuracy {side['accuracy']:.4f}"
        )
    ratio = sides["vectorised"]["seconds"] / sides["one by one"]["seconds"]
    verdict = "meets" if ratio <= GOAL else "misses"
    print(f"ratio vectorised / one by one: {ratio:.2f} ({verdict} the goal of at most {GOAL:.2f})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--train-samples", type=int, default=None, help="default: the whole training set")
    parser.add_argument("--max-trainings", type=int, default=None, help="default: $FMNIST_MAX_TRAININGS or the cores")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="drain-cache-") as cache:
        prepare(args, Path(cache))
        runs = args.learners * 2 * args.seeds
        print(f"{args.learners} learners × 2 setups × {args.seeds} seeds = {runs} runs of {args.epochs} epochs")
        sides = {}
        for label, vectorise in (("vectorised", True), ("one by one", False)):
            sides[label] = drain(args, vectorise)
            print(f"{label}: drained in {sides[label]['seconds']:.1f} s", flush=True)
    report(sides)
    return 0 if all(side["finished"] == side["runs"] for side in sides.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

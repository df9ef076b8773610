"""Ray's overhead per run against local warm workers, measured in one run of the benchmark.

    unshare -n sh -c 'ip link set lo up && exec .venv/bin/python bench/ray_overhead.py [--runs 3]'  # as root

Starts a two-node Ray cluster on loopback (``ray start --head --port=P --num-cpus=1``, then
``ray start --address=127.0.0.1:P --num-cpus=1``; it refuses to outside a private network
namespace), then trains the same run (128 units, 1 epoch, the real data set) one at a time
through the local executor with a warm worker and through the Ray executor, after one
untimed run each to warm them. For every run it prints submit → first progress in the
server's store and submit → finished (final files in the server's store), and the
medians. Ends with ``ray stop --force``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from ray_cluster import NotPrivate, loopback_cluster  # noqa: E402

from fmnist_lab import RunStore, TrainConfig  # noqa: E402
from fmnist_lab.execution.contract import Executor  # noqa: E402
from fmnist_lab.execution.local import LocalExecutor  # noqa: E402
from fmnist_lab.execution.warm import WarmPool  # noqa: E402

PORT = 6391
CONFIG = TrainConfig(hidden_units=(128,), epochs=1)
POLL = 0.02  # seconds between looks at the store


def timed(executor: Executor) -> tuple[float, float]:
    """Seconds from submit to the first progress in the store, and to the finished run."""
    start = time.monotonic()
    run = executor.submit(CONFIG)
    while not executor.store.progress(run.id):
        time.sleep(POLL)
    first = time.monotonic() - start
    while executor.store.load(run.id).is_active:
        time.sleep(POLL)
    done = executor.store.load(run.id)
    assert done.state == "finished", done.status
    return first, time.monotonic() - start


def series(name: str, executor: Executor, runs: int) -> list[tuple[float, float]]:
    timed(executor)  # warms whatever is still cold
    times = [timed(executor) for _ in range(runs)]
    for first, done in times:
        print(f"{name:>5}: first progress {first:5.2f} s, finished {done:5.2f} s")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="fmnist-ray-bench-"))
    local_store = RunStore(home / "local")
    pool = WarmPool(local_store, 1)
    local = series("local", LocalExecutor(local_store, pool=pool), args.runs)
    pool.close()
    with loopback_cluster(PORT) as address:
        from fmnist_lab.execution.ray_executor import RayExecutor

        cluster = series("ray", RayExecutor(RunStore(home / "ray"), address), args.runs)
    for name, times in (("local", local), ("ray", cluster)):
        first, done = statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)
        print(f"median {name:>5}: first progress {first:.2f} s, finished {done:.2f} s")
    overhead = statistics.median(t[1] for t in cluster) - statistics.median(t[1] for t in local)
    print(f"Ray's overhead per run: {overhead:+.2f} s")


if __name__ == "__main__":
    try:
        main()
    except NotPrivate as exc:
        sys.exit(str(exc))

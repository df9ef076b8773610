"""A two-node Ray cluster on loopback, for the Ray tests and benchmarks on one machine.

``ray start --head --port=P --num-cpus=1``, then ``ray start --address=127.0.0.1:P --num-cpus=1``:
two nodes, both on 127.0.0.1. Outside a private network namespace Ray would use the machine's
network address, so ``loopback_cluster`` refuses to start there: run the caller inside
``unshare -n`` with ``ip link set lo up`` (as root; ``scripts/check.sh`` does). It ends every
Ray process it started (``ray stop --force``).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

RAY = str(Path(sys.executable).parent / "ray")


class NotPrivate(RuntimeError):
    """Not inside a private network namespace: a cluster here would be reachable from the network."""


def private_network() -> bool:
    """Only the loopback interface exists (``unshare -n``)."""
    return [name for _, name in socket.if_nameindex()] == ["lo"]


# Runs a command in a session of its own at the lowest CPU priority, the session's autogroup too
# (under Linux's autogroup scheduling ``nice`` alone ranks a process only inside its group).
LOWEST = ["setsid", "-w", "sh", "-c", 'echo 19 > /proc/self/autogroup 2>/dev/null; exec nice -n 19 "$0" "$@"']


def ray_command(*args: str, lowest_priority: bool = False) -> None:
    env = os.environ | {"RAY_USAGE_STATS_ENABLED": "0"}
    argv = [*(LOWEST if lowest_priority else []), RAY, *args]
    subprocess.run(argv, check=True, env=env, capture_output=True, timeout=300)


@contextlib.contextmanager
def loopback_cluster(port: int, lowest_priority: bool = False) -> Iterator[str]:
    """A head and a second node with one CPU each; yields the address ``127.0.0.1:port``.

    ``lowest_priority``: the nodes' processes (they inherit it) yield the CPU to everything else
    here, standing in for nodes on machines of their own (a benchmark's choice, not the tests').
    """
    if not private_network():
        raise NotPrivate("run this inside a private network namespace: unshare -n, then ip link set lo up")
    try:
        ray_command("start", "--head", f"--port={port}", "--num-cpus=1", lowest_priority=lowest_priority)
        ray_command("start", f"--address=127.0.0.1:{port}", "--num-cpus=1", lowest_priority=lowest_priority)
        yield f"127.0.0.1:{port}"
    finally:
        ray_command("stop", "--force")

"""The Ray executor on a real 2-node Ray cluster on loopback, inside a private network namespace.

``scripts/check.sh`` runs this module in ``unshare -n`` with only ``lo`` up; anywhere else the
cluster would be reachable on the machine's network, so the tests refuse to start it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.training.train import train_run
from tests.execution.test_local import QUICK, wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from ray_cluster import loopback_cluster, private_network  # noqa: E402  (scripts/, beside lab_server)

pytestmark = pytest.mark.ray
ray = pytest.importorskip("ray")

PORT = 6390  # in a private network namespace nothing else listens
LONG = TrainConfig(hidden_units=(16,), epochs=100, train_samples=3000, test_samples=500)
NOT_COPIED = {"alive.lock", "cancel", "worker.log"}  # liveness and control files of a local run


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    if not private_network():
        if os.environ.get("FMNIST_REQUIRE_RAY") == "1":
            pytest.fail("FMNIST_REQUIRE_RAY=1 but this is not a private network namespace; run scripts/check.sh")
        pytest.skip("the Ray cluster starts only inside a private network namespace (scripts/check.sh, as root)")
    with loopback_cluster(PORT) as address:
        try:
            yield address
        finally:
            ray.shutdown()


@pytest.fixture
def executor(cluster: str, app_env: Path) -> Iterator[object]:
    from fmnist_lab.execution.ray_executor import RayExecutor

    running = RayExecutor(RunStore(), cluster)
    yield running
    running.close()


def files_of(store: RunStore, run_id: str) -> set[str]:
    """The run's files; TensorBoard's by folder (their names carry a time and a process id)."""
    folder = store.path(run_id)
    names = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()} - NOT_COPIED
    return {name.rsplit("/events.out.tfevents.", 1)[0] + "/events" if "tfevents" in name else name for name in names}


def test_a_run_trains_on_the_cluster_with_the_same_artefacts_as_locally(executor, app_env: Path) -> None:  # noqa: ANN001
    store = executor.store
    run = executor.submit(QUICK)
    wait_for(lambda: not store.load(run.id).is_active, 600)
    done = store.load(run.id)
    assert done.state == "finished", done.status
    assert len(store.history(run.id)) == 2 and done.metrics["epochs_run"] == 2
    probabilities, labels = store.predictions(run.id)
    assert probabilities.shape == (500, 10) and labels.shape == (500,)
    assert [w.shape for w in store.weights(run.id)] == [(784, 16), (16,), (16, 10), (10,)]
    local = RunStore(store.root.parent / "local")
    here = local.create(QUICK)
    train_run(local, here.id)
    assert files_of(store, run.id) == files_of(local, here.id)
    assert local.load(here.id).metrics["test_accuracy"] == pytest.approx(done.metrics["test_accuracy"], abs=0.05)


def test_runs_land_on_both_nodes_and_stop_on_request(executor) -> None:  # noqa: ANN001
    store = executor.store
    runs = [executor.submit(LONG), executor.submit(LONG)]
    wait_for(lambda: all(store.history(run.id) for run in runs), 600)
    nodes = {executor.node_of(run.id) for run in runs}
    assert len(nodes) == 2 and None not in nodes
    assert {node["NodeID"] for node in ray.nodes() if node["Alive"]} == nodes
    for run in runs:
        executor.cancel(run.id)
    wait_for(lambda: not any(store.load(run.id).is_active for run in runs), 120)
    for run in runs:
        stopped = store.load(run.id)
        assert stopped.state == "stopped" and stopped.metrics["epochs_run"] < 100


def test_a_run_waits_in_the_cluster_queue_and_can_leave_it(executor) -> None:  # noqa: ANN001
    store = executor.store
    busy = [executor.submit(LONG), executor.submit(LONG)]
    waiting = executor.submit(QUICK)
    wait_for(lambda: all(store.history(run.id) for run in busy), 600)
    assert executor.queue_position(waiting.id) == 1 and executor.alive(waiting.id)
    executor.cancel(waiting.id)
    wait_for(lambda: not store.load(waiting.id).is_active, 60)
    assert store.load(waiting.id).state == "stopped" and store.history(waiting.id) == []
    for run in busy:
        executor.cancel(run.id)
    wait_for(lambda: not any(store.load(run.id).is_active for run in busy), 120)


def test_a_killed_trainer_fails_its_run_with_the_reason(executor) -> None:  # noqa: ANN001
    store = executor.store
    run = executor.submit(LONG)
    wait_for(lambda: len(store.history(run.id)) >= 1, 600)
    ray.kill(ray.get(executor.dispatcher.trainer_of.remote(run.id)))
    wait_for(lambda: not store.load(run.id).is_active, 120)
    failed = store.load(run.id)
    assert failed.state == "failed" and failed.status["error"].startswith("lost on the Ray cluster")
    assert executor.refresh() == []


def test_runs_go_on_when_the_server_restarts(executor, cluster: str) -> None:  # noqa: ANN001
    from fmnist_lab.execution.ray_executor import RayExecutor

    store = executor.store
    run = executor.submit(QUICK)
    executor.close()  # the old server goes; the dispatcher and trainers stay on the cluster
    restarted = RayExecutor(RunStore(store.root), cluster)
    try:
        assert restarted.alive(run.id)
        wait_for(lambda: not store.load(run.id).is_active, 600)
        assert store.load(run.id).state == "finished" and len(store.history(run.id)) == 2
    finally:
        restarted.close()


def test_the_address_alone_sends_the_clis_trainings_to_the_cluster(executor, cluster: str) -> None:  # noqa: ANN001
    """``FMNIST_RAY_ADDRESS`` set: ``python -m fmnist_lab train`` (through ``executor()``) trains on a node."""
    argv = [sys.executable, "-m", "fmnist_lab", "train", "--hidden-units", "16", "--epochs", "1"]
    argv += ["--train-samples", "600", "--test-samples", "200"]
    env = os.environ | {"FMNIST_RAY_ADDRESS": cluster, "RAY_USAGE_STATS_ENABLED": "0"}
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    run_id = json.loads(done.stdout.strip().splitlines()[-1])["run_id"]
    assert executor.store.load(run_id).state == "finished"
    assert executor.node_of(run_id) in {node["NodeID"] for node in ray.nodes() if node["Alive"]}


def test_the_factory_applies_the_host_caps_to_the_cluster_too(executor, cluster: str) -> None:  # noqa: ANN001
    """The same rules for every executor: a run over FMNIST_MAX_PARAMETERS is refused before Ray sees it."""
    from fmnist_lab.environment import Environment
    from fmnist_lab.execution.contract import SubmitRefused
    from fmnist_lab.execution.factory import Ruled
    from fmnist_lab.execution.factory import executor as build
    from fmnist_lab.execution.ray_executor import RayExecutor

    ruled = build(executor.store, settings=Environment(ray_address=cluster, max_parameters=120_000))
    assert isinstance(ruled, Ruled) and isinstance(ruled.inner, RayExecutor)
    try:
        with pytest.raises(SubmitRefused, match="at most 120,000 parameters"):
            ruled.submit(TrainConfig(hidden_units=(1024,)))
    finally:
        ruled.inner.close()
    assert executor.store.list() == []  # nothing was made, nothing queued on the cluster


def test_a_cluster_that_cannot_take_the_run_is_a_refusal_and_the_run_ends_failed(executor) -> None:  # noqa: ANN001
    """Last in this module: it kills the dispatcher (the next executor would make a new one)."""
    from fmnist_lab.execution.contract import SubmitRefused

    store = executor.store
    ray.kill(executor.dispatcher, no_restart=True)  # the cluster's queue is gone
    with pytest.raises(SubmitRefused, match="Ray cluster could not take the run"):
        executor.submit(QUICK)
    (run,) = store.list()
    assert run.state == "failed" and "did not take it" in run.status["error"]

"""Trainings on a Ray cluster, behind the same seam as local workers (``$FMNIST_RAY_ADDRESS``).

Three kinds of process take part:

- ``Trainer`` actors, one per training slot, each reserving ``$FMNIST_RAY_CPUS`` CPUs (default
  1): warm processes holding the data set, training into a scratch run store on their own node;
- one ``Dispatcher``, a detached named actor: the queue (``policy.fair_order``, as locally), which trainer works
  on which run, and what became of each. It outlives the server, so a restarted server finds
  the runs still training; a trainer that dies (its node lost, killed) has its run reported
  lost with Ray's reason, and is replaced;
- the server's ``RayExecutor``: submits runs and, every ``SYNC_INTERVAL`` seconds, copies each
  active run's new or changed files from its trainer into the server's store (no shared
  filesystem is assumed), the final ``status.json`` last.

Liveness is the dispatcher's word (a run it queues or trains, on a trainer Ray reports alive),
never a pid or a lock. This module imports Ray: ``executor()`` imports it only when asked to.

Groups fall back to one by one: ``submit_group`` submits a group's members as separate runs, each
trained alone by a trainer actor (no ``train_replicas`` on the cluster yet), so a Stop on one
member stops that member only. The results equal a vectorised group's up to float rounding; only the
cluster time differs. (``FMNIST_VECTORISE_GROUPS`` has no effect here.)
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import ray

from fmnist_lab.config import TrainConfig
from fmnist_lab.environment import Environment, environment
from fmnist_lab.execution.contract import CANCELLED_IN_QUEUE, ProgressHook, SubmitRefused
from fmnist_lab.execution.lifecycle import mark_lost, position, refresh_runs
from fmnist_lab.execution.policy import CLI, KEPT_STARTS, Start, Waiting, fair_order
from fmnist_lab.execution.trainer import WarmTrainer
from fmnist_lab.store import atomic
from fmnist_lab.store.runs import ACTIVE_STATES, Run, RunNotFound, RunStore
from fmnist_lab.training.data import Dataset, load_dataset
from fmnist_lab.training.result import TrainResult

NAMESPACE = "fmnist-lab"
DISPATCHER = "fmnist-lab-dispatcher"
SYNC_INTERVAL = 0.5  # seconds between copies of active runs' files to the server's store
ALIVE = ("queued", "running", "ended")  # the dispatcher's states of a run that something works on
DISPATCH_INTERVAL = 0.1  # seconds between the dispatcher's looks at its trainers and queue
STATUS = "status.json"
REMEMBERED = 10_000  # settled runs whose node the dispatcher still names
Files = dict[str, tuple[int, bytes]]  # path in the run folder → (modified ns, contents)


class Trainer:
    """A warm training process on some node, with a scratch run store of its own."""

    def __init__(self, dataset: Dataset) -> None:
        self.store = RunStore(tempfile.mkdtemp(prefix="fmnist-ray-runs-"))
        self.trainer = WarmTrainer.start(dataset)

    def node(self) -> str:
        return ray.get_runtime_context().get_node_id()

    def train(self, run_id: str, files: dict[str, bytes]) -> str:
        """Train the run described by ``files`` (its run.json and status.json); its final state."""
        folder = self.store.path(run_id)
        folder.mkdir()
        for name, data in files.items():
            atomic.write_bytes(folder / name, data)
        with contextlib.suppress(Exception):  # train_run records its failure in the run's status
            self.trainer.train(self.store, run_id)
        return self.store.load(run_id).state

    def cancel(self, run_id: str) -> None:
        with contextlib.suppress(RunNotFound, OSError):
            self.store.request_cancel(run_id)

    def changed(self, run_id: str, seen: dict[str, int]) -> Files:
        """The run's files modified since ``seen`` (path → modified ns) says."""
        folder, found = self.store.path(run_id), {}
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and not atomic.is_temporary(p)):
            with contextlib.suppress(OSError):  # replaced meanwhile: the next look gets it
                name, modified = str(path.relative_to(folder)), path.stat().st_mtime_ns
                if seen.get(name) != modified:
                    found[name] = (modified, path.read_bytes())
        return found

    def forget(self, run_id: str) -> None:
        shutil.rmtree(self.store.path(run_id), ignore_errors=True)


class Dispatcher:
    """The cluster's queue and its record of which trainer works on which run."""

    def __init__(self, slots: int, cpus: float, dataset: Dataset) -> None:
        self.cpus, self.dataset = cpus, ray.put(dataset)
        self.lock = threading.Lock()
        self.queue: dict[str, tuple[dict[str, bytes], Waiting]] = {}  # run id → its files and place; fair_order
        self.runs: dict[str, dict[str, Any]] = {}  # run id → state, trainer slot, node, error
        self.trainers = [self._trainer() for _ in range(slots)]
        self.busy: dict[int, tuple[str, Any]] = {}  # slot → (run id, the train call's ref)
        self.nodes: dict[str, str | None] = {}  # run id → the node it trained on, for runs already forgotten
        self.starts: dict[str, Start] = {}  # run id → its start and end, the newest KEPT_STARTS; turns, for fair_order
        threading.Thread(target=self._loop, daemon=True).start()

    def submit(self, run_id: str, files: dict[str, bytes], owner: str = CLI, created_ns: int = 0) -> None:
        with self.lock:
            self.queue[run_id] = (files, Waiting(run_id, owner, created_ns or time.time_ns()))
            self.runs[run_id] = {"state": "queued", "owner": owner}

    def line(self) -> list[str]:
        """The waiting runs in the order they will start (call with the lock held)."""
        training = Counter(self.runs[run_id].get("owner", CLI) for run_id, _ in self.busy.values())
        return fair_order((place for _, place in self.queue.values()), training, self.starts.values())

    def cancel(self, run_id: str) -> None:
        with self.lock:
            if run_id in self.queue:
                del self.queue[run_id]
                self.runs[run_id] = {"state": "cancelled"}
            elif (slot := self.runs.get(run_id, {}).get("slot")) is not None:
                self.trainers[slot].cancel.remote(run_id)

    def report(self, run_id: str, seen: dict[str, int]) -> dict[str, Any]:
        """The run's state (queued with its place, running, ended, cancelled, lost, unknown) and new files."""
        with self.lock:
            report = dict(self.runs.get(run_id, {"state": "unknown", "node": self.nodes.get(run_id)}))
            place = position(self.line(), run_id) if report["state"] == "queued" else None
            trainer = self.trainers[report["slot"]] if "slot" in report else None
        files: Files = {}
        if trainer is not None and report["state"] in ("running", "ended"):
            with contextlib.suppress(ray.exceptions.RayError):
                files = ray.get(trainer.changed.remote(run_id, seen))
        return report | {"position": place, "files": files}

    def states(self, run_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Each run's state and place in line, in one call and without files (cheap to ask often)."""
        with self.lock:
            line = self.line()
            return {
                run_id: {
                    "state": self.runs.get(run_id, {}).get("state", "unknown"),
                    "position": position(line, run_id),
                }
                for run_id in run_ids
            }

    def forget(self, run_id: str) -> None:
        with self.lock:
            run = self.runs.pop(run_id, {})
            trainer = self.trainers[run["slot"]] if "slot" in run else None
            self.nodes[run_id] = run.get("node")  # node_of still answers once the run is settled
            while len(self.nodes) > REMEMBERED:
                self.nodes.pop(next(iter(self.nodes)))
        if trainer is not None:
            trainer.forget.remote(run_id)

    def trainer_of(self, run_id: str) -> Any:
        """The actor handle training the run (for tests and tools)."""
        with self.lock:
            return self.trainers[self.runs[run_id]["slot"]]

    def _trainer(self) -> Any:
        return TrainerActor.options(num_cpus=self.cpus).remote(self.dataset)

    def _loop(self) -> None:
        while True:
            self._collect()
            self._dispatch()
            time.sleep(DISPATCH_INTERVAL)

    def _collect(self) -> None:
        """Record the runs whose train call returned or raised; replace trainers that died."""
        for slot, (run_id, ref) in list(self.busy.items()):
            ready, _ = ray.wait([ref], timeout=0)
            if not ready:
                continue
            try:
                ray.get(ref)
                state: dict[str, Any] = {"state": "ended"}
            except ray.exceptions.RayError as exc:
                state = {"state": "lost", "error": _first_line(exc)}
                self.trainers[slot] = self._trainer()
            with self.lock:
                del self.busy[slot]
                self.runs[run_id] = self.runs[run_id] | state
                if (start := self.starts.get(run_id)) is not None:
                    self.starts[run_id] = dataclasses.replace(start, ended_ns=time.time_ns())

    def _dispatch(self) -> None:
        """Hand the queued runs whose turn has come to free trainers."""
        with self.lock:
            for slot, trainer in enumerate(self.trainers):
                if slot in self.busy or not self.queue:
                    continue
                run_id = self.line()[0]
                files, place = self.queue.pop(run_id)
                self.busy[slot] = (run_id, trainer.train.remote(run_id, files))
                self.runs[run_id] = {"state": "running", "slot": slot, "node": None, "owner": place.owner}
                self.starts[run_id] = Start(place.owner, time.time_ns())
                while len(self.starts) > KEPT_STARTS:
                    del self.starts[next(iter(self.starts))]
        for slot, (run_id, _) in list(self.busy.items()):
            if self.runs[run_id].get("node") is None:
                with contextlib.suppress(ray.exceptions.RayError):
                    self.runs[run_id]["node"] = ray.get(self.trainers[slot].node.remote(), timeout=5)


# Ray's typing of ``remote`` does not know its options; the actor classes are used through these names
_remote: Any = ray.remote
TrainerActor: Any = _remote(max_concurrency=4)(Trainer)  # train in one thread; cancel, file copies in others
DispatcherActor: Any = _remote(max_concurrency=8)(Dispatcher)


def _ended(status: bytes) -> bool:
    """Whether a trainer's status.json says the run has ended."""
    with contextlib.suppress(ValueError, AttributeError):
        return json.loads(status).get("state") not in ACTIVE_STATES
    return False


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"lost on the Ray cluster: {text[0] if text else type(exc).__name__}"


class RayExecutor:
    """Trainings on the Ray cluster at ``address``; the server's store gets every file back."""

    def __init__(self, store: RunStore, address: str, settings: Environment | None = None) -> None:
        self.store, settings = store, settings or environment()
        if not ray.is_initialized():
            package = str(Path(__file__).resolve().parents[1])  # fmnist_lab/
            runtime = {"py_modules": [package], "env_vars": {"TF_CPP_MIN_LOG_LEVEL": "2"}}
            ray.init(address=address, namespace=NAMESPACE, runtime_env=runtime, log_to_driver=False)
        cpus = settings.ray_cpus
        slots = settings.ray_trainings or _slots(cpus)
        self.dispatcher = DispatcherActor.options(
            name=DISPATCHER, lifetime="detached", get_if_exists=True, num_cpus=0
        ).remote(slots, cpus, load_dataset())
        self.slots = slots
        self._seen: dict[str, dict[str, int]] = {}
        self._lock, self._closed = threading.Lock(), threading.Event()
        self._follower = threading.Thread(target=self._follow, daemon=True, name="ray-sync")
        self._follower.start()

    def submit(self, config: TrainConfig, name: str | None = None, owner: str | None = None) -> Run:
        run = self.store.create(config, name, owner)
        folder = self.store.path(run.id)
        try:
            files = {name: (folder / name).read_bytes() for name in ("run.json", STATUS)}
            ray.get(self.dispatcher.submit.remote(run.id, files, run.owner or CLI, run.created_ns), timeout=30)
        except (ray.exceptions.RayError, OSError) as exc:
            why = _first_line(exc).removeprefix("lost on the Ray cluster: ")
            mark_lost(self.store, run.id, f"the Ray cluster did not take it ({why})")
            raise SubmitRefused(f"The Ray cluster could not take the run ({why}). Try again in a minute.") from None
        return run

    def submit_group(
        self, configs: Sequence[TrainConfig], names: Sequence[str | None], owner: str | None = None
    ) -> list[Run]:
        """The members one by one (see the module's docstring); all or none."""
        runs: list[Run] = []
        try:
            for config, name in zip(configs, names, strict=True):
                runs.append(self.submit(config, name, owner))
        except SubmitRefused:
            for run in runs:
                self.cancel(run.id)
            raise
        return runs

    def run(
        self,
        config: TrainConfig,
        name: str | None = None,
        on_progress: ProgressHook | None = None,
        on_epoch: ProgressHook | None = None,
        on_created: Callable[[Run], None] | None = None,
    ) -> TrainResult | None:
        run = self.submit(config, name)
        if on_created:
            on_created(run)
        epochs, progress = 0, None
        while self.store.load(run.id).is_active:
            self.sync(run.id)
            history, latest = self.store.history(run.id), self.store.progress(run.id)
            for record in history[epochs:]:
                if on_epoch:
                    on_epoch(record)
            if on_progress and latest and latest != progress:
                on_progress(latest)
            epochs, progress = len(history), latest
            time.sleep(SYNC_INTERVAL)
        done = self.store.load(run.id)
        if done.state == "failed":
            raise RuntimeError(done.status.get("error", "training failed on the Ray cluster"))
        if not done.metrics:
            return None  # cancelled in the queue
        values: dict[str, Any] = {f.name: done.metrics.get(f.name) for f in dataclasses.fields(TrainResult)}
        return TrainResult(**values)

    def cancel(self, run_id: str) -> None:
        self.store.request_cancel(run_id)
        ray.get(self.dispatcher.cancel.remote(run_id))

    def alive(self, run_id: str) -> bool:
        return self._report(run_id, {})["state"] in ALIVE

    def queue_position(self, run_id: str) -> int | None:
        return self._report(run_id, {})["position"]

    def capacity(self) -> int:
        return self.slots

    def refresh(self) -> list[str]:
        """One call to the dispatcher for every active run (a page load does this), not one each."""
        states = self._states([run.id for run in self.store.list() if run.is_active])

        def alive(run_id: str) -> bool:  # a run submitted since the look above is asked on its own
            return states[run_id] in ALIVE if run_id in states else self.alive(run_id)

        return refresh_runs(self.store, alive)

    def node_of(self, run_id: str) -> str | None:
        """The Ray node id the run trains (or trained) on, while the dispatcher remembers it."""
        return self._report(run_id, {}).get("node")

    def sync(self, run_id: str) -> None:
        """Copy the run's new files into the store; record how it ended once it has."""
        with self._lock:
            seen = self._seen.setdefault(run_id, {})
            report = self._report(run_id, seen)
            files = report["files"]
            for name in sorted(files, key=lambda name: name == STATUS):  # the final status last
                modified, data = files[name]
                if name == STATUS and _ended(data):
                    self.store.release_spare(run_id)  # before the end shows: the trainer wrote it on its node
                target = self.store.path(run_id) / name
                target.parent.mkdir(parents=True, exist_ok=True)
                atomic.write_bytes(target, data)
                seen[name] = modified
            self._settle(run_id, report)

    def _settle(self, run_id: str, report: dict[str, Any]) -> None:
        state = report["state"]
        if state == "lost":
            mark_lost(self.store, run_id, report["error"])
        elif state == "cancelled":
            self.store.set_status(run_id, "stopped", stop_reason=CANCELLED_IN_QUEUE)
        elif not (state == "ended" and not report["files"] and not self.store.load(run_id).is_active):
            return
        self.dispatcher.forget.remote(run_id)
        self._seen.pop(run_id, None)

    def _states(self, run_ids: list[str]) -> dict[str, str]:
        """Run id → the dispatcher's state for it; "unreachable" for all when it cannot be asked."""
        try:
            found = ray.get(self.dispatcher.states.remote(run_ids), timeout=30) if run_ids else {}
        except ray.exceptions.RayError:
            return dict.fromkeys(run_ids, "unreachable")
        return {run_id: report["state"] for run_id, report in found.items()}

    def _report(self, run_id: str, seen: dict[str, int]) -> dict[str, Any]:
        try:
            return ray.get(self.dispatcher.report.remote(run_id, seen), timeout=30)
        except ray.exceptions.RayError:
            return {"state": "unreachable", "position": None, "files": {}}

    def close(self) -> None:
        """Stop copying files (the runs go on training on the cluster)."""
        self._closed.set()
        self._follower.join()

    def _follow(self) -> None:
        """Keep every active run's files coming, including runs an earlier server started."""
        while not self._closed.wait(SYNC_INTERVAL):
            states = self._states([run.id for run in self.store.list() if run.is_active])
            for run_id, state in states.items():
                if state not in ("queued", "unreachable"):  # a waiting run has no files yet
                    with contextlib.suppress(RunNotFound, OSError):
                        self.sync(run_id)


def _slots(cpus: float) -> int:
    """Trainer actors the cluster's CPUs hold at ``cpus`` each (one when they reserve none)."""
    total = ray.cluster_resources().get("CPU", 1.0)
    return max(1, int(total // cpus)) if cpus else 1

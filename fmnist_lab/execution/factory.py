"""The one place that builds the lab's executor from the environment and applies the host's rules to it.

``executor()`` picks the implementation (a Ray cluster when ``FMNIST_RAY_ADDRESS`` is set, Ray
imported only then; else local worker processes, with warm workers for a long-lived server) and
wraps it in ``Ruled``, so every rule holds for every implementation: the host's caps on a run's
size (``limits``), the caps on waiting runs per learner and in all (``policy``), a click that
queues several runs taken whole or refused whole, and every refusal raised as ``SubmitRefused``
with a learner-readable reason.

Groups: when ``FMNIST_VECTORISE_GROUPS`` is on (the default), the runs of one click that are one
vectorisable setup over distinct seeds (``training.grouping.units``) go to the implementation's
``submit_group``, which queues them as one unit trained as one computation; every other run goes
through ``submit`` as before. The caps count a group's K members as K runs (``FMNIST_MAX_QUEUED_PER_LEARNER``
and ``FMNIST_MAX_QUEUED`` mean runs, whichever way they train), so a learner's share of the queue
does not depend on whether their runs happen to be vectorisable.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace

from fmnist_lab.config import TrainConfig
from fmnist_lab.environment import Environment, environment
from fmnist_lab.execution.contract import Executor, ProgressHook, SubmitRefused
from fmnist_lab.execution.limits import Limits, measured_speed
from fmnist_lab.execution.policy import CLI, QueueCaps
from fmnist_lab.store.runs import Run, RunStore, RunStoreError
from fmnist_lab.training.grouping import units
from fmnist_lab.training.result import TrainResult


class Ruled:
    """An executor that applies the host's rules before handing runs to ``inner``."""

    def __init__(self, inner: Executor, limits: Limits, caps: QueueCaps | None = None, vectorise: bool = False) -> None:
        self.inner, self.limits, self.caps, self.store = inner, limits, caps or QueueCaps(), inner.store
        self.vectorise = vectorise  # a click's groups go to ``inner.submit_group``

    def submit(self, config: TrainConfig, name: str | None = None, owner: str | None = None) -> Run:
        (run,) = self.submit_all([config], [name], owner)
        return run

    def submit_all(
        self, configs: Sequence[TrainConfig], names: Sequence[str | None] | None = None, owner: str | None = None
    ) -> list[Run]:
        """Queue every run of one click, or none: all are checked first, and a failure part-way stops
        the ones already queued. Raises ``SubmitRefused`` saying why. The runs come back in the order
        of ``configs``; those of one group (``vectorise``) are queued as one unit."""
        names = list(names) if names is not None else [None] * len(configs)
        if len(names) != len(configs):
            raise ValueError(f"{len(configs)} runs need as many names, not {len(names)}")
        self.check(configs, owner)
        runs: dict[int, Run] = {}
        try:
            for unit in self.units(configs):
                made = self._submit_unit([configs[i] for i in unit], [names[i] for i in unit], owner)
                runs.update(zip(unit, made, strict=True))
        except (OSError, RunStoreError) as exc:  # the store is full or unwritable, the cluster is gone…
            for run in runs.values():
                self.inner.cancel(run.id)
            why = f"The run could not be started ({exc.strerror or exc})." if isinstance(exc, OSError) else str(exc)
            raise SubmitRefused(why) from None
        return [runs[i] for i in range(len(configs))]

    def units(self, configs: Sequence[TrainConfig]) -> list[list[int]]:
        """The click's runs (by index) as the units they queue in: groups when ``vectorise``, else one each."""
        return units(configs) if self.vectorise else [[i] for i in range(len(configs))]

    def _submit_unit(self, configs: list[TrainConfig], names: list[str | None], owner: str | None) -> list[Run]:
        if len(configs) == 1:
            return [self.inner.submit(configs[0], names[0], owner)]
        return self.inner.submit_group(configs, names, owner)

    def check(self, configs: Sequence[TrainConfig], owner: str | None = None) -> None:
        """Raise ``SubmitRefused`` if these runs may not be queued for ``owner`` now."""
        limits = self.limits if self.limits.seconds is None else replace(self.limits, speed=measured_speed(self.store))
        for config in configs:
            if why := limits.exceeded(config):
                raise SubmitRefused(why)
        waiting = Counter(run.owner or CLI for run in self.store.list() if run.state == "queued")
        if why := self.caps.refusal(len(configs), waiting[owner or CLI], waiting.total(), self.capacity()):
            raise SubmitRefused(why)

    def run(
        self,
        config: TrainConfig,
        name: str | None = None,
        on_progress: ProgressHook | None = None,
        on_epoch: ProgressHook | None = None,
        on_created: Callable[[Run], None] | None = None,
    ) -> TrainResult | None:
        """Train in this process (the CLI): the caps on size and work hold; the CLI waits in line itself."""
        if why := self.limits.exceeded(config):
            raise SubmitRefused(why)
        return self.inner.run(config, name, on_progress, on_epoch, on_created)

    def cancel(self, run_id: str) -> None:
        self.inner.cancel(run_id)

    def alive(self, run_id: str) -> bool:
        return self.inner.alive(run_id)

    def queue_position(self, run_id: str) -> int | None:
        return self.inner.queue_position(run_id)

    def capacity(self) -> int:
        return self.inner.capacity()

    def refresh(self) -> list[str]:
        return self.inner.refresh()

    def close(self) -> None:
        self.inner.close()


def executor(store: RunStore | None = None, warm: bool = False, settings: Environment | None = None) -> Ruled:
    """The executor this lab is configured for; ``warm``: keep warm local workers waiting for runs
    (a long-lived server's choice, which owns them; the CLI trains in its own process)."""
    settings = settings or environment()
    store = store or RunStore()
    caps = QueueCaps(settings.max_queued_per_learner, settings.max_queued)
    return Ruled(_implementation(store, warm, settings), Limits.of(settings), caps, settings.vectorise_groups)


def _implementation(store: RunStore, warm: bool, settings: Environment) -> Executor:
    if settings.ray_address:
        from fmnist_lab.execution.ray_executor import RayExecutor

        return RayExecutor(store, settings.ray_address, settings)
    from fmnist_lab.execution.local import LocalExecutor
    from fmnist_lab.execution.warm import WarmPool

    size = settings.pool_size() if warm else 0
    return LocalExecutor(store, pool=WarmPool(store, size) if size else None, trainings=settings.trainings())

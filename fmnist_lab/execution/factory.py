"""The one place that builds the lab's executor from the environment and applies the host's rules to it.

``executor()`` picks the implementation (a Ray cluster when ``FMNIST_RAY_ADDRESS`` is set, Ray
imported only then; else local worker processes, with warm workers for a long-lived server) and
wraps it in ``Ruled``, so every rule holds for every implementation: the host's caps on a run's
size (``limits``), and every refusal raised as ``SubmitRefused`` with a learner-readable reason.
"""

from __future__ import annotations

from collections.abc import Callable

from fmnist_lab.config import TrainConfig
from fmnist_lab.environment import Environment, environment
from fmnist_lab.execution.contract import Executor, ProgressHook, SubmitRefused
from fmnist_lab.execution.limits import Limits
from fmnist_lab.store.runs import Run, RunStore
from fmnist_lab.training.result import TrainResult


class Ruled:
    """An executor that applies the host's rules before handing runs to ``inner``."""

    def __init__(self, inner: Executor, limits: Limits) -> None:
        self.inner, self.limits, self.store = inner, limits, inner.store

    def submit(self, config: TrainConfig, name: str | None = None, owner: str | None = None) -> Run:
        if why := self.limits.exceeded(config):
            raise SubmitRefused(why)
        try:
            return self.inner.submit(config, name, owner)
        except OSError as exc:  # e.g. the store is full: nothing was queued
            raise SubmitRefused(f"The run could not be started ({exc.strerror or exc}).") from None

    def run(
        self,
        config: TrainConfig,
        name: str | None = None,
        on_progress: ProgressHook | None = None,
        on_epoch: ProgressHook | None = None,
        on_created: Callable[[Run], None] | None = None,
    ) -> TrainResult | None:
        """The host's own training (the CLI): not capped, the host decides."""
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


def executor(store: RunStore | None = None, warm: bool = False, settings: Environment | None = None) -> Ruled:
    """The executor this lab is configured for; ``warm``: keep warm local workers waiting for runs
    (a long-lived server's choice, which owns them; the CLI trains in its own process)."""
    settings = settings or environment()
    store = store or RunStore()
    return Ruled(_implementation(store, warm, settings), Limits.of(settings))


def _implementation(store: RunStore, warm: bool, settings: Environment) -> Executor:
    if settings.ray_address:
        from fmnist_lab.execution.ray_executor import RayExecutor

        return RayExecutor(store, settings.ray_address, settings)
    from fmnist_lab.execution.local import LocalExecutor
    from fmnist_lab.execution.warm import WarmPool

    size = settings.pool_size() if warm else 0
    return LocalExecutor(store, pool=WarmPool(store, size) if size else None)

"""The worker's side of a local run: wait in line for a slot, train, and let go of the run's lock.

A cold worker process (``python -m fmnist_lab worker``), a warm one (``warm.serve``) and the CLI
training in its own process all end up here, so a run waits, trains and ends the same way whoever
works on it. ``work_group`` does the same for a group: K seeds of one setup that wait as one unit,
take one slot and train as one computation (``training.replicas``), each member's lock held throughout.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from fmnist_lab.execution.slots import SlotQueue
from fmnist_lab.store.runs import RunStore

if TYPE_CHECKING:
    from fmnist_lab.execution.contract import ProgressHook
    from fmnist_lab.execution.trainer import WarmTrainer
    from fmnist_lab.training.result import TrainResult


def work(
    slots: SlotQueue,
    run_id: str,
    lock: int,
    trainer: WarmTrainer | None = None,
    on_progress: ProgressHook | None = None,
    on_epoch: ProgressHook | None = None,
) -> TrainResult | None:
    """Wait for a slot and train, holding ``lock`` (an fd on the run's alive.lock) throughout; None if the
    run was cancelled in line. ``trainer``: a warm process's data and models (else loaded and built)."""
    store = slots.store
    try:
        with slots.slot(run_id) as granted:
            if not granted:
                return None
            if trainer is not None:
                return trainer.train(store, run_id, on_progress, on_epoch)
            from fmnist_lab.training.engine import train

            return train(store, run_id, on_progress=on_progress, on_epoch=on_epoch)
    except BaseException as exc:  # engine.train records its own failures; this is for the wait in line
        _record_wait_failure(store, run_id, exc)
        raise
    finally:
        os.close(lock)  # after the final status: from here the run is over for every reader


def work_group(
    slots: SlotQueue, run_ids: Sequence[str], locks: Sequence[int], trainer: WarmTrainer | None = None
) -> list[TrainResult] | None:
    """``work`` for a group led by ``run_ids[0]``: one place in line, one slot, one computation; ``locks``:
    each member's alive-lock fd, all held until every member's final status is written. None if it was
    cancelled in line; a failure marks every member failed with the reason (``train_replicas``)."""
    store = slots.store
    try:
        with slots.slot(run_ids[0], run_ids) as granted:
            if not granted:
                return None
            from fmnist_lab.training.replicas import train_replicas

            if trainer is None:
                return train_replicas(store, run_ids)
            return train_replicas(store, run_ids, dataset=trainer.dataset, models=trainer.models)
    except BaseException as exc:  # train_replicas records its own failures; this is for the wait in line
        for run_id in run_ids:
            _record_wait_failure(store, run_id, exc)
        raise
    finally:
        for lock in locks:
            os.close(lock)


def _record_wait_failure(store: RunStore, run_id: str, exc: BaseException) -> None:
    if store.load(run_id).state == "queued":
        why = "interrupted" if isinstance(exc, KeyboardInterrupt) else f"{type(exc).__name__}: {exc}"
        store.set_status(run_id, "failed", error=f"{why} while waiting in the queue")

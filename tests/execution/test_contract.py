"""The execution contract and its one factory: which implementation runs, and the rules every one obeys."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.environment import Environment
from fmnist_lab.execution.contract import SubmitRefused
from fmnist_lab.execution.factory import Ruled, executor
from fmnist_lab.execution.limits import Limits
from fmnist_lab.execution.local import LocalExecutor
from fmnist_lab.execution.policy import QueueCaps
from fmnist_lab.store.groups import seed_series
from fmnist_lab.store.runs import Run

LOADED_BY = """
import sys
import {module}
print(sorted(m for m in sys.modules if m.startswith(("fmnist_lab.execution.", "ray", "tensorflow"))))
"""


def modules_loaded_by(module: str) -> list[str]:
    code = LOADED_BY.format(module=module)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    return eval(done.stdout)  # a list literal of module names, printed by our own code above


def test_the_contract_loads_no_implementation() -> None:
    assert modules_loaded_by("fmnist_lab.execution.contract") == ["fmnist_lab.execution.contract"]


def test_without_a_ray_address_runs_are_local_and_neither_ray_nor_tensorflow_loads(app_env: Path) -> None:
    built = executor(RunStore(), settings=Environment())
    assert isinstance(built, Ruled) and isinstance(built.inner, LocalExecutor)
    code = "from fmnist_lab.execution.factory import executor\nexecutor().refresh()"
    loaded = modules_loaded_by(f"fmnist_lab.execution.factory\n{code}")
    assert not any(name.startswith(("ray", "tensorflow")) for name in loaded), loaded


def test_the_cli_gets_no_warm_workers(app_env: Path) -> None:
    local = executor(RunStore()).inner
    assert isinstance(local, LocalExecutor) and local.pool is None


def test_the_environment_sets_the_local_slots() -> None:
    assert executor(RunStore(), settings=Environment(max_trainings=3)).capacity() == 3


@pytest.mark.parametrize(
    ("settings", "config", "why"),
    [
        (Environment(max_parameters=200_000), TrainConfig(hidden_units=(1024,)), "at most 200,000 parameters"),
        (Environment(max_epochs=3), TrainConfig(epochs=4), "at most 3 epochs"),
    ],
)
def test_the_host_caps_refuse_a_run_before_anything_is_made(
    settings: Environment, config: TrainConfig, why: str
) -> None:
    with pytest.raises(SubmitRefused, match=why):
        executor(RunStore(), settings=settings).submit(config)
    assert RunStore().list() == []


def test_a_store_that_cannot_take_the_run_is_a_refusal_not_a_traceback(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")  # the run store's root is a plain file: creating a run fails
    with pytest.raises(SubmitRefused):
        executor(RunStore(blocked / "runs"), settings=Environment()).submit(TrainConfig(epochs=1))


class Recorder:
    """A back end that creates runs and records how the rules handed them over (no training)."""

    def __init__(self) -> None:
        self.store, self.calls = RunStore(), list[tuple[str, int]]()

    def submit(self, config: TrainConfig, name: str | None = None, owner: str | None = None) -> Run:
        self.calls.append(("submit", 1))
        return self.store.create(config, name, owner)

    def submit_group(self, configs: list[TrainConfig], names: list[str | None], owner: str | None = None) -> list[Run]:
        self.calls.append(("submit_group", len(configs)))
        return [self.store.create(config, name, owner) for config, name in zip(configs, names, strict=True)]

    def cancel(self, run_id: str) -> None:
        self.store.request_cancel(run_id)

    def capacity(self) -> int:
        return 1


PAIR = seed_series(TrainConfig(hidden_units=(128,)), 3) + seed_series(TrainConfig(hidden_units=(1024,)), 3)


def test_a_clicks_groups_go_to_submit_group_and_come_back_in_the_clicks_order(app_env: Path) -> None:
    inner = Recorder()
    mixed = [PAIR[0], PAIR[3], TrainConfig(dropout=0.2), PAIR[1], PAIR[4], PAIR[2], PAIR[5]]
    runs = Ruled(inner, Limits(), vectorise=True).submit_all(mixed)  # type: ignore[arg-type]
    assert [run.config for run in runs] == mixed
    assert inner.calls == [("submit_group", 3), ("submit_group", 3), ("submit", 1)]


def test_with_groups_off_every_run_goes_alone(app_env: Path) -> None:
    inner = Recorder()
    Ruled(inner, Limits(), vectorise=False).submit_all(PAIR)  # type: ignore[arg-type]
    assert inner.calls == [("submit", 1)] * 6


def test_the_caps_count_a_groups_members_as_runs(app_env: Path) -> None:
    inner = Recorder()
    ruled = Ruled(inner, Limits(), QueueCaps(per_learner=1), vectorise=True)  # type: ignore[arg-type]
    with pytest.raises(SubmitRefused, match="at most 1 runs per learner"):
        ruled.submit_all(PAIR[:3], owner="a" * 24)  # one group, three runs: two would wait beyond the one slot
    assert inner.calls == [] and RunStore().list() == []
    ruled.submit_all(PAIR[:2], owner="a" * 24)  # two runs: one trains, one waits
    assert inner.calls == [("submit_group", 2)]


@pytest.mark.parametrize(("text", "on"), [(None, True), ("1", True), ("0", False), ("off", False)])
def test_the_environment_turns_groups_on_and_off(app_env: Path, text: str | None, on: bool) -> None:
    settings = Environment.read({} if text is None else {"FMNIST_VECTORISE_GROUPS": text})
    assert executor(RunStore(), settings=settings).vectorise is on

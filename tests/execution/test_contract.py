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
from fmnist_lab.execution.local import LocalExecutor

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

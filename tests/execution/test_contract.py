"""The executor seam: which implementation ``executor()`` picks, and that Ray stays unloaded without a cluster."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fmnist_lab import RunStore
from fmnist_lab.execution.contract import executor
from fmnist_lab.execution.local import LocalExecutor

CHECK = """
import sys
from fmnist_lab.execution.contract import executor
executor().refresh()
print("ray" in sys.modules)
"""


def test_without_a_ray_address_runs_are_local_and_ray_is_never_imported(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FMNIST_RAY_ADDRESS", raising=False)
    assert isinstance(executor(RunStore()), LocalExecutor)
    loaded = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True, timeout=120)
    assert loaded.stdout.strip() == "False"


def test_the_cli_gets_no_warm_workers(app_env: Path) -> None:
    local = executor(RunStore())
    assert isinstance(local, LocalExecutor) and local.pool is None

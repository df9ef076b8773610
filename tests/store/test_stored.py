"""Reading a run's files: a damaged file is a ``Damage`` with a reason, and reading it harms nothing else."""

from __future__ import annotations

import contextlib
import gc
import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from fmnist_lab.store.stored import Damage, read_json


def depth(n: int) -> int:
    return 0 if n == 0 else depth(n - 1)


class Finalised:
    """Garbage only a collection frees (a cycle), whose finalizer needs a few frames of stack."""

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        depth(5)


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="from 3.12 a collection waits for the next bytecode")
def test_a_deeply_nested_file_is_damage_and_runs_no_finalizer_at_its_depth(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parser recurses to Python's limit on ``[[[[…``; a collection that fell there would run other objects'
    finalizers with no stack left, and they would fail ("Exception ignored in …") for this file's fault: a page
    test once did. Every gen-0 threshold from 700 to 1,100 puts a collection somewhere along the descent."""
    path = tmp_path / "status.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    failed: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", failed.append)

    def finalizers_failing(parse: Callable[[], object]) -> int:
        failed.clear()
        thresholds = gc.get_threshold()
        try:
            for gen0 in range(700, 1100):
                gc.collect(0)  # counting from here
                gc.set_threshold(gen0, 10**6, 10**6)
                for _ in range(5):
                    Finalised()
                with contextlib.suppress(RecursionError, Damage):
                    parse()
        finally:
            gc.set_threshold(*thresholds)
            gc.collect()
        return len(failed)

    assert finalizers_failing(lambda: json.loads(path.read_bytes().decode())) > 0  # the hazard, bare
    assert finalizers_failing(lambda: read_json(path)) == 0
    with pytest.raises(Damage, match="status.json: nested too deeply"):
        read_json(path)

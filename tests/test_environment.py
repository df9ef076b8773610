"""The host's settings: one parser for every FMNIST_* variable, and the README's tables agree with it."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from fmnist_lab.environment import VARIABLES, Environment

ROOT = Path(__file__).parents[1]
TEST_ONLY = {"FMNIST_REQUIRE_REAL_DATA", "FMNIST_REQUIRE_E2E", "FMNIST_REQUIRE_RAY"}  # CI's switches for the suite


def test_every_field_has_one_variable() -> None:
    assert set(VARIABLES) == {f.name for f in fields(Environment)} - {"problems"}
    assert len({v.name for v in VARIABLES.values()}) == len(VARIABLES)


def test_values_are_parsed_and_unset_ones_keep_the_defaults() -> None:
    read = Environment.read({"FMNIST_MAX_TRAININGS": " 3 ", "FMNIST_DOWNLOAD": "off", "FMNIST_RAY_CPUS": "0.5"})
    assert (read.max_trainings, read.download, read.ray_cpus, read.worker_runs) == (3, False, 0.5, 20)
    assert read.problems == () and Environment.read({}) == Environment()


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("FMNIST_MAX_TRAININGS", "lots"),
        ("FMNIST_MAX_TRAININGS", "0"),
        ("FMNIST_WARM_WORKERS", "-1"),
        ("FMNIST_RAY_CPUS", "inf"),
        ("FMNIST_MAX_EPOCHS", "9" * 5000),
    ],
)
def test_a_value_that_cannot_be_read_falls_back_and_says_so(name: str, text: str) -> None:
    read = Environment.read({name: text})
    field = next(field for field, variable in VARIABLES.items() if variable.name == name)
    assert getattr(read, field) == getattr(Environment(), field)
    (problem,) = read.problems
    assert problem.startswith(f"{name}=") and "using the default" in problem and len(problem) < 200


def test_warm_workers_default_to_the_training_slots() -> None:
    assert (
        Environment(max_trainings=3).pool_size() == 3 and Environment(max_trainings=3, warm_workers=0).pool_size() == 0
    )


def test_the_readme_documents_exactly_these_variables() -> None:
    readme = (ROOT / "README.md").read_text()
    rows = re.findall(r"^\| `(FMNIST_[A-Z_]+)` \| (.+?) \| (.+?) \|$", readme, flags=re.M)
    documented = {name: (default, doc) for name, default, doc in rows}
    assert documented == {v.name: (v.default, v.doc) for v in VARIABLES.values()}  # the README says what the code does
    mentioned = set(re.findall(r"\bFMNIST_[A-Z_]+\b", readme)) - TEST_ONLY
    assert mentioned <= set(documented)

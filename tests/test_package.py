"""The package's shape: a Streamlit-free, TensorFlow-free core import, and its public names."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import fmnist_lab

ROOT = Path(__file__).parents[1]

PACKAGE = Path(fmnist_lab.__file__).parent
CORE_MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "ui" not in p.relative_to(PACKAGE).parts)


def test_core_import_pulls_in_neither_streamlit_nor_tensorflow() -> None:
    code = (
        "import sys, fmnist_lab, fmnist_lab.cli, fmnist_lab.store.runs, fmnist_lab.training.data\n"
        "print(sorted(m for m in ('streamlit', 'tensorflow', 'keras') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_training_modules_do_not_import_streamlit() -> None:
    code = "import sys, fmnist_lab.training.train, fmnist_lab.training.model; print('streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_no_core_module_names_streamlit_in_its_imports() -> None:
    for path in CORE_MODULES:
        tree = ast.parse(path.read_text())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not any(name.split(".")[0] == "streamlit" for name in imported), path.name


def test_every_public_name_resolves() -> None:
    for name in fmnist_lab.__all__:
        assert getattr(fmnist_lab, name) is not None, name


def test_every_module_has_a_docstring() -> None:
    for path in sorted(PACKAGE.rglob("*.py")):
        assert ast.get_docstring(ast.parse(path.read_text())), f"{path.relative_to(PACKAGE)} lacks a docstring"


def test_streamlit_config_keeps_the_server_local_protected_and_light() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "localhost" and config["server"]["enableXsrfProtection"] is True
    assert config["server"]["maxUploadSize"] <= 2 and config["client"]["showErrorDetails"] == "none"
    assert config["runner"]["postScriptGC"] is False  # a full gc.collect() per script run saturated the server


def test_every_file_the_readme_links_to_exists() -> None:
    readme = (ROOT / "README.md").read_text()
    targets = {link.split("#")[0] for link in re.findall(r"\]\(([^)\s]+)\)", readme) if "://" not in link}
    missing = sorted(target for target in targets if target and not (ROOT / target).exists())
    assert targets and missing == []


LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
LAYERS = ("ui", "cli", "teaching", "charts", "execution", "training", "analysis", "store", "config")
LAYERS += ("settings", "environment")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """import-linter's contracts (pyproject.toml) over the package found in ``root``."""
    env = {"PYTHONPATH": str(root), "PATH": os.environ.get("PATH", "")}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, capture_output=True, text=True)


def test_the_layers_hold_and_no_package_has_an_import_cycle() -> None:
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "4 kept, 0 broken" in done.stdout


def test_every_core_folder_is_a_named_layer() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"][0]
    named = {part.strip().removeprefix("fmnist_lab.") for layer in config["layers"] for part in layer.split("|")}
    found = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    found |= {p.stem for p in PACKAGE.glob("*.py") if not p.name.startswith("__")}
    assert named == set(LAYERS) and found == set(LAYERS)


@pytest.mark.parametrize(
    ("module", "planted"),
    [
        ("store/runs.py", "from fmnist_lab.training import data"),  # a lower layer reaching up
        ("analysis/metrics.py", "def _late() -> None:\n    from fmnist_lab.execution import contract"),  # lazily
        ("training/model.py", "import streamlit"),  # the core importing Streamlit
        ("execution/contract.py", "from fmnist_lab.execution import local"),  # contract <-> implementation cycle
    ],
)
def test_the_layering_check_fails_on_a_planted_import(tmp_path: Path, module: str, planted: str) -> None:
    shutil.copytree(PACKAGE, tmp_path / "fmnist_lab", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    with (tmp_path / "fmnist_lab" / module).open("a") as file:
        file.write(f"\n{planted}\n")
    done = lint_imports(tmp_path)
    assert done.returncode != 0 and "BROKEN" in done.stdout, done.stdout[-2000:]

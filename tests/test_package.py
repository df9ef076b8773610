"""The package's shape: a Streamlit-free, TensorFlow-free core import, and its public names."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import fmnist_lab

ROOT = Path(__file__).parents[1]

PACKAGE = Path(fmnist_lab.__file__).parent
CORE_MODULES = sorted(p for p in PACKAGE.glob("*.py"))


def test_core_import_pulls_in_neither_streamlit_nor_tensorflow() -> None:
    code = (
        "import sys, fmnist_lab, fmnist_lab.cli, fmnist_lab.runs, fmnist_lab.data\n"
        "print(sorted(m for m in ('streamlit', 'tensorflow', 'keras') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_training_modules_do_not_import_streamlit() -> None:
    code = "import sys, fmnist_lab.train, fmnist_lab.model; print('streamlit' in sys.modules)"
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
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "localhost" and config["server"]["enableXsrfProtection"] is True
    assert config["server"]["maxUploadSize"] <= 2 and config["client"]["showErrorDetails"] == "none"
    assert config["runner"]["postScriptGC"] is False  # a full gc.collect() per script run saturated the server


def test_every_file_the_readme_links_to_exists() -> None:
    readme = (ROOT / "README.md").read_text()
    targets = {link.split("#")[0] for link in re.findall(r"\]\(([^)\s]+)\)", readme) if "://" not in link}
    missing = sorted(target for target in targets if target and not (ROOT / target).exists())
    assert targets and missing == []

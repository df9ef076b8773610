"""The code behind a run: every setting writes code, the bias code keeps the lab's images, and the
generated script and notebook train the same model as the lab on locally supplied data."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.cli import main
from fmnist_lab.config import SETTINGS
from fmnist_lab.teaching import codegen
from fmnist_lab.training.data import Dataset
from tests.conftest import make_dataset, write_idx_folder

# One value off the default per setting: a new setting without one fails test_every_setting_has_a_test_value
NON_DEFAULT: dict[str, Any] = {
    "hidden_units": (64, 32),
    "epochs": 7,
    "stop_loss": 0.25,
    "normalize": False,
    "dropout": 0.2,
    "l2": 0.0001,
    "l1": 0.0002,
    "early_stopping": 3,
    "stop_accuracy": 0.9,
    "activation": "tanh",
    "optimizer": "sgd",
    "learning_rate": 0.05,
    "momentum": 0.9,
    "batch_size": 64,
    "seed": 7,
    "train_samples": 3000,
    "holdout": "split",
    "class_shares": ((6, 0.1),),
    "label_noise": ((0, 0.3),),
    "balance": "class-weights",
    "holdout_fraction": 0.2,
    "test_samples": 500,
}
TOLERANCE = 0.06  # accuracy points between the script and the lab: they shuffle batches differently
SMALL = TrainConfig(hidden_units=(48,), epochs=2, train_samples=1500, test_samples=400)


def test_every_setting_has_code_or_says_it_needs_none() -> None:
    assert set(codegen.CODE_FOR) | codegen.NO_CODE == set(SETTINGS)
    assert not set(codegen.CODE_FOR) & codegen.NO_CODE


def test_every_setting_has_a_test_value() -> None:
    assert set(NON_DEFAULT) == set(SETTINGS)


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_a_setting_off_its_default_changes_the_code(name: str) -> None:
    when = SETTINGS[name].applies_when  # e.g. momentum needs optimizer sgd
    needs = {"holdout": "split"} if name == "holdout_fraction" else dict([when]) if when else {}
    changed = TrainConfig(**{name: NON_DEFAULT[name], **needs})
    base = TrainConfig(**needs)
    if name in codegen.NO_CODE:
        pytest.skip(f"{name} needs no code")
    assert _body(codegen.script(changed)) != _body(codegen.script(base))


def _body(script: str) -> str:
    return script.split("\n", 3)[3]  # without the title line, which names every setting anyway


@pytest.mark.parametrize(
    "config",
    [TrainConfig(), TrainConfig(**{k: v for k, v in NON_DEFAULT.items() if k not in ("balance",)})]
    + [TrainConfig(class_shares=((6, 0.1), (2, 0.0)), balance=b) for b in ("oversample", "augment", "class-weights")],
)
def test_the_script_is_valid_python(config: TrainConfig) -> None:
    ast.parse(codegen.script(config))


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"optimizer": "sgd", "momentum": 0.9}, {"learning_rate": 0.01, "momentum": 0.9}),
        ({"optimizer": "sgd", "momentum": 0.5, "learning_rate": 0.05}, {"learning_rate": 0.05, "momentum": 0.5}),
        ({"optimizer": "sgd"}, {"learning_rate": 0.01, "momentum": 0.0}),
    ],
)
def test_the_model_code_compiles_the_optimizer_the_lab_uses(
    settings: dict[str, Any], expected: dict[str, float]
) -> None:
    import keras

    from fmnist_lab.training.model import make_optimizer

    config = TrainConfig(**settings)
    section = next(s for s in codegen.sections(config) if s.title == "Build the model")
    scope: dict[str, Any] = {"keras": keras}
    exec(section.code, scope)  # builds and compiles the model as the script does
    optimizer, lab = scope["model"].optimizer, make_optimizer(config)
    assert type(optimizer) is type(lab) is keras.optimizers.SGD
    for name, value in expected.items():
        assert float(getattr(optimizer, name)) == pytest.approx(value) == float(getattr(lab, name))


def test_the_baseline_reads_like_the_course() -> None:
    script = codegen.script(TrainConfig())
    assert "keras.datasets.fashion_mnist.load_data()" in script
    assert "x_train, x_test = x_train / 255.0, x_test / 255.0" in script
    assert 'keras.layers.Dense(128, activation="relu"),' in script
    assert 'keras.layers.Dense(10, activation="softmax"),' in script
    assert 'optimizer="adam"' in script and "epochs=5" in script and "keras.utils.set_random_seed(SEED)" in script
    assert "callbacks" not in script and "class_weight" not in script and "Dropout" not in script


@pytest.mark.parametrize(
    "config",
    [
        TrainConfig(class_shares=((6, 0.1), (2, 0.0)), label_noise=((0, 0.3), (6, 0.5)), seed=3),
        TrainConfig(class_shares=((6, 0.1), (9, 0.25)), balance="oversample", seed=1),
        TrainConfig(class_shares=((6, 0.1),), label_noise=((3, 0.2),), balance="augment", seed=5),
    ],
)
def test_the_bias_code_keeps_changes_and_copies_the_same_images_as_the_lab(config: TrainConfig) -> None:
    from fmnist_lab.training.train import biased

    dataset = make_dataset(800, 10)
    section = next(s for s in codegen.sections(config) if s.title == "Bias in the training set")
    scope: dict[str, Any] = {"np": np, "SEED": config.seed, "x_train": dataset.x_train, "y_train": dataset.y_train}
    exec(section.code, scope)
    x_lab, y_lab = biased(config, dataset.x_train, dataset.y_train)
    np.testing.assert_array_equal(scope["y_train"], y_lab)
    np.testing.assert_array_equal(scope["x_train"], x_lab)


def test_class_weights_match_the_labs() -> None:
    from fmnist_lab.training.bias import class_weights

    config = TrainConfig(class_shares=((6, 0.1),), balance="class-weights")
    dataset = make_dataset(800, 10)
    section = next(s for s in codegen.sections(config) if s.title == "Bias in the training set")
    scope: dict[str, Any] = {"np": np, "SEED": 0, "x_train": dataset.x_train, "y_train": dataset.y_train}
    exec(section.code, scope)
    assert scope["class_weight"] == pytest.approx(class_weights(scope["y_train"]))


# -- running the code on data supplied where load_data() looks ------------------------------------------------
PROBE = 'print("units:", json.dumps([layer.units for layer in model.layers if hasattr(layer, "units")]))'


@pytest.fixture
def keras_cache(isolated_lab: Path) -> Dataset:
    """The synthetic data set as the four .gz files Keras' load_data() reads from its cache (no download)."""
    dataset = make_dataset(2000, 500)
    write_idx_folder(Path(os.environ["KERAS_HOME"]) / "datasets" / "fashion-mnist", dataset)
    return dataset


@pytest.fixture
def lab_accuracy(keras_cache: Dataset) -> float:
    from fmnist_lab.training.train import train_run

    store = RunStore()
    run = store.create(SMALL)
    accuracy = train_run(store, run.id, dataset=keras_cache).test_accuracy
    assert accuracy > 0.5  # far above chance (0.1): the comparison means something
    return accuracy


def _reported(output: str) -> tuple[int, list[int], float]:
    parameters = int(re.search(r"^parameters: (\d+)$", output, re.M).group(1))  # type: ignore[union-attr]
    units = json.loads(re.search(r"^units: (.*)$", output, re.M).group(1))  # type: ignore[union-attr]
    accuracy = float(re.search(r"^test accuracy: ([\d.]+)$", output, re.M).group(1))  # type: ignore[union-attr]
    return parameters, units, accuracy


def test_the_script_trains_the_same_model_as_the_lab(tmp_path: Path, lab_accuracy: float) -> None:
    path = tmp_path / "run.py"
    path.write_text(codegen.script(SMALL) + "\nimport json\n" + PROBE + "\n")
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    parameters, units, accuracy = _reported(done.stdout)
    assert parameters == SMALL.parameter_count == 784 * 48 + 48 + 48 * 10 + 10
    assert units == [48, 10]
    assert accuracy == pytest.approx(lab_accuracy, abs=TOLERANCE)


def test_the_notebook_trains_the_same_model_as_the_lab(tmp_path: Path, lab_accuracy: float) -> None:
    import nbformat
    from nbclient import NotebookClient

    book = codegen.notebook(SMALL)
    book.cells.append(nbformat.v4.new_code_cell("import json\n" + PROBE))
    NotebookClient(book, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    output = "".join(o.get("text", "") for cell in book.cells if cell.cell_type == "code" for o in cell.outputs)
    parameters, units, accuracy = _reported(output)
    assert parameters == SMALL.parameter_count
    assert units == [48, 10]
    assert accuracy == pytest.approx(lab_accuracy, abs=TOLERANCE)


# -- the command line ------------------------------------------------------------------------------------------
def test_code_prints_a_runs_script(capsys: pytest.CaptureFixture[str]) -> None:
    run = RunStore().create(TrainConfig(hidden_units=(256,), epochs=9))
    assert main(["code", run.id]) == 0
    out = capsys.readouterr().out
    assert out == codegen.script(run.config, run.id)
    assert "keras.layers.Dense(256" in out and "epochs=9" in out


def test_code_writes_a_notebook(tmp_path: Path) -> None:
    import nbformat

    run = RunStore().create(TrainConfig(dropout=0.3))
    target = tmp_path / "run.ipynb"
    assert main(["code", run.id, "--notebook", str(target)]) == 0
    book = nbformat.read(target, as_version=4)
    nbformat.validate(book)
    code = "\n".join(cell.source for cell in book.cells if cell.cell_type == "code")
    assert "keras.layers.Dropout(0.3)" in code
    assert [p.name for p in tmp_path.iterdir()] == ["run.ipynb"]  # no temporary left behind


@pytest.mark.parametrize("run_id", ["20990101-000000-abcdef", "../etc", "nope"])
def test_code_for_an_unknown_run_exits_1_without_a_traceback(run_id: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["code", run_id]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err

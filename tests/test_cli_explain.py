"""``python -m fmnist_lab explain``: one JSON line whose numbers add up, pictures on request, clear refusals."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.analysis import metrics
from fmnist_lab.cli import main


@pytest.fixture(scope="module")
def two_layer_runs(tmp_path_factory: pytest.TempPathFactory, full_size_idx: Path) -> Path:
    """A store holding one trained relu run with two hidden layers (the synthetic full-size data set)."""
    from fmnist_lab.training import data
    from fmnist_lab.training.train import train_run

    root = tmp_path_factory.mktemp("explain-cli") / "runs"
    store = RunStore(root)
    run = store.create(TrainConfig(hidden_units=(32, 16), epochs=2, train_samples=2000, test_samples=200))
    train_run(store, run.id, dataset=data.read_folder(full_size_idx))
    return root


@pytest.fixture
def run_id(two_layer_runs: Path, isolated_lab: Path, full_size_idx: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """This test's copy of the run in its lab home, and the data set it was trained on as the lab's data."""
    shutil.copytree(two_layer_runs, isolated_lab / "runs")
    monkeypatch.setenv("FMNIST_DATA_DIR", str(full_size_idx))
    return RunStore().list()[0].id


def explain(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["explain", *argv]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def test_explain_adds_up_and_matches_the_stored_probabilities(run_id: str, capsys: pytest.CaptureFixture[str]) -> None:
    stored, labels = RunStore().predictions(run_id)
    for index in (0, 17, len(labels) - 1):
        result = explain([run_id, "--image", str(index)], capsys)
        logits = np.array(result["logits"])
        assert len(logits) == 10 and result["true"] == labels[index] and result["predicted"] == logits.argmax()
        np.testing.assert_allclose(np.add(result["contributions"], result["bias_terms"]), logits, atol=1e-9)
        np.testing.assert_allclose(metrics.softmax(logits), stored[index], atol=1e-3)
        assert 0 <= result["ig_completeness_error"] < 0.01


def test_explain_writes_the_pictures(run_id: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    explain([run_id, "--image", "3", "--out", str(tmp_path / "out")], capsys)
    written = {path.name: Image.open(io.BytesIO(path.read_bytes())) for path in (tmp_path / "out").iterdir()}
    expected = {"image", "saliency", "integrated_gradients", "occlusion", "template_predicted", "template_true"}
    expected |= {"contributions_predicted", "contributions_true", "contributions_difference"}
    assert set(written) == {f"{name}.png" for name in expected}
    assert all(picture.size == (224, 224) for picture in written.values())


def test_explain_a_picture_file(run_id: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    picture = np.full((60, 40), 250, np.uint8)
    picture[10:50, 8:32] = 30  # a dark garment on white: the decoder inverts it
    path = tmp_path / "shirt.png"
    Image.fromarray(picture).save(path)
    result = explain([run_id, "--file", str(path)], capsys)
    assert result["true"] is None and result["image"] is None
    np.testing.assert_allclose(np.add(result["contributions"], result["bias_terms"]), result["logits"], atol=1e-9)


def damage(run_id: str) -> None:
    (RunStore().path(run_id) / "weights.npz").write_bytes(b"not a zip file")


def bad_picture(tmp_path: Path) -> str:
    (tmp_path / "fake.png").write_bytes(b"GIF89a" + bytes(100))
    return str(tmp_path / "fake.png")


@pytest.mark.parametrize(
    ("argv", "prepare", "message"),
    [
        (lambda run_id, tmp: ["2026-bad", "--image", "0"], None, "is not a run id"),
        (lambda run_id, tmp: ["20260101-000000-abcdef", "--image", "0"], None, "was not found"),
        (lambda run_id, tmp: [run_id, "--image", "200"], None, "--image 200 is out of range"),
        (lambda run_id, tmp: [run_id, "--image", "-1"], None, "test images 0 to 199"),
        (lambda run_id, tmp: [run_id, "--image", "0"], damage, "damaged"),
        (lambda run_id, tmp: [run_id, "--file", str(tmp / "none.png")], None, "none.png: No such file"),
        (lambda run_id, tmp: [run_id, "--file", bad_picture(tmp)], None, "not a picture the lab recognises"),
    ],
)
def test_explain_refuses_with_one_line_and_exit_2(
    argv: object, prepare: object, message: str, run_id: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if callable(prepare):
        prepare(run_id)
    assert callable(argv)
    assert main(["explain", *argv(run_id, tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith("error: ") and message in captured.err and "Traceback" not in captured.err


def test_explain_needs_an_image_or_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["explain", "20260101-000000-abcdef"])
    assert caught.value.code == 2 and "one of the arguments --image --file is required" in capsys.readouterr().err


def test_explain_on_a_tanh_run_has_no_exact_split(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Sigmoid and tanh: logits and IG, but ``contributions`` and ``bias_terms`` are null (no exact split)."""
    store = RunStore()
    run = store.create(TrainConfig(hidden_units=(8,), activation="tanh"))
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=s).astype(np.float32) * 0.05 for s in [(784, 8), (8,), (8, 10), (10,)]]
    store.write_weights(run.id, weights)
    buffer = io.BytesIO()
    Image.fromarray(np.tile(np.arange(0, 256, 8, dtype=np.uint8), (32, 1))).save(buffer, format="PNG")
    (tmp_path / "ramp.png").write_bytes(buffer.getvalue())
    result = explain([run.id, "--file", str(tmp_path / "ramp.png")], capsys)
    assert result["contributions"] is None and result["bias_terms"] is None and len(result["logits"]) == 10

"""The Predictions page's "Why this answer?" through AppTest, its numbers against a NumPy forward pass."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fmnist_lab import RunStore
from fmnist_lab.analysis import forward
from fmnist_lab.config import CLASS_NAMES
from fmnist_lab.training import data
from fmnist_lab.ui.navigation import CONFUSION, PREDICTIONS
from tests.pages.test_analysis_pages import png
from tests.pages.test_pages import figures, finished_run, open_page, texts, values

INDEX = 42


@pytest.fixture
def runs(trained_store: Path) -> list:
    return RunStore().list()  # newest first: the 1024-unit run, then the 128-unit one


def titled(app, start: str) -> dict:  # noqa: ANN001
    return next(f for f in figures(app) if f["layout"].get("title", {}).get("text", "").startswith(start))


def subplot_titles(figure: dict) -> list[str]:
    return [a["text"] for a in figure["layout"].get("annotations", [])]


def logits_of(run_id: str, image: np.ndarray) -> np.ndarray:
    """The logits by ``forward.layers``: a separate forward pass from the one explain uses."""
    run = RunStore().load(run_id)
    x = data.prepare(image[None], run.config.normalize)
    return forward.layers(RunStore().weights(run_id), run.config.activation, x)[-1][0][0]


def test_pixels_plus_biases_are_the_logits(runs: list) -> None:
    run = runs[1]
    app = open_page(PREDICTIONS, run=run.id)
    app.number_input(key="pred_pos_all_None").set_value(INDEX).run()
    assert not app.exception, app.exception
    probabilities, labels = RunStore().predictions(run.id)
    predicted = int(probabilities[INDEX].argmax())
    logits = logits_of(run.id, data.load_dataset().x_test[INDEX])
    chart = titled(app, "Each logit = pixels + biases")["data"]
    names = chart[0]["x"]
    assert names[0] == CLASS_NAMES[predicted]
    total = np.add(values(chart[0]["y"]), values(chart[1]["y"]))
    np.testing.assert_allclose(total, [logits[CLASS_NAMES.index(name)] for name in names], atol=1e-4)
    assert "Why this answer?" in [h.value for h in app.subheader]
    if predicted != labels[INDEX]:
        assert names[1] == CLASS_NAMES[labels[INDEX]]


def test_contribution_maps_add_up_to_their_titles(runs: list) -> None:
    app = open_page(PREDICTIONS, run=runs[1].id)
    app.number_input(key="pred_pos_all_None").set_value(INDEX).run()
    maps = next(f for f in figures(app) if any("Σ =" in t for t in subplot_titles(f)))
    sums = [np.sum(values(trace["z"])) for trace in maps["data"]]
    shown = [float(t.split("Σ = ")[1]) for t in subplot_titles(maps)]
    np.testing.assert_allclose(sums, shown, atol=0.006)  # titles round to 2 decimals
    assert sums[2] == pytest.approx(sums[0] - sums[1])


def test_relu_zeros_count_dead_neurons(runs: list) -> None:
    run = runs[1]
    app = open_page(PREDICTIONS, run=run.id)
    assert not app.exception, app.exception
    _, labels = RunStore().predictions(run.id)
    images = data.load_dataset().x_test[: len(labels)]
    hidden = forward.layers(RunStore().weights(run.id), "relu", data.prepare(images, True))[0][1]  # (n, units)
    dead = int(np.sum(np.all(hidden == 0, axis=0)))
    metric = next(m for m in app.metric if m.label == "hidden_1: dead on the test set")
    assert metric.value == f"{dead / hidden.shape[1]:.1%}"
    zeroed = next(m for m in app.metric if m.label == "hidden_1: zeroed")
    assert zeroed.value == f"{int(np.sum(hidden[0] == 0))} of {hidden.shape[1]}"


def test_own_picture_is_explained(runs: list) -> None:
    picture = Image.new("L", (120, 160), 255)
    picture.paste(0, (30, 20, 90, 140))
    app = open_page(PREDICTIONS, run=runs[1].id)
    app.file_uploader(key="pred_upload").set_value(("shirt.png", png(picture), "image/png")).run()
    assert not app.exception, app.exception
    assert "Pixels + biases = logits for all ten classes" in texts(app)
    assert any(f["layout"].get("title", {}).get("text") == "Each logit = pixels + biases" for f in figures(app))


def test_a_tanh_run_gets_the_approximations_and_a_note(app_env: Path) -> None:
    store = RunStore()
    run_id = finished_run(store, activation="tanh", hidden_units=(8, 4))
    rng = np.random.default_rng(0)
    shapes = [(784, 8), (8,), (8, 4), (4,), (4, 10), (10,)]
    store.write_weights(run_id, [rng.normal(scale=0.05, size=s).astype(np.float32) for s in shapes])
    labels = data.load_dataset().y_test[:50]
    store.write_predictions(run_id, np.full((50, 10), 0.1), labels)
    app = open_page(PREDICTIONS, run=run_id)
    assert not app.exception, app.exception
    assert "curved everywhere" in texts(app) and "relu's zeros" not in [e.label for e in app.expander]
    compared = next(f for f in figures(app) if "Integrated Gradients" in subplot_titles(f))
    assert len(compared["data"]) == 3


def softmax_figures(app) -> list[np.ndarray]:  # noqa: ANN001
    shown = [f for f in figures(app) if f["layout"].get("title", {}).get("text", "").startswith("Softmax output")]
    return [np.array(values(f["data"][0]["y"])) for f in shown]


def test_flip_it_moves_the_answer_and_reset_brings_it_back(runs: list) -> None:
    run = runs[1]
    key = f"edit_{run.id}_{INDEX}"
    app = open_page(PREDICTIONS, run=run.id)
    app.number_input(key="pred_pos_all_None").set_value(INDEX).run()
    probabilities, _ = RunStore().predictions(run.id)
    stored_bars, edit_bars = softmax_figures(app)
    np.testing.assert_allclose(edit_bars, probabilities[INDEX], atol=1e-5)  # unedited: the run's own answer
    runner_up = int(np.argsort(-probabilities[INDEX])[1])
    app.button(key=f"{key}_flip").click().run()
    assert not app.exception, app.exception
    flipped = app.session_state[key].base
    assert (flipped != data.load_dataset().x_test[INDEX]).sum() == len(app.session_state[key].flip.pixels) > 0
    expected = forward.predict(RunStore().weights(run.id), "relu", data.prepare(flipped[None], True))[0]
    np.testing.assert_allclose(softmax_figures(app)[1], expected, atol=1e-5)
    assert expected.argmax() == runner_up
    assert any(f"the answer is now **{CLASS_NAMES[runner_up]}**" in s.value for s in app.success)
    app.button(key=f"{key}_reset").click().run()
    np.testing.assert_allclose(softmax_figures(app)[1], probabilities[INDEX], atol=1e-5)
    assert not app.success


def test_an_image_behind_a_confusion_cell_is_explained(runs: list) -> None:
    """Issue 28: the images behind a cell get the same exact explanation as on Predictions."""
    run = runs[1]
    probabilities, labels = RunStore().predictions(run.id)
    app = open_page(CONFUSION, run=run.id)
    true_class = app.selectbox(key="confusion_true").value
    predicted_class = app.selectbox(key="confusion_pred").value
    index = app.selectbox(key="confusion_why").value
    assert labels[index] == true_class and probabilities[index].argmax() == predicted_class  # one of the cell's
    assert not app.exception, app.exception
    chart = titled(app, "Each logit = pixels + biases")["data"]
    names = chart[0]["x"]
    total = np.add(values(chart[0]["y"]), values(chart[1]["y"]))
    logits = logits_of(run.id, data.load_dataset().x_test[index])
    np.testing.assert_allclose(total, [logits[CLASS_NAMES.index(name)] for name in names], atol=1e-4)

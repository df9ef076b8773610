"""Confusion, Predictions and Compare through AppTest, against runs a real (tiny) training made."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fmnist_lab import RunStore
from fmnist_lab.analysis import images
from fmnist_lab.config import CLASS_NAMES
from fmnist_lab.ui import plain
from fmnist_lab.ui.navigation import COMPARE, CONFUSION, PREDICTIONS
from tests.pages.test_pages import figures, open_page, tensorflow_modules_after, texts, values


@pytest.fixture
def runs(trained_store: Path) -> list:
    return RunStore().list()  # newest first: the 1024-unit run, then the 128-unit one


def heatmap(app) -> dict:  # noqa: ANN001
    return next(f for f in figures(app) if f["data"][0]["type"] == "heatmap")


def test_confusion_page_numbers_match_numpy(runs: list) -> None:
    run = runs[1]
    app = open_page(CONFUSION, run=run.id)
    assert not app.exception, app.exception
    probabilities, labels = RunStore().predictions(run.id)
    guesses = probabilities.argmax(axis=1)
    z = np.array(values(heatmap(app)["data"][0]["z"]))
    assert z.sum() == len(labels) == 10_000
    for true in range(10):  # every cell counted independently
        np.testing.assert_array_equal(z[true], np.bincount(guesses[labels == true], minlength=10))
    table = app.dataframe[0].value
    np.testing.assert_array_equal(table["support"].to_numpy(), np.bincount(labels, minlength=10))
    recall = [np.mean(guesses[labels == c] == c) for c in range(10)]
    np.testing.assert_allclose(table["recall"].to_numpy(), recall)
    precision = [np.mean(labels[guesses == c] == c) if np.any(guesses == c) else 0.0 for c in range(10)]
    np.testing.assert_allclose(table["precision"].to_numpy(), precision)


def test_confusion_drill_down_shows_the_cell_images(runs: list) -> None:
    run = runs[1]
    probabilities, labels = RunStore().predictions(run.id)
    guesses = probabilities.argmax(axis=1)
    app = open_page(CONFUSION, run=run.id)
    app.selectbox(key="confusion_true").select_index(3)
    app.selectbox(key="confusion_pred").select_index(3)
    app.run()
    in_cell = int(np.sum((labels == 3) & (guesses == 3)))
    assert f"{in_cell} test images, most confident first" in texts(app)
    assert len(app.get("image")) == min(in_cell, 24)


def test_normalised_confusion_rows_sum_to_100(runs: list) -> None:
    app = open_page(CONFUSION, run=runs[0].id)
    app.toggle(key="confusion_normalised").set_value(True).run()
    rows = np.array(values(heatmap(app)["data"][0]["z"])).sum(axis=1)
    np.testing.assert_allclose(rows, 100.0)


def test_predictions_page_softmax_bars(runs: list) -> None:
    run = runs[1]
    probabilities, labels = RunStore().predictions(run.id)
    app = open_page(PREDICTIONS, run=run.id)
    assert not app.exception, app.exception
    app.number_input(key="pred_pos_all_None").set_value(42).run()
    bars = next(f for f in figures(app) if f["data"][0]["type"] == "bar")["data"][0]
    heights = np.array(values(bars["y"]))
    assert heights.sum() == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(heights, probabilities[42], rtol=1e-6)
    assert f"Predicted: **{CLASS_NAMES[heights.argmax()]}**" in texts(app)
    assert f"True: **{CLASS_NAMES[labels[42]]}**" in texts(app)


@pytest.mark.parametrize("mode", ["misclassified", "most_confident", "least_confident", "random"])
def test_predictions_browse_modes(runs: list, mode: str) -> None:
    run = runs[1]
    probabilities, labels = RunStore().predictions(run.id)
    app = open_page(PREDICTIONS, run=run.id)
    app.radio(key="pred_mode").set_value(mode).run()
    assert not app.exception, app.exception
    shown = int(app.code[0].value.split("[")[1].split("]")[0])
    confidence = probabilities.max(axis=1)
    if mode == "misclassified":
        assert probabilities[shown].argmax() != labels[shown]
    elif mode == "most_confident":
        assert confidence[shown] == confidence.max()
    elif mode == "least_confident":
        assert confidence[shown] == confidence.min()


def test_softmax_playground(app_env: Path) -> None:
    app = open_page(PREDICTIONS)
    shown = texts(app)
    assert "Sum of probabilities: 1.0000" in shown and "Argmax: z2" in shown
    table = app.dataframe[0].value
    exps = np.exp([1.0, 3.0, 4.0, 2.0])
    np.testing.assert_allclose(table["probability"].to_numpy(), exps / exps.sum())
    app.slider(key="pred_temperature").set_value(5.0).run()
    np.testing.assert_allclose(
        app.dataframe[0].value["probability"].to_numpy(),
        np.exp([0.2, 0.6, 0.8, 0.4]) / np.exp([0.2, 0.6, 0.8, 0.4]).sum(),
    )
    app.text_input(key="pred_logits").input("1, two").run()
    assert any("such as `1, 3, 4, 2`" in e.value for e in app.error)


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_own_picture_is_predicted(runs: list) -> None:
    picture = Image.new("L", (120, 160), 255)
    picture.paste(0, (30, 20, 90, 140))  # a dark garment on a light background
    app = open_page(PREDICTIONS, run=runs[1].id)
    app.file_uploader(key="pred_upload").set_value(("shirt.png", png(picture), "image/png")).run()
    assert not app.exception, app.exception
    assert "Inverted: the background was light" in texts(app)
    bars = next(f for f in figures(app) if f["layout"]["title"]["text"].startswith("Softmax output"))
    assert np.sum(values(bars["data"][0]["y"])) == pytest.approx(1.0, abs=1e-5)


def test_own_picture_for_a_run_without_weights_says_what_to_do(runs: list) -> None:
    (RunStore().path(runs[1].id) / "weights.npz").unlink()  # as a run from an older lab version
    app = open_page(PREDICTIONS, run=runs[1].id)
    app.file_uploader(key="pred_upload").set_value(("shirt.png", png(Image.new("L", (60, 80), 0)), "image/png"))
    app.run()
    assert not app.exception, app.exception
    assert any("has no weights file" in w.value and "Train a new run" in w.value for w in app.warning)


def test_own_picture_is_scored_without_tensorflow_in_the_server(runs: list, tmp_path: Path) -> None:
    """Once Keras is imported, Streamlit clears its session after every run of every page: keep it out."""
    picture = tmp_path / "shirt.png"
    picture.write_bytes(png(Image.new("L", (60, 80), 0)))
    steps = (
        f"app.switch_page({PREDICTIONS.file!r})\napp.query_params['run'] = {runs[1].id!r}\napp.run()\n"
        f"app.file_uploader(key='pred_upload').set_value(('s.png', Path({str(picture)!r}).read_bytes(), 'image/png'))\n"
        "app.run()\nassert any('Softmax output' in str(e.proto.spec) for e in app.get('plotly_chart')), 'no bars'"
    )
    assert tensorflow_modules_after(steps) == "[]"


@pytest.mark.parametrize(
    ("name", "payload", "message"),
    [
        ("notes.png", b"this is not an image at all", "not a picture the lab recognises"),
        ("cut.png", png(Image.new("RGB", (64, 64), "white"))[:60], "damaged"),
    ],
)
def test_bad_uploads_get_a_message(runs: list, name: str, payload: bytes, message: str) -> None:
    app = open_page(PREDICTIONS, run=runs[1].id)
    app.file_uploader(key="pred_upload").set_value((name, payload, "image/png")).run()
    assert not app.exception, app.exception
    errors = [e.value for e in app.error]
    assert any("That file cannot be used" in e and message in e for e in errors), errors


def test_an_upload_is_decoded_once_however_often_the_page_reruns(runs: list, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    decode = images.prepare_upload_budgeted
    monkeypatch.setattr(images, "prepare_upload_budgeted", lambda data: calls.append(len(data)) or decode(data))
    payload = png(Image.new("L", (61, 83), 0))  # a size no other test uploads, so not cached yet
    app = open_page(PREDICTIONS, run=runs[1].id)
    app.file_uploader(key="pred_upload").set_value(("shirt.png", payload, "image/png")).run()
    app.slider(key="pred_temperature").set_value(2.0).run()  # a rerun with the same upload
    app.run()
    assert not app.exception, app.exception
    assert calls == [len(payload)]


def test_compare_defaults_to_128_vs_1024(runs: list) -> None:
    app = open_page(COMPARE)
    assert not app.exception, app.exception
    chosen = app.multiselect(key="compare_runs").value
    by_id = {run.id: run for run in runs}
    assert [by_id[run_id].config.hidden_units for run_id in chosen] == [(128,), (1024,)]
    table = app.dataframe[0].value
    assert table["parameters"].tolist() == [101_770, 814_090]
    assert table["train − test"].tolist() == pytest.approx((table["train accuracy"] - table["test accuracy"]).tolist())
    diff = next(f for f in figures(app) if f["layout"]["title"]["text"].startswith("Confusion difference"))
    assert np.array(values(diff["data"][0]["z"])).sum() == 0  # both runs classify the same 10,000 images


def test_compare_flipped_images_are_counted_correctly(runs: list) -> None:
    small, large = runs[1], runs[0]
    (pa, labels), (pb, _) = RunStore().predictions(small.id), RunStore().predictions(large.id)
    right_a, right_b = pa.argmax(1) == labels, pb.argmax(1) == labels
    app = open_page(COMPARE)
    shown = texts(app)
    assert f"wrong in {plain(f'2: {large.name}')}**: {int(np.sum(right_a & ~right_b))} images" in shown
    assert f"wrong in {plain(f'1: {small.name}')}**: {int(np.sum(right_b & ~right_a))} images" in shown
    captions = [image.caption for element in app.get("imgs") for image in element.proto.imgs]
    assert len(captions) == min(int(np.sum(right_a & ~right_b)), 12) + min(int(np.sum(right_b & ~right_a)), 12)
    for caption in captions:  # "true Shirt → #1234 · T-shirt/top 61%": the true class, then the wrong guess
        true, guess = caption.removeprefix("true ").split(" → #")
        assert true == CLASS_NAMES[labels[int(guess.split(" ")[0])]]


def test_a_damaged_run_of_the_default_pair_does_not_block_compare_and_its_error_names_it_as_text(
    runs: list,
) -> None:
    large = RunStore().rename(runs[0].id, "![x](https://evil.example/i.png)")
    (RunStore().path(large.id) / "history.json").write_text("{ not json")
    app = open_page(COMPARE)
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert app.multiselect(key="compare_runs").value == [runs[1].id]  # the readable one; the page asks for two
    assert "Pick at least two runs." in texts(app)
    app.multiselect(key="compare_runs").set_value([runs[1].id, large.id]).run()  # picked by hand: it says why
    assert not app.exception and [e.value.split(":** ")[0] for e in app.error] == [f"**{plain(f'2: {large.name}')}"]


def test_train_pair_button_queues_both_runs(runs: list) -> None:
    before = {run.id for run in RunStore().list()}
    app = open_page(COMPARE)
    app.slider(key="compare_epochs").set_value(1)
    app.radio(key="compare_seeds").set_value(1)
    app.button(key="compare_train_pair").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    new = [run for run in RunStore().list() if run.id not in before]
    assert app.selectbox(key="sidebar_run").value == app.query_params["run"] in {run.id for run in new}
    assert sorted(run.config.hidden_units for run in new) == [(128,), (1024,)]
    a, b = (run.config.to_dict() | {"hidden_units": None} for run in new)
    assert a == b and new[0].config.epochs == 1
    for run in new:
        RunStore().request_cancel(run.id)

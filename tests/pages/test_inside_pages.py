"""The Inside page and the epoch slider through AppTest, against runs a real (tiny) training made."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.analysis import inside
from fmnist_lab.training import data
from fmnist_lab.ui.navigation import COMPARE, CONFUSION, INSIDE, PREDICTIONS
from tests.conftest import built_once, shared_folder
from tests.pages.test_pages import figures, finished_run, open_page, tensorflow_modules_after, texts, values


@pytest.fixture
def runs(trained_store: Path) -> list:
    return RunStore().list()  # newest first: the 1024-unit run, then the 128-unit one


@pytest.fixture(scope="session")
def replay_runs_dir(tmp_path_factory: pytest.TempPathFactory, full_size_idx: Path) -> Path:
    """Two real tiny trainings of three epochs, so there are epochs to replay."""
    from fmnist_lab.training.train import train_run

    def train(root: Path) -> None:
        store = RunStore(root)
        for units in (16, 32):  # two, for Compare
            run = store.create(TrainConfig(hidden_units=(units,), epochs=3, train_samples=600, batch_size=64))
            train_run(store, run.id, dataset=data.read_folder(full_size_idx))

    return built_once(shared_folder(tmp_path_factory, "replay") / "runs", train)  # once for all xdist workers


@pytest.fixture
def replay_run(replay_runs_dir: Path, isolated_lab: Path, app_env: Path) -> str:
    shutil.copytree(replay_runs_dir, isolated_lab / "runs")
    return RunStore().list()[0].id


def open_tab(app, name: str):  # noqa: ANN001, ANN201
    app.session_state["inside_tab"] = name
    return app.run()


def heatmaps(app) -> list[dict]:  # noqa: ANN001
    return [f for f in figures(app) if f["data"][0]["type"] == "heatmap"]


def counted(labels: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """The confusion matrix by np.add.at, independent of fmnist_lab.analysis.metrics."""
    cm = np.zeros((10, 10), dtype=np.int64)
    np.add.at(cm, (labels, probabilities.argmax(axis=1)), 1)
    return cm


def test_the_epoch_slider_replays_the_confusion_matrix(replay_run: str) -> None:
    store = RunStore()
    assert store.snapshot_epochs(replay_run) == [1, 2, 3]
    final, labels = store.predictions(replay_run)
    app = open_page(CONFUSION, run=replay_run)
    assert not app.exception, app.exception
    np.testing.assert_array_equal(values(heatmaps(app)[0]["data"][0]["z"]), counted(labels, final))
    assert "after the last epoch" in texts(app)
    app.select_slider(key=f"confusion_epoch_{replay_run}").set_value(1).run()
    first = store.epoch_snapshot(replay_run, 1).probabilities
    shown = np.array(values(heatmaps(app)[0]["data"][0]["z"]))
    np.testing.assert_array_equal(shown, counted(labels, first))
    assert not np.array_equal(shown, counted(labels, final))  # the matrix was still forming
    assert "after epoch 1 (replayed)" in texts(app)


def test_the_epoch_slider_replays_the_softmax_bars(replay_run: str) -> None:
    app = open_page(PREDICTIONS, run=replay_run)
    app.select_slider(key=f"pred_epoch_{replay_run}").set_value(2).run()
    app.number_input(key="pred_pos_all_None").set_value(7).run()
    bars = next(f for f in figures(app) if f["data"][0]["type"] == "bar")["data"][0]
    expected = RunStore().epoch_snapshot(replay_run, 2).probabilities[7]
    np.testing.assert_allclose(values(bars["y"]), expected, rtol=1e-6)


def test_the_epoch_slider_replays_compare(replay_run: str) -> None:
    store = RunStore()
    chosen = [run.id for run in store.list()]  # the two replay runs, newest first, as Compare picks them
    app = open_page(COMPARE)
    app.select_slider(key=f"compare_epoch_{'-'.join(chosen)}").set_value(1).run()
    assert not app.exception, app.exception
    bars = next(f for f in figures(app) if f["layout"]["title"]["text"] == "Accuracy per class")["data"]
    for trace, run_id in zip(bars, chosen, strict=True):
        guesses = store.epoch_snapshot(run_id, 1).probabilities.argmax(axis=1)
        _, labels = store.predictions(run_id)
        expected = [np.mean(guesses[labels == c] == c) for c in range(10)]
        np.testing.assert_allclose(values(trace["y"]), expected)
    assert any("after epoch 1 (replayed)" in header.value for header in app.subheader)


def test_runs_without_snapshots_have_no_slider(runs: list) -> None:
    app = open_page(CONFUSION, run=runs[1].id)  # one epoch: nothing to replay
    assert not app.exception and not app.select_slider


def test_inside_shows_every_neuron_of_a_128_unit_run(runs: list) -> None:
    run = runs[1]
    app = open_page(INSIDE, run=run.id)
    assert not app.exception, app.exception
    kernel, bias = RunStore().weights(run.id)[:2]
    grid = heatmaps(app)[0]
    z = np.array(values(grid["data"][0]["z"]), dtype=np.float64)
    tile = z[9 : 9 + 28, 30 : 30 + 28]  # neuron 1: second tile of the first row, under its 9-row title band
    np.testing.assert_allclose(tile, kernel[:, 1].reshape(28, 28), rtol=1e-6)
    assert len(grid["layout"]["annotations"]) == 128
    app.number_input(key="inside_neuron").set_value(5).run()
    assert f"{bias[5]:.3f}" in texts(app)
    assert inside.formula(kernel, bias, 5) in [c.value for c in app.code]


def test_inside_ranks_a_1024_unit_run_a_page_at_a_time(runs: list) -> None:
    run = runs[0]
    app = open_page(INSIDE, run=run.id)
    assert not app.exception, app.exception
    kernel = RunStore().weights(run.id)[0]
    grid = heatmaps(app)[0]
    strongest = np.argsort(-np.linalg.norm(kernel, axis=0), kind="stable")[:128]
    assert [int(a["text"]) for a in grid["layout"]["annotations"]] == strongest.tolist()
    assert not any(f["layout"]["title"]["text"].startswith("The hidden layer") for f in figures(app))  # lazy tabs
    app.radio(key="inside_rank").set_value("separation").run()
    _, labels = RunStore().predictions(run.id)
    x = data.load_dataset().x_test.reshape(10_000, -1) / np.float32(255.0)
    separation = inside.separation(np.maximum(x @ kernel + RunStore().weights(run.id)[1], 0), labels)
    shown = [int(a["text"]) for a in heatmaps(app)[0]["layout"]["annotations"]]
    assert sorted(separation[shown], reverse=True) == pytest.approx(separation[shown].tolist())
    assert separation[shown].min() >= np.sort(separation)[-128] - 1e-6  # the 128 that separate best


def test_inside_map_tab_draws_the_sample(runs: list) -> None:
    app = open_tab(open_page(INSIDE, run=runs[0].id), "Hidden-space map")
    assert not app.exception, app.exception
    scatter = next(f for f in figures(app) if f["layout"]["title"]["text"].startswith("The hidden layer"))
    assert sum(len(values(trace["x"])) for trace in scatter["data"]) == 2_000


def test_inside_path_names_the_largest_contributions(runs: list) -> None:
    run = runs[1]
    app = open_tab(open_page(INSIDE, run=run.id), "One image's path")
    app.number_input(key="inside_image").set_value(3).run()
    weights = RunStore().weights(run.id)
    path = inside.trace(weights, "relu", data.load_dataset().x_test[3] / np.float32(255.0))
    neuron, value = path.contributions[0]
    assert f"neuron {neuron} (+{value:.2f})" in texts(app)


def test_inside_without_a_run_says_what_to_do(app_env: Path) -> None:
    app = open_page(INSIDE)
    assert not app.exception and "No run chosen yet" in texts(app)


def test_inside_for_a_run_without_weights_says_so(app_env: Path) -> None:
    store = RunStore()
    run_id = finished_run(store)  # as an older lab left it: predictions, no weights file
    labels = data.load_dataset().y_test
    store.write_predictions(run_id, np.full((len(labels), 10), 0.1, np.float32), labels)
    app = open_page(INSIDE, run=run_id)
    assert not app.exception
    assert "has no weights file" in texts(app)


def test_inside_imports_no_tensorflow(runs: list) -> None:
    steps = f"app.switch_page({INSIDE.file!r})\napp.query_params['run'] = {runs[1].id!r}\napp.run()\n"
    assert tensorflow_modules_after(steps) == "[]"


def test_misclassified_mode_keeps_its_image_as_the_epoch_slider_moves(replay_run: str) -> None:
    store = RunStore()
    final, labels = store.predictions(replay_run)
    early = store.epoch_snapshot(replay_run, 1).probabilities
    wrong_at_end = np.flatnonzero(final.argmax(axis=1) != labels)
    wrong_early = np.flatnonzero(early.argmax(axis=1) != labels)
    assert wrong_at_end[2] != wrong_early[2]  # the lists differ: a position alone would change the image
    app = open_page(PREDICTIONS, run=replay_run)
    app.radio(key="pred_mode").set_value("misclassified").run()
    app.number_input(key="pred_pos_misclassified_None").set_value(3).run()
    assert f"model.predict(test_images)[{wrong_at_end[2]}]" in app.code[0].value
    app.select_slider(key=f"pred_epoch_{replay_run}").set_value(1).run()
    assert not app.exception, app.exception
    assert f"model.predict(test_images)[{wrong_at_end[2]}]" in app.code[0].value  # the same image
    bars = next(f for f in figures(app) if f["data"][0]["type"] == "bar")["data"][0]
    np.testing.assert_allclose(values(bars["y"]), early[wrong_at_end[2]], rtol=1e-6)  # its epoch-1 answer


def test_inside_pictures_keep_one_colour_scale_over_every_epoch(replay_run: str) -> None:
    store = RunStore()
    kernels = [store.epoch_snapshot(replay_run, epoch).kernel for epoch in (1, 2, 3)] + [store.weights(replay_run)[0]]
    expected = max(float(np.percentile(np.abs(kernel), 99)) for kernel in kernels)  # the largest epoch's range
    assert float(np.percentile(np.abs(kernels[0]), 99)) < expected  # epoch 1's own range would be smaller
    app = open_page(INSIDE, run=replay_run)
    assert not app.exception, app.exception
    limits = [heatmaps(app)[0]["data"][0]["zmax"]]
    app.select_slider(key=f"inside_epoch_{replay_run}").set_value(1).run()
    assert not app.exception, app.exception
    grid = heatmaps(app)[0]
    limits.append(grid["data"][0]["zmax"])
    assert limits == pytest.approx([expected, expected], rel=1e-6)
    tile = np.array(values(grid["data"][0]["z"]), dtype=np.float64)[9 : 9 + 28, 30 : 30 + 28]  # neuron 1
    np.testing.assert_allclose(tile, kernels[0][:, 1].reshape(28, 28), rtol=1e-6)  # epoch 1's weights
    assert "after epoch 1 (replayed)" in texts(app).lower()


def test_play_reruns_only_the_pictures_once_a_second(replay_run: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import streamlit as st

    from fmnist_lab.ui import inside_ui

    timers: list[tuple[str, float | None]] = []
    real = st.fragment

    def spy(function=None, *, run_every=None):  # noqa: ANN001, ANN202
        timers.append((getattr(function, "__name__", "?"), run_every))
        return real(function, run_every=run_every)

    monkeypatch.setattr(st, "fragment", spy)
    app = open_page(INSIDE, run=replay_run)
    assert ("_pictures", None) in timers and not app.exception
    timers.clear()
    app.toggle(key=f"inside_epoch_{replay_run}_play").set_value(True).run()
    assert not app.exception, app.exception
    assert timers[-1] == ("_pictures", 1.0)  # only the pictures' part runs on the clock
    assert app.select_slider(key=f"inside_epoch_{replay_run}").value == 1  # Play at the last epoch starts over
    assert inside_ui.play_step([1, 2, 3], 1) == (2, True) and inside_ui.play_step([1, 2, 3], 2) == (3, False)

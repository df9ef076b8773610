"""No dead ends and plain names: Predictions without a run, the playground's inputs, names that differ."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.analysis import metrics
from fmnist_lab.ui.navigation import CONFUSION, GALLERY, PREDICTIONS
from tests.pages.test_pages import finished_run, open_page, texts


@pytest.mark.parametrize("text", ["1, 3, 4, 2", "[1, 3, 4, 2]", "1 3 4 2", " (1;3;4;2) ", "1,3 4,  2"])
def test_the_playground_reads_the_notes_formats(text: str) -> None:
    assert metrics.parse_numbers(text) == [1.0, 3.0, 4.0, 2.0]


@pytest.mark.parametrize("text", ["", "1", "1, two", "1, nan", "1, inf", ",".join(["1"] * 21)])
def test_the_playground_refuses_what_is_not_2_to_20_numbers(text: str) -> None:
    with pytest.raises(ValueError):
        metrics.parse_numbers(text)


def test_predictions_with_no_run_keeps_the_playground_and_says_what_own_picture_needs(app_env: Path) -> None:
    app = open_page(PREDICTIONS)
    assert not app.exception
    shown = texts(app)
    assert "No run chosen yet" in shown  # the Test images tab
    assert "Your own picture needs a trained run" in shown  # the own-picture tab is not blank
    assert "Sum of probabilities: 1.0000" in shown  # the playground works without a run
    app.text_input(key="pred_logits").input("[1, 3, 4, 2]").run()
    exps = np.exp([1.0, 3.0, 4.0, 2.0])
    np.testing.assert_allclose(app.dataframe[0].value["probability"].to_numpy(), exps / exps.sum())


def test_own_picture_offers_the_finished_runs_and_picking_one_makes_it_current(trained_store: Path) -> None:
    run_id = RunStore().list()[0].id
    app = open_page(PREDICTIONS)
    picker = app.selectbox(key="pred_own_run")
    assert picker.options == [run.label() for run in RunStore().list()]
    picker.select(run_id).run()
    assert not app.exception
    assert app.query_params["run"] == run_id
    assert any(upload.key == "pred_upload" for upload in app.get("file_uploader"))
    assert "must always pick one of the ten classes" in texts(app)


def test_a_run_that_left_the_queue_says_so_on_the_analysis_pages(app_env: Path) -> None:
    store = RunStore()
    run = store.create(TrainConfig())
    store.set_status(run.id, "stopped", stop_reason="left the queue")
    app = open_page(CONFUSION, run=run.id)
    assert not app.exception
    assert "ended before it had results" in texts(app)


@pytest.mark.parametrize("other", [{"normalize": False}, {"train_samples": 10_000}])
def test_runs_differing_in_one_setting_have_different_names_in_sidebar_and_gallery(app_env: Path, other: dict) -> None:
    store = RunStore()
    plain_id, other_id = finished_run(store), finished_run(store, **other)
    app = open_page(GALLERY)
    labels = app.selectbox(key="sidebar_run").options
    assert len(set(labels)) == 2
    names = {store.load(plain_id).name, store.load(other_id).name}
    assert len(names) == 2
    assert not app.exception


def test_the_gallery_ranks_runs_only_against_runs_with_as_many_images(app_env: Path) -> None:
    store = RunStore()
    full, small = finished_run(store), finished_run(store, train_samples=10_000)
    store.write_metrics(small, store.load(small).metrics | {"test_accuracy": 0.95})  # better, on less data
    app = open_page(GALLERY)
    groups = app.radio(key="gallery_group")
    assert groups.options == [
        "all 60,000 training images, all 10,000 test images",
        "10,000 training images, all 10,000 test images",
    ]
    table = app.dataframe[0].value
    assert table["run"].tolist() == [store.load(full).name] and table["training images"].tolist() == ["all 60,000"]
    groups.set_value(groups.options[1]).run()
    table = app.dataframe[0].value
    assert table["run"].tolist() == ["16 units · 2 epochs · 10,000 images"]
    assert table["test accuracy"].tolist() == [0.95]


def test_the_live_view_redraws_quickly_only_while_something_is_about_to_change(app_env: Path) -> None:
    """Before the first point and once the last epoch is done: every 0.5 s; while it trains: 1 s."""
    from fmnist_lab.ui import run_view

    store = RunStore()
    run = store.create(TrainConfig(epochs=2))
    store.set_status(run.id, "running")
    progress = {"epoch": 1, "epochs": 2, "batch": 0, "steps": 10, "loss": None, "accuracy": None}
    progress |= {"epoch_seconds": 0.1, "elapsed": 0.1, "trail": []}
    paces = []
    for update in (
        {},
        {"batch": 4, "loss": 2.0, "accuracy": 0.3, "trail": [[0.4, 2.0, 0.3]]},
        {"epoch": 2, "batch": 0, "trail": []},  # a new epoch's trail starts empty: still training
        {"epoch": 2, "batch": 10},
    ):
        store.write_progress(run.id, progress := progress | update)
        paces.append(run_view.POLL_SECONDS[run_view._pace(store, store.load(run.id))])
    assert paces == [0.5, 1.0, 1.0, 0.5]

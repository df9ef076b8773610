"""The Confusion page's words about this run's worst class, and a group's mean matrix with each cell's sd."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.config import CLASS_NAMES
from fmnist_lab.store.groups import GroupStore
from fmnist_lab.ui.navigation import CONFUSION
from tests.conftest import finished_run
from tests.pages.test_pages import figures, open_page, values

COAT, SHIRT, PULLOVER = (CLASS_NAMES.index(name) for name in ("Coat", "Shirt", "Pullover"))


def stored_run(store: RunStore, seed: int, wrong: dict[int, tuple[int, int]]) -> str:
    """A finished run on 100 images per class, right except ``wrong``: class → (how many, taken for)."""
    labels = np.repeat(np.arange(10), 100)
    guesses = labels.copy()
    for true, (count, taken_for) in wrong.items():
        guesses[np.flatnonzero(labels == true)[:count]] = taken_for
    run = finished_run(store, TrainConfig(hidden_units=(16,), seed=seed), float(np.mean(guesses == labels)), (0.8,))
    store.write_predictions(run.id, np.eye(10, dtype=np.float32)[guesses] * 0.9 + 0.01, labels)
    return run.id


def test_the_text_names_this_runs_worst_class_from_its_matrix(app_env: Path) -> None:
    run_id = stored_run(RunStore(), 0, {COAT: (39, PULLOVER), SHIRT: (31, COAT)})  # Coat 61 %, Shirt 69 %
    app = open_page(CONFUSION, run=run_id)
    assert not app.exception, app.exception
    (note,) = [info.value for info in app.info if "Equal data" in info.value]
    assert "In this run **Coat** fails most: 61.0% of its test images are right" in note
    assert "most often taken for **Pullover** (39 of its 100 images)" in note
    assert "Shirts" not in note
    assert not app.radio  # not in a group: no choice of the group's mean


def test_a_groups_mean_matrix_with_each_cells_sd(app_env: Path) -> None:
    store = RunStore()
    ids = [stored_run(store, seed, {SHIRT: (wrong, COAT)}) for seed, wrong in enumerate((20, 40, 60))]
    GroupStore(store).create(ids)
    app = open_page(CONFUSION, run=ids[0])
    app.radio(key="confusion_side").set_value("group").run()
    assert not app.exception, app.exception
    heatmap = next(f for f in figures(app) if f["layout"]["title"]["text"].startswith("Mean confusion matrix"))
    z, sd = np.array(values(heatmap["data"][0]["z"])), np.array(values(heatmap["data"][0]["customdata"]))
    assert (z[SHIRT, COAT], z[SHIRT, SHIRT], z[0, 0]) == pytest.approx((40.0, 60.0, 100.0))
    assert sd[SHIRT, COAT] == pytest.approx(np.std([20.0, 40.0, 60.0], ddof=1)) and sd[0, 0] == 0.0
    assert "over 3 runs" in heatmap["data"][0]["hovertemplate"]
    app.radio(key="confusion_side").set_value("run").run()
    assert not any(f["layout"]["title"]["text"].startswith("Mean confusion") for f in figures(app))

"""Run pickers on a store holding the Bias lab's six runs and two identical setups: no two labels alike."""

from __future__ import annotations

from pathlib import Path

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.analysis import compare
from fmnist_lab.ui import bias_ui
from fmnist_lab.ui.navigation import BIAS_LAB, COMPARE
from tests.conftest import final_metrics
from tests.pages.test_bias_page import predictions
from tests.pages.test_pages import open_page

SHIRT = 6


def crowded_store() -> list[str]:
    """The exercise's six runs named as the Bias lab names them, then the same default setup twice
    (the learner's run twice, as a reload-and-click would make), all finished at 87.0 %; the exercise's ids."""
    store = RunStore()
    exercise = [
        store.create(config, f"{bias_ui.NAME_PREFIX}{config.summary()}").id
        for config in compare.bias_exercise(SHIRT, 0.1, 5)
    ]
    ids = [*exercise, store.create(TrainConfig()).id, store.create(TrainConfig()).id]
    for run_id in ids:
        store.write_metrics(run_id, final_metrics(test_accuracy=0.87))
        store.write_history(run_id, [{"epoch": 1, "loss": 0.5, "accuracy": 0.8, "val_loss": 0.6, "val_accuracy": 0.8}])
        store.write_predictions(run_id, *predictions(5))
        store.set_status(run_id, "finished")
    return exercise


def test_the_crowded_store_really_has_twins(isolated_lab: Path) -> None:
    crowded_store()
    plain = [run.label() for run in RunStore().list()]
    assert len(set(plain)) == len(plain) - 1  # the two identical setups: what the pickers must tell apart


def test_compare_picker_labels_are_unique(app_env: Path) -> None:
    crowded_store()
    app = open_page(COMPARE)
    assert not app.exception, app.exception
    options = app.multiselect(key="compare_runs").options
    assert len(options) == 8 and len(set(options)) == 8, options
    assert sum(option.startswith("bias lab · ") for option in options) == 6


def test_bias_lab_table_labels_are_unique_and_lead_with_the_role(app_env: Path) -> None:
    exercise = crowded_store()
    app = open_page(BIAS_LAB, exercise=",".join(exercise))
    assert not app.exception, app.exception
    labels = list(app.dataframe[0].value["run"])
    assert len(set(labels)) == 6
    assert [label.split(" · ")[0] for label in labels] == [
        "baseline",
        "biased",
        "class-weights",
        "oversample",
        "augment",
        "L2 penalty",
    ]

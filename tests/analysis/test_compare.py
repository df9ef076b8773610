"""The comparison helpers: default pair, the table's numbers, the classic pair's equal settings."""

from __future__ import annotations

import pytest

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.analysis import compare
from tests.conftest import final_metrics


def make_run(store: RunStore, units: int, train: float | None = None, test: float | None = None):  # noqa: ANN201
    run = store.create(TrainConfig(hidden_units=(units,)))
    if test is not None:
        store.write_metrics(run.id, final_metrics(train_accuracy=train, test_accuracy=test, epochs_run=5))
    return run


def test_default_selection_prefers_the_newest_128_and_1024() -> None:
    store = RunStore()
    make_run(store, 128)
    newest_128 = make_run(store, 128)
    wide = make_run(store, 1024)
    make_run(store, 64)
    assert compare.default_selection(store.list()) == [newest_128.id, wide.id]


def test_default_selection_falls_back_to_the_newest_two() -> None:
    store = RunStore()
    make_run(store, 32)
    b = make_run(store, 64)
    c = make_run(store, 128)
    assert compare.default_selection(store.list()) == [c.id, b.id]


def test_summary_table_computes_the_gap() -> None:
    store = RunStore()
    make_run(store, 128, train=0.90, test=0.87)
    make_run(store, 1024)
    table = compare.summary_table(store.list())
    assert table["parameters"].tolist() == [814_090, 101_770]
    assert table["train − test"].iloc[1] == pytest.approx(0.03)
    assert table["train − test"].isna().iloc[0]


def test_classic_pair_differs_only_in_units() -> None:
    base = TrainConfig(seed=7, normalize=False, stop_loss=0.3)
    small, large = compare.classic_pair(12, base)
    assert (small.hidden_units, large.hidden_units) == ((128,), (1024,))
    assert small.to_dict() | {"hidden_units": None} == large.to_dict() | {"hidden_units": None}
    assert small.epochs == 12 and small.seed == 7 and not small.normalize


def test_the_bias_exercise_differs_only_in_the_bias_settings() -> None:
    runs = compare.bias_exercise(4, 0.2, 3, base=TrainConfig(seed=7, label_noise={"Bag": 0.5}))
    roles = [compare.exercise_role(config) for config in runs]
    assert roles == ["baseline", "biased", "class-weights", "oversample", "augment", "L2 penalty"]
    assert runs[0] == TrainConfig(seed=7, epochs=3)  # the base's label noise is not part of the exercise
    same = [TrainConfig(seed=7, epochs=3, class_shares=((4, 0.2),), balance=c.balance, l2=c.l2) for c in runs[1:]]
    assert runs[1:] == same and [c.l2 for c in runs[1:]] == [0, 0, 0, 0, compare.EXERCISE_L2]
    assert compare.starved_class(runs) == 4 and compare.starved_class(runs[:1]) is None

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


def finished(store: RunStore, config: TrainConfig, accuracy: float):  # noqa: ANN201
    run = store.create(config)
    store.write_metrics(run.id, final_metrics(test_accuracy=accuracy))
    store.set_status(run.id, "finished")
    return store.load(run.id)


def test_default_pair_is_the_clean_one_not_the_newest_128() -> None:
    store = RunStore()
    clean_small = finished(store, TrainConfig(hidden_units=(128,)), 0.870)
    wide = finished(store, TrainConfig(hidden_units=(1024,), seed=3), 0.878)  # the seed may differ
    starved = TrainConfig(hidden_units=(128,), class_shares=[(6, 0.1)], l2=0.0005)
    finished(store, starved, 0.814)  # newest, but starved of shirts and penalised
    assert compare.default_selection(store.list()) == [clean_small.id, wide.id]
    assert compare.pair_note(clean_small, wide) is None


def test_without_a_clean_pair_the_note_says_what_else_differs() -> None:
    store = RunStore()
    wide = finished(store, TrainConfig(hidden_units=(1024,)), 0.878)
    starved = finished(store, TrainConfig(hidden_units=(128,), class_shares=[(6, 0.1)], l2=0.0005), 0.814)
    assert compare.default_selection(store.list()) == [starved.id, wide.id]
    note = compare.pair_note(starved, wide)
    assert note is not None
    assert "L2 penalty: L2 0.0005 vs L2 0" in note and "Class shares: Shirt 10% kept vs none" in note, note
    assert compare.other_differences(starved.config, starved.config) == []


def test_the_newest_clean_pair_wins() -> None:
    store = RunStore()
    finished(store, TrainConfig(hidden_units=(128,)), 0.87)
    finished(store, TrainConfig(hidden_units=(1024,)), 0.88)
    small = finished(store, TrainConfig(hidden_units=(128,), epochs=9), 0.87)
    wide = finished(store, TrainConfig(hidden_units=(1024,), epochs=9), 0.88)
    assert compare.default_selection(store.list()) == [small.id, wide.id]


def test_a_damaged_run_among_the_newest_two_is_passed_over() -> None:
    store = RunStore()
    a, b = make_run(store, 32), make_run(store, 64)
    damaged = make_run(store, 48)
    asked: list[str] = []

    def readable(run) -> bool:  # noqa: ANN001
        asked.append(run.id)
        return run.id != damaged.id

    assert compare.default_selection(store.list(), readable) == [b.id, a.id]
    assert sorted(asked) == sorted([damaged.id, b.id, a.id])  # each asked once, only those needed


def test_a_damaged_run_of_the_clean_pair_gives_way_to_the_next_clean_pair() -> None:
    store = RunStore()
    older = [finished(store, TrainConfig(hidden_units=(units,)), 0.87) for units in (128, 1024)]
    damaged = finished(store, TrainConfig(hidden_units=(128,), epochs=9), 0.87)
    finished(store, TrainConfig(hidden_units=(1024,), epochs=9), 0.88)
    assert compare.default_selection(store.list(), lambda run: run.id != damaged.id) == [r.id for r in older]


def test_with_every_128_run_damaged_the_newest_two_readable_runs_are_picked() -> None:
    store = RunStore()
    small = finished(store, TrainConfig(hidden_units=(128,)), 0.87)
    wide = finished(store, TrainConfig(hidden_units=(1024,)), 0.88)
    other = finished(store, TrainConfig(hidden_units=(64,)), 0.85)
    assert compare.default_selection(store.list(), lambda run: run.id != small.id) == [other.id, wide.id]
    assert compare.default_selection(store.list(), lambda run: False) == []

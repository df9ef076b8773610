"""Bias settings in training: the training split is biased as asked, the test split never, and the
class-weights mitigation reaches Keras' ``fit``."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import pytest

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.analysis import fairness
from fmnist_lab.training.data import Dataset
from fmnist_lab.training.train import make_splits, train_run

SHIRT = 6
STARVED = {"class_shares": ((SHIRT, 0.1),)}  # tiny_dataset: 60 training images of each class


def counts(labels: np.ndarray) -> list[int]:
    return np.bincount(labels, minlength=10).tolist()


def test_class_shares_keep_exactly_the_asked_count_and_leave_the_test_split(tiny_dataset: Dataset) -> None:
    plain = make_splits(TrainConfig(), tiny_dataset)
    splits = make_splits(TrainConfig(**STARVED), tiny_dataset)
    assert counts(splits.y_train) == [60] * 6 + [6] + [60] * 3
    assert splits.x_train.dtype == np.uint8 and splits.y_train.dtype == np.int32
    np.testing.assert_array_equal(splits.x_test, plain.x_test)
    np.testing.assert_array_equal(splits.y_test, tiny_dataset.y_test)
    np.testing.assert_array_equal(splits.x_val, plain.x_val)  # holdout "test": the untouched test set
    again = make_splits(TrainConfig(**STARVED), tiny_dataset)
    np.testing.assert_array_equal(again.x_train, splits.x_train)  # same seed, same images


def test_label_noise_changes_exactly_the_asked_share_of_one_class(tiny_dataset: Dataset) -> None:
    clean = make_splits(TrainConfig(), tiny_dataset)
    noisy = make_splits(TrainConfig(label_noise=((SHIRT, 0.3),)), tiny_dataset)
    np.testing.assert_array_equal(noisy.x_train, clean.x_train)  # the same images, some relabelled
    changed = noisy.y_train != clean.y_train
    assert changed.sum() == 18 and set(clean.y_train[changed]) == {SHIRT}  # 0.3 of 60 shirts
    np.testing.assert_array_equal(noisy.y_test, clean.y_test)


@pytest.mark.parametrize("balance", ["oversample", "augment"])
def test_oversample_and_augment_bring_the_starved_class_up_to_the_others(tiny_dataset: Dataset, balance: str) -> None:
    starved = make_splits(TrainConfig(**STARVED), tiny_dataset)
    splits = make_splits(TrainConfig(**STARVED, balance=balance), tiny_dataset)
    assert counts(splits.y_train) == [60] * 10  # the other classes' mean count
    assert splits.x_train.dtype == np.uint8
    np.testing.assert_array_equal(splits.x_train[: len(starved.x_train)], starved.x_train)  # originals first
    assert (splits.y_train[len(starved.y_train) :] == SHIRT).all()


def test_class_weights_reach_fit_and_the_run_reports_fairness(
    tiny_dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Any] = []
    original = keras.Model.fit

    def spy(self: keras.Model, *args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("class_weight"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", spy)
    store = RunStore()
    for balance in ("class-weights", "none"):
        run = store.create(TrainConfig(hidden_units=(16,), epochs=1, balance=balance, **STARVED))
        result = train_run(store, run.id, dataset=tiny_dataset)
    # 546 images: n / (10 classes * count), as scikit-learn's compute_class_weight("balanced") gives
    expected = {c: 546 / (10 * 60) for c in range(10)} | {SHIRT: 546 / (10 * 6)}
    assert seen[0] == pytest.approx(expected) and seen[1] is None
    probabilities, labels = store.predictions(run.id)
    assert result.fairness == fairness.fairness_summary(labels, probabilities)
    assert store.load(run.id).metrics["fairness"]["recall"] == result.fairness["recall"]

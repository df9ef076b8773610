"""The real Fashion-MNIST (Debian's dataset-fashion-mnist): full checks and one real epoch."""

from __future__ import annotations

import numpy as np
import pytest

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.training import data
from fmnist_lab.training.train import train_run

pytestmark = pytest.mark.realdata


def test_full_data_set_shapes_and_balance(real_dataset: data.Dataset) -> None:
    assert real_dataset.x_train.shape == (60_000, 28, 28) and real_dataset.x_test.shape == (10_000, 28, 28)
    assert real_dataset.x_train.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(real_dataset.y_train), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(real_dataset.y_test), [1000] * 10)


def test_load_dataset_finds_and_caches_the_real_files(real_dataset: data.Dataset) -> None:
    loaded = data.load_dataset()
    assert loaded.source == str(data.DEBIAN_DIR)
    np.testing.assert_array_equal(loaded.y_test, real_dataset.y_test)


def test_one_epoch_of_the_128_unit_model_reaches_80_percent(real_dataset: data.Dataset) -> None:
    store = RunStore()
    run = store.create(TrainConfig(hidden_units=(128,), epochs=1))
    result = train_run(store, run.id, dataset=real_dataset)
    assert result.test_accuracy >= 0.80
    assert result.test_samples == 10_000 and result.parameters == 101_770
    probabilities, labels = store.predictions(run.id)
    assert probabilities.shape == (10_000, 10)
    assert np.mean(probabilities.argmax(axis=1) == labels) == pytest.approx(result.test_accuracy, abs=1e-4)

"""Eager scoring against Keras' own ``evaluate`` and ``predict``, including an over-confident model."""

from __future__ import annotations

import numpy as np
import pytest

from fmnist_lab import TrainConfig
from fmnist_lab.training.callbacks import ScoreHeldOut
from fmnist_lab.training.data import Dataset, prepare
from fmnist_lab.training.model import build_model
from fmnist_lab.training.scoring import SCORE_CHUNK, score


@pytest.mark.parametrize("weight_scale", [0.05, 3.0])  # 3.0 on raw 0–255 pixels: wildly over-confident
def test_score_equals_keras_evaluate_and_predict(tiny_dataset: Dataset, weight_scale: float) -> None:
    model = build_model(TrainConfig(hidden_units=(16,)), fast=False)
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(scale=weight_scale, size=w.shape).astype(np.float32) for w in model.get_weights()])
    x, y = prepare(tiny_dataset.x_test, normalized=False), tiny_dataset.y_test.astype(np.int32)
    result = score(model, x, y)
    keras_loss, keras_accuracy = model.evaluate(x, y, verbose=0)
    assert result.loss == pytest.approx(keras_loss, rel=1e-5)
    assert result.accuracy == pytest.approx(keras_accuracy, abs=1e-6)
    # float32 sums in another order (oneDNN splits work by the free cores): equal to about 1e-6
    np.testing.assert_allclose(result.probabilities, model.predict(x, verbose=0), atol=1e-5)
    if weight_scale > 1:  # the true class's probability underflows to 0: only the logits give this loss
        assert (result.probabilities[np.arange(len(y)), y] == 0).any() and result.loss > 100


def test_score_in_chunks_equals_one_pass(tiny_dataset: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    model = build_model(TrainConfig(hidden_units=(16,)), fast=False)
    x, y = prepare(tiny_dataset.x_test, normalized=True), tiny_dataset.y_test.astype(np.int32)
    whole = score(model, x, y)
    monkeypatch.setattr("fmnist_lab.training.scoring.SCORE_CHUNK", 7)  # 200 images: 28 full chunks and a short one
    chunked = score(model, x, y)
    assert SCORE_CHUNK >= len(x) and chunked.loss == pytest.approx(whole.loss, rel=1e-6)
    np.testing.assert_allclose(chunked.probabilities, whole.probabilities, atol=1e-7)


def test_score_held_out_adds_validation_scores_to_the_epoch_logs(tiny_dataset: Dataset) -> None:
    model = build_model(TrainConfig(hidden_units=(16,)), fast=False)
    x, y = prepare(tiny_dataset.x_test, normalized=True), tiny_dataset.y_test.astype(np.int32)
    callback = ScoreHeldOut(x, y)
    callback.set_model(model)
    logs = {"loss": 0.5}
    callback.on_epoch_end(0, logs)
    expected = score(model, x, y)
    assert logs == {"loss": 0.5, "val_loss": expected.loss, "val_accuracy": expected.accuracy}

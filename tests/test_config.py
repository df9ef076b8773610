"""TrainConfig: defaults, validation messages, parameter counts, round trips."""

from __future__ import annotations

import dataclasses

import pytest

from fmnist_lab.config import ConfigError, RuleError, TrainConfig


def test_defaults_are_the_course_model() -> None:
    config = TrainConfig()
    assert config.hidden_units == (128,)
    assert (config.activation, config.optimizer, config.batch_size) == ("relu", "adam", 32)
    assert config.normalize is True and config.stop_loss is None and config.holdout == "test"
    assert config.effective_learning_rate == 0.001


@pytest.mark.parametrize(
    ("units", "expected"),
    [((128,), 101_770), ((1024,), 814_090), ((1,), 785 + 20), ((64, 32), 784 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10)],
)
def test_parameter_count(units: tuple[int, ...], expected: int) -> None:
    assert TrainConfig(hidden_units=units).parameter_count == expected


@pytest.mark.parametrize("units", [(128,), (1024,), (64, 32, 16)])
def test_parameter_count_matches_keras(units: tuple[int, ...]) -> None:
    from fmnist_lab.training.model import build_model

    config = TrainConfig(hidden_units=units)
    assert build_model(config, fast=False).count_params() == config.parameter_count


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"hidden_units": (0,)}, "Hidden units must be between 1 and 4,096"),
        ({"hidden_units": (4097,)}, "Hidden units must be between 1 and 4,096"),
        ({"hidden_units": ()}, "between 1 and 4 hidden layers"),
        ({"hidden_units": (8,) * 5}, "between 1 and 4 hidden layers"),
        ({"hidden_units": ("many",)}, "whole number"),
        ({"epochs": 0}, "Epochs must be between 1 and 100"),
        ({"epochs": 101}, "Epochs must be between 1 and 100"),
        ({"epochs": 2.5}, "whole number"),
        ({"epochs": True}, "whole number"),
        ({"batch_size": 0}, "Batch size"),
        ({"stop_loss": 0}, "above 0"),
        ({"stop_loss": -1}, "above 0"),
        ({"stop_loss": float("nan")}, "must be a number"),
        ({"learning_rate": 0}, "Learning rate"),
        ({"activation": "softmax"}, "Activation must be one of relu, sigmoid, tanh"),
        ({"optimizer": "adagrad"}, "Optimizer must be one of adam, sgd, rmsprop"),
        ({"holdout": "train"}, "Scored after each epoch must be one of"),
        ({"seed": -1}, "Seed"),
        ({"normalize": "yes"}, r"Normalise pixels ÷255 must be true or false"),
        ({"train_samples": 5}, "Training images must be between 10 and 60,000"),
        ({"dropout": 0.95}, "Dropout must be at least 0 and at most 0.9"),
        ({"dropout": -0.1}, "Dropout must be at least 0"),
        ({"holdout_fraction": 0.9}, "Held-out share must be at least 0.01 and at most 0.5"),
        ({"optimizer": "sgd", "momentum": 1.0}, "Momentum must be at least 0 and at most 0.99"),
        ({"optimizer": "sgd", "momentum": -0.1}, "Momentum must be at least 0"),
    ],
)
def test_invalid_settings_get_a_readable_message(changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**changes)


def test_list_and_string_inputs_are_normalised() -> None:
    config = TrainConfig(hidden_units=[256, "64"], epochs="7", stop_loss="0.25")
    assert config.hidden_units == (256, 64) and config.epochs == 7 and config.stop_loss == 0.25
    assert TrainConfig(hidden_units=512).hidden_units == (512,)


def test_frozen_and_hashable() -> None:
    config = TrainConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.epochs = 3  # type: ignore[misc]
    assert {config: 1}[TrainConfig()] == 1
    assert hash(TrainConfig(hidden_units=[64])) == hash(TrainConfig(hidden_units=(64,)))


def test_dict_round_trip_and_unknown_keys() -> None:
    config = TrainConfig(hidden_units=(64, 32), epochs=3, stop_loss=0.3, normalize=False, seed=7)
    assert TrainConfig.from_dict(config.to_dict()) == config
    assert TrainConfig.from_dict({}) == TrainConfig()
    with pytest.raises(ConfigError, match="Unknown setting"):
        TrainConfig.from_dict({"epochs": 3, "dropouts": 0.5})
    with pytest.raises(ConfigError, match="JSON object"):
        TrainConfig.from_dict([1, 2])  # type: ignore[arg-type]


def test_summary_names_the_choices() -> None:
    summary = TrainConfig(hidden_units=(1024,), epochs=30, stop_loss=0.25, normalize=False).summary()
    assert summary == "1024 units · 30 epochs · stop<0.25 · no ÷255"
    assert TrainConfig().summary() == "128 units · 5 epochs"
    assert TrainConfig(train_samples=3000, seed=4, dropout=0.2).summary() == (
        "128 units · 5 epochs · dropout 0.2 · seed 4 · 3,000 images"
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"early_stopping": 3, "holdout": "none"}, "Early stopping watches the held-out loss"),
        ({"class_shares": {name: 0 for name in range(10)}}, "Class shares of 0 for every class leave nothing"),
        ({"momentum": 0.9}, "Momentum applies only when optimizer is sgd: choose sgd, or leave momentum at 0.0."),
        ({"momentum": 0.5, "optimizer": "rmsprop"}, "Momentum applies only when optimizer is sgd"),
    ],
)
def test_settings_that_break_a_rule_together_are_refused(changes: dict, message: str) -> None:
    with pytest.raises(RuleError, match=message):
        TrainConfig(**changes)


def test_momentum_is_sgds_and_reads_in_the_summary() -> None:
    config = TrainConfig(optimizer="sgd", momentum=0.9)
    assert config.momentum == 0.9 and TrainConfig().momentum == 0.0
    assert config.summary() == "128 units · 5 epochs · sgd · momentum 0.9"
    assert TrainConfig.from_dict(config.to_dict()) == config


def test_a_run_stored_before_momentum_existed_still_loads() -> None:
    stored = TrainConfig(optimizer="sgd", learning_rate=0.05, epochs=3).to_dict()
    del stored["momentum"]  # as every run stored before the setting was added
    assert TrainConfig.from_dict(stored) == TrainConfig(optimizer="sgd", learning_rate=0.05, epochs=3, momentum=0.0)

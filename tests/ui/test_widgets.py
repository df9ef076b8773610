"""The Train page's one mapping between a setting's value and its widgets' session-state entries, without a page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

from fmnist_lab.config import DEFAULT, DEFAULT_LEARNING_RATES, SETTINGS, Setting, TrainConfig
from fmnist_lab.teaching.share import SharedSetup
from fmnist_lab.ui import controls, widgets
from fmnist_lab.ui.widgets import BINDINGS, CUSTOM, read_values, widget_state
from tests import strategies

ROOT = Path(__file__).parents[2]


def shown(config: TrainConfig) -> dict[str, Any]:
    """What the widgets read back after being filled with ``config`` (the other fields at their defaults)."""
    values, problems = read_values(widget_state(config.values()), DEFAULT.values())
    assert problems == []
    return values


@given(strategies.configs())
def test_every_setup_the_widgets_can_take_reads_back_as_it_was_filled(config: TrainConfig) -> None:
    fitted = controls.fit_to_widgets(SharedSetup(config)).config  # e.g. batch 48: no preset, so the default
    back = TrainConfig(**shown(fitted))
    assert {name: back.effective(name) for name in BINDINGS} == {name: fitted.effective(name) for name in BINDINGS}


def test_layers_fill_a_preset_or_the_custom_number_and_the_extra_layers() -> None:
    state = widget_state(TrainConfig(hidden_units=(100, 64, 8)).values())
    assert [state[key] for key in ("train_units", "train_custom_units", "train_extra_layers")] == [CUSTOM, 100, "64, 8"]
    assert widget_state(TrainConfig(hidden_units=(256,)).values())["train_units"] == 256
    state = widget_state(DEFAULT.values()) | {
        "train_units": CUSTOM,
        "train_custom_units": 7,
        "train_extra_layers": "5,",
    }
    assert read_values(state, DEFAULT.values())[0]["hidden_units"] == (7, 5)


def test_bad_extra_layers_are_a_problem_and_the_other_values_still_read() -> None:
    state = widget_state(DEFAULT.values()) | {"train_extra_layers": "64, many", "train_epochs": 9}
    values, problems = read_values(state, DEFAULT.values())
    assert problems == ["Extra hidden layers must be whole numbers separated by commas, like `64, 32`; got `64, many`."]
    assert values["epochs"] == 9


def test_the_learning_rate_is_kept_per_optimizer_from_each_ones_keras_default() -> None:
    state = widget_state(TrainConfig(optimizer="sgd", learning_rate=0.05).values())
    assert {key: state[key] for key in ("train_lr_adam", "train_lr_sgd", "train_lr_rmsprop")} == {
        "train_lr_adam": DEFAULT_LEARNING_RATES["adam"],
        "train_lr_sgd": 0.05,
        "train_lr_rmsprop": DEFAULT_LEARNING_RATES["rmsprop"],
    }
    assert read_values(state, DEFAULT.values())[0]["learning_rate"] == 0.05
    switched = read_values(state | {"train_optimizer": "adam"}, DEFAULT.values())[0]
    assert switched["learning_rate"] is None  # adam's own box, still at its default


def test_a_hidden_control_keeps_the_links_value() -> None:
    state = widget_state(DEFAULT.values()) | {"train_epochs": 9}
    values, _ = read_values(state, TrainConfig(epochs=30).values(), skipped=frozenset({"epochs"}))
    assert values["epochs"] == 30


@pytest.mark.parametrize(
    ("description", "kind"),
    [
        ({"kind": "layers", "widget": {"layers": (1, 2), "presets": (4, 8)}, "low": 1, "high": 9}, widgets.Layers),
        ({"kind": "float", "optional": "auto", "default_by": ("activation", {"relu": 1.0})}, widgets.PerChoice),
        ({"kind": "float", "optional": "off", "low": 0, "high": 1}, widgets.Goal),
        ({"kind": "class_fractions", "choices": ("a", "b")}, widgets.Fractions),
        ({"kind": "int", "low": 0, "high": 3}, widgets.Binding),
    ],
)
def test_the_widgets_come_from_the_declared_kind_not_the_name(description: dict[str, Any], kind: type) -> None:
    setting = Setting(label="Anything", help="", param="any", flag="--any", **description)
    assert type(widgets.binding_of("any_name", setting)) is kind


@pytest.mark.parametrize("module", ["controls", "widgets"])
def test_the_train_controls_name_no_setting(module: str) -> None:
    source = (ROOT / "fmnist_lab" / "ui" / f"{module}.py").read_text()
    assert [name for name in SETTINGS if f'"{name}"' in source or f"'{name}'" in source] == []


def test_every_shown_setting_has_its_own_state_keys() -> None:
    keys = [key for binding in BINDINGS.values() for key in binding.keys()]
    assert len(keys) == len(set(keys))
    assert set(widget_state(DEFAULT.values())) == set(keys)

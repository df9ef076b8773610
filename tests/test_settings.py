"""The settings registry: every TrainConfig field reaches the CLI, links and the compare table, and checks itself."""

from __future__ import annotations

from typing import Any

import pytest

from fmnist_lab.analysis import compare
from fmnist_lab.cli import build_parser, config_from_args
from fmnist_lab.config import DEFAULT, SETTINGS, Setting, TrainConfig
from fmnist_lab.settings import ConfigError
from fmnist_lab.store.runs import RunStore
from fmnist_lab.teaching import share


def other_value(setting: Setting, default: Any) -> Any:
    """A valid value unlike the default, picked from the description alone."""
    if setting.kind == "bool":
        return not default
    if setting.kind == "choice":
        return next(choice for choice in setting.choices if choice != default)
    if setting.kind == "layers":
        return (64, 32)
    if setting.kind == "class_fractions":
        return ((6, 0.1), (9, 0.5))
    high = setting.high if setting.high is not None else (setting.low or 0) + 1
    return int(high) if setting.kind == "int" else float(high)


FIELDS = sorted(SETTINGS)


@pytest.mark.parametrize("field", FIELDS)
def test_every_setting_has_a_cli_option(field: str) -> None:
    setting = SETTINGS[field]
    value = other_value(setting, getattr(DEFAULT, field))
    if setting.kind == "bool":
        argv = [setting.flag if value else "--no-" + setting.flag.removeprefix("--")]
    elif setting.kind == "layers":
        argv = [arg for units in value for arg in (setting.flag, str(units))]
    elif setting.kind == "class_fractions":
        argv = [arg for c, fraction in value for arg in (setting.flag, f"{setting.class_token(c)}={fraction}")]
    else:
        argv = [setting.flag, setting.format(value)]
    args = build_parser().parse_args(["train", *argv])
    assert getattr(config_from_args(args), field) == value
    assert config_from_args(build_parser().parse_args(["train"])) == DEFAULT  # absent: the default


@pytest.mark.parametrize("field", FIELDS)
def test_every_setting_has_a_link_parameter(field: str) -> None:
    setting = SETTINGS[field]
    value = other_value(setting, getattr(DEFAULT, field))
    params = share.setup_params(TrainConfig(**{field: value}))
    assert params == {setting.param: setting.format(value)}
    assert getattr(share.parse_setup(params).config, field) == value


@pytest.mark.parametrize("field", FIELDS)
def test_every_setting_shows_in_the_compare_table_where_runs_differ(field: str) -> None:
    setting = SETTINGS[field]
    store = RunStore()
    value = other_value(setting, getattr(DEFAULT, field))
    runs = [store.create(DEFAULT), store.create(TrainConfig(**{field: value}))]
    table = compare.summary_table(runs)
    assert list(table[setting.heading]) == [setting.describe(getattr(DEFAULT, field)), setting.describe(value)]
    assert all(s.heading not in table for name, s in SETTINGS.items() if name not in (field, "hidden_units"))


def test_parameters_flags_and_headings_are_unique() -> None:
    for attribute in ("param", "flag", "heading"):
        values = [getattr(setting, attribute) for setting in SETTINGS.values()]
        assert len(values) == len(set(values)), attribute


@pytest.mark.parametrize(
    ("field", "text", "expected"),
    [
        ("stop_loss", "off", None),
        ("learning_rate", "default", None),
        ("train_samples", "all", None),
        ("normalize", "No", False),
        ("hidden_units", "128, 64,", (128, 64)),
        ("dropout", "0.25", 0.25),
        ("activation", " TanH ", "tanh"),
        ("class_shares", "shirt:0.1, 9=0.5", ((6, 0.1), (9, 0.5))),
        ("class_shares", "Ankle-boot:0,T-SHIRT-TOP:1", ((0, 1.0), (9, 0.0))),
        ("label_noise", "none", ()),
        ("balance", "Class-Weights", "class-weights"),
    ],
)
def test_parse_reads_what_links_and_the_cli_write(field: str, text: str, expected: Any) -> None:
    assert SETTINGS[field].parse(text) == expected


@pytest.mark.parametrize(
    ("field", "text", "message"),
    [
        ("epochs", "0", "Epochs must be between 1 and 100 (one epoch is one pass over the training images); got 0."),
        ("dropout", "1", "Dropout must be at least 0 and at most 0.9"),
        ("stop_loss", "0", "Loss goal must be above 0; got 0."),
        ("epochs", "off", "Epochs must be a whole number, not 'off'."),
        ("class_shares", "Hat:0.1", "Class shares: there is no class 'Hat'; use one of T-shirt/top, Trouser,"),
        ("class_shares", "10:0.1", "Class shares: there is no class '10'"),
        ("label_noise", "Shirt:-0.1", "Label noise of Shirt must be at least 0 and at most 1"),
        ("label_noise", "Shirt:0.1,shirt:0.2", "Label noise names Shirt twice."),
        ("class_shares", "Shirt", "Class shares: write a class and its fraction, like Shirt:0.1"),
    ],
)
def test_bad_values_get_a_learner_message(field: str, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        SETTINGS[field].parse(text)
    assert str(caught.value).startswith(message)


def test_class_fractions_read_json_dicts_and_lists_and_write_names() -> None:
    config = TrainConfig(class_shares={"Shirt": 0.1, "9": 0.5}, label_noise=[[0, 0.25]])
    assert config.class_shares == ((6, 0.1), (9, 0.5)) and config.label_noise == ((0, 0.25),)
    stored = config.to_dict()
    assert stored["class_shares"] == {"Shirt": 0.1, "Ankle boot": 0.5}
    assert stored["label_noise"] == {"T-shirt/top": 0.25}
    assert TrainConfig.from_dict(stored) == config
    setting = SETTINGS["class_shares"]
    assert setting.format(config.class_shares) == "Shirt:0.1,Ankle-boot:0.5"
    assert setting.describe(config.class_shares) == "Shirt 10%, Ankle boot 50% kept"
    assert setting.format(()) == "none" and setting.describe(()) == "none"
    assert config.summary() == "128 units · 5 epochs · Shirt 10%, Ankle boot 50% kept · T-shirt/top 25% mislabelled"

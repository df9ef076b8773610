"""The settings registry: every TrainConfig field reaches the CLI, links and the compare table, and checks itself."""

from __future__ import annotations

from typing import Any

import pytest

from fmnist_lab.analysis import compare
from fmnist_lab.cli import build_parser, config_from_args
from fmnist_lab.config import DEFAULT, DEFAULTS, RULES, SETTINGS, Setting, TrainConfig, apply_rules
from fmnist_lab.settings import ConfigError, RuleError, applies_rule
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


def context(field: str) -> dict[str, Any]:
    """What ``field`` needs to apply: {} or, for ``applies_when=("optimizer", "sgd")``, {"optimizer": "sgd"}."""
    when = SETTINGS[field].applies_when
    return dict([when]) if when else {}


def with_context(field: str, value: Any) -> TrainConfig:
    return TrainConfig(**context(field), **{field: value})


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
    argv += [arg for name, wanted in context(field).items() for arg in (SETTINGS[name].flag, wanted)]
    args = build_parser().parse_args(["train", *argv])
    assert getattr(config_from_args(args), field) == value
    assert config_from_args(build_parser().parse_args(["train"])) == DEFAULT  # absent: the default


@pytest.mark.parametrize("field", FIELDS)
def test_every_setting_has_a_link_parameter(field: str) -> None:
    setting = SETTINGS[field]
    value = other_value(setting, getattr(DEFAULT, field))
    params = share.setup_params(with_context(field, value))
    needs = {SETTINGS[name].param: SETTINGS[name].format(wanted) for name, wanted in context(field).items()}
    assert params == {setting.param: setting.format(value)} | needs
    assert getattr(share.parse_setup(params).config, field) == value


@pytest.mark.parametrize("field", FIELDS)
def test_every_setting_shows_in_the_compare_table_where_runs_differ(field: str) -> None:
    setting = SETTINGS[field]
    store = RunStore()
    value = other_value(setting, getattr(DEFAULT, field))
    base = TrainConfig(**context(field))
    runs = [store.create(base), store.create(with_context(field, value))]
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


# -- rules between settings -------------------------------------------------------------------------------------
def test_every_rule_names_real_fields_and_resets_one_of_them() -> None:
    for rule in RULES:
        assert set(rule.fields) <= set(SETTINGS) and rule.reset in rule.fields
        assert rule.holds(DEFAULTS)  # the defaults keep every rule


@pytest.mark.parametrize(
    ("values", "reset"),
    [
        ({"early_stopping": 3, "holdout": "none"}, "early_stopping"),
        ({"class_shares": tuple((c, 0.0) for c in range(10))}, "class_shares"),
    ],
)
def test_a_broken_rule_is_refused_and_a_link_resets_its_field(values: dict[str, Any], reset: str) -> None:
    with pytest.raises(RuleError) as caught:
        TrainConfig(**values)
    assert caught.value.rule.reset == reset and str(caught.value) == caught.value.rule.message
    settled, broken = apply_rules(values)
    assert broken == (caught.value.rule,)
    assert settled == DEFAULTS | values | {reset: DEFAULTS[reset]}
    assert TrainConfig(**settled)  # valid once reset


def test_values_that_keep_the_rules_are_left_alone() -> None:
    nine_starved = tuple((c, 0.0) for c in range(9))  # one class is left to learn
    values = {"early_stopping": 3, "holdout": "split", "class_shares": nine_starved}
    assert apply_rules(values) == (DEFAULTS | values, ())
    assert TrainConfig(**values).class_shares == nine_starved


def test_applies_when_makes_a_rule_and_a_message() -> None:
    ratio = Setting(
        label="Ratio", help="", kind="float", param="r", flag="--r", low=0, high=1, applies_when=("mode", "b")
    )
    mode = Setting(label="Mode", help="", kind="choice", param="m", flag="--m", choices=("a", "b"))
    rule = applies_rule("ratio", ratio, 0.0, mode)
    assert rule.fields == ("ratio", "mode") and rule.reset == "ratio"
    assert rule.message == "Ratio applies only when mode is b: choose b, or leave ratio at 0.0."
    assert [rule.holds({"ratio": r, "mode": m}) for r, m in [(0.5, "b"), (0.0, "a"), (0.5, "a")]] == [True, True, False]
    assert ratio.applies({"mode": "b"}) and not ratio.applies({"mode": "a"}) and mode.applies({})


def test_default_by_gives_the_default_of_the_other_fields_value() -> None:
    setting = SETTINGS["learning_rate"]
    assert setting.default_by is not None
    by, table = setting.default_by
    for choice in SETTINGS[by].choices:
        assert TrainConfig(**{by: choice}).effective("learning_rate") == table[choice]
        assert TrainConfig(**{by: choice, "learning_rate": 0.5}).effective("learning_rate") == 0.5

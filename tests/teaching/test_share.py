"""Shareable setups: URL parameters ↔ TrainConfig, notes for what a link gets wrong, and fuzzing."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fmnist_lab.config import MAX_BATCH, MAX_EPOCHS, MAX_SEED, SETTINGS, TrainConfig
from fmnist_lab.teaching import share
from fmnist_lab.teaching.share import CONTROLS, KEYS, SharedSetup, parse_setup, setup_params
from tests import strategies

DEFAULT = TrainConfig()
WORKSHOP = TrainConfig(hidden_units=(1024,), epochs=30, stop_loss=0.25, normalize=False)
EVERYTHING = TrainConfig(
    hidden_units=(64, 32, 16, 8),
    activation="tanh",
    epochs=MAX_EPOCHS,
    batch_size=48,
    optimizer="sgd",
    learning_rate=0.05,
    normalize=False,
    stop_loss=1e-3,
    seed=MAX_SEED,
    holdout="split",
    train_samples=12_345,
)


@pytest.mark.parametrize(
    ("config", "locked", "hidden"),
    [
        (DEFAULT, set(), set()),
        (WORKSHOP, {"units", "epochs"}, set()),
        (EVERYTHING, set(CONTROLS), {"advanced"}),
        (TrainConfig(learning_rate=1e-05, holdout="none", train_samples=10, optimizer="rmsprop"), set(), {"stop"}),
        (TrainConfig(hidden_units=(1,), activation="sigmoid", batch_size=MAX_BATCH), {"norm"}, set(CONTROLS)),
    ],
)
def test_round_trip(config: TrainConfig, locked: set[str], hidden: set[str]) -> None:
    params = setup_params(config, frozenset(locked), frozenset(hidden))
    assert parse_setup(params) == SharedSetup(config, frozenset(locked), frozenset(hidden))


def test_a_link_holds_only_what_differs_from_the_defaults() -> None:
    assert setup_params(DEFAULT) == {}
    assert setup_params(WORKSHOP) == {"units": "1024", "epochs": "30", "stop": "0.25", "norm": "0"}
    assert setup_params(DEFAULT, hidden=frozenset({"advanced", "everything"})) == {"hide": "advanced"}
    assert setup_params(TrainConfig(hidden_units=(128, 64)), frozenset({"epochs", "units"})) == {
        "units": "128,64",
        "lock": "units,epochs",  # always in CONTROLS order
    }


@pytest.mark.parametrize(
    ("param", "value", "why"),
    [
        ("epochs", "banana", "Epochs must be a whole number, not 'banana'."),
        ("epochs", "0", "Epochs must be between 1 and 100"),
        ("epochs", "101", "Epochs must be between 1 and 100"),
        ("epochs", "2.5", "whole number"),
        ("units", "-5", "Hidden units must be between 1 and 4,096 (a layer needs at least one neuron); got -5."),
        ("units", "4097", "Hidden units must be between 1 and 4,096"),
        ("units", "1,2,3,4,5", "Use between 1 and 4 hidden layers."),
        ("units", "", "Use between 1 and 4 hidden layers."),
        ("units", "64,abc", "Hidden units must be a whole number, not 'abc'."),
        ("stop", "0", "Loss goal must be above 0"),
        ("stop", "-1", "Loss goal must be above 0"),
        ("stop", "nan", "Loss goal must be a number, not 'nan'."),
        ("norm", "maybe", "Normalise pixels ÷255 must be 1 (÷255) or 0 (no ÷255)."),
        ("act", "softmax", "Activation must be one of relu, sigmoid, tanh; got 'softmax'."),
        ("opt", "adamw", "Optimizer must be one of adam, sgd, rmsprop; got 'adamw'."),
        ("lr", "1e9", "Learning rate must be above 0 and at most 10"),
        ("lr", "0", "Learning rate must be above 0"),
        ("lr", "-0.1", "Learning rate must be above 0"),
        ("lr", "inf", "Learning rate must be a number, not 'inf'."),
        ("lr", "1e999", "Learning rate must be a number"),
        ("batch", "0", "Batch size must be between 1 and 4,096"),
        ("batch", "5000", "Batch size must be between 1 and 4,096"),
        ("seed", "-1", "Seed must be between 0 and 2,147,483,647"),
        ("train", "5", "Training images must be between 10 and 60,000"),
        ("train", "60001", "Training images must be between 10 and 60,000"),
        ("holdout", "val", "Scored after each epoch must be one of test, split, none; got 'val'."),
        ("epochs", "９", "has characters no setting uses"),  # int() would take a full-width digit
        ("act", "relu`<b>", "has characters no setting uses"),
        ("seed", "1" * 41, "too long for a setting (at most 40 characters)."),
    ],
)
def test_an_invalid_value_keeps_the_default_with_a_note(param: str, value: str, why: str) -> None:
    setup = parse_setup({param: value, "seed": "7"} if param != "seed" else {param: value, "epochs": "7"})
    field = share.PARAMS[param]
    assert getattr(setup.config, field) == getattr(DEFAULT, field)
    assert setup.config.seed == 7 or setup.config.epochs == 7  # the valid neighbour is still used
    (note,) = setup.notes
    assert note.startswith(f"`{param}=") and why in note


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"norm": "FALSE"}, TrainConfig(normalize=False)),
        ({"norm": "yes"}, DEFAULT),
        ({"norm": "off"}, TrainConfig(normalize=False)),
        ({"stop": "off", "lr": "default", "train": "all"}, DEFAULT),
        ({"act": "ReLU", "opt": " SGD ", "holdout": "Split"}, TrainConfig(optimizer="sgd", holdout="split")),
        ({"units": "128, 64,", "epochs": " +30 "}, TrainConfig(hidden_units=(128, 64), epochs=30)),
        ({"epochs": ["30", "40"], "units": []}, TrainConfig(epochs=30)),  # repeated: the first counts
        ({"run": "../../etc/passwd", "utm_source": "x"}, DEFAULT),  # not ours: ignored
    ],
)
def test_accepted_spellings(params: dict, expected: TrainConfig) -> None:
    assert parse_setup(params) == SharedSetup(expected)


@pytest.mark.parametrize(
    ("value", "names", "notes"),
    [
        ("units,epochs", {"units", "epochs"}, 0),
        (" Units , EPOCHS,,advanced ", {"units", "epochs", "advanced"}, 0),
        (["stop", "norm"], {"stop"}, 0),
        ("", set(), 0),
        ("everything", set(), 1),
        ("units,everything,lr", {"units"}, 2),
        ("units;epochs", set(), 1),
    ],
)
def test_lock_and_hide_name_controls(value: str | list[str], names: set[str], notes: int) -> None:
    for key in ("lock", "hide"):
        setup = parse_setup({key: value})
        assert getattr(setup, "locked" if key == "lock" else "hidden") == names
        assert len(setup.notes) == notes
        assert all(note.startswith(f"`{key}=") for note in setup.notes)
    if value == "everything":
        assert setup.notes == (
            "`hide=everything`: there is no control called 'everything'; "
            "use units, epochs, stop, norm, dropout, l2, l1, patience, acc, advanced, bias.",
        )


def test_a_huge_value_is_echoed_only_in_part() -> None:
    (note,) = parse_setup({"epochs": "9" * 100_000}).notes
    assert note.startswith("`epochs=" + "9" * 40 + "…`") and len(note) < 120


def test_notes_never_carry_markdown_or_html_from_the_link() -> None:
    (note,) = parse_setup({"act": "**[click](javascript:alert(1))**"}).notes
    assert note.startswith("`act=???click??javascript?alert?1????`: has characters no setting uses")


def test_the_readme_documents_every_link_parameter() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for param, field, accepted in share.parameter_table():
        assert f"`{param}`" in readme, f"README: the link parameter {param} ({field}: {accepted}) is missing"


# Fuzzing: any address at all gives a valid setup, and every valid setup survives the trip through one.

NASTY = ["nan", "NaN", "inf", "-inf", "1e309", "1e-400", "-0", "-1", "", " ", "9" * 5000, "0x10", "1_000", "٣", "\x00"]
values = st.one_of(
    st.text(),
    st.sampled_from(NASTY),
    st.integers().map(str),
    st.floats().map(str),
    st.text(alphabet="0123456789,.-+e ", max_size=12),
    st.text(min_size=1000, max_size=3000),
)
params = st.dictionaries(
    st.one_of(st.sampled_from(KEYS), st.text()), st.one_of(values, st.lists(values, max_size=3)), max_size=14
)
configs = strategies.configs()
controls = st.frozensets(st.sampled_from(CONTROLS))


@given(params)
def test_any_address_gives_a_valid_setup(params: dict) -> None:
    setup = parse_setup(params)
    assert TrainConfig.from_dict(setup.config.to_dict()) == setup.config  # valid: rebuilding re-checks it
    assert setup.locked <= set(CONTROLS) and setup.hidden <= set(CONTROLS)
    assert all(isinstance(note, str) and len(note) < 300 for note in setup.notes)
    assert len(setup.notes) <= len(params) + len(CONTROLS)


@given(configs, controls, controls)
def test_every_valid_setup_survives_a_link(config: TrainConfig, locked: frozenset, hidden: frozenset) -> None:
    link = urlencode(setup_params(config, locked, hidden))
    assert all(len(value) <= share.max_length(share.PARAMS[key]) for key, value in setup_params(config).items())
    assert parse_setup(parse_qs(link)) == SharedSetup(config, locked, hidden)


def test_early_stopping_without_a_held_out_set_is_dropped_with_a_note() -> None:
    setup = parse_setup({"patience": "3", "holdout": "none", "l2": "0.001"})
    assert setup.config == TrainConfig(holdout="none", l2=0.001)  # the rest of the link still counts
    assert len(setup.notes) == 1 and setup.notes[0].startswith("`patience`: Early stopping watches the held-out loss")


def test_class_shares_of_0_for_every_class_are_dropped_with_a_note() -> None:
    starved = ",".join(f"{c}:0" for c in range(10))
    setup = parse_setup({"shares": starved, "balance": "oversample"})
    assert setup.config == TrainConfig(balance="oversample")
    assert setup.notes == (
        "`shares`: Class shares of 0 for every class leave nothing to train on; keep some of one class.",
    )


def test_the_parameter_table_says_when_a_parameter_applies() -> None:
    rows = {param: accepted for param, _, accepted in share.parameter_table()}
    for setting in SETTINGS.values():
        if setting.applies_when is not None:
            by, wanted = setting.applies_when
            assert rows[setting.param].endswith(f"; only with {SETTINGS[by].param}={SETTINGS[by].format(wanted)}")


@pytest.mark.parametrize(
    ("params", "expected", "notes"),
    [
        ({"momentum": "0.9", "opt": "sgd"}, TrainConfig(optimizer="sgd", momentum=0.9), ()),
        (
            {"momentum": "0.9", "epochs": "7"},  # adam, the default: momentum does not apply
            TrainConfig(epochs=7),
            ("`momentum`: Momentum applies only when optimizer is sgd: choose sgd, or leave momentum at 0.0.",),
        ),
        ({"momentum": "0", "opt": "rmsprop"}, TrainConfig(optimizer="rmsprop"), ()),  # 0 is the default: fine
        ({"momentum": "1", "opt": "sgd"}, TrainConfig(optimizer="sgd"), ("`momentum=1`: Momentum must be",)),
    ],
)
def test_momentum_in_a_link_counts_only_with_sgd(params: dict, expected: TrainConfig, notes: tuple[str, ...]) -> None:
    setup = parse_setup(params)
    assert setup.config == expected
    assert len(setup.notes) == len(notes) and all(n.startswith(w) for n, w in zip(setup.notes, notes, strict=True))
    if not notes:
        assert parse_setup(setup_params(expected)) == SharedSetup(expected)


def test_the_parameter_table_says_momentum_needs_sgd() -> None:
    rows = {param: accepted for param, _, accepted in share.parameter_table()}
    assert rows["momentum"] == "0 to 0.99; only with opt=sgd"

"""Shareable setups on the Train page: a link fills, locks and hides the controls, and the address follows them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import streamlit.elements.lib.policies as policies
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from fmnist_lab import RunStore
from fmnist_lab.teaching.share import KEYS
from fmnist_lab.ui.controls import CUSTOM, STATE_KEYS, fraction_key
from fmnist_lab.ui.navigation import CONFUSION, TRAIN
from tests.pages.test_pages import finished_run, open_page, texts

NOT_USED = "Some settings in this link were not used:"
ADVANCED_WIDGETS = (
    "train_activation",
    "train_optimizer",
    "train_batch_size",
    "train_seed",
    "train_train_samples",
    "train_holdout",
)


WIDGET_KINDS = (
    "multiselect",
    "selectbox",
    "number_input",
    "text_input",
    "slider",
    "checkbox",
    "toggle",
    "select_slider",
    "radio",
)


def widget(app: AppTest, key: str) -> Any:
    """The widget with ``key``, or None when the page does not show it."""
    return next((w for kind in WIDGET_KINDS for w in getattr(app, kind) if w.key == key), None)


def shown(app: AppTest, *keys: str) -> list:
    return [widget(app, key).value for key in keys]


def test_a_link_fills_the_controls(app_env: Path) -> None:
    app = open_page(TRAIN, units="1024", epochs="30", stop="0.25", norm="0")
    assert not app.exception and not app.warning
    keys = ("train_units", "train_epochs", "train_stop_loss_on", "train_stop_loss", "train_normalize")
    assert shown(app, *keys) == [1024, 30, True, 0.25, False]
    assert "814,090 parameters to learn" in texts(app)
    assert "Share this setup" in texts(app) and "`?units=1024&epochs=30&stop=0.25&norm=0`" in texts(app)


def test_a_link_fills_extra_layers_and_the_advanced_settings(app_env: Path) -> None:
    query = dict(units="100,64", act="tanh", opt="sgd", lr="0.05", batch="64", seed="7", train="3000", holdout="split")
    app = open_page(TRAIN, **query)
    assert not app.exception and not app.warning
    assert shown(app, "train_units", "train_custom_units", "train_extra_layers") == [CUSTOM, 100, "64"]
    assert shown(app, *ADVANCED_WIDGETS, "train_lr_sgd") == ["tanh", "sgd", 64, 7, 3000, "split", 0.05]
    assert f"{784 * 100 + 100 + 100 * 64 + 64 + 64 * 10 + 10:,} parameters to learn" in texts(app)
    assert app.query_params == query  # already the shortest link: nothing rewritten


def test_a_link_fills_the_bias_controls_and_the_address_follows_them(app_env: Path) -> None:
    app = open_page(TRAIN, shares="shirt:0.1,Coat=0.5", noise="6:0.3", balance="oversample")
    assert not app.exception and not app.warning
    assert app.multiselect(key="train_class_shares").value == ["Coat", "Shirt"]
    assert shown(app, "train_class_shares_4", "train_class_shares_6", "train_label_noise_6") == [0.5, 0.1, 0.3]
    assert shown(app, "train_balance") == ["oversample"]
    assert "Shirt 10%, Coat 50% kept" not in texts(app)  # the summary orders by class
    assert app.query_params["shares"] == "Coat:0.5,Shirt:0.1" and app.query_params["noise"] == "Shirt:0.3"
    app.slider(key="train_class_shares_6").set_value(0.25).run()
    assert app.query_params["shares"] == "Coat:0.5,Shirt:0.25"
    app.multiselect(key="train_class_shares").unselect("Coat").run()
    assert app.query_params["shares"] == "Shirt:0.25"


def test_a_bias_link_finer_than_the_sliders_falls_back_with_a_note(app_env: Path) -> None:
    app = open_page(TRAIN, shares="Shirt:0.125")
    assert not app.exception and app.multiselect(key="train_class_shares").value == []
    assert "the Class shares sliders here move in steps of 0.01; using the default" in app.warning[0].value


def test_a_link_that_breaks_a_rule_loses_that_setting_with_a_note(app_env: Path) -> None:
    app = open_page(TRAIN, patience="3", holdout="none", epochs="9")
    assert not app.exception
    (warning,) = app.warning
    assert "- `patience`: Early stopping watches the held-out loss" in warning.value
    assert shown(app, "train_early_stopping", "train_holdout", "train_epochs") == [None, "none", 9]
    assert app.query_params == {"holdout": "none", "epochs": "9"}
    app.selectbox(key="train_early_stopping").select(3).run()  # the learner breaks it: the same rule says why
    assert [error.value for error in app.error] == [
        "Early stopping watches the held-out loss: score something after each epoch (holdout test or split), "
        "or turn early stopping off."
    ]
    assert app.button(key="train_start").disabled


def test_momentum_shows_only_with_sgd_and_the_address_follows(app_env: Path) -> None:
    app = open_page(TRAIN, opt="sgd", momentum="0.9")
    assert not app.exception and not app.warning
    assert shown(app, "train_optimizer", "train_momentum") == ["sgd", 0.9]
    assert app.query_params == {"opt": "sgd", "momentum": "0.9"}
    app.selectbox(key="train_optimizer").select("adam").run()  # momentum no longer applies: gone, and from the address
    assert not app.exception and widget(app, "train_momentum") is None and app.query_params == {}
    app.selectbox(key="train_optimizer").select("sgd").run()
    app.slider(key="train_momentum").set_value(0.5).run()
    assert app.query_params == {"opt": "sgd", "momentum": "0.5"}


def test_a_link_with_momentum_but_not_sgd_gets_a_note(app_env: Path) -> None:
    app = open_page(TRAIN, momentum="0.9", seed="3")
    assert not app.exception and widget(app, "train_momentum") is None
    (warning,) = app.warning
    assert "- `momentum`: Momentum applies only when optimizer is sgd: choose sgd, or leave momentum at 0.0." in (
        warning.value
    )
    assert app.query_params == {"seed": "3"}


def test_locked_controls_are_disabled_and_keep_the_link_value(app_env: Path) -> None:
    app = open_page(TRAIN, units="1024", epochs="30", lock="units,epochs")
    assert all(widget(app, key).disabled for key in ("train_units", "train_extra_layers", "train_epochs"))
    assert not any(widget(app, key).disabled for key in ("train_stop_loss_on", "train_normalize", *ADVANCED_WIDGETS))
    app.session_state["train_epochs"] = 40  # a browser cannot move a disabled slider; even so, the link wins
    app.checkbox(key="train_stop_loss_on").check().run()
    assert shown(app, "train_units", "train_epochs") == [1024, 30]
    assert app.query_params["lock"] == "units,epochs"


def test_lock_advanced_disables_every_advanced_control(app_env: Path) -> None:
    app = open_page(TRAIN, lock="advanced", opt="sgd")
    assert all(widget(app, key).disabled for key in (*ADVANCED_WIDGETS, "train_lr_sgd", "train_momentum"))
    assert not widget(app, "train_units").disabled


def test_hidden_controls_are_not_shown_but_their_link_value_is_used(app_env: Path) -> None:
    app = open_page(TRAIN, hide="advanced,units", units="1024", opt="sgd", batch="48")
    assert not app.exception and not app.warning  # batch 48 fits no slider, but none is shown
    assert [expander.label for expander in app.expander] == ["Overfitting", "Bias"]  # not "Advanced"
    assert all(widget(app, key) is None for key in (*ADVANCED_WIDGETS, "train_units"))
    shown_text = texts(app)
    assert "Some settings are fixed by your instructor." in shown_text and "814,090 parameters to learn" in shown_text
    assert "`?units=1024&opt=sgd&batch=48&hide=units,advanced`" in shown_text


@pytest.mark.parametrize(
    ("query", "note"),
    [
        ({"epochs": "banana"}, "`epochs=banana`: Epochs must be a whole number, not 'banana'."),
        ({"units": "-5"}, "`units=-5`: Hidden units must be between 1 and 4,096"),
        ({"lr": "1e9"}, "`lr=1e9`: Learning rate must be above 0 and at most 10"),
        ({"lock": "everything"}, "`lock=everything`: there is no control called 'everything'"),
        ({"epochs": "150"}, "`epochs=150`: Epochs must be between 1 and 100"),
        (
            {"batch": "48"},
            "`batch=48`: Batch size here: one of 8, 16, 32, 64, 128, 256, 512; using the default.",
        ),
        ({"train": "12345"}, "`train=12345`: Training images here: one of all, 30000, 10000, 3000; using the default."),
        ({"stop": "10"}, "`stop=10.0`: Loss goal here: 0.01 to 5; using the default."),
        ({"lr": "2"}, "`lr=2.0`: Learning rate here: 1e-05 to 1; using the default."),
        ({"act": "<script>alert(1)</script>"}, "`act=?script?alert?1???script?`: has characters no setting uses"),
    ],
)
def test_an_invalid_link_value_gives_the_default_and_a_note(app_env: Path, query: dict[str, str], note: str) -> None:
    app = open_page(TRAIN, **query, seed="3")
    assert not app.exception
    (warning,) = app.warning
    assert warning.value.startswith(NOT_USED) and f"- {note}" in warning.value
    assert "101,770 parameters to learn" in texts(app)  # the default model
    assert widget(app, "train_seed").value == 3  # the valid neighbour is used
    assert app.query_params == {"seed": "3", **({"lock": "everything"} if "lock" in query else {})}


def test_the_note_stays_until_a_setting_changes(app_env: Path) -> None:
    app = open_page(TRAIN, epochs="banana")
    app.run()
    assert app.warning and app.warning[0].value.startswith(NOT_USED)
    app.selectbox(key="train_units").select(256).run()
    assert not app.warning


def test_changing_a_control_updates_the_address(app_env: Path) -> None:
    run_id = finished_run(RunStore())
    app = open_page(TRAIN, run=run_id, lock="stop", utm_source="mail")
    app.slider(key="train_epochs").set_value(30).run()
    app.selectbox(key="train_units").select(1024).run()
    app.toggle(key="train_normalize").set_value(False).run()
    expected = {"run": run_id, "lock": "stop", "utm_source": "mail", "units": "1024", "epochs": "30", "norm": "0"}
    assert app.query_params == expected
    app.slider(key="train_epochs").set_value(5).run()  # back to the default: gone from the address
    assert "epochs" not in app.query_params and app.query_params["units"] == "1024"
    assert "`?units=1024&norm=0&lock=stop`" in texts(app)


def test_a_link_is_applied_once_so_later_changes_stay(app_env: Path) -> None:
    app = open_page(TRAIN, epochs="30")
    app.slider(key="train_epochs").set_value(12).run()
    app.run()
    assert app.slider(key="train_epochs").value == 12 and app.query_params == {"epochs": "12"}
    app.query_params["epochs"] = "40"  # a different link in the same session
    app.run()
    assert app.slider(key="train_epochs").value == 40


def test_settings_and_locks_survive_a_visit_to_another_page(app_env: Path) -> None:
    app = open_page(TRAIN, units="1024", lock="units")
    app.slider(key="train_epochs").set_value(20).run()
    app.query_params.clear()  # the sidebar's page links carry only ?run
    app.switch_page(CONFUSION.file).run()
    app.switch_page(TRAIN.file).run()
    assert shown(app, "train_units", "train_epochs") == [1024, 20] and widget(app, "train_units").disabled
    assert app.query_params == {"units": "1024", "epochs": "20", "lock": "units"}


def test_no_widget_gets_both_a_default_and_a_session_state_value(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Streamlit 1.67 only logs this clash (and only under a real server, not AppTest), so spy on its check."""
    defaults: dict[str, object] = {}
    check = policies.check_session_state_rules

    def spy(default_value: object, key: str | None, writes_allowed: bool = True) -> None:
        defaults[key] = default_value
        check(default_value=default_value, key=key, writes_allowed=writes_allowed)

    monkeypatch.setattr(policies, "check_session_state_rules", spy)
    app = open_page(TRAIN, units="100,64", stop="0.5", acc="0.9", opt="sgd", shares="Shirt:0.1")  # goals on
    assert not app.exception
    unpicked = {fraction_key("class_shares", c) for c in range(10) if c != 6}  # one slider per picked class
    unpicked |= {fraction_key("label_noise", c) for c in range(10)}
    controls = {key for keys in STATE_KEYS.values() for key in keys} - {"train_lr_adam", "train_lr_rmsprop"} - unpicked
    assert controls <= set(defaults) and all(defaults[key] is None for key in controls)


query_values = st.one_of(
    st.text(max_size=60), st.sampled_from(["nan", "-inf", "0", "-1", "1e999", "4096,4096", "units,advanced", "off"])
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from([*KEYS, "run"]) | st.text(max_size=10), query_values, max_size=8))
def test_no_link_breaks_the_train_page(app_env: Path, query: dict[str, str]) -> None:
    app = open_page(TRAIN, **query)
    assert not app.exception, app.exception
    assert "parameters to learn" in texts(app)


def test_a_link_to_a_run_sets_the_controls_to_that_runs_settings(app_env: Path) -> None:
    store = RunStore()
    run_id = finished_run(store, hidden_units=(1024,), epochs=7, normalize=False, seed=3)
    app = open_page(TRAIN, run=run_id)
    assert not app.exception and not app.warning
    assert shown(app, "train_units", "train_epochs", "train_normalize", "train_seed") == [1024, 7, False, 3]
    assert app.query_params["epochs"] == "7"  # the address now holds the setup, so it can be shared
    app.slider(key="train_epochs").set_value(12).run()  # the learner's own change stays
    assert shown(app, "train_units", "train_epochs") == [1024, 12]


def test_a_run_picked_later_in_the_session_leaves_the_learners_controls(app_env: Path) -> None:
    store = RunStore()
    run_id = finished_run(store, hidden_units=(1024,), epochs=7)
    app = open_page(TRAIN)
    app.query_params["run"] = run_id  # as the sidebar's link to the run does
    app.run()
    assert not app.exception and shown(app, "train_units", "train_epochs") == [128, 5]
